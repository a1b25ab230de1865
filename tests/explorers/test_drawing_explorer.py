"""Tests for cnnlab.explorers.drawing: the drawing pad and chapter 8's drawing explorer.

The pen events are simulated by calling the pad's handlers, as ipycanvas calls them.
"""

import sys

import ipywidgets
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from tiny_models import tiny_gap_cnn

from cnnlab.drawing import PREDRAWN, digit_from_strokes, render_strokes, strokes_so_far
from cnnlab.explorers import DrawingPad, drawing_explorer
from cnnlab.explorers.base import to_png
from cnnlab.explorers.drawing import YOURS


def _panel(sheet, k):
    return np.asarray(sheet.figure.axes[k].images[0].get_array())


def _bars(sheet):
    return np.array([bar.get_height() for bar in sheet.figure.axes[3].patches])


def _title(sheet, k):
    return sheet.title(sheet.figure.axes[k])


def _parts(widget):
    """The live widget's drawing and drawn controls, message line and picture."""
    image = [c for c in widget.children if isinstance(c, ipywidgets.Image)][0]
    message = [c for c in widget.children if type(c) is ipywidgets.HTML][-1]
    drawing, drawn = widget.children[1].children
    return drawing, drawn, message, image


def _draw(pad, stroke, step=10.0):
    """Pen down at the first point, moves every ``step`` pixels along the stroke, pen up."""
    stroke = np.asarray(stroke, float)
    pad.pen_down(*stroke[0])
    for a, b in zip(stroke[:-1], stroke[1:], strict=True):
        n = max(1, int(np.hypot(*(b - a)) // step))
        for t in np.arange(1, n + 1) / n:
            pad.pen_move(*(a + t * (b - a)))
    pad.pen_up()


@pytest.fixture
def pad():
    return DrawingPad(interval=0)


# -- the explorer's pictures ----------------------------------------------------------------


def test_drawing_explorer_controls(gap_model, pad):
    explorer = drawing_explorer(gap_model, static_drawings=["3", "7 crossed"],
                                static_steps=[50, 100], pad=pad)
    drawing, drawn = explorer.controls
    assert drawing.values == ("3", "7 crossed") and drawing.live == (*PREDRAWN, YOURS)
    assert drawn.values == (50, 100) and drawn.default == 100 and drawn.live == tuple(range(1, 101))
    assert explorer.live_extra == {"strokes": pad.widget}
    assert explorer.static_extra == {"strokes": ()}
    assert explorer.links == {"strokes": {"drawing": YOURS, "drawn": 100}}
    default = drawing_explorer(gap_model, pad=pad)
    assert default.controls[0].values == tuple(PREDRAWN)
    assert default.controls[1].values == (25, 50, 75, 100)


@pytest.mark.parametrize(("name", "drawn"), [("3", 100), ("8", 40), ("4 closed", 75)])
def test_the_panels_are_the_canvas_the_digit_its_cam_and_the_probabilities(gap_model, pad,
                                                                           name, drawn):
    from cnnlab.explain.cam import class_activation_maps
    from cnnlab.plotting import heatmap_overlay

    explorer = drawing_explorer(gap_model, static_drawings=[name], pad=pad)
    sheet = explorer.render(drawing=name, drawn=drawn, strokes=())
    so_far = strokes_so_far(PREDRAWN[name].strokes, drawn / 100)
    canvas, digit = render_strokes(so_far), digit_from_strokes(so_far)
    p = gap_model.predict(digit[None], verbose=0)[0]
    predicted = int(p.argmax())
    np.testing.assert_allclose(_panel(sheet, 0), canvas.reshape(70, 4, 70, 4).mean(axis=(1, 3)),
                               atol=1e-6)
    np.testing.assert_array_equal(_panel(sheet, 1), digit[..., 0])
    heatmap = class_activation_maps(gap_model, digit[None], predicted)[0]
    np.testing.assert_allclose(_panel(sheet, 2), heatmap_overlay(digit, heatmap), atol=1e-6)
    np.testing.assert_allclose(_bars(sheet), p, atol=1e-6)
    colours = [bar.get_facecolor() for bar in sheet.figure.axes[3].patches]
    label = PREDRAWN[name].label
    assert colours[label] == pytest.approx(to_rgba("tab:green"))
    if predicted != label:
        assert colours[predicted] == pytest.approx(to_rgba("tab:red"))
    assert _title(sheet, 0) == f"pre-drawn '{name}'\n{drawn}% drawn"
    assert _title(sheet, 2) == f"CAM of class {predicted}\n(the predicted class)"
    assert _title(sheet, 3) == f"predicted {predicted} with probability {p[predicted]:.2f}"


def test_the_static_frames_change_with_both_controls(gap_model, pad):
    explorer = drawing_explorer(gap_model, static_drawings=["2", "5", "9"],
                                static_steps=[20, 60, 100], pad=pad)
    pictures, index = explorer.frames()
    assert len(index) == 9 and len(set(index)) == 9 and len(pictures) == 9
    # Row-major over (drawing, drawn): the frame of ('5', 60%) is its picture.
    assert pictures[index[1 * 3 + 1]] == to_png(explorer.render(drawing="5", drawn=60,
                                                                strokes=()))
    html = explorer.to_html()
    assert html.count('data-control="') == 2 and "drawn (%)" in html


def test_the_static_frames_fit_the_site_budget():
    """The default explorer's frames, with the book's GAP CNN: well under a chapter's 5 MB."""
    from cnnlab import zoo

    explorer = drawing_explorer(zoo.load("gap_cnn"), pad=DrawingPad())
    pictures, index = explorer.frames()
    assert len(index) == len(PREDRAWN) * 4
    assert sum(len(p) for p in pictures) < 1.5e6


# -- the live stage: drawing on the pad -----------------------------------------------------


def test_drawing_switches_to_your_drawing_and_shows_it(gap_model, pad):
    explorer = drawing_explorer(gap_model, static_drawings=["1"], static_steps=[50, 100],
                                pad=pad)
    widget = explorer.widget()
    drawing, drawn, message, image = _parts(widget)
    drawn.value = 50
    before = bytes(image.value)
    _draw(pad, [[60, 60], [200, 60], [120, 230]])
    assert drawing.value == YOURS and drawn.value == 100 and message.value == ""
    assert bytes(image.value) != before
    assert len(pad.strokes) == 1 and pad.widget.value == pad.strokes
    expected = explorer.render(drawing=YOURS, drawn=100, strokes=pad.strokes)
    assert bytes(image.value) == to_png(expected)
    np.testing.assert_array_equal(_panel(expected, 1), digit_from_strokes(pad.strokes)[..., 0])
    # The drawn slider replays your own drawing too.
    drawn.value = 30
    np.testing.assert_array_equal(
        _panel(explorer.render(drawing=YOURS, drawn=30, strokes=pad.strokes), 1),
        digit_from_strokes(strokes_so_far(pad.strokes, 0.3))[..., 0])


def test_the_prediction_follows_the_pen_on_the_book_model():
    """Drawn point by point, a 4's first stroke is no 4; with its second it is one."""
    from cnnlab import zoo

    pad = DrawingPad(interval=0)
    explorer = drawing_explorer(zoo.load("gap_cnn"), static_drawings=["0"], pad=pad)
    widget = explorer.widget()
    *_, image = _parts(widget)
    first, second = PREDRAWN["4"].strokes
    _draw(pad, first)
    after_one = explorer.render(drawing=YOURS, drawn=100, strokes=pad.strokes)
    one = _bars(after_one).copy()
    picture_one = bytes(image.value)
    _draw(pad, second)
    two = _bars(explorer.render(drawing=YOURS, drawn=100, strokes=pad.strokes))
    assert one.argmax() != 4 and two.argmax() == 4
    assert bytes(image.value) != picture_one


def test_every_move_publishes_with_no_interval_and_the_canvas_gets_each_piece(gap_model, pad):
    published, lines, dots = [], [], []
    pad.widget.observe(lambda change: published.append(change["new"]), names="value")
    pad.canvas.stroke_line = lambda *args: lines.append(args)
    pad.canvas.fill_circle = lambda *args: dots.append(args)
    pad.pen_down(10, 10)
    pad.pen_move(20, 10)
    pad.pen_move(20.5, 10)                                       # under a pixel: skipped
    pad.pen_move(30, 300)                                        # off the canvas: onto its edge
    pad.pen_up()
    assert pad.strokes == [[[10.0, 10.0], [20.0, 10.0], [30.0, 280.0]]]
    assert lines == [(10.0, 10.0, 20.0, 10.0), (20.0, 10.0, 30.0, 280.0)]
    assert dots == [(10.0, 10.0, pad.width / 2)]
    assert [len(value[0]) for value in published] == [1, 2, 3]  # pen up: nothing new


def test_a_long_interval_publishes_only_the_stroke_start_and_its_end(gap_model):
    pad = DrawingPad(interval=3600)
    published = []
    pad.widget.observe(lambda change: published.append(change["new"]), names="value")
    _draw(pad, [[40, 40], [240, 240]])
    assert len(published) == 2                                   # throttled: the first point
    assert published[0] == [[[40.0, 40.0]]] and published[-1] == pad.strokes
    assert len(pad.strokes[0]) > 20


def test_the_pen_up_ignores_moves_and_clear_starts_again(gap_model, pad):
    explorer = drawing_explorer(gap_model, static_drawings=["1"], pad=pad)
    drawing, _, message, image = _parts(explorer.widget())
    pad.pen_move(50, 50)                                         # the pen is up
    pad.pen_up(60, 60)
    assert pad.strokes == [] and drawing.value == "1"
    _draw(pad, [[100, 40], [100, 240]])
    drawn = bytes(image.value)
    pad.clear()
    assert pad.strokes == [] and pad.widget.value == []
    assert message.value.startswith('<span style="color:#b00">nothing drawn yet')
    assert bytes(image.value) == drawn                           # the last good picture stays
    drawing.value = "1"
    assert message.value == "" and bytes(image.value) != drawn


def _event(pad, event, **content):
    """What the browser sends the canvas for a pen event (ipycanvas's comm message)."""
    pad.canvas._handle_frontend_event(None, {"event": event, **content}, [])


def test_mouse_and_touch_events_reach_the_pen(pad):
    _event(pad, "mouse_down", x=20, y=30)
    _event(pad, "mouse_move", x=40, y=30)
    _event(pad, "mouse_out", x=60, y=30)                         # leaving the canvas lifts it
    _event(pad, "mouse_move", x=80, y=30)
    _event(pad, "touch_start", touches=[{"x": 50, "y": 60}, {"x": 70, "y": 80}])
    _event(pad, "touch_move", touches=[{"x": 90, "y": 60}])      # the first finger draws
    _event(pad, "touch_end", touches=[])
    _event(pad, "mouse_move", x=120, y=60)                       # lifted: no ink
    _event(pad, "mouse_down", x=5, y=5)
    _event(pad, "mouse_up", x=5, y=25)
    assert pad.strokes == [[[20.0, 30.0], [40.0, 30.0], [60.0, 30.0]],
                           [[50.0, 60.0], [90.0, 60.0]], [[5.0, 5.0], [5.0, 25.0]]]


def test_without_ipycanvas_the_predrawn_digits_still_work(gap_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipycanvas", None)           # import ipycanvas fails
    pad = DrawingPad()
    assert not pad.available and pad.canvas is None
    assert "pip install ipycanvas" in pad.widget.children[0].value
    explorer = drawing_explorer(gap_model, static_drawings=["0", "6"], pad=pad)
    assert explorer.controls[0].live == tuple(PREDRAWN) and explorer.links == {}
    drawing, _, message, image = _parts(explorer.widget())
    before = bytes(image.value)
    drawing.value = "6"
    assert message.value == "" and bytes(image.value) != before


# -- bad input ------------------------------------------------------------------------------


def _explorer(kit, **bad):
    return drawing_explorer(**{"model": kit["gap"], "static_drawings": ["1"],
                               "pad": kit["pad"], **bad})


EXPLORER_BAD = [
    ("model-none", lambda k: _explorer(k, model=None), TypeError,
     r"^model must be a keras\.Model, got NoneType"),
    ("model-name", lambda k: _explorer(k, model="gap_cnn"), TypeError,
     r"^model must be a keras\.Model, got str"),
    ("model-unbuilt", lambda k: _explorer(k, model=k["unbuilt"]), ValueError,
     r"^model 'unbuilt' has not been built"),
    ("model-no-classes", lambda k: _explorer(k, model=k["conv_only"]), ValueError,
     r"^model 'conv_only' must have one output of class scores"),
    ("model-other-input", lambda k: _explorer(k, model=tiny_gap_cnn(classes=10)), ValueError,
     r"^model must take MNIST digits, input shape \(28, 28, 1\), got \(12, 12, 1\)"),
    ("model-without-global-pooling", lambda k: _explorer(k, model=k["flat"]), ValueError,
     r"^CAM needs global average pooling right before the last \(dense\) layer"),
    ("drawings-str", lambda k: _explorer(k, static_drawings="1"), TypeError,
     r"^static_drawings must be a list of names of pre-drawn digits, got str '1'"),
    ("drawings-unknown", lambda k: _explorer(k, static_drawings=["1", "eleven"]), ValueError,
     r"^static_drawings\[1\] must be one of \['0', '1', .*got 'eleven'"),
    ("drawings-int", lambda k: _explorer(k, static_drawings=[1]), ValueError,
     r"^static_drawings\[0\] must be one of"),
    ("drawings-empty", lambda k: _explorer(k, static_drawings=[]), ValueError,
     r"^static_drawings is empty"),
    ("drawings-repeated", lambda k: _explorer(k, static_drawings=["1", "1"]), ValueError,
     r"^Control 'drawing': values repeat"),
    ("steps-zero", lambda k: _explorer(k, static_steps=[0, 100]), ValueError,
     r"^static_steps\[0\] must be at least 1, got 0"),
    ("steps-over", lambda k: _explorer(k, static_steps=[50, 150]), ValueError,
     r"^static_steps\[1\] must be at most 100 \(percent\), got 150"),
    ("steps-fraction", lambda k: _explorer(k, static_steps=[0.5, 1.0]), TypeError,
     r"^static_steps\[0\] must be an int, got float 0\.5"),
    ("steps-bare-int", lambda k: _explorer(k, static_steps=100), TypeError,
     r"^static_steps must be a list of percentages \(ints in 1\.\.100\), got int 100"),
    ("steps-empty", lambda k: _explorer(k, static_steps=()), ValueError,
     r"^static_steps is empty"),
    ("steps-repeated", lambda k: _explorer(k, static_steps=[50, 50]), ValueError,
     r"^Control 'drawn': values repeat"),
    ("pad-widget", lambda k: _explorer(k, pad=k["pad"].widget), TypeError,
     r"^pad must be a DrawingPad, got VBox"),
    ("pad-size", lambda k: DrawingPad(size=4), ValueError, r"^size must be at least 8, got 4"),
    ("pad-size-float", lambda k: DrawingPad(size=280.0), TypeError, r"^size must be an int"),
    ("pad-width", lambda k: DrawingPad(width=0), ValueError, r"^width must be in \[1, 280\]"),
    ("pad-width-str", lambda k: DrawingPad(width="thick"), TypeError,
     r"^width must be a number, got str"),
    ("pad-interval", lambda k: DrawingPad(interval=-1), ValueError,
     r"^interval must be at least 0, got -1"),
    ("pad-interval-none", lambda k: DrawingPad(interval=None), TypeError,
     r"^interval must be a number, got NoneType"),
]


PEN_BAD = [
    ("down-str", lambda pad: pad.pen_down("10", 20), TypeError, r"^x must be a number, got str"),
    ("down-nan", lambda pad: pad.pen_down(10, np.nan), ValueError, r"^y must be finite"),
    ("move-none", lambda pad: (pad.pen_down(1, 1), pad.pen_move(None, 5)), TypeError,
     r"^x must be a number, got NoneType"),
    ("move-inf", lambda pad: (pad.pen_down(1, 1), pad.pen_move(5, np.inf)), ValueError,
     r"^y must be finite"),
    ("up-only-x", lambda pad: (pad.pen_down(1, 1), pad.pen_up(5)), TypeError,
     r"^pen_up takes both x and y or neither, got x=5, y=None"),
    ("up-str", lambda pad: (pad.pen_down(1, 1), pad.pen_up(5, "6")), TypeError,
     r"^y must be a number, got str"),
]


@pytest.mark.parametrize(("make", "error", "match"),
                         [pytest.param(m, e, r, id=name) for name, m, e, r in PEN_BAD])
def test_the_pen_refuses_coordinates_that_are_not_numbers(pad, make, error, match):
    with pytest.raises(error, match=match):
        make(pad)
    assert all(np.isfinite(np.asarray(stroke)).all() for stroke in pad.strokes)


@pytest.fixture
def kit(gap_model, flat_model, conv_only_model, unbuilt_model):
    return {"gap": gap_model, "flat": flat_model, "conv_only": conv_only_model,
            "unbuilt": unbuilt_model, "pad": DrawingPad()}


@pytest.mark.parametrize(("make", "error", "match"),
                         [pytest.param(m, e, r, id=name) for name, m, e, r in EXPLORER_BAD])
def test_drawing_explorer_refuses_bad_input_when_called(kit, make, error, match):
    with pytest.raises(error, match=match):
        make(kit)


def test_render_refuses_your_drawing_before_anything_is_drawn(gap_model, pad):
    explorer = drawing_explorer(gap_model, static_drawings=["1"], pad=pad)
    with pytest.raises(ValueError, match=r"^nothing drawn yet: draw a digit on the black canvas"):
        explorer.render(drawing=YOURS, drawn=100, strokes=[])
    with pytest.raises(ValueError, match=r"^strokes\[0\] has the point \(300, 10\) off the canvas"):
        explorer.render(drawing=YOURS, drawn=100, strokes=[[[300, 10]]])


def test_a_smaller_pad_draws_the_predrawn_digits_as_the_default_one(gap_model):
    small = DrawingPad(size=140, width=11, interval=0)
    explorer = drawing_explorer(gap_model, static_drawings=["5"], pad=small)
    default = drawing_explorer(gap_model, static_drawings=["5"], pad=DrawingPad())
    for drawn in (40, 100):
        assert to_png(explorer.render(drawing="5", drawn=drawn, strokes=())) == \
            to_png(default.render(drawing="5", drawn=drawn, strokes=()))
    explorer.widget()
    _draw(small, [[30, 30], [110, 30], [60, 120]])
    sheet = explorer.render(drawing=YOURS, drawn=100, strokes=small.strokes)
    assert _panel(sheet, 0).shape == (35, 35)
    np.testing.assert_array_equal(_panel(sheet, 1),
                                  digit_from_strokes(small.strokes, size=140, width=11)[..., 0])
    assert _title(sheet, 0) == "your drawing (1 stroke)\n100% drawn"
