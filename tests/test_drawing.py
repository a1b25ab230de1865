"""Tests for cnnlab.drawing: strokes painted with a round pen, replayed, and pre-drawn digits."""

import numpy as np
import pytest

from cnnlab.drawing import (
    PREDRAWN,
    SIZE,
    check_strokes,
    digit_from_strokes,
    render_strokes,
    strokes_so_far,
)

ROWS = np.arange(28)


def brute_force(strokes, size, width, samples=1001):
    """The pen's ink from the distance to many points sampled along each segment.

    A sample at most half a spacing (< 0.03 px) along the segment from the nearest point
    overestimates a distance d by less than 0.03**2 / (2 d): nothing on the pen's edge.
    """
    centres = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), -1)
    nearest = np.full((size, size), np.inf)
    for stroke in strokes:
        stroke = np.asarray(stroke, float)
        stroke = stroke if len(stroke) > 1 else np.repeat(stroke, 2, axis=0)
        for a, b in zip(stroke[:-1], stroke[1:], strict=True):
            t = np.linspace(0, 1, samples)[:, None]
            points = a + t * (b - a)                                   # (samples, 2)
            d = np.linalg.norm(centres[:, :, None, :] - points, axis=-1).min(axis=-1)
            nearest = np.minimum(nearest, d)
    return np.clip(width / 2 + 0.5 - nearest, 0, 1)


# -- render_strokes ---------------------------------------------------------------------------


def test_a_horizontal_stroke_is_a_band_of_the_pen_width_at_its_rows():
    image = render_strokes([[[50, 100.5], [200, 100.5]]], width=20)
    assert image.shape == (SIZE, SIZE) and image.dtype == np.float32
    # By hand: rows 91..109 lie wholly within 10 pixels of y = 100.5 (their centres within
    # 9.5), rows 90 and 110 have their centres on the pen's edge (half ink), no other row.
    column = np.zeros(SIZE, np.float32)
    column[91:110] = 1
    column[[90, 110]] = 0.5
    for j in (50, 51, 120, 199):                  # columns whose centres lie along the stroke
        np.testing.assert_array_equal(image[:, j], column)
    # Round ends: on row 100 the ink reaches 10 pixels beyond each end, no further.
    np.testing.assert_array_equal(np.flatnonzero(image[100]), np.arange(40, 210))
    assert image[:, :40].max() == 0 and image[:, 210:].max() == 0


@pytest.mark.parametrize(("y", "width"), [(100.5, 20), (100.0, 22), (73.3, 7.5), (140.8, 1.0)])
def test_a_straight_stroke_leaves_width_units_of_ink_across_itself(y, width):
    image = render_strokes([[[60, y], [220, y]]], width=width)
    # The edge ramp is a unit box convolved with the pen: its samples sum to the width.
    np.testing.assert_allclose(image[:, 100:180].sum(axis=0), width, rtol=1e-5)


@pytest.mark.parametrize("strokes", [
    [[[5.2, 7.1], [30.6, 22.4], [12, 33]]],
    [[[20, 20]]],                                                        # a dot
    [[[3, 35], [36, 4]], [[10, 10], [10, 30]]],
], ids=["polyline", "dot", "two-strokes"])
def test_render_matches_the_distance_to_densely_sampled_strokes(strokes):
    expected = brute_force(strokes, 40, 9)
    np.testing.assert_allclose(render_strokes(strokes, size=40, width=9), expected, atol=2e-3)


def test_render_is_symmetric_deterministic_and_independent_of_stroke_order():
    strokes = [[[40, 60], [180, 210], [230, 90]], [[20, 250], [260, 30]]]
    image = render_strokes(strokes)
    np.testing.assert_array_equal(image, render_strokes(strokes))
    np.testing.assert_array_equal(image, render_strokes(strokes[::-1]))
    swapped = [np.asarray(s, float)[:, ::-1] for s in strokes]            # (y, x): transposed
    np.testing.assert_allclose(render_strokes(swapped), image.T, atol=1e-6)
    assert 0 <= image.min() and image.max() == 1


def test_a_dot_is_a_disc_of_the_pen_width():
    image = render_strokes([np.array([[140.0, 140.0]])], width=30)
    assert image.sum() == pytest.approx(np.pi * 15 ** 2, rel=0.01)
    rows, cols = np.nonzero(image)
    assert rows.min() == cols.min() == 125 and rows.max() == cols.max() == 154


def test_no_strokes_is_a_black_canvas():
    np.testing.assert_array_equal(render_strokes([], size=16, width=3),
                                  np.zeros((16, 16), np.float32))


# -- digit_from_strokes -----------------------------------------------------------------------


