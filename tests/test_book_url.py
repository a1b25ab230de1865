"""Where the book lives: the URLs derived from _config.yml's repository url.

The chapters' install cells hold the wheel's URL themselves (Colab cannot read
_config.yml), so a change of the setting without ``make retarget`` fails here.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
_SPEC = importlib.util.spec_from_file_location(
    "book_location", ROOT / "book" / "_ext" / "book_location.py")
book_location = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(book_location)


def _expected_wheel_url() -> str:
    """The URL written out by hand from the two files (not through book_location)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    owner, name = config["repository"]["url"].removeprefix("https://github.com/").split("/")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return f"https://{owner.lower()}.github.io/{name}/_static/cnnlab-{version}-py3-none-any.whl"


def test_there_are_seven_chapters():
    assert len(NOTEBOOKS) == 8


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_install_cell_installs_the_wheel_this_config_names(notebook):
    assert book_location.install_cell_wheel(notebook) == _expected_wheel_url(), (
        "the install cell's WHEEL line differs from _config.yml's repository url: "
        "run 'make retarget'")
    assert book_location.wheel_url(ROOT) == _expected_wheel_url()


def test_install_cell_is_the_first_code_cell_and_installs_only_when_missing():
    for notebook in NOTEBOOKS:
        cell = next(c for c in json.loads(notebook.read_text())["cells"]
                    if c["cell_type"] == "code")
        source = "".join(cell["source"])
        assert 'if importlib.util.find_spec("cnnlab") is None:' in source, notebook.name
        assert '"pip", "install", "--quiet", *keep, WHEEL]' in source, notebook.name
        assert "check=True" in source, notebook.name          # a failed install stops here
        # An installed TensorFlow (Colab's) is kept: no dependencies then.
        assert 'keep = ["--no-deps"] if importlib.util.find_spec("tensorflow") else []' \
            in source, notebook.name


@pytest.mark.parametrize("repository, site", [
    ("https://github.com/cnnlab/cnnlab", "https://cnnlab.github.io/cnnlab/"),
    ("https://github.com/Some-Lecturer/CNN-Book", "https://some-lecturer.github.io/CNN-Book/"),
    ("https://github.com/a/b.c_d-e.git", "https://a.github.io/b.c_d-e/"),
    ("https://github.com/a/b/", "https://a.github.io/b/"),
    ("https://github.com/Ann/ann.github.io", "https://ann.github.io/"),
    ("https://github.com/ann/other.github.io", "https://ann.github.io/other.github.io/"),
])
def test_site_url(repository, site):
    assert book_location.site_url(repository) == site


@pytest.mark.parametrize("repository, error, match", [
    (None, TypeError, "repository_url must be a str"),
    (b"https://github.com/a/b", TypeError, "repository_url must be a str"),
    ("", ValueError, "repository_url must be https://github.com/OWNER/NAME"),
    ("http://github.com/a/b", ValueError, "repository_url must be"),
    ("https://gitlab.com/a/b", ValueError, "repository_url must be"),
    ("https://github.com/a", ValueError, "repository_url must be"),
    ("https://github.com/a/b/c", ValueError, "repository_url must be"),
    ("https://github.com/-a/b", ValueError, "repository_url must be"),
    ("https://github.com/a/b c", ValueError, "repository_url must be"),
    ("https://github.com/a/..", ValueError, "names no repository"),
])
def test_site_url_rejects(repository, error, match):
    with pytest.raises(error, match=match):
        book_location.site_url(repository)


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("name, version, wheel", [
    ("cnnlab", "0.1.0", "cnnlab-0.1.0-py3-none-any.whl"),
    ("My.Package-x", "1.0", "my_package_x-1.0-py3-none-any.whl"),
    ("cnnlab", "01.2.0rc1", "cnnlab-1.2.0rc1-py3-none-any.whl"),
])
def test_wheel_name(tmp_path, name, version, wheel):
    pyproject = _pyproject(tmp_path, f'[project]\nname = "{name}"\nversion = "{version}"\n')
    assert book_location.wheel_name(pyproject) == wheel


@pytest.mark.parametrize("body, match", [
    ('[project]\nname = "x"\n', "static project.version"),
    ('[project]\nname = "x"\ndynamic = ["version"]\n', "static project.version"),
    ('[project]\nversion = "1.0"\n', "project.name"),
    ('[project]\nname = "x"\nversion = "not a version"\n', "invalid project.version"),
])
def test_wheel_name_rejects(tmp_path, body, match):
    with pytest.raises(ValueError, match=match):
        book_location.wheel_name(_pyproject(tmp_path, body))


@pytest.mark.parametrize("body", ["title: x\n", "repository:\n  branch: main\n",
                                  "repository:\n  url: 3\n", ""])
