"""Tests for cnnlab.explorers: what each chapter's explorer draws and offers.

Bad arguments are in test_explorer_inputs.py; the tiny models in conftest.py.
"""

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Rectangle

from cnnlab import explorers, reference
from cnnlab.explorers import CUSTOM, convolution_explorer, parse_kernel
from cnnlab.explorers.sheet import Sheet

KERNEL_NAMES = ["edge", "sobel x", "sobel y", "blur", "gaussian blur", "sharpen", "identity"]


@pytest.fixture
def explorer(digits):
    return convolution_explorer(*digits, static_digits=(0, 1))


def _panel(fig, k):
    return np.asarray(fig.axes[k].images[0].get_array())


# -- parse_kernel -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["0 1 0; 1 -4 1; 0 1 0", "0 1 0\n1 -4 1\n0 1 0", "0,1,0; 1,-4,1; 0,1,0",
     "  0, 1 0 ;\n\n 1 -4,1;0 1 0;  \n", "0 1e0 0; 1.0 -4 +1; -0 1 0"],
    ids=["semicolons", "newlines", "commas", "mixed", "float-forms"],
)
def test_parse_kernel_reads_the_edge_kernel(text):
    kernel = parse_kernel(text)
    assert kernel.dtype == np.float32
    np.testing.assert_array_equal(kernel, reference.classic_kernels()["edge"])


def test_parse_kernel_keeps_row_order():
    np.testing.assert_array_equal(parse_kernel("1 2 3; 4 5 6; 7 8 9"),
                                  np.arange(1, 10, dtype=np.float32).reshape(3, 3))
    np.testing.assert_allclose(parse_kernel("0.5 -0.25 0; 0 0 0; 0 0 1e-3")[[0, 0, 2], [0, 1, 2]],
                               [0.5, -0.25, 1e-3], rtol=1e-6)


# -- convolution_explorer -----------------------------------------------------------------


def test_explorer_controls(explorer):
    assert [c.name for c in explorer.controls] == ["digit", "kernel", "stride", "padding"]
    digit, kernel, stride, padding = explorer.controls
    assert digit.values == (0, 1) and digit.live == tuple(range(6))
    assert kernel.values == tuple(KERNEL_NAMES) and kernel.live == (*KERNEL_NAMES, CUSTOM)
    assert stride.values == (1, 2) and stride.live == (1, 2, 3)
    assert padding.values == ("valid", "same")
    assert set(explorer.live_extra) == {"typed"}
    assert explorer.static_extra == {"typed": ""}


@pytest.mark.parametrize(
    ("digit", "kernel", "stride", "padding", "side"),
    [
        (0, "edge", 1, "valid", 26),
        (1, "sobel x", 1, "same", 28),
        (0, "sobel y", 2, "valid", 13),
        (1, "blur", 2, "same", 14),
        (4, "gaussian blur", 3, "valid", 9),
        (5, "sharpen", 3, "same", 10),
        (1, "identity", 1, "valid", 26),
    ],
)
def test_render_output_panel_is_the_convolution(digits, explorer, digit, kernel, stride,
                                                 padding, side):
    images, labels = digits
    sheet = explorer.render(digit=digit, kernel=kernel, stride=stride, padding=padding,
                            typed="")
    assert isinstance(sheet, Sheet)
    fig = sheet.figure
    h = reference.classic_kernels()[kernel]
    expected = reference.conv2d(images[digit:digit + 1], h[:, :, None, None], stride=stride,
                                padding=padding)[0, ..., 0]
    output = _panel(fig, 2)
    assert output.shape == (side, side)
    np.testing.assert_array_equal(output, expected)
    m = np.abs(expected).max()
    assert fig.axes[2].images[0].get_clim() == pytest.approx((-m, m))
    title = _title(sheet, 2)
    assert f"{side}x{side}" in title and f"stride {stride}" in title and padding in title
    np.testing.assert_array_equal(_panel(fig, 1), h)
    # Each weight is written in its cell, to two significant digits.
    assert _cell_texts(sheet, fig.axes[1]) == [[f"{v:.2g}" for v in row] for row in h]
    assert kernel in _title(sheet, 1)


def _cell_texts(sheet, ax):
    """The texts written over the cells of the image in ``ax``, row by row ('' if none)."""
    rows, cols = np.asarray(ax.images[0].get_array()).shape[:2]
    texts = [[""] * cols for _ in range(rows)]
    height = sheet.figure.bbox.height
    for label in sheet.labels:
        x, y, anchor = label.place()
        col, row = ax.transData.inverted().transform((x, height - y))
        if label.visible and anchor == "mm" and -0.5 < row < rows - 0.5 \
                and -0.5 < col < cols - 0.5:
            texts[round(row)][round(col)] += label.text
    return texts


def _visible_boxes(ax):
    return [p for p in ax.patches if isinstance(p, Rectangle) and p.get_visible()]


def test_render_input_panel_valid_shows_the_digit(digits, explorer):
    images, labels = digits
    explorer.render(digit=0, kernel="blur", stride=1, padding="same", typed="")  # a frame
    sheet = explorer.render(digit=1, kernel="edge", stride=1, padding="valid", typed="")
    np.testing.assert_array_equal(_panel(sheet.figure, 0), images[1, ..., 0])
    title = _title(sheet, 0)
    assert "28x28" in title and f"label {labels[1]}" in title
    assert not _visible_boxes(sheet.figure.axes[0])