def test_a_drawn_one_becomes_an_mnist_digit_centred_by_its_mass():
    digit = digit_from_strokes(PREDRAWN["1"].strokes)
    assert digit.shape == (28, 28, 1) and digit.dtype == np.float32 and digit.max() == 1
    d = digit[..., 0]
    centre = d.sum(axis=1) @ ROWS / d.sum(), d.sum(axis=0) @ ROWS / d.sum()
    # Whole-pixel shifts put it within half a pixel of the centre (float sums: + 1e-5).
    assert abs(centre[0] - 14) <= 0.5 + 1e-5 and abs(centre[1] - 14) <= 0.5 + 1e-5
    rows = np.flatnonzero(d.any(axis=1))
    assert rows[-1] - rows[0] + 1 == 20                              # the longer side: 20
    # The same as preparing the painted canvas by hand.
    from cnnlab.own_digit import to_mnist

    np.testing.assert_array_equal(digit, to_mnist(render_strokes(PREDRAWN["1"].strokes)))


# -- strokes_so_far ---------------------------------------------------------------------------

TWO = [[[0, 0], [100, 0]], [[0, 10], [30, 10], [30, 30]]]           # lengths 100 and 50


def _length(strokes):
    return sum(np.hypot(*np.diff(np.asarray(s), axis=0).T).sum() for s in strokes)


