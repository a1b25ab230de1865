"""Tests for cnnlab.explorers.base: controls, static frames and HTML, the live widget, the
site script."""

import base64
import html
import itertools
import json
import re
import shutil
import subprocess

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnlab.explorers import base
from cnnlab.explorers.base import MAX_FRAMES, Control, Explorer, to_png

NUMBERS = [1, 2, 3]
WORDS = ["a", "b"]
VIEW_KEY = "application/vnd.jupyter.widget-view+json"


def _render(n, word):
    fig = plt.figure(figsize=(1.0, 0.5))
    fig.text(0.1, 0.3, f"{n}{word}")
    return fig


def _controls():
    return [Control("n", NUMBERS, label="number", default=2),
            Control("word", WORDS, default="b")]


@pytest.fixture
def explorer():
    return Explorer(_render, _controls(), title="Numbers & words")


def _img_src(page):
    return re.search(r'<img class="cnnlab-frame" [^>]*src="data:image/png;base64,([^"]+)"',
                     page).group(1)


def _payload(page):
    found = re.search(r'<script type="application/json" class="cnnlab-data">(.*?)</script>',
                      page)
    return found.group(1)


# -- Control ------------------------------------------------------------------------------


def test_control_kinds_defaults_and_text():
    numbers = Control("n", [1, 2.5, np.int64(4)])
    assert numbers._kind == "slider"
    assert numbers.values == (1, 2.5, 4)
    assert numbers.default == 1
    assert numbers.text == "n"
    words = Control("word", ("a", "b"), label="a word", default="b", live=["a", "b", "c"])
    assert words._kind == "dropdown"
    assert words.default == "b"
    assert words.text == "a word"
    assert words.live == ("a", "b", "c")
    assert Control("flag", [True, False])._kind == "dropdown"
    assert Control("mixed", [1, "two"])._kind == "dropdown"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "1x"}, r"Control name must be a Python identifier, got '1x'"),
        ({"name": "two words"}, r"Control name must be a Python identifier"),
        ({"name": 3}, r"Control name must be a Python identifier"),
        ({"values": []}, r"Control 'n': values is empty"),
        ({"values": [1, 2, 1]}, r"Control 'n': values repeat"),
        ({"default": 5}, r"Control 'n': default 5 is not one of \[1, 2, 3\]"),
        ({"live": [1, 2]}, r"Control 'n': live must include every static value; missing \[3\]"),
    ],
    ids=["name-digit", "name-space", "name-int", "values-empty", "values-repeat",
         "default-missing", "live-missing"],
)
def test_control_rejects_bad_input(kwargs, match):
    args = {"name": "n", "values": NUMBERS, **kwargs}
    with pytest.raises(ValueError, match=match):
        Control(**args)


# -- to_png -------------------------------------------------------------------------------


def test_to_png_of_a_figure_is_deterministic_and_closes_the_figure():
    first = _render(1, "a")
    png = to_png(first)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert not plt.fignum_exists(first.number)
    assert to_png(_render(1, "a")) == png
    assert to_png(_render(1, "b")) != png
    assert b"Software" not in png
    # 1.0 x 0.5 inches: the IHDR chunk holds width and height in pixels.
    width, height = (int.from_bytes(png[k:k + 4], "big") for k in (16, 20))
    assert width == base.STATIC_DPI
    assert abs(height - base.STATIC_DPI / 2) <= 1
    big = to_png(_render(1, "a"), dpi=128)
    assert int.from_bytes(big[16:20], "big") == 128


@pytest.mark.parametrize("value", [None, b"\x89PNG", "figure"], ids=["none", "bytes", "str"])
def test_to_png_rejects_bad_input(value):
    with pytest.raises(TypeError, match=r"must return a Sheet or a matplotlib Figure"):
        to_png(value)


def test_to_png_rejects_axes():
    _, ax = plt.subplots()
    with pytest.raises(TypeError, match=r"must return a Sheet or a matplotlib Figure, got Axes"):
        to_png(ax)