def test_read_repository_url_rejects(tmp_path, body):
    config = tmp_path / "_config.yml"
    config.write_text(body)
    with pytest.raises(ValueError, match="has no repository.url"):
        book_location.read_repository_url(config)


@pytest.mark.parametrize("missing", ["_config.yml", "pyproject.toml"])
def test_wheel_url_needs_both_files(tmp_path, missing):
    for name in {"_config.yml", "pyproject.toml"} - {missing}:
        shutil.copy(ROOT / name, tmp_path / name)
    with pytest.raises(ValueError, match=f"root .* has no {missing}"):
        book_location.wheel_url(tmp_path)


@pytest.mark.parametrize("missing", ["pyproject.toml", "README.md", "cnnlab"])
def test_build_wheel_needs_its_sources(tmp_path, missing):
    for name in {"pyproject.toml", "README.md"} - {missing}:
        shutil.copy(ROOT / name, tmp_path / name)
    if missing != "cnnlab":
        (tmp_path / "cnnlab").mkdir()
    with pytest.raises(ValueError, match=f"root .* has no {missing}"):
        book_location.build_wheel(tmp_path, tmp_path / "dist")


def test_retarget_changes_that_line_and_nothing_else(tmp_path):
    notebook = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], notebook)
    before = notebook.read_text().splitlines(keepends=True)
    url = "https://someone.github.io/fork/_static/cnnlab-9.9-py3-none-any.whl"
    assert book_location.retarget(notebook, url) is True
    after = notebook.read_text().splitlines(keepends=True)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 1
    assert changed[0][0].replace(book_location.install_cell_wheel(NOTEBOOKS[0]), url) \
        == changed[0][1]
    assert book_location.install_cell_wheel(notebook) == url
    assert book_location.retarget(notebook, url) is False  # already there: not rewritten
    assert notebook.read_text().splitlines(keepends=True) == after


def _notebook_with(tmp_path: Path, *sources: str) -> Path:
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": source.splitlines(keepends=True)} for source in sources]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}, indent=1))
    return path


@pytest.mark.parametrize("url, error, match", [
    (None, TypeError, "url must be a str"),
    ("", ValueError, "url must be non-empty"),
    ('https://a.github.io/b/"x.whl', ValueError, "without quotes"),
    ("https://a.github.io/b/x .whl", ValueError, "without quotes, backslashes or spaces"),
    ("https://a.github.io/b\\x.whl", ValueError, "backslashes"),
])
def test_retarget_rejects_urls(tmp_path, url, error, match):
    notebook = _notebook_with(tmp_path, 'WHEEL = "https://a.github.io/b/x.whl"\n')
    with pytest.raises(error, match=match):
        book_location.retarget(notebook, url)


@pytest.mark.parametrize("sources, match", [
    (("print(1)\n",), "found 0"),
    (('WHEEL = "a"\nWHEEL = "b"\n',), "found 2"),
    (("print(1)\n", 'WHEEL = "a"\n'), "found 0"),             # not in the first code cell
    (('WHEEL = "a"\n', 'WHEEL = "a"\n'), "must occur once in the file"),
])
def test_retarget_rejects_notebooks(tmp_path, sources, match):
    notebook = _notebook_with(tmp_path, *sources)
    with pytest.raises(ValueError, match=match):
        book_location.retarget(notebook, "https://a.github.io/b/c.whl")


def test_install_cell_wheel_needs_a_code_cell(tmp_path):
    with pytest.raises(ValueError, match="has no code cell"):
        book_location.install_cell_wheel(_notebook_with(tmp_path))


def test_script_checks_then_writes_a_forked_book(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    for notebook in NOTEBOOKS[:2]:
        shutil.copy(notebook, tmp_path / "notebooks" / notebook.name)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    config = (ROOT / "_config.yml").read_text()
    url = yaml.safe_load(config)["repository"]["url"]
    (tmp_path / "_config.yml").write_text(
        config.replace(f"url: {url}", "url: https://github.com/Lecturer/our-cnn-book"))
    wheel = _expected_wheel_url().rsplit("/", 1)[1]
    fork = f"https://lecturer.github.io/our-cnn-book/_static/{wheel}"

    assert book_location.main(["--root", str(tmp_path)]) == 1
    assert "differs" in capsys.readouterr().out
    assert book_location.main(["--root", str(tmp_path), "--write"]) == 0
    assert capsys.readouterr().out.count("rewritten") == 2
    assert book_location.main(["--root", str(tmp_path)]) == 0
    for notebook in NOTEBOOKS[:2]:
        assert book_location.install_cell_wheel(tmp_path / "notebooks" / notebook.name) == fork
