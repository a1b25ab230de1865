"""Where the book lives: one setting, the repository URL in ``_config.yml``.

Everything else that names a place is derived from ``repository.url``:

* the site: the repository's GitHub Pages, ``https://github.com/OWNER/NAME``
  gives ``https://owner.github.io/NAME/`` (a repository named
  ``OWNER.github.io`` is served at the root, ``https://owner.github.io/``);
* the wheel of cnnlab that the built site carries,
  ``_static/cnnlab-VERSION-py3-none-any.whl`` (VERSION from ``pyproject.toml``),
  and its URL on the site;
* the ``WHEEL = "..."`` line in each chapter's first code cell, which installs
  cnnlab where it is missing (Colab). A notebook on Colab cannot read
  ``_config.yml``, so that line holds the URL itself; this module checks it
  and rewrites it;
* the addresses in ``book/how_to_read.md``: MyST substitutions.

As a Sphinx extension (``sphinx.local_extensions`` in ``_config.yml``) it sets
those substitutions and builds the wheel into the site's ``_static/``. As a
script (``make retarget``) it compares every chapter's ``WHEEL`` line with the
derived URL, and with ``--write`` rewrites the lines that differ.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Sphinx is needed by the extension only, not by the script
    from sphinx.application import Sphinx
    from sphinx.config import Config

ROOT = Path(__file__).resolve().parents[2]
# GitHub's rules: an owner is letters, digits and single hyphens; a repository
# name is letters, digits, '.', '-' and '_'. A trailing ".git" or "/" is the
# same repository.
_GITHUB_URL = re.compile(
    r"https://github\.com/(?P<owner>[A-Za-z0-9](?:-?[A-Za-z0-9])*)"
    r"/(?P<name>[A-Za-z0-9._-]+?)(?:\.git)?/?"
)
# The install cell's line, as it is stored in the notebook's JSON: a string in
# the cell's source, so its quotes are escaped.
_WHEEL_LINE = re.compile(r'^([ \t]*WHEEL = ")([^"\\]*)("[ \t]*)$', re.MULTILINE)
_WHEEL_JSON = re.compile(r'(WHEEL = \\")([^"\\]*)(\\")')
# The files a wheel of cnnlab is built from (pyproject.toml names the readme).
_WHEEL_SOURCES = ("pyproject.toml", "README.md", "cnnlab")
# Zip time stamps of the built wheel: a fixed date (the earliest a zip can
# hold), so that rebuilding the site from the same sources gives the same bytes.
_SOURCE_DATE_EPOCH = "315532800"


def read_repository_url(config_file: str | os.PathLike[str]) -> str:
    """The book's one setting: ``repository.url`` in its ``_config.yml``.

    Parameters
    ----------
    config_file : str or path-like
        The Jupyter Book configuration file.

    Returns
    -------
    str
        The repository URL, as written.

    Raises
    ------
    ValueError
        If the file has no ``repository.url`` string.
    """
    import yaml  # a dependency of Jupyter Book

    config = yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {}
    url = (config.get("repository") or {}).get("url")
    if not isinstance(url, str) or not url:
        raise ValueError(f"config_file {config_file} has no repository.url: the book's one "
                         f"setting, https://github.com/OWNER/NAME.")
    return url


def site_url(repository_url: str) -> str:
    """The book's site: the GitHub Pages address of its repository.

    Parameters
    ----------
    repository_url : str
        ``https://github.com/OWNER/NAME``, optionally ending in ``.git`` or ``/``.

    Returns
    -------
    str
        ``https://owner.github.io/NAME/``, or ``https://owner.github.io/`` for
        a repository named ``OWNER.github.io``; always ending in ``/``. GitHub
        Pages hosts are lower case; the path keeps the repository's spelling.

    Raises
    ------
    TypeError
        If ``repository_url`` is not a str.
    ValueError
        If it is not the address of a GitHub repository.
    """
    if not isinstance(repository_url, str):
        raise TypeError(f"repository_url must be a str, got {type(repository_url).__name__}.")
    match = _GITHUB_URL.fullmatch(repository_url)
    if match is None:
        raise ValueError(f"repository_url must be https://github.com/OWNER/NAME (the book's "
                         f"site is that repository's GitHub Pages), got {repository_url!r}.")
    owner, name = match["owner"].lower(), match["name"]
    if name in {".", ".."}:
        raise ValueError(f"repository_url names no repository: {repository_url!r}.")
    host = f"https://{owner}.github.io/"
    return host if name.lower() == f"{owner}.github.io" else f"{host}{name}/"


def wheel_name(pyproject_file: str | os.PathLike[str]) -> str:
    """The file name of the package's pure-Python wheel (PEP 427).

    Parameters
    ----------
    pyproject_file : str or path-like
        The package's ``pyproject.toml``, with ``project.name`` and a static
        ``project.version``.

    Returns
    -------
    str
        ``NAME-VERSION-py3-none-any.whl``, name and version normalized as
        wheel file names require.

    Raises
    ------
    ValueError
        If the file has no name or no static version, or an invalid version.
    """
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    project = tomllib.loads(Path(pyproject_file).read_text(encoding="utf-8")).get("project", {})
    name, version = project.get("name"), project.get("version")
    if not isinstance(name, str) or not isinstance(version, str):
        raise ValueError(f"pyproject_file {pyproject_file} must give project.name and a static "
                         f"project.version.")
    try:
        version = str(Version(version))
    except InvalidVersion as exc:
        raise ValueError(f"pyproject_file {pyproject_file} has an invalid project.version "
                         f"{version!r}.") from exc
    return f"{canonicalize_name(name).replace('-', '_')}-{version}-py3-none-any.whl"


def wheel_url(root: str | os.PathLike[str] = ROOT) -> str:
    """Where the built site serves the wheel: the site's URL, ``_static/``, the wheel's name.

    Parameters
    ----------
    root : str or path-like, default the repository's root
        The folder holding ``_config.yml`` and ``pyproject.toml``.

    Returns
    -------
    str
        The URL that every chapter's install cell must hold.

    Raises
    ------
    ValueError
        If ``root`` lacks either file, or they do not give a URL (see
        :func:`read_repository_url`, :func:`site_url`, :func:`wheel_name`).
    """
    config, pyproject = _root_file(root, "_config.yml"), _root_file(root, "pyproject.toml")
    return f"{site_url(read_repository_url(config))}_static/{wheel_name(pyproject)}"


def _root_file(root: str | os.PathLike[str], name: str) -> Path:
    path = Path(root) / name
    if not path.exists():
        raise ValueError(f"root {root} has no {name}: it must be the repository's root.")
    return path


def _first_code_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            return source if isinstance(source, str) else "".join(source)
    raise ValueError(f"notebook {notebook} has no code cell.")


def install_cell_wheel(notebook: str | os.PathLike[str]) -> str:
    """The URL on the ``WHEEL = "..."`` line of a notebook's first code cell.

    Parameters
    ----------
    notebook : str or path-like
        A chapter's ``.ipynb`` file.

    Returns
    -------
    str
        The URL the install cell installs cnnlab from.

    Raises
    ------
    ValueError
        If the first code cell has no such line, or more than one.
    """
    notebook = Path(notebook)
    found = _WHEEL_LINE.findall(_first_code_cell(notebook))
    if len(found) != 1:
        raise ValueError(f"notebook {notebook}: the first code cell must have one line "
                         f'WHEEL = "URL", found {len(found)}.')
    return found[0][1]


def retarget(notebook: str | os.PathLike[str], url: str) -> bool:
    """Set the URL on the install cell's ``WHEEL`` line, changing no other byte.

    The notebook's JSON is edited as text, so the file's formatting, outputs
    and metadata stay exactly as they were.

    Parameters
    ----------
    notebook : str or path-like
        A chapter's ``.ipynb`` file, rewritten in place when its URL differs.
    url : str
        The wheel's URL (:func:`wheel_url`).

    Returns
    -------
    bool
        Whether the file was rewritten.

    Raises
    ------
    TypeError
        If ``url`` is not a str.
    ValueError
        If ``url`` would need escaping in the cell (a quote, a backslash, a
        line break), or the notebook's ``WHEEL`` line is missing, repeated, or
        not in its first code cell.
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}.")
    if not url or re.search(r'["\\\s]', url):
        raise ValueError(f"url must be non-empty, without quotes, backslashes or spaces, "
                         f"got {url!r}.")
    notebook = Path(notebook)
    if install_cell_wheel(notebook) == url:
        return False
    text = notebook.read_text(encoding="utf-8")
    if len(_WHEEL_JSON.findall(text)) != 1:
        raise ValueError(f'notebook {notebook}: the line WHEEL = "URL" must occur once in the '
                         f"file, in the first code cell.")
    new_text = _WHEEL_JSON.sub(lambda m: m[1] + url + m[3], text)
    with tempfile.TemporaryDirectory() as tmp:  # check the result before replacing the file
        check = Path(tmp) / notebook.name
        check.write_text(new_text, encoding="utf-8")
        if install_cell_wheel(check) != url:
            raise ValueError(f'notebook {notebook}: its WHEEL = "URL" line is not in the first '
                             f"code cell.")
    notebook.write_text(new_text, encoding="utf-8")
    return True


