"""Sphinx extension: a site that works offline and loads without script errors.

* MathJax is served from the site itself, never from a CDN. Sphinx loads it
  from a CDN by default; ``_config.yml`` points ``mathjax_path`` at
  ``_static/mathjax/...`` and this extension copies that one file from the
  MathJax 3 build carried by the ``django-static-mathjax`` wheel on PyPI (a
  registry every install reaches).
* Inline scripts registered twice are written once. sphinx-thebe registers its
  ``const THEBE_JS_URL = ...`` line once per read phase; twice on a page it is
  a script error in every browser.
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


def _dedupe_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # The copies differ in priority and in filename None vs "": compare
        # what the page gets.
        attributes = getattr(script, "attributes", {})
        key = (getattr(script, "filename", str(script)) or None, attributes.get("body"),
               attributes.get("src"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    _mathjax_source()  # fail early, before a long build, if MathJax is missing
    app.connect("build-finished", _copy)
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