@pytest.mark.parametrize(("stride", "before", "after"), [(1, 1, 1), (2, 0, 1), (3, 1, 1)])
def test_render_input_panel_same_shows_the_padding(digits, explorer, stride, before, after):
    # TensorFlow's split for 28 pixels and a 3x3 kernel: 2 zeros (1, 1) at stride 1,
    # 1 zero (0, 1) at stride 2, 2 zeros (1, 1) at stride 3.
    images, labels = digits
    sheet = explorer.render(digit=0, kernel="blur", stride=stride, padding="same", typed="")
    expected = np.pad(images[0, ..., 0], ((before, after), (before, after)))
    np.testing.assert_array_equal(_panel(sheet.figure, 0), expected)
    side = 28 + before + after
    title = _title(sheet, 0)
    assert f"padded to {side}x{side}" in title and f"label {labels[0]}" in title
    frames = _visible_boxes(sheet.figure.axes[0])
    assert len(frames) == 1
    assert frames[0].get_xy() == (before - 0.5, before - 0.5)
    assert (frames[0].get_width(), frames[0].get_height()) == (28, 28)


def test_render_custom_kernel_uses_the_typed_text(digits, explorer):
    images, _ = digits
    typed = "1 2 3; 4 5 6; 7 8 9"
    kernel = np.arange(1, 10, dtype=np.float32).reshape(3, 3)
    sheet = explorer.render(digit=3, kernel=CUSTOM, stride=2, padding="same", typed=typed)
    np.testing.assert_array_equal(_panel(sheet.figure, 1), kernel)
    assert _cell_texts(sheet, sheet.figure.axes[1]) == [["1", "2", "3"], ["4", "5", "6"],
                                                        ["7", "8", "9"]]
    title = _title(sheet, 1)
    assert "custom" in title and "type below" not in title
    expected = reference.conv2d(images[3:4], kernel[:, :, None, None], stride=2,
                                padding="same")[0, ..., 0]
    np.testing.assert_array_equal(_panel(sheet.figure, 2), expected)


def test_render_ignores_typed_text_for_named_kernels(digits, explorer):
    sheet = explorer.render(digit=0, kernel="edge", stride=1, padding="valid", typed="junk")
    np.testing.assert_array_equal(_panel(sheet.figure, 1), reference.classic_kernels()["edge"])


def test_render_custom_kernel_with_bad_text_raises(explorer):
    with pytest.raises(ValueError, match=r"3 rows of 3 numbers"):
        explorer.render(digit=0, kernel=CUSTOM, stride=1, padding="valid", typed="1 2 3")


def test_render_of_a_blank_digit_has_unit_colour_limits(rng):
    images = np.zeros((2, 8, 8, 1), dtype=np.float32)
    explorer = convolution_explorer(images, np.array([3, 4]), static_digits=(0,))
    sheet = explorer.render(digit=1, kernel="edge", stride=1, padding="same", typed="")
    np.testing.assert_array_equal(_panel(sheet.figure, 2), np.zeros((8, 8)))
    assert sheet.figure.axes[2].images[0].get_clim() == (-1.0, 1.0)
    assert "padded to 10x10" in _title(sheet, 0)


def test_convolution_explorer_draws_in_any_order(digits):
    _drawn_in_any_order(
        lambda: convolution_explorer(*digits, static_digits=(0, 1)),
        [dict(digit=0, kernel="edge", stride=1, padding="valid", typed=""),
         dict(digit=1, kernel="blur", stride=2, padding="same", typed=""),
         dict(digit=2, kernel=CUSTOM, stride=3, padding="same", typed="0 0 0; 0 0 0; 0 0 0"),
         dict(digit=3, kernel=CUSTOM, stride=1, padding="valid", typed="1 2 3; 4 5 6; 7 8 9")])


def test_live_widget_offers_custom_kernel_and_reports_bad_text(explorer):
    box = explorer.widget()
    digit, kernel, stride, padding = box.children[1].children
    assert (digit.min, digit.max) == (0, 5)
    assert CUSTOM in kernel.options
    assert (stride.min, stride.max) == (1, 3)
    typed = explorer.live_extra["typed"]
    assert isinstance(typed, ipywidgets.Text)
    image = [c for c in box.children if isinstance(c, ipywidgets.Image)][0]
    message = [c for c in box.children if type(c) is ipywidgets.HTML][-1]
    kernel.value = CUSTOM
    assert message.value == ""
    good = bytes(image.value)
    typed.value = "1 2; 3 4"
    assert "3 rows of 3 numbers" in message.value
    assert bytes(image.value) == good


# -- chapter 2 and 3 explorers -------------------------------------------------------------


