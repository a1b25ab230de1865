"""The chapters' equation numbers and the links to them agree.

A displayed equation shows its book number with ``\\tag{6.4}`` and carries the
MyST target ``(eq-6-4)=``; prose refers to it as ``{ref}`(6.4) <eq-6-4>```.
Sphinx checks that every target exists, but not that the text of a link is the
number of the equation it opens, nor that a reference was left as plain text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

_BLOCK = re.compile(r"^(?:\((?P<label>[\w-]+)\)=\n)?(?P<math>\$\$.*?\$\$|"
                    r"\\begin\{(?P<env>\w+\*?)\}.*?\\end\{(?P=env)\})", re.S | re.M)
_TAG = re.compile(r"\\tag\{([^}]*)\}")
_REF = re.compile(r"\{ref\}`(?P<text>[^`<]*)<(?P<label>eq-[\w-]+)>`")
# What is not prose: roles, inline code, inline math (displayed math is cut first).
_NOT_PROSE = re.compile(r"\{[\w:-]+\}`[^`]*`|`[^`]*`|\$[^$]+\$")
_PLAIN_REF = re.compile(r"\((\d+\.\d+)\)|eq\. (\d+\.\d+)")


def _label(tag: str) -> str:
    return "eq-" + tag.replace(".", "-")


def problems(cells: list[str]) -> list[str]:
    """What is wrong with the equation targets and references in markdown cells."""
    found, tags = [], {}
    for text in cells:
        for block in _BLOCK.finditer(text):
            tag = _TAG.findall(block["math"])
            if not tag:
                continue
            if block["label"] != _label(tag[0]):
                found.append(f"equation ({tag[0]}) has target {block['label']}, "
                             f"not {_label(tag[0])}")
            if tag[0] in tags:
                found.append(f"two equations ({tag[0]})")
            tags[tag[0]] = block["label"]
    labels = {_label(tag): tag for tag in tags}
    for text in cells:
        for ref in _REF.finditer(text):
            tag = labels.get(ref["label"])
            if tag is None:
                found.append(f"{ref[0]} points to no equation")
            elif not re.search(rf"(?<![\d.]){re.escape(tag)}(?![\d])", ref["text"]):
                found.append(f"{ref[0]} shows another number than ({tag})")
        prose = _NOT_PROSE.sub(" ", _BLOCK.sub(" ", text))
        for plain in _PLAIN_REF.finditer(prose):
            if (plain[1] or plain[2]) in tags:
                found.append(f"{plain[0]} is plain text, not a link")
    return found


def _markdown(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]


def test_every_equation_reference_in_the_chapters_is_a_link_with_its_number():
    assert NOTEBOOKS
    cells = [text for path in NOTEBOOKS for text in _markdown(path)]
    assert sum(len(_TAG.findall(text)) for text in cells) >= 20   # the chapters' equations
    assert problems(cells) == []


_EQ = "(eq-2-1)=\n\\begin{equation*}\nu = \\max z \\tag{2.1}\n\\end{equation*}\n"


@pytest.mark.parametrize(("cells", "problem"), [
    (["\\begin{equation*}\nu \\tag{2.1}\n\\end{equation*}"],
     "equation (2.1) has target None, not eq-2-1"),
    (["(eq-2-2)=\n$$\nu \\tag{2.1}\n$$"], "equation (2.1) has target eq-2-2, not eq-2-1"),
    ([_EQ, _EQ], "two equations (2.1)"),
    ([_EQ, "see {ref}`(2.2) <eq-2-2>`"], "{ref}`(2.2) <eq-2-2>` points to no equation"),
    ([_EQ, "see {ref}`(2.2) <eq-2-1>`"], "{ref}`(2.2) <eq-2-1>` shows another number than (2.1)"),
    ([_EQ, "see {ref}`(2.11) <eq-2-1>`"],
     "{ref}`(2.11) <eq-2-1>` shows another number than (2.1)"),
    ([_EQ, "as equation (2.1) says"], "(2.1) is plain text, not a link"),
    ([_EQ + "as eq. 2.1 says"], "eq. 2.1 is plain text, not a link"),
])
def test_a_wrong_target_or_reference_is_found(cells, problem):
    assert problems(cells) == [problem]


@pytest.mark.parametrize("cells", [
    [_EQ, "see {ref}`(2.1) <eq-2-1>` and {ref}`eq. 2.1 <eq-2-1>`"],
    [_EQ, "in math $x(2.1)$ and in code `f(2.1)`, not prose"],
    [_EQ, "Keras 2.1 and (3.1), which is no equation of these cells"],
])
def test_links_and_other_numbers_pass(cells):
    assert problems(cells) == []
