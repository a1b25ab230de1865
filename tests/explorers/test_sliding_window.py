"""Tests for cnnlab.explorers.sliding_window: one output pixel of a convolution, term by term.

The sum the explorer writes for a window is checked against ``keras.ops.conv`` at
that pixel; the panels against the reference convolution; bad arguments are
refused when the explorer is made, before anything is drawn.
"""

import keras
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.patches import Rectangle

from cnnlab import reference
from cnnlab.explorers import sliding_window_explorer, small_digits
from cnnlab.explorers.base import to_png
from cnnlab.explorers.sliding_window import ONE_BY_ONE, ONE_CHANNEL, THREE_CHANNELS

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
EDGE = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
# case -> (kernel (kh, kw, C), bias), written out here rather than read from the module.
CASES = {
    ONE_CHANNEL: (SOBEL_X[..., None], 0.0),
    THREE_CHANNELS: (np.stack([SOBEL_X, SOBEL_X.T, EDGE], axis=-1), 0.5),
    ONE_BY_ONE: (np.array([1.0, -1.0, 0.5], np.float32).reshape(1, 1, 3), 0.0),
}

KERNEL_NAMES = {ONE_CHANNEL: ["Sobel x"], THREE_CHANNELS: ["Sobel x", "Sobel y", "edge"],
                ONE_BY_ONE: ["weight 1", "weight -1", "weight 0.5"]}


@pytest.fixture
def explorer(digits):
    return sliding_window_explorer(*digits, digits=(3, 1, 4))


def _small_input(digits, case):
    """The input the explorer convolves, built independently: 4x4 block maxima, 1 decimal."""
    images = digits[0][[3, 1, 4], ..., 0]
    blocks = images.reshape(3, 7, 4, 7, 4).max(axis=(2, 4))
    small = np.round(blocks, 1).astype(np.float32)
    return small[0][..., None] if case == ONE_CHANNEL else np.moveaxis(small, 0, -1)


def _panel(ax):
    return np.asarray(ax.images[0].get_array())


def _cell_texts(sheet, ax):
    """The numbers written over the cells of the image in ``ax``, as an array of str."""
    shape = _panel(ax).shape
    texts = np.full(shape, "", dtype=object)
    height = sheet.figure.bbox.height
    for label in sheet.labels:
        x, y, anchor = label.place()
        col, row = ax.transData.inverted().transform((x, height - y))
        inside = -0.5 < row < shape[0] - 0.5 and -0.5 < col < shape[1] - 0.5
        if label.visible and anchor == "mm" and inside:
            assert texts[round(row), round(col)] == ""      # one number per cell
            texts[round(row), round(col)] = label.text
    return texts


def _written(values):
    """How a value reads in its cell: rounded to two decimals, no trailing zeros, no "-0"."""
    def write(v):
        return f"{round(float(v), 2) + 0.0:.2f}".rstrip("0").rstrip(".")

    if np.ndim(values) == 0:
        return write(values)
    return np.vectorize(write, otypes=[object])(values)


def _boxes(ax, colour):
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_visible()
            and p.get_edgecolor()[:3] == pytest.approx(to_rgb(colour))]


def test_small_digits_keeps_the_brightest_pixel_of_each_block(digits):
    images, _ = digits
    got = small_digits(images, [2, 0], factor=4, decimals=2)
    want = np.round(images[[2, 0], ..., 0].reshape(2, 7, 4, 7, 4).max(axis=(2, 4)), 2)
    assert got.shape == (2, 7, 7, 1) and got.dtype == np.float32
    np.testing.assert_allclose(got[..., 0], want, atol=1e-7)
    assert small_digits(images, [5], factor=2).shape == (1, 14, 14, 1)


def test_explorer_controls_and_static_frames(explorer):
    assert [c.name for c in explorer.controls] == ["case", "row", "col", "stride", "padding"]
    case, row, col, stride, padding = explorer.controls
    assert case.values == (ONE_CHANNEL, THREE_CHANNELS, ONE_BY_ONE)
    assert row.values == (0, 2) and row.live == tuple(range(7))
    assert col.values == (1, 2) and col.live == tuple(range(7))
    assert stride.values == (1, 2) and padding.values == ("valid", "same")
    pictures, index = explorer.frames()
    assert len(index) == 48
    # A 1x1 kernel pads nothing: its 'valid' and 'same' pictures are the same, stored once.
    assert len(pictures) == 48 - 8


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("row", "col", "stride", "padding"),
                         [(0, 1, 1, "valid"), (2, 2, 1, "same"), (0, 2, 2, "same"),
                          (1, 2, 2, "valid"), (4, 3, 1, "valid")])
