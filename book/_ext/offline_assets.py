"""Sphinx extension: serve MathJax from the site itself, never from a CDN.

The book must work with the network off. Sphinx loads MathJax from a CDN by
default; ``_config.yml`` points ``mathjax_path`` at ``_static/mathjax/...`` and
this extension copies that one file from the MathJax 3 build carried by the
``django-static-mathjax`` wheel on PyPI (a registry every install reaches).
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

MATHJAX_FILE = "tex-svg-full.js"  # SVG output needs no web fonts; "full" needs no autoload


def _mathjax_source() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            "MathJax for the offline site comes from the PyPI package "
            "'django-static-mathjax'; install the book's dependencies with "
            "pip install -e '.[book]'."
        )
    source = Path(next(iter(spec.submodule_search_locations))) / "static/mathjax/es5"
    if not (source / MATHJAX_FILE).is_file():
        raise ExtensionError(f"{MATHJAX_FILE} is missing from {source}.")
    return source


def _copy(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(_mathjax_source() / MATHJAX_FILE, target / MATHJAX_FILE)


def setup(app: Sphinx) -> dict:
    _mathjax_source()  # fail early, before a long build, if MathJax is missing
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
