"""Tests for cnnlab.prose: glue stores what myst-nb reads, with or without myst-nb."""

import sys

import numpy as np
import pytest

from cnnlab.prose import glue


def _captured(monkeypatch, without_myst_nb):
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display",
                        lambda *objects, **options: shown.append((objects, options)))
    import myst_nb.ext.glue as myst_glue_module

    monkeypatch.setattr(myst_glue_module, "ipy_display",
                        lambda *objects, **options: shown.append((objects, options)))
    if without_myst_nb:
        monkeypatch.setitem(sys.modules, "myst_nb", None)      # import myst_nb fails
    return shown


@pytest.mark.parametrize("display", [False, True])
def test_without_myst_nb_the_same_output_is_made(monkeypatch, display):
    with_myst = _captured(monkeypatch, without_myst_nb=False)
    glue("accuracy", 0.991, display)
    monkeypatch.undo()
    without = _captured(monkeypatch, without_myst_nb=True)
    glue("accuracy", 0.991, display)
    assert with_myst == without
    (bundle,), options = without[0]
    prefix = "" if display else "application/papermill.record/"
    assert bundle == {prefix + "text/plain": "0.991"}
    assert options["metadata"]["scrapbook"] == {"name": "accuracy", "mime_prefix": prefix}
    assert options["raw"] is True


@pytest.mark.parametrize(("value", "text"), [
    (np.float64(1.52), "1.52"), (np.float32(0.25), "0.25"), (np.int64(7), "7"),
    (np.bool_(True), "True"), (1.52, "1.52"), ("2 and 7", "'2 and 7'"),
])
def test_numpy_scalars_are_stored_as_the_numbers_they_hold(monkeypatch, value, text):
    shown = _captured(monkeypatch, without_myst_nb=False)
    glue("figure", value)
    (bundle,), _ = shown[0]
    assert bundle == {"application/papermill.record/text/plain": text}


@pytest.mark.parametrize(("name", "error", "match"), [
    (3, TypeError, r"^name must be a str, got int"),
    ("two words", ValueError, r"^name must be letters, digits and underscores"),
    ("1st", ValueError, r"^name must be letters"),
    ("", ValueError, r"^name must be letters"),
])
def test_bad_names_are_refused(name, error, match):
    with pytest.raises(error, match=match):
        glue(name, 1.0)


def test_no_stored_glue_reads_as_a_numpy_repr():
    # myst-nb shows a glued value's text as stored: "np.float64(1.52)" would reach the page.
    import json
    from pathlib import Path

    notebooks = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
    assert notebooks
    bad = []
    for path in notebooks:
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get("application/papermill.record/text/plain", "")
                if text.startswith(("np.", "array(")):
                    bad.append(f"{path.name}: {text}")
    assert bad == []
