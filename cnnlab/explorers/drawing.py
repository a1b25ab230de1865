"""Chapter 8's explorer: draw a digit and watch the prediction and its class activation map.

MathWorks' CAM example runs a camera in a loop and shows, as the picture
changes, the network's top classes and the class activation map of the
first. Here the picture is a digit the reader draws: in a kernel on a canvas
(:class:`DrawingPad`, an ipycanvas widget), and on the static site by
replaying pre-drawn digits (:data:`cnnlab.drawing.PREDRAWN`) part by part.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from cnnlab.checks import check_classifier, check_int, check_number
from cnnlab.drawing import (
    PEN_WIDTH,
    PREDRAWN,
    SIZE,
    digit_from_strokes,
    render_strokes,
    strokes_so_far,
)
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.sheet import Sheet
from cnnlab.own_digit import to_mnist

# The drawing control's entry for the reader's own drawing (live only).
YOURS = "your drawing"
INSTALL_HINT = ("Drawing needs the ipycanvas package: install it with "
                "<code>%pip install ipycanvas</code>, restart the kernel and reload the page "
                "(the pre-drawn digits work without it).")
_HELP = "Draw a digit with the mouse (button held down) or a finger; Clear starts again."
# The canvas panel of the picture shows the canvas at a quarter of its side.
_SHRINK = 4


class DrawingPad:
    """A canvas to draw on with the mouse or a finger; the strokes are kept in Python.

    Each pen event adds a point to the current stroke and draws the new piece
    on the canvas from Python (the canvas's pixels are never read back). The
    strokes are published as ``widget.value`` (a list of strokes, each a list
    of [x, y] points), which an :class:`~cnnlab.explorers.base.Explorer`
    follows: at the end of every stroke, and while the pen moves at most once
    per ``interval`` seconds, so that a reader's fast movements never queue up
    behind the pictures they cause.

    Parameters
    ----------
    size : int, default SIZE
        The canvas's side in pixels, at least 8.
    width : float, default PEN_WIDTH
        The pen's width in pixels, in [1, size] (the picture is painted with
        the same pen, :func:`cnnlab.drawing.render_strokes`).
    interval : float, default 0.1
        Seconds between two publications while the pen moves (0: every point).

    Attributes
    ----------
    widget : ipywidgets.VBox
        The canvas, a Clear button and a line of help; its ``value`` holds the
        strokes. Without ipycanvas, a note that says how to install it.
    canvas : ipycanvas.Canvas or None
        None when ipycanvas is not installed.
    strokes : list of list of [float, float]
        The strokes drawn so far (the last one may be in progress).

    Raises
    ------
    TypeError, ValueError
        For a size, width or interval that is not a number in range.
    """

    def __init__(self, size: int = SIZE, width: float = PEN_WIDTH, interval: float = 0.1):
        import ipywidgets as widgets
        import traitlets

        self.size = check_int("size", size, 8)
        self.width = check_number("width", width, 1, self.size)
        self.interval = check_number("interval", interval, 0)
        self.strokes: list[list[list[float]]] = []
        self._pen_down = False
        self._published = -np.inf
        try:
            import ipycanvas
        except ImportError:
            self.canvas = None
            children = [widgets.HTML(f"<em>{INSTALL_HINT}</em>")]
        else:
            self.canvas = ipycanvas.Canvas(width=self.size, height=self.size,
                                           layout=widgets.Layout(width=f"{self.size}px",
                                                                 height=f"{self.size}px"))
            self._connect(self.canvas)
            clear = widgets.Button(description="Clear", icon="eraser")
            clear.on_click(lambda _button: self.clear())
            children = [self.canvas, widgets.HBox([clear, widgets.HTML(_HELP)])]
        self.widget = widgets.VBox(children)
        # Not synced: only the kernel's explorer follows the strokes.
        self.widget.add_traits(value=traitlets.List())
        self._paint_all()

    @property
    def available(self) -> bool:
        """Whether there is a canvas to draw on (ipycanvas is installed)."""
        return self.canvas is not None

    def _connect(self, canvas) -> None:
        canvas.on_mouse_down(self.pen_down)
        canvas.on_mouse_move(self.pen_move)
        canvas.on_mouse_up(self.pen_up)
        canvas.on_mouse_out(self.pen_up)             # a pen that leaves the canvas lifts
        canvas.on_touch_start(lambda touches: touches and self.pen_down(*touches[0]))
        canvas.on_touch_move(lambda touches: touches and self.pen_move(*touches[0]))
        canvas.on_touch_end(lambda _touches: self.pen_up())
        canvas.on_touch_cancel(lambda _touches: self.pen_up())
        # A view opened later (another tab, a reload) starts blank: paint it again.
        canvas.on_client_ready(self._paint_all)

    def _point(self, x: float, y: float) -> list[float]:
        x, y = check_number("x", x), check_number("y", y)
        return [min(max(x, 0.0), float(self.size)), min(max(y, 0.0), float(self.size))]

    def pen_down(self, x: float, y: float) -> None:
        """Begin a stroke at (x, y) (canvas pixels; points off the canvas are moved onto it).

        Raises
        ------
        TypeError, ValueError
            For coordinates that are not finite numbers (likewise :meth:`pen_move`
            and :meth:`pen_up`).
        """
        point = self._point(x, y)
        self.strokes.append([point])
        self._pen_down = True
        if self.canvas is not None:
            self.canvas.fill_circle(*point, self.width / 2)
        self._publish(throttled=True)

    def pen_move(self, x: float, y: float) -> None:
        """Continue the stroke to (x, y); nothing while the pen is up."""
        if not self._pen_down:
            return
        point, last = self._point(x, y), self.strokes[-1][-1]
        if np.hypot(point[0] - last[0], point[1] - last[1]) < 1:
            return                                   # under a pixel: nothing new to see
        self.strokes[-1].append(point)
        if self.canvas is not None:
            self.canvas.stroke_line(*last, *point)
        self._publish(throttled=True)

    def pen_up(self, x: float | None = None, y: float | None = None) -> None:
        """End the stroke (at (x, y) when given) and publish the strokes."""
        if (x is None) != (y is None):
            raise TypeError(f"pen_up takes both x and y or neither, got x={x!r}, y={y!r}.")
        if not self._pen_down:
            return
        if x is not None and y is not None:
            self.pen_move(x, y)
        self._pen_down = False
        self._publish(throttled=False)

    def clear(self) -> None:
        """Remove every stroke: a black canvas and no drawing."""
        self.strokes = []
        self._pen_down = False
        self._paint_all()
        self._publish(throttled=False)

    def _publish(self, throttled: bool) -> None:
        now = time.perf_counter()
        if throttled and now - self._published < self.interval:
            return
        self._published = now
        # New lists: the explorer sees a new value, and may keep it without it changing.
        self.widget.value = [[list(point) for point in stroke] for stroke in self.strokes]

    def _paint_all(self) -> None:
        if self.canvas is None:
            return
        from ipycanvas import hold_canvas

        canvas = self.canvas
        with hold_canvas():
            canvas.fill_style = "black"
            canvas.fill_rect(0, 0, self.size, self.size)
            canvas.fill_style = canvas.stroke_style = "white"
            canvas.line_width = self.width
            canvas.line_cap = canvas.line_join = "round"
            for stroke in self.strokes:
                canvas.fill_circle(*stroke[0], self.width / 2)
                if len(stroke) > 1:
                    canvas.stroke_lines(stroke)


def drawing_explorer(model, static_drawings: Sequence[str] | None = None,
                     static_steps: Sequence[int] = (25, 50, 75, 100),
                     pad: DrawingPad | None = None) -> Explorer:
    """Draw a digit (or replay a pre-drawn one): the prediction and the CAM of the predicted class.

    Four panels: the canvas (a quarter of its side), the digit as MNIST
    prepares it (:func:`cnnlab.drawing.digit_from_strokes`), the class
    activation map of the predicted class over it (eq. 6.3, drawn as
    MathWorks' CAMshow: :func:`cnnlab.plotting.heatmap_overlay`), and the ten
    probabilities (a pre-drawn digit's intended class green, a wrong
    prediction red; for the reader's drawing the prediction blue).

    Controls: the drawing (the pre-drawn digits; live also "your drawing")
    and how much of it has been drawn (percent of the pen's path:
    :func:`cnnlab.drawing.strokes_so_far`). Live, drawing on the pad switches
    to "your drawing" at 100%, and the picture follows the pen.

    Parameters
    ----------
    model : keras.Model
        A global-average-pooling classifier of 28x28x1 digits
        (``cnnlab.zoo.load("gap_cnn")``).
    static_drawings : sequence of str, optional
        The names of :data:`cnnlab.drawing.PREDRAWN` offered on the site; all
        of them if omitted. Live, all are offered.
    static_steps : sequence of int, default (25, 50, 75, 100)
        The percentages drawn offered on the site, each in 1..100; live, every
        percent.
    pad : DrawingPad, optional
        The canvas to draw on; a new one if omitted. Without ipycanvas the
        explorer offers the pre-drawn digits and says how to install it.

    Returns
    -------
    Explorer
        ``live_extra["strokes"]`` is the pad's widget.

    Raises
    ------
    TypeError, ValueError
        When called: for a model that is not a built classifier of 28x28x1
        images ending in global average pooling and a Dense layer, unknown or
        repeated drawing names, steps that are not ints in 1..100, or a pad
        that is not a :class:`DrawingPad`.
    """
    from cnnlab.explain.cam import class_activation_maps
    from cnnlab.plotting import heatmap_overlay, probability_colors, show_probabilities

    num_classes = check_classifier(model)
    shape = tuple(model.inputs[0].shape[1:])
    if shape != (28, 28, 1):
        raise ValueError(f"model must take MNIST digits, input shape (28, 28, 1), got "
                         f"{shape} (model {model.name!r}).")
    names = _check_names(static_drawings)
    steps = _check_steps(static_steps)
    if pad is None:
        pad = DrawingPad()
    elif not isinstance(pad, DrawingPad):
        raise TypeError(f"pad must be a DrawingPad, got {type(pad).__name__}.")
    first = digit_from_strokes(PREDRAWN[names[0]].strokes)[None]
    class_activation_maps(model, first)       # refuse a non-GAP model now, not at a move

    def evidence(strokes, drawn, size, width):
        """The canvas (shrunk), the digit, its probabilities and the predicted class's map."""
        so_far = strokes_so_far(strokes, drawn / 100, size)
        canvas = render_strokes(so_far, size, width)
        digit = to_mnist(canvas)               # as digit_from_strokes, without painting twice
        # predict_on_batch runs the compiled graph: a fifth of an eager call's time.
        p = np.asarray(model.predict_on_batch(digit[None]))[0]
        heatmap = class_activation_maps(model, digit[None], int(np.argmax(p)))[0]
        # Each shown pixel the mean of a block of the canvas: the pen's soft edges stay soft.
        side = size // _SHRINK
        small = canvas[:side * _SHRINK, :side * _SHRINK].reshape(
            side, _SHRINK, side, _SHRINK).mean(axis=(1, 3))
        return small, digit, p, heatmap

    # Live, a reader goes back and forth between the pre-drawn digits: computed once each
    # (a few hundred positions of 25 kB each). They were drawn on a canvas of side SIZE,
    # with a pen as wide, for that canvas, as the pad's.
    predrawn = lru_cache(maxsize=256)(
        lambda name, drawn: evidence(PREDRAWN[name].strokes, drawn, SIZE,
                                     pad.width * SIZE / pad.size))

    sheet = Sheet((9.6, 2.9), ncols=4, width_ratios=[1, 1, 1, 1.6], left=0.01, right=0.99,
                  bottom=0.17, top=0.82, wspace=0.3)
    canvas_panel = sheet.picture(sheet.axes[0, 0])
    digit_panel = sheet.picture(sheet.axes[0, 1])
    overlay = sheet.picture(sheet.axes[0, 2])
    bars_ax = sheet.axes[0, 3]
    # The chart's axes are drawn once; the bars' heights and colours change.
    show_probabilities(np.zeros(num_classes), ax=bars_ax)
    bars_ax.set_yticks(np.linspace(0, 1, 6))
    bars = list(bars_ax.patches)
    sheet.changing(*bars)
    bars_title = sheet.text(bars_ax)

    def render(drawing, drawn, strokes=()):
        if drawing == YOURS:
            if not strokes:
                raise ValueError("nothing drawn yet: draw a digit on the black canvas (mouse "
                                 "button held down, or a finger), or choose a pre-drawn digit.")
            canvas, digit, p, heatmap = evidence(list(strokes), drawn, pad.size, pad.width)
            count = len(strokes)
            label, name = None, f"your drawing ({count} stroke{'s' if count > 1 else ''})"
        else:
            (canvas, digit, p, heatmap), label = predrawn(drawing, drawn), PREDRAWN[drawing].label
            name = f"pre-drawn '{drawing}'"
        predicted = int(np.argmax(p))
        canvas_panel.show(canvas, title=f"{name}\n{drawn}% drawn")
        digit_panel.show(digit, title="as MNIST: 20x20 box,\ncentred in 28x28")
        overlay.show(heatmap_overlay(digit, heatmap),
                     title=f"CAM of class {predicted}\n(the predicted class)")
        for bar, height, color in zip(bars, p, probability_colors(p, label), strict=True):
            bar.set_height(height)
            bar.set_facecolor(color)
        bars_title.set_text(f"predicted {predicted} with probability {p[predicted]:.2f}")
        return sheet

    offered = list(PREDRAWN) + ([YOURS] if pad.available else [])
    return Explorer(
        render,
        [Control("drawing", names, live=offered),
         Control("drawn", steps, label="drawn (%)", default=steps[-1], live=range(1, 101))],
        title="Draw a digit: what the network answers, and where its evidence lies",
        live_extra={"strokes": pad.widget}, static_extra={"strokes": ()},
        links={"strokes": {"drawing": YOURS, "drawn": 100}} if pad.available else None,
    )


def _check_names(static_drawings) -> list[str]:
    if static_drawings is None:
        return list(PREDRAWN)
    if isinstance(static_drawings, str) or not isinstance(static_drawings, (list, tuple)):
        raise TypeError(f"static_drawings must be a list of names of pre-drawn digits, got "
                        f"{type(static_drawings).__name__} {static_drawings!r}.")
    if not static_drawings:
        raise ValueError("static_drawings is empty: offer at least one pre-drawn digit.")
    for k, name in enumerate(static_drawings):
        if name not in PREDRAWN:
            raise ValueError(f"static_drawings[{k}] must be one of {list(PREDRAWN)}, got "
                             f"{name!r}.")
    return list(static_drawings)


def _check_steps(static_steps) -> list[int]:
    if isinstance(static_steps, (str, bytes)) or not isinstance(static_steps, (list, tuple)):
        raise TypeError(f"static_steps must be a list of percentages (ints in 1..100), got "
                        f"{type(static_steps).__name__} {static_steps!r}.")
    if not static_steps:
        raise ValueError("static_steps is empty: offer at least one percentage, e.g. [100].")
    steps = [check_int(f"static_steps[{k}]", step, 1) for k, step in enumerate(static_steps)]
    for k, step in enumerate(steps):
        if step > 100:
            raise ValueError(f"static_steps[{k}] must be at most 100 (percent), got {step}.")
    return steps