def test_pooling_explorer_panels_are_the_reference_pools(digits):
    images, labels = digits
    explorer = explorers.pooling_explorer(images, labels, static_digits=(0, 1))
    assert [c.name for c in explorer.controls] == ["digit", "window", "stride"]
    sheet = explorer.render(digit=1, window=3, stride=2)
    fig = sheet.figure
    np.testing.assert_array_equal(_panel(fig, 0), images[1, ..., 0])
    np.testing.assert_allclose(_panel(fig, 1), reference.max_pool2d(images[1:2], 3, 2)[0, ..., 0])
    np.testing.assert_allclose(_panel(fig, 2), reference.avg_pool2d(images[1:2], 3, 2)[0, ..., 0])
    assert _title(sheet, 0) == f"input 28x28 (label {labels[1]})"
    assert _title(sheet, 1) == "max 3x3, stride 2: 13x13"
    assert _title(sheet, 2) == "average 3x3, stride 2: 13x13"


def test_pooling_explorer_draws_in_any_order(digits):
    _drawn_in_any_order(lambda: explorers.pooling_explorer(*digits, static_digits=(0, 1)),
                        [dict(digit=0, window=2, stride=1), dict(digit=1, window=3, stride=3),
                         dict(digit=5, window=5, stride=4)])


def test_shift_explorer_measures_the_change_it_shows(digits, gap_model):
    from cnnlab.features import feature_maps, relative_change, shift_images

    images, labels = digits
    explorer = explorers.shift_explorer(gap_model, images, labels, static_digits=(0,))
    sheet = explorer.render(digit=0, shift=2, pooling="max 2x2")
    fig = sheet.figure
    moved = shift_images(images[:1], dx=2)
    maps = feature_maps(gap_model, ["conv2"], np.concatenate([images[:1], moved]))["conv2"]
    channel = int((maps[0].max(axis=(0, 1)) - np.median(maps[0], axis=(0, 1))).argmax())
    np.testing.assert_array_equal(_panel(fig, 0), images[0, ..., 0])
    np.testing.assert_array_equal(_panel(fig, 4), moved[0, ..., 0])
    np.testing.assert_allclose(_panel(fig, 1), maps[0, ..., channel], atol=1e-6)
    np.testing.assert_allclose(_panel(fig, 2), maps[1, ..., channel], atol=1e-6)
    assert _title(sheet, 1) == f"conv2, channel {channel}"
    pooled = reference.max_pool2d(maps)[..., channel:channel + 1]
    np.testing.assert_allclose(_panel(fig, 7), (pooled[1] - pooled[0])[..., 0], atol=1e-6)
    change = relative_change(pooled[:1], pooled[1:])[0]
    assert _title(sheet, 7) == f"difference: {change:.2f}"
    assert _title(sheet, 4) == "shifted 2 px right"
    zero = explorer.render(digit=0, shift=0, pooling="average 2x2")
    assert _title(zero, 3) == "difference: 0.00"
    assert _title(zero, 5) == "after average 2x2 pooling"


def test_shift_explorer_draws_in_any_order(digits, gap_model):
    _drawn_in_any_order(lambda: explorers.shift_explorer(gap_model, *digits, static_digits=(0,)),
                        [dict(digit=0, shift=0, pooling="max 2x2"),
                         dict(digit=3, shift=7, pooling="average 2x2"),
                         dict(digit=0, shift=2, pooling="average 2x2")])


@pytest.mark.parametrize("right", [True, False])
def test_probability_explorer_shows_the_models_prediction(digits, gap_model, right):
    from matplotlib.colors import to_rgb

    from cnnlab.plotting import show_probabilities

    images, labels = digits
    p = gap_model.predict(images[2:3], verbose=0)[0]
    labels = labels.copy()
    labels[2] = p.argmax() if right else (p.argmax() + 1) % 10
    explorer = explorers.probability_explorer(gap_model, images, labels, static_digits=(2,))
    sheet = explorer.render(digit=2)
    bars = sheet.figure.axes[1].patches
    np.testing.assert_allclose([b.get_height() for b in bars], p, rtol=1e-5)
    np.testing.assert_array_equal(_panel(sheet.figure, 0), images[2, ..., 0])
    assert _title(sheet, 0) == f"test digit 2 (label {labels[2]})"
    assert _title(sheet, 1) == f"predicted {p.argmax()} with probability {p.max():.3f}"
    # The bars are coloured as show_probabilities colours them: true class green, a wrong
    # prediction red.
    fig, ax = plt.subplots()
    show_probabilities(p, label=int(labels[2]), ax=ax)
    assert [b.get_facecolor() for b in bars] == [b.get_facecolor() for b in ax.patches]
    plt.close(fig)
    red = [k for k, b in enumerate(bars) if b.get_facecolor()[:3] == to_rgb("tab:red")]
    green = [k for k, b in enumerate(bars) if b.get_facecolor()[:3] == to_rgb("tab:green")]
    assert (red, green) == ([] if right else [p.argmax()], [labels[2]])


def test_probability_explorer_draws_in_any_order(digits, gap_model):
    _drawn_in_any_order(lambda: explorers.probability_explorer(gap_model, *digits,
                                                               static_digits=(2,)),
                        [{"digit": 2}, {"digit": 0}, {"digit": 5}])


