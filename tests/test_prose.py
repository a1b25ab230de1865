"""Tests for cnnlab.prose: glue stores what myst-nb reads, with or without myst-nb."""

import sys

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


@pytest.mark.parametrize(("name", "error", "match"), [
    (3, TypeError, r"^name must be a str, got int"),
    ("two words", ValueError, r"^name must be letters, digits and underscores"),
    ("1st", ValueError, r"^name must be letters"),
    ("", ValueError, r"^name must be letters"),
])
def test_bad_names_are_refused(name, error, match):
    with pytest.raises(error, match=match):
        glue(name, 1.0)
