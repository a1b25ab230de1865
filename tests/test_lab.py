"""Chapter 1's explorer live in JupyterLab: run the notebook, move the slider.

Runs a copy of the notebook (JupyterLab autosaves; the committed outputs must
not change) in a JupyterLab server on localhost, driven by headless Chromium.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.site

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_convolution.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    port = _free_port()
    log = open(root / "lab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
         f"--port={port}", "--ServerApp.ip=127.0.0.1", "--ServerApp.token=",
         "--ServerApp.password=", f"--ServerApp.root_dir={root}"],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        else:
            pytest.fail(f"JupyterLab did not start: {(root / 'lab.log').read_text()[-2000:]}")
        yield url
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def test_chapter1_explorer_is_live_in_jupyterlab(lab, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{lab}/lab/tree/{NOTEBOOK.name}")
        page.wait_for_selector(".jp-Notebook", timeout=60_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)  # kernel up
        page.click("text=Run", timeout=10_000)
        page.click("text=Run All Cells", timeout=10_000)
        # The chapter has two explorers; this test drives "Convolve a digit".
        explorer = page.locator(".widget-vbox").filter(has_text="Convolve a digit").last
        explorer.locator("img").first.wait_for(timeout=240_000)
        picture = explorer.locator("img").first.element_handle()
        page.wait_for_function(
            "el => el.src && (el.src.startsWith('blob:') || el.src.startsWith('data:'))",
            arg=picture, timeout=60_000)
        before = picture.get_attribute("src")

        handle = explorer.locator(".widget-slider .noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("([el, old]) => el.src !== old", arg=[picture, before],
                               timeout=60_000)
        assert picture.get_attribute("src") != before

        # The live-only path: a kernel typed by hand.
        explorer.locator("select").first.select_option(label="custom (type below)")
        page.wait_for_function("([el, old]) => el.src !== old",
                               arg=[picture, picture.get_attribute("src")], timeout=60_000)
        box = explorer.locator("input[type='text']").first
        box.fill("0 0 0; 0 2 0; 0 0 oops")
        box.press("Enter")
        page.wait_for_selector("text=kernel entries must be numbers", timeout=60_000)
    finally:
        context.close()