# -- Explorer construction ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("render", "controls", "extra", "error", "match"),
    [
        ("not callable", _controls(), None, TypeError, r"render must be callable"),
        (_render, [], None, ValueError, r"controls must be a non-empty sequence"),
        (_render, ["n"], None, ValueError, r"controls must be a non-empty sequence"),
        (_render, [Control("a", range(21)), Control("b", range(20))], None, ValueError,
         r"420 static frames, more than MAX_FRAMES \(400\)"),
        (_render, [Control("n", [1]), Control("n", [2])], None, ValueError,
         r"control names repeat"),
        (_render, _controls(), {"word": object()}, ValueError, r"control names repeat"),
    ],
    ids=["render-str", "controls-empty", "controls-str", "too-many-frames", "names-repeat",
         "live-extra-repeat"],
)
def test_explorer_rejects_bad_input(render, controls, extra, error, match):
    with pytest.raises(error, match=match):
        Explorer(render, controls, title="t", live_extra=extra)


def test_explorer_accepts_exactly_max_frames():
    side = int(MAX_FRAMES ** 0.5)
    assert side * side == MAX_FRAMES
    Explorer(_render, [Control("a", range(side)), Control("b", range(side))], title="t")


def test_element_id_depends_on_title_and_controls_not_render(explorer):
    def other_render(n, word):
        return _render(word, n)

    assert re.fullmatch(r"cnnlab-explorer-[0-9a-f]{10}", explorer.element_id)
    same = Explorer(other_render, _controls(), title="Numbers & words")
    assert same.element_id == explorer.element_id
    retitled = Explorer(_render, _controls(), title="Other")
    assert retitled.element_id != explorer.element_id
    revalued = Explorer(_render, [Control("n", [1, 2, 4]), Control("word", WORDS)],
                        title="Numbers & words")
    assert revalued.element_id != explorer.element_id
    renamed = Explorer(_render, [Control("m", NUMBERS), Control("word", WORDS)],
                       title="Numbers & words")
    assert renamed.element_id != explorer.element_id


# -- static stage -------------------------------------------------------------------------


def test_frames_are_row_major_last_control_fastest(explorer):
    pictures, index = explorer.frames()
    assert len(index) == len(NUMBERS) * len(WORDS) == 6
    assert len(pictures) == 6
    for k in range(6):
        i, j = divmod(k, len(WORDS))
        expected = to_png(_render(n=NUMBERS[i], word=WORDS[j]))
        assert pictures[index[k]] == expected, k


def test_equal_frames_are_stored_once():
    def ignores_word(n, word):
        return _render(n, "")

    pictures, index = Explorer(ignores_word, _controls(), title="t").frames()
    assert len(pictures) == 3
    assert index == [0, 0, 1, 1, 2, 2]
    assert pictures[index[4]] == to_png(_render(3, ""))


def test_frames_pass_static_extra():
    calls = []

    def render(n, word, typed):
        calls.append((n, word, typed))
        return _render(n, word)

    Explorer(render, _controls(), title="t", live_extra={"typed": ipywidgets.Text("live")},
             static_extra={"typed": "static"}).frames()
    assert calls == [(n, w, "static") for n, w in itertools.product(NUMBERS, WORDS)]


def test_to_html_is_deterministic(explorer):
    assert explorer.to_html() == explorer.to_html()
    assert Explorer(_render, _controls(), title="Numbers & words").to_html() == \
        explorer.to_html()


def test_to_html_controls_and_initial_frame(explorer):
    page = explorer.to_html()
    assert page.startswith(f'<div class="cnnlab-explorer" id="{explorer.element_id}">')
    assert "<strong>Numbers &amp; words</strong>" in page

    assert page.count('<input type="range"') == 1
    slider = re.search(r'<input type="range"[^>]*>', page).group(0)
    assert 'min="0"' in slider and 'max="2"' in slider
    assert 'value="1"' in slider  # default 2 is at position 1
    assert 'data-control="n"' in slider
    labels = re.search(r'data-labels="([^"]*)"', slider).group(1)
    assert json.loads(html.unescape(labels)) == ["1", "2", "3"]
    assert f'<label style="{base._LABEL_STYLE}">number <input' in page
    # Disabled with a note until the site's script runs (a stored output in JupyterLab).
    assert slider.endswith(" disabled>")
    assert "run the notebook to explore" in page
    assert "<output>2</output>" in page

    assert page.count("<select") == 1
    select = re.search(r'<select data-control="word" disabled>(.*?)</select>', page).group(1)
    options = re.findall(r"<option[^>]*>[^<]*</option>", select)
    assert options == ['<option value="0">a</option>', '<option value="1" selected>b</option>']

    initial = base64.b64decode(_img_src(page))
    assert initial == to_png(_render(n=2, word="b"))
    assert base._STATIC_JS in page