def test_the_sum_shown_is_the_keras_output_pixel(digits, explorer, case, row, col, stride,
                                                 padding):
    kernel, bias = CASES[case]
    x = _small_input(digits, case)
    want = keras.ops.convert_to_numpy(
        keras.ops.conv(x[None], kernel[..., None], strides=stride, padding=padding))[0, ..., 0]
    want = want + bias
    sheet = explorer.render(case=case, row=row, col=col, stride=stride, padding=padding)
    channels = kernel.shape[2]
    axes = sheet.figure.axes
    output = axes[4 * channels]
    np.testing.assert_allclose(_panel(output), want, atol=1e-5)
    value = float(want[row, col])
    title = sheet.title(output)
    shown = float(title.split("\n")[2].removeprefix("= "))    # two decimals
    assert shown == pytest.approx(value, abs=0.005)
    assert f"u[{row}, {col}]" in title
    term = reference.window_products(x, kernel, row, col, bias, stride, padding)
    assert term.value == pytest.approx(value, abs=1e-5)
    for k in range(channels):
        products = term.window[..., k] * kernel[..., k]
        np.testing.assert_array_equal(_panel(axes[4 * k + 1]), term.window[..., k])
        np.testing.assert_array_equal(_panel(axes[4 * k + 2]), kernel[..., k])
        np.testing.assert_allclose(_panel(axes[4 * k + 3]), products)
        # Every cell carries its number: the pixels, the weights, their products. The
        # kernel, the same in every picture of a case, is drawn once, with matplotlib.
        for j, values in [(1, term.window[..., k]), (3, products)]:
            np.testing.assert_array_equal(_cell_texts(sheet, axes[4 * k + j]), _written(values))
        weights = {(t.get_position()[1], t.get_position()[0]): t.get_text()
                   for t in axes[4 * k + 2].texts}
        assert weights == {(i, j): _written(v) for (i, j), v in np.ndenumerate(kernel[..., k])}
        assert _cell_texts(sheet, axes[4 * k + 2]).tolist() == np.full(kernel.shape[:2],
                                                                       "").tolist()
        assert axes[4 * k + 2].get_title() == f"kernel: {KERNEL_NAMES[case][k]}"
        assert sheet.title(axes[4 * k + 3]) == f"products, sum {_written(products.sum())}"
        # The window's (red) frame on the input sits where equation (1.2) puts it: s*row, s*col.
        frame = _boxes(axes[4 * k], "tab:red")
        assert len(frame) == 1
        assert frame[0].get_xy() == (term.left - 0.5, term.top - 0.5)
        assert (frame[0].get_height(), frame[0].get_width()) == kernel.shape[:2]
        # The image's own place in the padded input (orange), only where there is padding.
        padded = padding == "same" and kernel.shape[0] > 1
        assert len(_boxes(axes[4 * k], "tab:orange")) == padded
    assert _cell_texts(sheet, output).tolist() == np.full(want.shape, "").tolist()


def test_the_three_channel_sum_adds_the_channels_and_the_bias(digits, explorer):
    kernel, bias = CASES[THREE_CHANNELS]
    x = _small_input(digits, THREE_CHANNELS)
    sheet = explorer.render(case=THREE_CHANNELS, row=2, col=2, stride=1, padding="valid")
    title = sheet.title(sheet.figure.axes[12])
    sums = [float((x[2:5, 2:5, k] * kernel[..., k]).sum()) for k in range(3)]
    parts = title.split("\n")[1].split(" = ", 1)[1].split(" + ")
    assert [float(p.strip("()")) for p in parts[:3]] == pytest.approx(sums, abs=0.005)
    assert all(p.startswith("(-") for p, v in zip(parts[:3], sums, strict=True) if v <= -0.005)
    assert parts[3] == "b (0.5)"
    assert len(sheet.figure.axes) == 13
    assert sheet.title(None) == f"{THREE_CHANNELS}: input 7x7; red: the window"


def test_same_padding_is_named_and_framed(explorer):
    sheet = explorer.render(case=ONE_CHANNEL, row=0, col=0, stride=1, padding="same")
    assert sheet.title(None) == (f"{ONE_CHANNEL}: input 7x7, padded to 9x9 (orange: the "
                                 "image); red: the window")
    frame = _boxes(sheet.figure.axes[0], "tab:orange")
    assert [(f.get_xy(), f.get_width(), f.get_height()) for f in frame] == [((0.5, 0.5), 7, 7)]
    np.testing.assert_array_equal(_panel(sheet.figure.axes[0])[[0, -1]], 0)