def _epoch_record(labels):
    """Predictions over three epochs: all right, all wrong, then only digit 4 wrong."""
    wrong = (labels + 1) % 10
    predicted = np.array([labels, wrong, np.where(np.arange(6) == 4, wrong, labels)])
    confidence = np.array([np.full(6, 0.5), np.full(6, 0.25), np.linspace(0.3, 0.8, 6)])
    return predicted, confidence


def test_epoch_explorer_titles_follow_the_record(digits):
    images, labels = digits
    predicted, confidence = _epoch_record(labels)
    explorer = explorers.epoch_explorer(predicted, confidence, images, labels)
    assert explorer.controls[0].values == (1, 2, 3)
    for epoch, wrong in [(1, 0), (2, 6), (3, 1), (1, 0)]:
        sheet = explorer.render(epoch=epoch)
        assert sheet.title() == (f"after epoch {epoch}: {wrong} of 6 wrong "
                                 "(true → predicted (probability))")
        axes = sheet.figure.axes
        for k in range(6):
            np.testing.assert_array_equal(_panel(sheet.figure, k), images[k, ..., 0])
            guess, p = predicted[epoch - 1, k], confidence[epoch - 1, k]
            assert _title(sheet, k) == f"{labels[k]}→{guess} ({p:.2f})"
            title = next(label for label in sheet.labels if getattr(label, "ax", None) is axes[k])
            assert title.color == ("black" if guess == labels[k] else "tab:red")
        assert not any(ax.axison for ax in axes[6:8])      # the row's two empty places


def test_epoch_explorer_draws_in_any_order(digits):
    images, labels = digits
    predicted, confidence = _epoch_record(labels)
    _drawn_in_any_order(lambda: explorers.epoch_explorer(predicted, confidence, images, labels),
                        [{"epoch": 3}, {"epoch": 1}, {"epoch": 2}])


def test_feature_map_explorer_shows_the_layer_output(digits, gap_model):
    from cnnlab.features import feature_maps

    images, labels = digits
    explorer = explorers.feature_map_explorer(gap_model, images, labels, layers=("conv1", "conv2"),
                                            static_digits=(0, 1), static_channels=(0, 3))
    assert [c.name for c in explorer.controls] == ["digit", "layer", "channel"]
    assert explorer.controls[2].live == (0, 1, 2, 3)       # the widest layer's channels
    for digit, layer, channel, size in [(1, "conv2", 3, 24), (1, "conv1", 3, 26),
                                        (4, "conv2", 0, 24)]:
        sheet = explorer.render(digit=digit, layer=layer, channel=channel)
        want = feature_maps(gap_model, [layer], images[digit:digit + 1])[layer][0, ..., channel]
        np.testing.assert_allclose(_panel(sheet.figure, 1), want, atol=1e-6)
        np.testing.assert_array_equal(_panel(sheet.figure, 0), images[digit, ..., 0])
        assert _title(sheet, 0) == f"test digit {digit} (label {labels[digit]})"
        assert _title(sheet, 1) == f"{layer}, channel {channel}: {size}x{size}"
        assert sheet.figure.axes[1].images[0].get_clim() == (0.0, pytest.approx(
            float(want.max())))


def test_feature_map_explorer_draws_in_any_order(digits, gap_model):
    _drawn_in_any_order(
        lambda: explorers.feature_map_explorer(gap_model, *digits, layers=("conv1", "conv2"),
                                               static_digits=(0,), static_channels=(0,)),
        [{"digit": 0, "layer": "conv2", "channel": 1}, {"digit": 3, "layer": "conv1",
                                                         "channel": 0},
         {"digit": 0, "layer": "conv1", "channel": 2}])


def test_feature_map_explorer_says_when_a_map_is_all_zero(gap_model):
    # A black digit through zero-initialized biases: every conv1 map is relu(0) = 0.
    assert not np.any(gap_model.get_layer("conv1").bias.numpy())
    images = np.zeros((2, 28, 28, 1), np.float32)
    explorer = explorers.feature_map_explorer(gap_model, images, np.array([0, 1]),
                                            layers=("conv1",), static_digits=(0,),
                                            static_channels=(0,))
    sheet = explorer.render(digit=0, layer="conv1", channel=0)
    assert _title(sheet, 1) == "conv1, channel 0: 26x26 (all zero)"
    assert sheet.figure.axes[1].images[0].get_clim() == (0.0, 1.0)


def test_feature_map_explorer_refuses_a_missing_channel_live(digits, gap_model):
    images, labels = digits
    explorer = explorers.feature_map_explorer(gap_model, images, labels, layers=("conv1",),
                                            static_digits=(0,), static_channels=(0,))
    with pytest.raises(ValueError, match=r"conv1 has 4 channels \(0..3\); channel 7"):
        explorer.render(digit=0, layer="conv1", channel=7)