def build_wheel(root: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Build cnnlab's wheel, weights included, from a copy of its sources.

    The copy keeps the build's ``build/`` and ``*.egg-info`` folders out of the
    working tree. pip builds it in an isolated environment with the
    setuptools that ``pyproject.toml`` asks for (from the package index).

    Parameters
    ----------
    root : str or path-like
        The repository's root.
    dest : str or path-like
        The folder the wheel is written to (created if missing).

    Returns
    -------
    Path
        The wheel, named as :func:`wheel_name` says.

    Raises
    ------
    ValueError
        If ``root`` lacks one of the sources (``pyproject.toml``, ``README.md``,
        ``cnnlab/``).
    RuntimeError
        If pip fails, or builds a wheel of another name.
    """
    sources = [_root_file(root, part) for part in _WHEEL_SOURCES]
    dest = Path(dest)
    expected = wheel_name(sources[0])
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for source in sources:
            if source.is_dir():
                shutil.copytree(source, Path(tmp) / source.name,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, Path(tmp) / source.name)
        out = Path(tmp) / "dist"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir",
             str(out), tmp],
            capture_output=True, text=True, check=False,
            env={**os.environ, "SOURCE_DATE_EPOCH": _SOURCE_DATE_EPOCH},
        )
        if result.returncode != 0:
            raise RuntimeError(f"pip could not build cnnlab's wheel:\n{result.stderr}")
        built = sorted(path.name for path in out.glob("*.whl"))
        if built != [expected]:
            raise RuntimeError(f"pip built {built}, expected [{expected!r}] "
                               f"(wheel_name reads pyproject.toml).")
        target = dest / expected
        shutil.copy2(out / expected, target)
    return target


def _substitutions(app: Sphinx, config: Config) -> None:
    repository = config.html_theme_options.get("repository_url")
    if not repository:
        from sphinx.errors import ExtensionError

        raise ExtensionError("_config.yml has no repository.url: the book's one setting.")
    site = site_url(repository)  # also checks that it is a GitHub repository's address
    wheel = f"{site}_static/{wheel_name(Path(app.srcdir) / 'pyproject.toml')}"
    name = _GITHUB_URL.fullmatch(repository)["name"]
    # Plain for a literal block, as an autolink for the text (a substitution
    # inside a Markdown link's target is not expanded).
    config.myst_substitutions = {
        **config.myst_substitutions,
        "repository_url": repository,
        "repository_name": name,  # the folder git clone makes
        "repository_link": f"<{repository}>",
        "site_link": f"<{site}>",
        "wheel_link": f"<{wheel}>",
    }


def _build_wheel(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    # Built before the pages, so that a failure shows at once; copied into the
    # site when the build has finished.
    app.cnnlab_wheel = build_wheel(app.srcdir, Path(app.doctreedir).parent / "wheel")


def _copy_wheel(app: Sphinx, exception: Exception | None) -> None:
    wheel = getattr(app, "cnnlab_wheel", None)
    if exception is not None or wheel is None:
        return
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    for old in static.glob("*.whl"):  # a wheel of an earlier version
        old.unlink()
    shutil.copy2(wheel, static / wheel.name)


def setup(app: Sphinx) -> dict:
    # Before MyST reads its settings (at builder-inited).
    app.connect("config-inited", _substitutions)
    app.connect("builder-inited", _build_wheel)
    app.connect("build-finished", _copy_wheel)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    """Check, or with ``--write`` set, every chapter's install-cell URL; return the exit status."""
    parser = argparse.ArgumentParser(
        description="Derive the book's site and wheel URL from _config.yml's repository.url "
                    "and check (or --write) the WHEEL line of every chapter's install cell.")
    parser.add_argument("--write", action="store_true", help="rewrite the lines that differ")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository's root")
    args = parser.parse_args(argv)
    repository = read_repository_url(args.root / "_config.yml")
    url = wheel_url(args.root)
    print(f"repository {repository}\nsite       {site_url(repository)}\nwheel      {url}")
    notebooks = sorted((args.root / "notebooks").glob("*.ipynb"))
    if not notebooks:
        print(f"no notebooks in {args.root / 'notebooks'}", file=sys.stderr)
        return 1
    differ = 0
    for notebook in notebooks:
        try:
            current = install_cell_wheel(notebook)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1
        if current == url:
            state = "ok"
        elif args.write:
            retarget(notebook, url)
            state = "rewritten"
        else:
            state, differ = f"differs: {current}", differ + 1
        print(f"{notebook.relative_to(args.root)}: {state}")
    if differ:
        print(f"{differ} notebook(s) differ: run 'make retarget'.", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
