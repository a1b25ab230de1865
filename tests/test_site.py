"""The built site in headless Chromium, with no network: every page, every slider.

Needs the site (``make book``) and Debian's ``chromium`` (the ``browser``
fixture in conftest.py). ``make test`` builds the one and installs the other
where it runs as root.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.site

SITE = Path(__file__).resolve().parents[1] / "_build" / "html"


def _pages() -> list[str]:
    if not (SITE / "index.html").is_file():
        return []
    skip = ("_static", "_sources", "_images")
    return sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
                  if p.relative_to(SITE).parts[0] not in skip)


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no site in {SITE}: run 'make book' first (make test does).")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


class PageLog:
    """A page that records console errors, script errors and outside requests."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("response", self._response)
        # Every request that would leave localhost is recorded and refused.
        self.context.route("**/*", self._route)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def _response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.status} {response.url}")

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path: str):
        self.page.goto(f"{self.base}/{path}", wait_until="load")
        self.page.wait_for_load_state("networkidle")
        return self.page

    def check(self, path: str):
        assert not self.outside, f"{path} requested outside localhost: {self.outside}"
        assert not self.failed, f"{path} had failed requests: {self.failed}"
        assert not self.errors, f"{path} logged errors: {self.errors}"

    def close(self):
        self.context.close()


def test_site_has_the_chapters():
    pages = _pages()
    assert "notebooks/01_convolution.html" in pages, pages
    assert "book/intro.html" in pages and "book/references.html" in pages


@pytest.mark.parametrize("path", _pages() or ["index.html"])
def test_page_loads_cleanly_offline(server, browser, path):
    log = PageLog(browser, server)
    try:
        page = log.open(path)
        assert page.title(), f"{path} has no title"
        log.check(path)
    finally:
        log.close()


def test_chapter1_math_renders_from_local_mathjax(server, browser):
    log = PageLog(browser, server)
    try:
        page = log.open("notebooks/01_convolution.html")
        page.wait_for_selector("mjx-container", timeout=15000)
        assert page.locator("mjx-container").count() > 10
        log.check("chapter 1")
    finally:
        log.close()


def _chapters() -> list[str]:
    return [p for p in _pages() if p.startswith("notebooks/")] or ["notebooks/missing.html"]


@pytest.mark.parametrize("path", _chapters())
def test_every_explorer_control_changes_the_picture(server, browser, path):
    log = PageLog(browser, server)
    try:
        page = log.open(path)
        explorers = page.locator(".cnnlab-explorer")
        assert explorers.count() >= 1, f"{path} has no explorer"
        for e in range(explorers.count()):
            explorer = explorers.nth(e)
            explorer.scroll_into_view_if_needed()
            picture = explorer.locator("img.cnnlab-frame")
            controls = explorer.locator("[data-control]")
            assert controls.count() >= 1
            for c in range(controls.count()):
                control = controls.nth(c)
                name = control.get_attribute("data-control")
                before = picture.get_attribute("src")
                if control.evaluate("el => el.tagName") == "SELECT":
                    options = control.locator("option")
                    current = int(control.input_value())
                    control.select_option(index=(current + 1) % options.count())
                else:
                    label = control.locator("xpath=following-sibling::output")
                    old_label = label.text_content()
                    control.focus()
                    # As a reader would, with the keyboard; back from a slider's end.
                    at_end = control.evaluate("el => el.value === el.max")
                    page.keyboard.press("ArrowLeft" if at_end else "ArrowRight")
                    assert label.text_content() != old_label, f"{name}: label did not update"
                after = picture.get_attribute("src")
                assert after.startswith("data:image/png;base64,")
                assert after != before, f"{path}, explorer {e}: moving {name!r} changed nothing"
        picture.screenshot(path=tmp_screenshot(path))
        log.check(path)
    finally:
        log.close()


def tmp_screenshot(path: str) -> Path:
    """Where the last explorer of a page is photographed (for a human to look at)."""
    folder = SITE.parent / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder / (Path(path).stem + ".png")