def test_occlusion_explorer_draws_the_occlusion_maps(digits, gap_model):
    from cnnlab.explain.occlusion import occlusion, upsample

    images, labels = digits
    explorer = explorers.occlusion_explorer(gap_model, images, labels, layer="conv2",
                                          static_digits=(0,))
    assert [c.name for c in explorer.controls] == ["digit", "patch", "stride", "occluder"]
    assert explorer.controls[3].values == ("gray", "black", "white")
    # Stride 1 (a forward pass per pixel) is left out: it cannot answer within 100 ms.
    assert explorer.controls[2].values == (2, 3) and explorer.controls[2].live == (2, 3, 4)
    for digit, patch, stride, occluder, value in [(0, 7, 3, "gray", 0.5),
                                                  (0, 7, 3, "black", 0.0),
                                                  (2, 5, 1, "white", 1.0),
                                                  (0, 7, 3, "white", 1.0)]:
        sheet = explorer.render(digit=digit, patch=patch, stride=stride, occluder=occluder)
        result = occlusion(gap_model, images[digit:digit + 1], labels[digit:digit + 1],
                           patch=patch, stride=stride, value=value, layer="conv2")
        size = result.image_size
        np.testing.assert_array_equal(_panel(sheet.figure, 0), images[digit, ..., 0])
        for k, found in [(1, result.probability), (2, result.activation)]:
            np.testing.assert_allclose(np.ma.filled(_panel(sheet.figure, k), np.nan),
                                       upsample(found, size, patch, stride)[0], atol=1e-4,
                                       rtol=1e-6)
        np.testing.assert_array_equal(_panel(sheet.figure, 3), result.predicted[0])
        square = sheet.figure.axes[0].patches[0]
        assert (square.get_xy(), square.get_width(), square.get_height()) == (
            (-0.5, -0.5), patch, patch)
        assert square.get_facecolor()[:3] == (value,) * 3
        assert _title(sheet, 0) == f"digit (label {labels[digit]}), {occluder} {patch}x{patch}"
        assert _title(sheet, 1) == f"p(class {labels[digit]}) with the patch here"
        assert _title(sheet, 2) == f"conv2 map {result.channel[0]}: total activation"
        assert _title(sheet, 3) == "most probable label (patch corner)"
        # Each cell's label is written in a grid of at most 12x12 (here 8x8), not in 24x24.
        written = [label.text for label in sheet.labels
                   if getattr(label, "ax", None) is None and label.visible and label.text]
        assert written == ([] if stride == 1 else [str(v) for v in result.predicted[0].ravel()])


def test_occlusion_explorer_draws_in_any_order(digits, gap_model):
    _drawn_in_any_order(
        lambda: explorers.occlusion_explorer(gap_model, *digits, static_digits=(0,)),
        [{"digit": 0, "patch": 7, "stride": 3, "occluder": "gray"},
         {"digit": 1, "patch": 5, "stride": 1, "occluder": "black"},
         {"digit": 0, "patch": 3, "stride": 4, "occluder": "white"}])


# -- chapter 6 and 7 explorers: CAM, Grad-CAM, the learning process ---------------------------


def _png(sheet):
    from cnnlab.explorers.base import to_png

    return to_png(sheet)


def _title(sheet, k):
    """The title over the k-th panel of a sheet (titles are written by Pillow, not axes)."""
    return sheet.title(sheet.figure.axes[k])


def _drawn_in_any_order(make, combos):
    """Each combination's picture from a fresh explorer equals it after the others."""
    fresh = [_png(make().render(**c)) for c in combos]
    reused = make()
    again = [_png(reused.render(**c)) for c in combos[::-1]]
    assert again[::-1] == fresh


def _digit_png():
    """A picture of a digit as a reader might upload it: a dark 7 on light paper, 60x40."""
    import io

    from PIL import Image, ImageDraw

    picture = Image.new("L", (40, 60), color=235)
    draw = ImageDraw.Draw(picture)
    draw.line([(8, 10), (32, 10), (16, 52)], fill=20, width=5)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(content, name="x.png"):
    """An ipywidgets 8 FileUpload value holding one file."""
    import datetime

    return ({"name": name, "type": "image/png", "size": len(content),
             "content": memoryview(content),
             "last_modified": datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)},)


def _top3_text(p):
    return ", ".join(f"{c}: {p[c]:.2f}" for c in np.argsort(p)[::-1][:3])


def test_cam_explorer_controls(digits, gap_model):
    explorer = explorers.cam_explorer(gap_model, *digits, static_digits=(0, 2, 5))
    assert [c.name for c in explorer.controls] == ["digit", "picture", "class_index"]
    digit, picture, class_index = explorer.controls
    assert picture.values == ("test digit",) and picture.live == ("test digit", "your upload")
    assert digit.values == (0, 2, 5) and digit.live == tuple(range(6))
    assert class_index.values == tuple(range(10)) and class_index.text == "class"
    assert int(np.prod([len(c.values) for c in explorer.controls])) == 30   # static frames
    assert isinstance(explorer.live_extra["upload"], ipywidgets.FileUpload)
    assert explorer.static_extra == {"upload": ()}
    own = {"thick": digits[0][1], "thin": digits[0][2]}
    with_own = explorers.cam_explorer(gap_model, *digits, static_digits=(0, 2),
                                      own_pictures=own)
    assert with_own.controls[1].values == ("test digit", "thick", "thin")
    assert with_own.controls[1].live == ("test digit", "thick", "thin", "your upload")


