"""The wheel of cnnlab that the built site carries: weights included, and it runs chapter 1.

A reader on Colab, or anywhere else, installs cnnlab from the site:
chapter 1's first cell, served over HTTP, runs here in a fresh virtual
environment that holds a kernel and nothing else (as a bare Colab-like kernel
would), installs the wheel from the site with pip, and the whole chapter must
run without an error. Needs the site (``make book``) and the package index
(TensorFlow and the other dependencies come from there). A few minutes.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import json
import os
import shutil
import subprocess
import threading
import time
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHAPTER_1 = ROOT / "notebooks" / "01_convolution.ipynb"
_SPEC = importlib.util.spec_from_file_location(
    "book_location", ROOT / "book" / "_ext" / "book_location.py")
book_location = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(book_location)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def wheel() -> Path:
    path = SITE / "_static" / book_location.wheel_name(ROOT / "pyproject.toml")
    if not path.is_file():
        pytest.fail(f"no {path.name} in {path.parent}: run 'make book' first (make test does).")
    return path


def test_the_site_carries_one_wheel_with_every_weight_and_module(wheel):
    assert sorted(p.name for p in wheel.parent.glob("*.whl")) == [wheel.name]
    with zipfile.ZipFile(wheel) as archive:
        carried = {name: _sha256(archive.read(name)) for name in archive.namelist()}
    package = ROOT / "cnnlab"
    files = [p for p in package.rglob("*") if p.is_file()
             and p.suffix in {".py", ".npz", ".json"} and "__pycache__" not in p.parts]
    assert sum(p.suffix == ".npz" for p in files) > 0
    for path in files:
        name = path.relative_to(ROOT).as_posix()
        assert carried.get(name) == _sha256(path.read_bytes()), f"{name} missing or different"


def test_how_to_read_gives_the_addresses_of_this_book():
    page = (SITE / "book" / "how_to_read.html").read_text(encoding="utf-8")
    repository = book_location.read_repository_url(ROOT / "_config.yml")
    assert f"git clone {repository}" in page
    assert f'href="{book_location.wheel_url(ROOT)}"' in page
    assert f'href="{book_location.site_url(repository)}"' in page
    assert "{{" not in page


@pytest.fixture
def site_server():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


def test_the_wheel_installs_from_the_site_and_runs_chapter_1(wheel, site_server, tmp_path):
    # MNIST is read from the cache the tests use (verified here, fetched if it is
    # missing): the kernel inherits CNNLAB_DATA_DIR, or the same default folder,
    # so the chapter does not download it again.
    from cnnlab.data import load_mnist_raw

    load_mnist_raw()
    start = time.perf_counter()
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)  # no system site packages: nothing of ours leaks in
    python = env_dir / "bin" / "python"
    # ipykernel is the kernel itself, which a notebook host provides: nothing else
    # is installed before the chapter's first cell runs.
    subprocess.run([python, "-m", "pip", "install", "--quiet", "ipykernel"], check=True)
    kernels = tmp_path / "kernels" / "wheel-venv"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "cnnlab wheel venv", "language": "python"}))

    # The chapter as the site serves it, its install cell pointed at this server.
    notebook = tmp_path / CHAPTER_1.name
    shutil.copy(CHAPTER_1, notebook)
    book_location.retarget(notebook, f"{site_server}_static/{wheel.name}")
    nb = nbformat.read(notebook, as_version=4)
    # Run where the repository's cnnlab/ folder is not importable, with no user
    # site-packages and no PYTHONPATH: cnnlab can only come from the wheel.
    kernel_env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    kernel_env["PYTHONNOUSERSITE"] = "1"
    manager = KernelManager(kernel_name="wheel-venv", kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(kernels.parent)], ensure_native_kernel=False))
    client = NotebookClient(nb, km=manager, timeout=900,
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=kernel_env)  # a failing cell raises CellExecutionError
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    print(f"fresh venv, install from the site and chapter 1: {time.perf_counter() - start:.0f} s")

    installed = subprocess.run(
        [python, "-c", "import cnnlab, importlib.metadata as m; print(cnnlab.__file__); "
         "print(m.distribution('cnnlab').read_text('direct_url.json'))"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=kernel_env).stdout
    module_file, direct_url = installed.split("\n", 1)
    assert Path(module_file).is_relative_to(env_dir)
    assert json.loads(direct_url)["url"] == f"{site_server}_static/{wheel.name}"
