"""A digit drawn with a pen: strokes, their picture, and pre-drawn digits to replay.

A drawing is a list of *strokes*, one per time the pen touched the canvas;
each stroke is a polyline, an array of shape (n, 2) of (x, y) points in the
canvas's pixel coordinates (x to the right, y downwards, (0, 0) the top-left
corner of a square canvas of side ``size``). :func:`render_strokes` paints
them as a round pen paints them on the screen, and :func:`digit_from_strokes`
prepares the picture as MNIST's digits were prepared
(:func:`cnnlab.own_digit.to_mnist`), so that a network trained on MNIST sees a
drawn digit the way it saw its training digits.

:data:`PREDRAWN` holds digits to replay where nobody can draw (the static
site): polylines and elliptical arcs written in code, point by point, to look
like quickly drawn digits. They are not samples of anyone's handwriting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from cnnlab.checks import check_int, check_number
from cnnlab.own_digit import to_mnist

SIZE = 280  # ten times MNIST's 28 pixels: a canvas comfortable for a mouse or a finger
# A digit drawn across most of the canvas is shrunk about ten times to MNIST's 20x20 box,
# so this pen leaves strokes 2 to 3 pixels wide there, as MNIST's are.
PEN_WIDTH = 22.0


def check_strokes(strokes: Any, size: int = SIZE, name: str = "strokes") -> list[np.ndarray]:
    """Strokes as float arrays of shape (n, 2), every point on the canvas.

    Parameters
    ----------
    strokes : list or tuple of array_like, each of shape (n, 2), n >= 1
        (x, y) points in canvas pixels, in [0, size].
    size : int, default SIZE
        The canvas's side in pixels, at least 8.
    name : str
        The argument's name, for the messages.

    Returns
    -------
    list of ndarray, each float64 of shape (n, 2)
        New arrays: changing them does not change ``strokes``.

    Raises
    ------
    TypeError
        For strokes that are not a list or tuple (a single array included: wrap
        one stroke in a list), points that are not numbers, or a size that is
        not an int.
    ValueError
        For a stroke of another shape or without points, NaN or infinite
        coordinates, a point off the canvas, or a size under 8.
    """
    size = check_int("size", size, 8)
    if isinstance(strokes, np.ndarray):
        raise TypeError(f"{name} must be a list of strokes, each an array of (x, y) points of "
                        f"shape (n, 2), got one ndarray of shape {strokes.shape} (for one "
                        f"stroke: [stroke]).")
    if not isinstance(strokes, (list, tuple)):
        raise TypeError(f"{name} must be a list of strokes, each an array of (x, y) points of "
                        f"shape (n, 2), got {type(strokes).__name__}.")
    checked = []
    for k, stroke in enumerate(strokes):
        points = np.array(stroke)
        if points.dtype.kind not in "iuf":
            raise TypeError(f"{name}[{k}] must hold numbers, got dtype {points.dtype}.")
        if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
            raise ValueError(f"{name}[{k}] must have shape (n, 2) with n >= 1 (x, y) points, "
                             f"got shape {points.shape}.")
        points = points.astype(np.float64)
        if not np.isfinite(points).all():
            raise ValueError(f"{name}[{k}] must have finite coordinates, got NaN or infinite "
                             "values.")
        outside = (points < 0) | (points > size)
        if outside.any():
            x, y = points[np.flatnonzero(outside.any(axis=1))[0]]
            raise ValueError(f"{name}[{k}] has the point ({x:g}, {y:g}) off the canvas: "
                             f"coordinates must be in [0, {size}].")
        checked.append(points)
    return checked


def render_strokes(strokes: Sequence[Any], size: int = SIZE,
                   width: float = PEN_WIDTH) -> np.ndarray:
    """Paint strokes with a round pen, anti-aliased: white ink on a black canvas.

    Computed with numpy from each pixel centre's distance ``d`` to the nearest
    stroke segment (a point's distance for a one-point stroke, a dot): the ink
    is ``clip(width / 2 + 1/2 - d, 0, 1)``, a pen of the given width whose
    edge is smoothed over one pixel. The ends and corners are therefore round,
    as in a browser's canvas with ``lineCap = lineJoin = 'round'``, and a
    straight stroke leaves ``width`` units of ink across itself. Where strokes
    overlap, the ink is their maximum (ink never exceeds 1).

    Parameters
    ----------
    strokes : list or tuple of array_like, each of shape (n, 2)
        (x, y) points in canvas pixels in [0, size]; pixel (row i, column j)
        covers [j, j + 1) x [i, i + 1), its centre at (j + 0.5, i + 0.5).
        An empty list gives a black canvas.
    size : int, default SIZE
        The canvas's side in pixels, at least 8.
    width : float, default PEN_WIDTH
        The pen's width in pixels, in [1, size].

    Returns
    -------
    ndarray, shape (size, size), float32 in [0, 1]

    Raises
    ------
    TypeError, ValueError
        As :func:`check_strokes`, and for a width that is not a number in [1, size].
    """
    strokes = check_strokes(strokes, size)
    width = check_number("width", width, 1, size)
    canvas = np.zeros((size, size), np.float32)
    for points in strokes:
        # A one-point stroke is a dot: a segment of length 0.
        ends = points if len(points) > 1 else np.repeat(points, 2, axis=0)
        for a, b in zip(ends[:-1], ends[1:], strict=True):
            _paint_segment(canvas, a, b, width / 2)
    return canvas


def _paint_segment(canvas: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> None:
    """Ink of one capsule (segment a-b, round ends) into the canvas, in place (maximum)."""
    size = canvas.shape[0]
    (ax, ay), (bx, by) = (float(v) for v in a), (float(v) for v in b)
    # Python scalars for the window: numpy's per-call overhead would cost more than the
    # arithmetic of a short segment, and a drawing by mouse has hundreds of them.
    x0 = max(math.floor(min(ax, bx) - radius - 1), 0)
    x1 = min(math.ceil(max(ax, bx) + radius + 1), size)
    y0 = max(math.floor(min(ay, by) - radius - 1), 0)
    y1 = min(math.ceil(max(ay, by) + radius + 1), size)
    if x1 <= x0 or y1 <= y0:
        return
    x = np.arange(x0, x1) + (0.5 - ax)                 # pixel centres, relative to a
    y = np.arange(y0, y1)[:, None] + (0.5 - ay)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0:
        distance = np.hypot(x, y)
    else:
        # Where each centre projects onto the segment, as a fraction of its length.
        t = (x * dx + y * dy) / length2
        np.clip(t, 0, 1, out=t)
        distance = np.hypot(x - t * dx, y - t * dy)
    ink = np.subtract(radius + 0.5, distance, out=distance)
    np.clip(ink, 0, 1, out=ink)
    window = canvas[y0:y1, x0:x1]
    np.maximum(window, ink, out=window, casting="same_kind")


def digit_from_strokes(strokes: Sequence[Any], size: int = SIZE,
                       width: float = PEN_WIDTH) -> np.ndarray:
    """A drawn digit as an MNIST input: render the strokes, then prepare them as MNIST.

    :func:`render_strokes`, then :func:`cnnlab.own_digit.to_mnist`.

    Parameters
    ----------
    strokes, size, width
        As :func:`render_strokes`; at least one stroke.

    Returns
    -------
    ndarray, shape (28, 28, 1), float32 in [0, 1]
        Fitted to a 20x20 box and centred by its centre of mass, as MNIST's digits.

    Raises
    ------
    TypeError, ValueError
        As :func:`render_strokes`, and for no strokes (nothing drawn yet).
    """
    if isinstance(strokes, (list, tuple)) and len(strokes) == 0:
        raise ValueError("strokes is empty: nothing has been drawn yet.")
    return to_mnist(render_strokes(strokes, size, width))


def strokes_so_far(strokes: Sequence[Any], fraction: float, size: int = SIZE) -> list[np.ndarray]:
    """The drawing as it was when a fraction of the pen's path had been drawn (a replay).

    The pen's path is the strokes' total length, in drawing order. At
    ``fraction`` f the strokes begun before f times that length are kept, the
    last of them cut where the pen was then (a point interpolated on its
    segment). Strokes of no length (dots) appear as soon as the pen has
    passed where they begin.

    Parameters
    ----------
    strokes : list or tuple of array_like, each of shape (n, 2)
        As :func:`render_strokes`.
    fraction : float
        In [0, 1]: 0 gives no stroke, 1 the whole drawing.
    size : int, default SIZE
        The canvas's side (for the check of the points).

    Returns
    -------
    list of ndarray, each float64 of shape (m, 2)
        New arrays, the drawing so far.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_strokes`, and for a fraction that is not a number in [0, 1].
    """
    strokes = check_strokes(strokes, size)
    fraction = check_number("fraction", fraction, 0, 1)
    lengths = [np.hypot(*np.diff(points, axis=0).T) for points in strokes]
    total = float(sum(float(steps.sum()) for steps in lengths))
    if fraction == 1 or (total == 0 and fraction > 0):
        return strokes
    reached = fraction * total
    drawn, start = [], 0.0
    for points, steps in zip(strokes, lengths, strict=True):
        if start >= reached:
            break
        ends = start + np.cumsum(steps)
        if ends.size == 0 or ends[-1] <= reached:
            drawn.append(points)
        else:
            # The pen is on segment k: its first point and the way to where it is now.
            k = int(np.searchsorted(ends, reached))
            along = (reached - (ends[k] - steps[k])) / steps[k]
            here = points[k] + along * (points[k + 1] - points[k])
            drawn.append(np.vstack([points[:k + 1], here]))
        start += float(steps.sum())
    return drawn


@dataclass(frozen=True)
class Drawing:
    """A pre-drawn digit: its name, the class it is meant to be, and its strokes."""

    name: str
    label: int
    strokes: tuple[np.ndarray, ...]


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float,
         points: int = 18) -> np.ndarray:
    """Points on an ellipse, angles in degrees on the screen (0 right, 90 down)."""
    angles = np.radians(np.linspace(start, stop, points))
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


def _stroke(*parts: Any) -> np.ndarray:
    """One stroke from pieces drawn one after the other (point lists and arcs)."""
    stroke = np.vstack([np.asarray(part, dtype=np.float64).reshape(-1, 2) for part in parts])
    stroke.setflags(write=False)
    return stroke


def _lemniscate(cx: float, cy: float, half_width: float, half_height: float) -> np.ndarray:
    """An 8 in one stroke: down the right of the top loop, across, round the bottom, back up."""
    t = np.linspace(0.15, 2 * np.pi + 0.3, 48)
    return np.column_stack([cx + half_width * np.sin(2 * t), cy - half_height * np.cos(t)])


# Written on the 280x280 canvas, as a reader would draw them: big, in their usual stroke order.
_DRAWINGS = (
    Drawing("0", 0, (_stroke(_arc(140, 140, 58, 92, -80, -445, 40)),)),
    Drawing("1", 1, (_stroke([[146, 42], [138, 238]]),)),
    Drawing("1 with a flag", 1, (_stroke([[108, 82], [150, 42], [144, 238]]),)),
    Drawing("2", 2, (_stroke(_arc(138, 96, 52, 50, 195, 395, 20),
                             [[160, 150], [86, 236], [206, 234]]),)),
    Drawing("3", 3, (_stroke(_arc(134, 90, 50, 46, 205, 445, 20),
                             _arc(136, 186, 56, 52, 270, 520, 22)),)),
    Drawing("4", 4, (_stroke([[124, 40], [78, 166], [210, 164]]),
                     _stroke([[174, 92], [168, 240]]))),
    Drawing("4 closed", 4, (_stroke([[168, 40], [76, 172], [208, 170]]),
                            _stroke([[168, 40], [166, 240]]))),
    Drawing("5", 5, (_stroke([[104, 46], [98, 128]],
                             _arc(140, 180, 58, 56, 232, 505, 22)),
                     _stroke([[104, 46], [196, 44]]))),
    Drawing("6", 6, (_stroke(_arc(200, 170, 112, 130, 245, 180, 10),
                             _arc(142, 190, 54, 48, 180, -175, 30)),)),
    Drawing("7", 7, (_stroke([[78, 52], [200, 50], [124, 240]]),)),
    Drawing("7 crossed", 7, (_stroke([[78, 52], [200, 50], [124, 240]]),
                             _stroke([[112, 148], [190, 146]]))),
    Drawing("8", 8, (_stroke(_lemniscate(140, 142, 56, 98)),)),
    Drawing("9", 9, (_stroke(_arc(136, 94, 50, 48, 5, -355, 30), [[186, 100], [174, 240]]),)),
)

#: The pre-drawn digits by name: at least one of each class, two styles of 1, 4 and 7.
PREDRAWN: MappingProxyType[str, Drawing] = MappingProxyType({d.name: d for d in _DRAWINGS})