@pytest.mark.parametrize(("digit", "class_index"), [(0, 0), (3, 7), (5, 9)])
def test_cam_explorer_draws_the_class_activation_map(digits, gap_model, digit, class_index):
    from cnnlab.explain.cam import class_activation_maps
    from cnnlab.plotting import heatmap_overlay

    images, labels = digits
    explorer = explorers.cam_explorer(gap_model, images, labels, static_digits=(0,))
    fig = explorer.render(picture="test digit", digit=digit, class_index=class_index,
                          upload=())
    assert isinstance(fig, Sheet)
    image = images[digit]
    heatmap = class_activation_maps(gap_model, image[None], class_index)[0]
    p = gap_model.predict(image[None], verbose=0)[0]
    np.testing.assert_array_equal(_panel(fig.figure, 0), image[..., 0])
    np.testing.assert_allclose(_panel(fig.figure, 1), heatmap_overlay(image, heatmap), atol=1e-6)
    np.testing.assert_allclose(_panel(fig.figure, 2), heatmap, atol=1e-5)
    assert fig.figure.axes[2].images[0].get_clim() == pytest.approx((-np.abs(heatmap).max(),
                                                              np.abs(heatmap).max()), rel=1e-5)
    assert f"test digit {digit} (label {labels[digit]})" in _title(fig, 0)
    assert f"top 3: {_top3_text(p)}" in _title(fig, 0)
    assert _title(fig, 1) == f"CAM of class {class_index} (p = {p[class_index]:.2f})"


def test_cam_explorer_pictures_differ_by_class(digits, gap_model):
    explorer = explorers.cam_explorer(gap_model, *digits, static_digits=(1,))
    pictures, index = explorer.frames()
    assert len(index) == 10                                  # one digit, ten classes
    assert len(pictures) == 10                               # and ten different pictures
    assert pictures[index[3]] == _png(explorer.render(picture="test digit", digit=1,
                                                      class_index=3, upload=()))


def test_cam_explorer_shows_a_prepared_own_digit_whatever_the_digit(digits, gap_model):
    from cnnlab.explain.cam import class_activation_maps

    images, labels = digits
    own = {"thick": images[4]}
    explorer = explorers.cam_explorer(gap_model, images, labels, static_digits=(0, 1),
                                      own_pictures=own)
    fig = explorer.render(picture="thick", digit=0, class_index=2, upload=())
    np.testing.assert_array_equal(_panel(fig.figure, 0), images[4, ..., 0])
    np.testing.assert_allclose(_panel(fig.figure, 2),
                               class_activation_maps(gap_model, images[4:5], 2)[0], atol=1e-5)
    assert _title(fig, 0).startswith("own digit: thick\ntop 3: ")
    pictures, index = explorer.frames()
    assert len(index) == 2 * 2 * 10
    # The digit slider does not change a prepared picture: stored once per class.
    assert len(pictures) == (2 + 1) * 10


def test_cam_explorer_shows_an_uploaded_digit(digits, gap_model):
    from cnnlab.explain.cam import class_activation_maps
    from cnnlab.own_digit import to_mnist

    explorer = explorers.cam_explorer(gap_model, *digits, static_digits=(0,))
    content = _digit_png()
    own = to_mnist(content)
    fig = explorer.render(picture="your upload", digit=0, class_index=7,
                          upload=_upload(content, "my7.png"))
    np.testing.assert_array_equal(_panel(fig.figure, 0), own[..., 0])
    np.testing.assert_allclose(_panel(fig.figure, 2),
                               class_activation_maps(gap_model, own[None], 7)[0], atol=1e-5)
    assert _title(fig, 0).startswith("my7.png\ntop 3: ")
    uploaded = _png(fig)
    assert uploaded != _png(explorer.render(picture="test digit", digit=0, class_index=7,
                                            upload=()))
    # An upload never takes the digit slider away: 'test digit' shows the test digit.
    shown = explorer.render(picture="test digit", digit=3, class_index=7,
                            upload=_upload(content, "my7.png"))
    np.testing.assert_array_equal(_panel(shown.figure, 0), digits[0][3, ..., 0])


@pytest.mark.parametrize(("upload", "match"),
                         [(_upload(b"not a picture", "x.png"),
                           r"^image could not be read as a picture"),
                          ((), r"^no picture uploaded yet")], ids=["not-a-picture", "none"])
def test_cam_explorer_refuses_an_upload_that_is_no_picture(digits, gap_model, upload, match):
    explorer = explorers.cam_explorer(gap_model, *digits, static_digits=(0,))
    with pytest.raises(ValueError, match=match):
        explorer.render(picture="your upload", digit=0, class_index=0, upload=upload)


def test_cam_explorer_live_widget_keeps_every_control_after_an_upload(digits, gap_model):
    explorer = explorers.cam_explorer(gap_model, *digits, static_digits=(0,))
    box = explorer.widget()
    upload = explorer.live_extra["upload"]
    digit, picture = box.children[1].children[:2]
    image = [c for c in box.children if isinstance(c, ipywidgets.Image)][0]
    message = [c for c in box.children if type(c) is ipywidgets.HTML][-1]
    good = bytes(image.value)
    assert good and message.value == ""
    picture.value = "your upload"                            # nothing uploaded yet
    assert "no picture uploaded yet" in message.value and bytes(image.value) == good
    upload.value = _upload(b"\x89PNG\r\n\x1a\n broken", "broken.png")
    assert "image could not be read" in message.value
    assert bytes(image.value) == good                       # the last good picture stays
    upload.value = _upload(_digit_png())
    assert message.value == "" and bytes(image.value) != good
    yours = bytes(image.value)
    picture.value = "test digit"                             # back to the slider, which works
    assert bytes(image.value) == good
    digit.value = 3
    assert bytes(image.value) not in (good, yours) and message.value == ""