@pytest.mark.parametrize(("fraction", "expected"), [
    (0, []),
    (0.2, [[[0, 0], [30, 0]]]),
    (0.6, [[[0, 0], [90, 0]]]),
    (0.7, [[[0, 0], [100, 0]], [[0, 10], [5, 10]]]),
    (0.8, [[[0, 0], [100, 0]], [[0, 10], [20, 10]]]),
    (0.9, [[[0, 0], [100, 0]], [[0, 10], [30, 10], [30, 15]]]),
    (1, TWO),
])
def test_strokes_so_far_follows_the_pen(fraction, expected):
    drawn = strokes_so_far(TWO, fraction)
    assert len(drawn) == len(expected)
    for got, want in zip(drawn, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("name", ["3", "8", "4 closed"])
def test_the_replay_draws_its_share_of_the_path_and_ink_only_grows(name):
    strokes = PREDRAWN[name].strokes
    total, before = _length(strokes), np.zeros((SIZE, SIZE), np.float32)
    for fraction in np.linspace(0.05, 1, 12):
        drawn = strokes_so_far(strokes, fraction)
        assert _length(drawn) == pytest.approx(fraction * total)
        image = render_strokes(drawn)
        assert (image >= before).all()
        before = image
    np.testing.assert_array_equal(before, render_strokes(strokes))


def test_dots_appear_when_the_pen_has_passed_their_start():
    strokes = [[[10, 10]], [[20, 20], [60, 20]], [[5, 5]]]
    assert len(strokes_so_far(strokes, 0.01)) == 2                # the dot, and the line begun
    assert len(strokes_so_far(strokes, 0.99)) == 2
    assert len(strokes_so_far(strokes, 1)) == 3
    assert len(strokes_so_far([[[7, 7]]], 0.5)) == 1                # only dots: all at once


def test_strokes_so_far_returns_new_arrays():
    strokes = [np.array([[1.0, 2.0], [3.0, 4.0]])]
    strokes_so_far(strokes, 1)[0][0, 0] = 99
    assert strokes[0][0, 0] == 1


# -- the pre-drawn digits ---------------------------------------------------------------------


def test_predrawn_holds_every_class_and_valid_strokes():
    assert len(PREDRAWN) >= 10
    assert sorted({d.label for d in PREDRAWN.values()}) == list(range(10))
    for name, drawing in PREDRAWN.items():
        assert drawing.name == name and name[0] == str(drawing.label)
        assert len(check_strokes(list(drawing.strokes))) == len(drawing.strokes)
        assert all(not stroke.flags.writeable for stroke in drawing.strokes)
    with pytest.raises(TypeError):
        PREDRAWN["0"] = PREDRAWN["1"]


def test_the_gap_cnn_reads_every_predrawn_digit_as_its_class():
    from cnnlab import zoo

    model = zoo.load("gap_cnn")
    digits = np.stack([digit_from_strokes(d.strokes) for d in PREDRAWN.values()])
    predicted = model.predict(digits, verbose=0).argmax(axis=1)
    labels = [d.label for d in PREDRAWN.values()]
    assert dict(zip(PREDRAWN, predicted.tolist(), strict=True)) == dict(zip(PREDRAWN, labels,
                                                                             strict=True))


# -- bad input --------------------------------------------------------------------------------

GOOD = [[[10, 10], [50, 60]]]

STROKE_ROWS = [
    ("one-array", lambda f: f(np.array([[10.0, 10.0], [50.0, 60.0]])), TypeError,
     r"^strokes must be a list of strokes, .* got one ndarray of shape \(2, 2\) \(for one "
     r"stroke: \[stroke\]\)"),
    ("none", lambda f: f(None), TypeError, r"^strokes must be a list of strokes, .* got NoneType"),
    ("string", lambda f: f("10 10"), TypeError, r"^strokes must be a list of strokes, .* got str"),
    ("text-points", lambda f: f([[["a", "b"]]]), TypeError, r"^strokes\[0\] must hold numbers"),
    ("flat-points", lambda f: f([[10, 10, 50, 60]]), ValueError,
     r"^strokes\[0\] must have shape \(n, 2\) with n >= 1 \(x, y\) points, got shape \(4,\)"),
    ("three-coordinates", lambda f: f([[[1, 2, 3]]]), ValueError,
     r"^strokes\[0\] must have shape \(n, 2\) .* got shape \(1, 3\)"),
    ("empty-stroke", lambda f: f([GOOD[0], []]), ValueError,
     r"^strokes\[1\] must have shape \(n, 2\) with n >= 1 .* got shape \(0,\)"),
    ("nan", lambda f: f([[[10, np.nan]]]), ValueError, r"^strokes\[0\] must have finite"),
    ("inf", lambda f: f([[[np.inf, 10]]]), ValueError, r"^strokes\[0\] must have finite"),
    ("off-canvas", lambda f: f([[[10, 10], [281, 5]]]), ValueError,
     r"^strokes\[0\] has the point \(281, 5\) off the canvas: coordinates must be in \[0, 280\]"),
    ("negative", lambda f: f([[[-1, 10]]]), ValueError, r"^strokes\[0\] has the point \(-1, 10\)"),
]


def _rows(call, prefix):
    return [pytest.param(lambda c=call, m=make: m(c), error, match, id=f"{prefix}-{name}")
            for name, make, error, match in STROKE_ROWS]


CHECK_STROKES_BAD = _rows(check_strokes, "check") + [
    pytest.param(lambda: check_strokes(GOOD, size=4), ValueError, r"^size must be at least 8",
                 id="size-small"),
    pytest.param(lambda: check_strokes(GOOD, size=280.0), TypeError, r"^size must be an int",
                 id="size-float"),
]

RENDER_BAD = _rows(render_strokes, "render") + [
    pytest.param(lambda: render_strokes(GOOD, width=0.5), ValueError,
                 r"^width must be in \[1, 280\], got 0\.5", id="width-thin"),
    pytest.param(lambda: render_strokes(GOOD, width=300), ValueError,
                 r"^width must be in \[1, 280\]", id="width-wide"),
    pytest.param(lambda: render_strokes(GOOD, width="22"), TypeError,
                 r"^width must be a number, got str", id="width-str"),
    pytest.param(lambda: render_strokes(GOOD, width=np.nan), ValueError,
                 r"^width must be finite", id="width-nan"),
    pytest.param(lambda: render_strokes(GOOD, size=True), TypeError,
                 r"^size must be an int, got bool", id="size-bool"),
]

DIGIT_BAD = _rows(digit_from_strokes, "digit") + [
    pytest.param(lambda: digit_from_strokes([]), ValueError,
                 r"^strokes is empty: nothing has been drawn yet", id="nothing-drawn"),
    pytest.param(lambda: digit_from_strokes(GOOD, width=-3), ValueError, r"^width must be in",
                 id="width-negative"),
]

SO_FAR_BAD = _rows(lambda s: strokes_so_far(s, 0.5), "so-far") + [
    pytest.param(lambda: strokes_so_far(GOOD, 1.5), ValueError,
                 r"^fraction must be in \[0, 1\], got 1\.5", id="fraction-above"),
    pytest.param(lambda: strokes_so_far(GOOD, -0.1), ValueError, r"^fraction must be in \[0, 1\]",
                 id="fraction-negative"),
    pytest.param(lambda: strokes_so_far(GOOD, "half"), TypeError,
                 r"^fraction must be a number, got str", id="fraction-str"),
    pytest.param(lambda: strokes_so_far(GOOD, None), TypeError, r"^fraction must be a number",
                 id="fraction-none"),
    pytest.param(lambda: strokes_so_far([[[10, 10], [290, 10]]], 0.5, size=280), ValueError,
                 r"off the canvas", id="size-small-for-points"),
]


@pytest.mark.parametrize(("make", "error", "match"),
                         CHECK_STROKES_BAD + RENDER_BAD + DIGIT_BAD + SO_FAR_BAD)
def test_bad_input_is_refused_with_a_message_naming_the_argument(make, error, match):
    with pytest.raises(error, match=match):
        make()