def test_to_html_payload_matches_frames(explorer):
    pictures, index = explorer.frames()
    payload = json.loads(_payload(explorer.to_html()))
    assert payload["sizes"] == [3, 2]
    assert payload["index"] == index
    assert [base64.b64decode(f) for f in payload["frames"]] == pictures


def test_to_html_formats_float_slider_labels():
    page = Explorer(lambda x: _render(x, ""), [Control("x", [0.5, 1.0, 2.25], default=1.0)],
                    title="t").to_html()
    labels = re.search(r'data-labels="([^"]*)"', page).group(1)
    assert json.loads(html.unescape(labels)) == ["0.5", "1", "2.25"]
    assert "<output>1</output>" in page
    assert base64.b64decode(_img_src(page)) == to_png(_render(1.0, ""))


def test_repr_mimebundle_outside_a_kernel(explorer, monkeypatch):
    monkeypatch.delenv(base.FRAMES_ENV, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert not base._in_kernel()
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert VIEW_KEY not in bundle
    assert bundle["text/plain"] == "Explorer('Numbers & words': n x3, word x2)"
    assert bundle["text/html"] == explorer.to_html()


def test_repr_mimebundle_in_a_kernel_adds_the_view(explorer, monkeypatch):
    monkeypatch.setattr(base, "_in_kernel", lambda: True)
    bundle = explorer._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", VIEW_KEY}
    assert bundle["text/plain"].startswith("Explorer(")
    assert bundle[VIEW_KEY]["model_id"]


def test_combo_position_is_row_major():
    for sizes in [(4,), (3, 2), (2, 3, 4), (1, 5, 1, 2)]:
        for positions in np.ndindex(*sizes):
            expected = int(np.ravel_multi_index(positions, sizes))
            assert base._combo_position(list(positions), list(sizes)) == expected


_NODE_HARNESS = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const handlers = [];
const inputs = input.controls.map(c => ({
  type: c.type, value: '0', dataset: c.labels === null ? {} : {labels: c.labels},
  nextElementSibling: {textContent: ''},
  addEventListener: (event, fn) => handlers.push([event, fn]),
}));
inputs.forEach(el => { el.disabled = true; });
const img = {src: 'initial'};
const root = {
  querySelector: s => s === 'script.cnnlab-data' ? {textContent: input.payload}
                    : s === 'img.cnnlab-frame' ? img : null,
  querySelectorAll: s => s === '[data-control]' ? inputs : [],
};
globalThis.document = {currentScript: {parentElement: root}};
eval(input.script);
const shown = [];
for (const combo of input.combos) {
  combo.forEach((p, k) => { inputs[k].value = String(p); });
  handlers.forEach(([event, fn]) => { if (event === 'input') fn(); });
  shown.push({src: img.src, labels: inputs.map(el => el.nextElementSibling.textContent)});
}
process.stdout.write(JSON.stringify({shown: shown, listeners: handlers.length,
                                     disabled: inputs.map(el => el.disabled)}));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js to run the site script")
def test_static_script_shows_the_selected_frame():
    controls = [Control("n", NUMBERS), Control("word", WORDS), Control("x", [0.5, 1.5])]

    def render(n, word, x):
        return _render(n, f"{word}{x}")

    page = Explorer(render, controls, title="t").to_html()
    inputs = re.findall(r'<(input|select) [^>]*data-control="(\w+)"[^>]*>', page)
    assert [name for _, name in inputs] == ["n", "word", "x"]
    described = []
    for tag, name in inputs:
        element = re.search(rf'<{tag} [^>]*data-control="{name}"[^>]*>', page).group(0)
        labels = re.search(r'data-labels="([^"]*)"', element)
        described.append({"type": "range" if tag == "input" else "select-one",
                          "labels": html.unescape(labels.group(1)) if labels else None})
    script = re.search(r"<script>(.*)</script></div>$", page, re.DOTALL).group(1)
    combos = list(itertools.product(range(3), range(2), range(2)))
    result = subprocess.run(
        ["node", "-e", _NODE_HARNESS],
        input=json.dumps({"payload": _payload(page), "script": script,
                          "controls": described, "combos": combos}),
        capture_output=True, text=True, check=True, timeout=60,
    )
    out = json.loads(result.stdout)
    assert out["listeners"] == 3
    assert out["disabled"] == [False, False, False]      # the script enables the controls
    for combo, shown in zip(combos, out["shown"], strict=True):
        n, word, x = NUMBERS[combo[0]], WORDS[combo[1]], [0.5, 1.5][combo[2]]
        expected = to_png(render(n, word, x))
        assert base64.b64decode(shown["src"].removeprefix("data:image/png;base64,")) == \
            expected, combo
        assert shown["labels"][0] == str(n)
        assert shown["labels"][2] == f"{x:g}"


# -- live stage ---------------------------------------------------------------------------


def _parts(box):
    image = [c for c in box.children if isinstance(c, ipywidgets.Image)]
    message = [c for c in box.children if type(c) is ipywidgets.HTML][-1]
    inputs = box.children[1].children
    return image[0], message, inputs


def test_widget_renders_and_follows_the_controls(explorer):
    box = explorer.widget()
    assert isinstance(box, ipywidgets.VBox)
    image, message, (slider, dropdown) = _parts(box)
    assert isinstance(slider, ipywidgets.IntSlider)
    assert (slider.min, slider.max, slider.step, slider.value) == (1, 3, 1, 2)
    assert slider.description == "number"
    assert isinstance(dropdown, ipywidgets.Dropdown)
    assert tuple(dropdown.options) == ("a", "b") and dropdown.value == "b"
    assert bytes(image.value).startswith(b"\x89PNG")
    assert bytes(image.value) == to_png(_render(2, "b"))
    assert message.value == ""

    before = bytes(image.value)
    slider.value = 3
    assert bytes(image.value) != before
    assert bytes(image.value) == to_png(_render(3, "b"))
    dropdown.value = "a"
    assert bytes(image.value) == to_png(_render(3, "a"))


def test_widget_uses_live_values():
    controls = [Control("n", [1, 2], live=[0, 1, 2, 3, 4]),
                Control("x", [0.5, 1.0]),
                Control("k", [1, 4, 2]),
                Control("word", WORDS, live=[*WORDS, "c"])]
    box = Explorer(lambda n, x, k, word: _render(n, word), controls, title="t").widget()
    n, x, k, word = box.children[1].children
    assert isinstance(n, ipywidgets.IntSlider) and (n.min, n.max, n.value) == (0, 4, 1)
    assert isinstance(x, ipywidgets.SelectionSlider) and tuple(x.options) == (0.5, 1.0)
    assert isinstance(k, ipywidgets.SelectionSlider) and tuple(k.options) == (1, 4, 2)
    assert isinstance(word, ipywidgets.Dropdown) and tuple(word.options) == ("a", "b", "c")


def test_widget_reports_render_errors_and_keeps_the_picture():
    def render(n, word):
        if n == 3:
            raise ValueError("n=3 <is> not allowed")
        return _render(n, word)

    image, message, (slider, _) = _parts(Explorer(render, _controls(), title="t").widget())
    before = bytes(image.value)
    slider.value = 3
    assert "n=3 &lt;is&gt; not allowed" in message.value
    assert bytes(image.value) == before
    slider.value = 1
    assert message.value == ""
    assert bytes(image.value) == to_png(_render(1, "b"))


def test_widget_live_extra_reaches_render():
    typed = ipywidgets.Text(value="x")

    def render(n, word, typed):
        return _render(n, word + typed)

    box = Explorer(render, _controls(), title="t", live_extra={"typed": typed},
                   static_extra={"typed": ""}).widget()
    assert typed in box.children[2].children
    image = [c for c in box.children if isinstance(c, ipywidgets.Image)][0]
    assert bytes(image.value) == to_png(_render(2, "bx"))
    typed.value = "yz"
    assert bytes(image.value) == to_png(_render(2, "byz"))


# -- where frames are rendered, the picture cache, links ------------------------------------


@pytest.mark.parametrize(
    ("env", "colab", "wanted"),
    [({}, False, True),                                        # nbval, nbconvert, make execute
     ({"JPY_SESSION_NAME": "ch1.ipynb"}, False, False),        # JupyterLab, a hub, Binder
     ({}, True, False),                                        # Colab
     ({"JPY_SESSION_NAME": "ch1.ipynb", "CNNLAB_STATIC_FRAMES": "1"}, False, True),
     ({"CNNLAB_STATIC_FRAMES": "0"}, False, False)],
    ids=["recording", "lab-session", "colab", "forced-on", "forced-off"])
def test_static_frames_wanted(monkeypatch, env, colab, wanted):
    import sys
    import types

    for name in ("JPY_SESSION_NAME", base.FRAMES_ENV):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert base.static_frames_wanted() is wanted


def test_repr_mimebundle_of_a_live_reader_renders_no_frames(monkeypatch):
    calls = []

    def render(n, word):
        calls.append((n, word))
        return _render(n, word)

    monkeypatch.setenv("JPY_SESSION_NAME", "ch1.ipynb")
    monkeypatch.delenv(base.FRAMES_ENV, raising=False)
    monkeypatch.setattr(base, "_in_kernel", lambda: True)
    bundle = Explorer(render, _controls(), title="t")._repr_mimebundle_()
    assert calls == [(2, "b")]                  # the live widget's first picture, no frames
    assert "cnnlab-frame" not in bundle["text/html"]
    assert "needs a running kernel" in bundle["text/html"]
    assert VIEW_KEY in bundle


def test_picture_is_cached_per_combination_and_bounded(monkeypatch):
    calls = []

    def render(n, word):
        calls.append((n, word))
        return _render(n, word)

    explorer = Explorer(render, _controls(), title="t")
    first = explorer.picture(n=1, word="a")
    assert explorer.picture(n=1, word="a") == first and calls == [(1, "a")]
    explorer.clear_pictures()
    assert explorer.picture(n=1, word="a") == first and len(calls) == 2
    monkeypatch.setattr(base, "LIVE_CACHE", 2)
    explorer.picture(n=2, word="a")
    explorer.picture(n=3, word="a")                       # (1, 'a') is the oldest: dropped
    explorer.picture(n=1, word="a")
    assert calls[-1] == (1, "a") and len(calls) == 5
    typed = []

    def with_upload(n, word, upload):
        typed.append(upload)
        return _render(n, word)

    uploads = Explorer(with_upload, _controls(), title="t",
                       live_extra={"upload": ipywidgets.Text()}, static_extra={"upload": ()})
    uploads.picture(n=1, word="a", upload=[{"content": b"x"}])
    uploads.picture(n=1, word="a", upload=[{"content": b"x"}])
    assert len(typed) == 2                                   # a list of dicts is not cached


def test_links_move_the_linked_control_first():
    seen = []

    def render(n, word, typed):
        seen.append((n, word, typed))
        return _render(n, word + typed)

    typed = ipywidgets.Text("")
    explorer = Explorer(render, _controls(), title="t", live_extra={"typed": typed},
                        static_extra={"typed": ""}, links={"typed": {"word": "a"}})
    _, _, (slider, dropdown) = _parts(explorer.widget())
    seen.clear()
    typed.value = "z"
    assert dropdown.value == "a"
    assert seen == [(2, "a", "z")]                 # one picture, with the link applied
    dropdown.value = "b"
    assert seen[-1] == (2, "b", "z")               # the other controls keep working
    slider.value = 3
    assert seen[-1] == (3, "b", "z")


@pytest.mark.parametrize(
    ("links", "match"),
    [({"nope": {"word": "a"}}, r"links: 'nope' is not a control"),
     ({"n": {"nope": 1}}, r"links: 'n' sets 'nope' to 1, which is not a control"),
     ({"n": {"word": "zz"}}, r"links: 'n' sets 'word' to 'zz', which is not a control "
                             r"offering that value")],
    ids=["unknown-source", "unknown-target", "unknown-value"])
def test_links_reject_bad_input(links, match):
    with pytest.raises(ValueError, match=match):
        Explorer(_render, _controls(), title="t", links=links)


def test_a_new_view_takes_over_the_shared_live_extras():
    seen = []
    typed = ipywidgets.Text("")

    def render(n, word, typed):
        seen.append(typed)
        return _render(n, word + typed)

    explorer = Explorer(render, _controls(), title="t", live_extra={"typed": typed},
                        static_extra={"typed": ""})
    explorer.widget()
    explorer.widget()                     # say the cell ran twice
    seen.clear()
    typed.value = "z"
    assert seen == ["z"]                  # one picture, for the newest view only