def test_gradcam_explorer_controls(digits, flat_model):
    explorer = explorers.gradcam_explorer(flat_model, *digits, layers=("conv1", "conv2"),
                                        static_digits=(0, 4))
    assert [c.name for c in explorer.controls] == ["layer", "digit", "class_index"]
    layer, digit, class_index = explorer.controls
    assert layer.values == ("conv1", "conv2")
    assert digit.values == (0, 4) and digit.live == tuple(range(6))
    assert class_index.values == tuple(range(10))
    assert int(np.prod([len(c.values) for c in explorer.controls])) == 40


@pytest.mark.parametrize(("layer", "digit", "class_index"),
                         [("conv1", 0, 0), ("conv2", 2, 5), ("conv2", 5, 9)])
def test_gradcam_explorer_draws_both_maps(digits, flat_model, layer, digit, class_index):
    from cnnlab.explain.gradcam import grad_cam
    from cnnlab.plotting import heatmap_overlay

    images, labels = digits
    explorer = explorers.gradcam_explorer(flat_model, images, labels, layers=("conv1", "conv2"),
                                        static_digits=(0,))
    fig = explorer.render(layer=layer, digit=digit, class_index=class_index)
    assert isinstance(fig, Sheet)
    batch = images[digit:digit + 1]
    np.testing.assert_array_equal(_panel(fig.figure, 0), batch[0, ..., 0])
    p = flat_model.predict(batch, verbose=0)[0]
    assert f"top 3: {_top3_text(p)}" in _title(fig, 0)
    for k, score in [(1, "logit"), (2, "softmax")]:
        heatmap = grad_cam(flat_model, batch, layer, class_index, score=score)[0]
        # conv1's 26x26 map starts one pixel in (3x3 'valid'); conv2's, after the pool,
        # has stride 2 and is stretched over the digit.
        margin = {"conv1": 1, "conv2": 0}[layer]
        np.testing.assert_allclose(_panel(fig.figure, k),
                                   heatmap_overlay(batch[0], heatmap, margin=margin), atol=1e-6)
        title = _title(fig, k)
        assert title.startswith(f"{layer}, class {class_index}, from the {score}\nmax ")
        assert f"max {heatmap.max():.2g}" in title
        assert ("(empty)" in title) == (heatmap.max() == 0)


def test_gradcam_explorer_offers_every_channel_weighting(digits, flat_model):
    # A variant added to CHANNEL_WEIGHTS is drawn by the same explorer, with its own maps.
    from cnnlab.explain.gradcam import CHANNEL_WEIGHTS, grad_cam
    from cnnlab.plotting import heatmap_overlay

    images, labels = digits
    batch = images[1:2]
    for weighting in CHANNEL_WEIGHTS:
        explorer = explorers.gradcam_explorer(flat_model, images, labels, layers=("conv2",),
                                              static_digits=(1,), weighting=weighting)
        fig = explorer.render(layer="conv2", digit=1, class_index=4)
        heatmap = grad_cam(flat_model, batch, "conv2", 4, weighting=weighting)[0]
        np.testing.assert_allclose(_panel(fig.figure, 1), heatmap_overlay(batch[0], heatmap),
                                   atol=1e-6)
    with pytest.raises(ValueError, match=r"^weighting must be one of \['grad_cam', "):
        explorers.gradcam_explorer(flat_model, images, labels, layers=("conv2",),
                                   weighting="grad_cam+")


def test_gradcam_explorer_pictures_differ_by_class(digits, flat_model):
    explorer = explorers.gradcam_explorer(flat_model, *digits, layers=("conv2",),
                                        static_digits=(0,))
    pictures = {_png(explorer.render(layer="conv2", digit=0, class_index=c)) for c in (0, 1, 2)}
    assert len(pictures) == 3


def test_gradcam_explorer_marks_an_empty_softmax_map(digits, saturated_model):
    # A bias of 200 saturates class 3: p = 1 exactly in float32, so the softmax's gradient,
    # and its map, are exactly 0, while the logit's map is not.
    explorer = explorers.gradcam_explorer(saturated_model, *digits, layers=("conv1",),
                                          static_digits=(0,))
    fig = explorer.render(layer="conv1", digit=0, class_index=3)
    assert _title(fig, 2).endswith("max 0 (empty)")
    assert "(empty)" not in _title(fig, 1)