def test_a_position_past_the_edge_shows_the_last_pixel_and_says_so(explorer):
    # stride 2, 'valid' on 7x7 with 3x3: a 3x3 output, so row 6 and column 5 become 2.
    sheet = explorer.render(case=ONE_CHANNEL, row=6, col=5, stride=2, padding="valid")
    output = sheet.figure.axes[4]
    title = sheet.title(output)
    assert "output 3x3" in title and "u[2, 2]" in title and "past the edge" in title
    marks = [p for p in output.patches if isinstance(p, Rectangle) and p.get_visible()]
    assert {p.get_xy() for p in marks} == {(1.5, 1.5)}
    assert len(_boxes(output, "black")) == 1


def test_one_by_one_pictures_do_not_depend_on_padding(explorer):
    same = to_png(explorer.render(case=ONE_BY_ONE, row=2, col=1, stride=2, padding="same"))
    valid = to_png(explorer.render(case=ONE_BY_ONE, row=2, col=1, stride=2, padding="valid"))
    assert same == valid


def test_a_picture_does_not_depend_on_the_pictures_before_it(digits):
    combos = [dict(case=case, row=row, col=col, stride=stride, padding=padding)
              for case in CASES for row, col, stride, padding
              in [(0, 1, 1, "valid"), (6, 6, 2, "same"), (2, 3, 1, "same")]]
    first = [sliding_window_explorer(*digits, digits=(3, 1, 4)).picture(**c) for c in combos]
    explorer = sliding_window_explorer(*digits, digits=(3, 1, 4))
    after = [explorer.picture(**c) for c in combos[::-1]][::-1]
    assert after == first
    assert len(set(first)) == len(first)


# -- bad input: refused when the explorer is made, before anything is drawn ---------------


BAD = [
    ("images-0-255", lambda x, y: sliding_window_explorer(x * 255, y), ValueError,
     r"^images must have values in \[0, 1\]"),
    ("images-rgb", lambda x, y: sliding_window_explorer(np.repeat(x, 3, axis=-1), y),
     ValueError, r"^images must be gray digits of shape \(N, H, W, 1\)"),
    ("images-list", lambda x, y: sliding_window_explorer(x.tolist(), y), TypeError,
     r"^images must be a numpy array, got list"),
    ("labels-short", lambda x, y: sliding_window_explorer(x, y[:5]), ValueError,
     r"^labels must have shape \(6,\), one per image"),
    ("digits-two", lambda x, y: sliding_window_explorer(x, y, digits=(0, 1)), ValueError,
     r"^digits must name 3 images \(one per channel\), got 2"),
    ("digits-too-large", lambda x, y: sliding_window_explorer(x, y, digits=(0, 1, 6)),
     ValueError, r"^digits\[2\] must be at most 5 \(there are 6 images\), got 6"),
    ("digits-bare-int", lambda x, y: sliding_window_explorer(x, y, digits=3), TypeError,
     r"^digits must be a sequence of ints, got int 3"),
    ("factor-zero", lambda x, y: sliding_window_explorer(x, y, factor=0), ValueError,
     r"^factor must be at least 1, got 0"),
    ("factor-float", lambda x, y: sliding_window_explorer(x, y, factor=4.0), TypeError,
     r"^factor must be an int, got float"),
    ("factor-too-large", lambda x, y: sliding_window_explorer(x, y, factor=10), ValueError,
     r"^images must be at least 30x30 pixels for 3x3 kernels after shrinking by 10, "
     r"got 28x28"),
    ("decimals-negative", lambda x, y: sliding_window_explorer(x, y, decimals=-1), ValueError,
     r"^decimals must be at least 0, got -1"),
    ("small-digits-nan", lambda x, y: small_digits(np.full_like(x, np.nan), [0]), ValueError,
     r"^images must be finite"),
    ("small-digits-3d", lambda x, y: small_digits(x[..., 0], [0]), ValueError,
     r"^images must have shape \(N, H, W, C\)"),
    ("small-digits-empty", lambda x, y: small_digits(x, []), ValueError,
     r"^digits is empty"),
    ("small-digits-negative", lambda x, y: small_digits(x, [-1]), ValueError,
     r"^digits\[0\] must be at least 0, got -1"),
    ("small-digits-factor", lambda x, y: small_digits(x, [0], factor=29), ValueError,
     r"^images must be at least 29x29 pixels for blocks of 29x29, got 28x28"),
    ("small-digits-decimals", lambda x, y: small_digits(x, [0], decimals=1.5), TypeError,
     r"^decimals must be an int, got float 1\.5"),
]


@pytest.mark.parametrize(("make", "error", "match"),
                         [pytest.param(m, e, r, id=name) for name, m, e, r in BAD])
def test_bad_input_is_refused_when_called(digits, no_drawing, make, error, match):
    images, labels = digits
    with pytest.raises(error, match=match):
        make(images, labels)