def _fake_record(rng, epochs=3):
    """A learning record as zoo.record("sakai2019_learning") gives it, with some empty maps."""
    maps = rng.random((2, epochs, 10, 24, 24)).astype(np.float32)   # conv2's 24x24
    peaks = (rng.random((2, epochs, 10)) + 0.1).astype(np.float32)
    peaks[0, -1, [2, 4]] = 0.0                                 # empty the usual way
    peaks[1, 0, 7] = 0.0
    peaks[0, 1, 5] = 1e-7                                      # faint
    maps[peaks == 0] = 0.0
    probabilities = rng.random((epochs, 10, 10)).astype(np.float32)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    return {"maps": maps, "map_max": peaks, "map_min": np.zeros_like(peaks),
            "probabilities": probabilities, "digits": np.arange(10),
            "sigmoid": rng.random((epochs, 10, 10)).astype(np.float32)}


@pytest.fixture
def watched(rng):
    return rng.random((10, 28, 28, 1), dtype=np.float32)


def test_learning_explorer_drops_static_epochs_beyond_the_record(rng, watched):
    record = _fake_record(rng, epochs=3)
    explorer = explorers.learning_explorer(record, watched)
    assert [c.name for c in explorer.controls] == ["epoch", "class_index"]
    epoch, class_index = explorer.controls
    assert epoch.values == (1, 2, 3) and epoch.live == (1, 2, 3)
    assert class_index.values == tuple(range(10))
    assert int(np.prod([len(c.values) for c in explorer.controls])) == 30
    kept = explorers.learning_explorer(_fake_record(rng, epochs=12), watched,
                                     static_epochs=(1, 5, 10, 20))
    assert kept.controls[0].values == (1, 5, 10) and kept.controls[0].live == tuple(range(1, 13))
    fallback = explorers.learning_explorer(record, watched, static_epochs=(50, 100))
    assert fallback.controls[0].values == (3,)


@pytest.mark.parametrize(("epoch", "class_index"), [(1, 7), (3, 2), (3, 4), (2, 0)])
def test_learning_explorer_draws_the_recorded_maps(rng, watched, epoch, class_index):
    from cnnlab.plotting import heatmap_overlay

    record = _fake_record(rng)
    explorer = explorers.learning_explorer(record, watched)
    fig = explorer.render(epoch=epoch, class_index=class_index)
    assert isinstance(fig, Sheet)
    np.testing.assert_array_equal(_panel(fig.figure, 0), watched[class_index, ..., 0])
    y = record["sigmoid"][epoch - 1, class_index, class_index]
    assert _title(fig, 0) == (f"digit {class_index}, epoch {epoch}\n"
                                       f"y = {y:.7f}")
    for k, name in [(0, "sigmoid score y (usual)"), (1, "value x before it (eq. 7.4)")]:
        heatmap = record["maps"][k, epoch - 1, class_index]
        # conv2's 24x24 map starts 2 pixels in from the 28x28 digit's edge.
        np.testing.assert_allclose(_panel(fig.figure, k + 1),
                                   heatmap_overlay(watched[class_index], heatmap, margin=2),
                                   atol=1e-6)
        peak = record["map_max"][k, epoch - 1, class_index]
        want = "EMPTY" if peak == 0 else f"max {peak:.2g}"
        assert _title(fig, k + 1) == f"from the {name}\n{want}"


def test_learning_explorer_marks_exactly_the_empty_maps(rng, watched):
    record = _fake_record(rng)
    explorer = explorers.learning_explorer(record, watched)
    marked = set()
    for epoch in (1, 2, 3):
        for c in range(10):
            fig = explorer.render(epoch=epoch, class_index=c)
            for k in (0, 1):
                if "EMPTY" in _title(fig, k + 1):
                    marked.add((k, epoch, c))
    assert marked == {(0, 3, 2), (0, 3, 4), (1, 1, 7)}
    faint = _title(explorer.render(epoch=2, class_index=5), 1)
    assert faint == "from the sigmoid score y (usual)\nFAINT, max 1e-07"


def test_learning_explorer_pictures_differ_by_class_and_epoch(rng, watched):
    explorer = explorers.learning_explorer(_fake_record(rng), watched)
    pictures = {_png(explorer.render(epoch=e, class_index=c)) for e, c in [(1, 0), (1, 1), (2, 0)]}
    assert len(pictures) == 3


def test_heatmap_explorers_draw_the_same_picture_in_any_order(digits, gap_model, flat_model,
                                                             rng, watched):
    images, labels = digits
    _drawn_in_any_order(
        lambda: explorers.cam_explorer(gap_model, images, labels, static_digits=(0,),
                                       own_pictures={"thick": images[4]}),
        [dict(picture="test digit", digit=1, class_index=3, upload=()),
         dict(picture="thick", digit=0, class_index=5, upload=()),
         dict(picture="test digit", digit=2, class_index=3, upload=())])
    _drawn_in_any_order(
        lambda: explorers.gradcam_explorer(flat_model, images, labels, ("conv1", "conv2"),
                                           static_digits=(0,)),
        [dict(layer="conv1", digit=1, class_index=3), dict(layer="conv2", digit=0, class_index=5),
         dict(layer="conv2", digit=1, class_index=3)])
    record = _fake_record(rng)
    _drawn_in_any_order(lambda: explorers.learning_explorer(record, watched),
                        [dict(epoch=1, class_index=2), dict(epoch=3, class_index=4),
                         dict(epoch=2, class_index=2)])
