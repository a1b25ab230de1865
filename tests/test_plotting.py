"""Tests for cnnlab.plotting: what show_image and show_images put into the Axes."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnlab import plotting


def _shown(ax):
    return np.asarray(ax.images[0].get_array())


def test_show_image_draws_the_pixels_with_own_limits(rng):
    image = rng.standard_normal((4, 6))
    ax = plotting.show_image(image, title="a digit")
    np.testing.assert_array_equal(_shown(ax), image)
    assert ax.images[0].get_clim() == (image.min(), image.max())
    assert ax.get_title() == "a digit"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []


def test_show_image_squeezes_single_channel_and_uses_given_axes(rng):
    image = rng.random((5, 3, 1))
    fig, ax = plt.subplots()
    returned = plotting.show_image(image, ax=ax, vmin=-1.0, vmax=2.0, cmap="RdBu_r")
    assert returned is ax
    np.testing.assert_array_equal(_shown(ax), image[..., 0])
    assert ax.images[0].get_clim() == (-1.0, 2.0)
    assert ax.images[0].get_cmap().name == "RdBu_r"
    assert len(fig.axes) == 1


def test_show_image_values_writes_every_pixel():
    image = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0]])
    ax = plotting.show_image(image, values=True)
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    expected = {((j, i), f"{v:.2g}") for (i, j), v in np.ndenumerate(image)}
    assert texts == expected
    # Cells brighter than the middle of the colour range get black text.
    colours = {t.get_position(): t.get_color() for t in ax.texts}
    assert colours[(1, 1)] == "white"
    assert colours[(0, 1)] == "black"


def test_show_image_colorbar_adds_an_axes(rng):
    ax = plotting.show_image(rng.random((3, 3)), colorbar=True)
    assert len(ax.figure.axes) == 2


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros(5), ValueError, r"image must have shape \(H, W\) or \(H, W, 1\)"),
        (np.zeros((4, 4, 3)), ValueError, r"image must have shape"),
        (np.zeros((1, 4, 4, 1)), ValueError, r"image must have shape"),
        (np.array([["a", "b"], ["c", "d"]]), TypeError, r"image must be numeric"),
    ],
    ids=["1d", "rgb", "4d", "strings"],
)
def test_show_image_rejects_bad_input(image, error, match):
    with pytest.raises(error, match=match):
        plotting.show_image(image)


def test_show_images_grid_layout_and_pixels(rng):
    images = rng.random((5, 4, 3, 1))
    axes = plotting.show_images(images, ncols=3, titles=list("abcde"))
    assert axes.shape == (2, 3)
    flat = axes.ravel()
    for k in range(5):
        np.testing.assert_array_equal(_shown(flat[k]), images[k, ..., 0])
        assert flat[k].get_title() == "abcde"[k]
    assert not flat[5].axison
    assert len(flat[5].images) == 0


def test_show_images_clamps_ncols_and_accepts_a_list(rng):
    images = [rng.random((3, 3)), rng.random((2, 5))]
    axes = plotting.show_images(images, ncols=8)
    assert axes.shape == (1, 2)
    for ax, image in zip(axes.ravel(), images, strict=True):
        np.testing.assert_array_equal(_shown(ax), image)


def test_show_images_normalize_each_and_all(rng):
    images = np.stack([rng.random((3, 3)), 5 + rng.random((3, 3))])
    each = plotting.show_images(images, normalize="each").ravel()
    for ax, image in zip(each, images, strict=True):
        assert ax.images[0].get_clim() == (image.min(), image.max())
    common = plotting.show_images(images, normalize="all").ravel()
    for ax in common:
        assert ax.images[0].get_clim() == (images.min(), images.max())


def test_show_images_labels_each_row_on_its_first_image(rng):
    axes = plotting.show_images(rng.random((5, 3, 3)), ncols=2, row_labels=["x", "y", "z"])
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["x", "y", "z"]
    assert [ax.get_ylabel() for ax in axes[:, 1]] == ["", "", ""]


def test_show_images_draws_into_given_axes(rng):
    fig, axes = plt.subplots(2, 2)
    images = rng.random((3, 4, 4))
    returned = plotting.show_images(images, axes=axes)
    assert returned.shape == (2, 2)
    assert returned[0, 0] is axes[0, 0]
    np.testing.assert_array_equal(_shown(axes[1, 0]), images[2])
    assert not axes[1, 1].axison
    assert len(fig.axes) == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"images": np.zeros((3, 4))}, ValueError, r"each image must have shape"),
        ({"images": np.zeros((2, 4, 4, 3))}, ValueError, r"each image must have shape"),
        ({"images": np.zeros((0, 4, 4))}, ValueError, r"images is empty"),
        ({"images": []}, ValueError, r"images is empty"),
        ({"ncols": 0}, ValueError, r"^ncols must be at least 1, got 0"),
        ({"ncols": 2.0}, TypeError, r"^ncols must be an int, got float"),
        ({"ncols": True}, TypeError, r"^ncols must be an int, got bool"),
        ({"titles": ["a", "b"]}, ValueError, r"titles has 2 entries for 3 images"),
        ({"normalize": "x"}, ValueError, r"normalize must be 'each' or 'all'"),
        ({"axes": np.array([None])}, ValueError, r"axes has 1 Axes for 3 images"),
        ({"ncols": 2, "row_labels": ["a"]}, ValueError, r"row_labels has 1 entries for 2 rows"),
    ],
    ids=["2d-stack", "rgb-stack", "empty-array", "empty-list", "ncols-0", "ncols-float",
         "ncols-bool", "titles-count", "normalize-x", "too-few-axes", "row-labels-count"],
)
def test_show_images_rejects_bad_input(kwargs, error, match):
    args = {"images": np.zeros((3, 4, 4)), **kwargs}
    with pytest.raises(error, match=match):
        plotting.show_images(**args)


# -- show_boxes ----------------------------------------------------------------------------


def test_show_boxes_draws_each_box_around_its_pixels(rng):
    from matplotlib.patches import Rectangle

    image = rng.random((10, 12, 1))
    boxes = np.array([[2, 3, 5, 8], [-1, 9, 4, 14]])       # the second hangs over the border
    ax = plotting.show_boxes(image, boxes, labels=["a", "b"], colors=["red", "blue"])
    np.testing.assert_array_equal(_shown(ax), image[..., 0])
    rectangles = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rectangles) == 2
    # Pixel (i, j) is drawn over [j - 0.5, j + 0.5]: box (2, 3, 5, 8) spans rows 2..4, cols 3..7.
    assert rectangles[0].get_xy() == (2.5, 1.5)
    assert (rectangles[0].get_width(), rectangles[0].get_height()) == (5, 3)
    assert rectangles[1].get_xy() == (8.5, -1.5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.get_xlim() == (-0.5, 11.5) and ax.get_ylim() == (9.5, -0.5)   # the image only
    plt.close(ax.figure)


def test_show_boxes_without_labels_has_no_legend_and_uses_given_axes(rng):
    _, ax = plt.subplots()
    assert plotting.show_boxes(rng.random((6, 6)), [[0, 0, 6, 6]], ax=ax, title="t") is ax
    assert ax.get_legend() is None and ax.get_title() == "t"
    plt.close(ax.figure)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"boxes": np.zeros((1, 4))}, TypeError, r"^boxes must be integers, got dtype float64"),
     ({"boxes": np.zeros((1, 3), int)}, ValueError, r"^boxes must have shape \(K, 4\)"),
     ({"boxes": np.zeros(4, int)}, ValueError, r"^boxes must have shape \(K, 4\)"),
     ({"boxes": np.array([[2, 0, 2, 3]])}, ValueError, r"bottom > top and right > left"),
     ({"boxes": np.array([[0, 3, 2, 1]])}, ValueError, r"bottom > top and right > left"),
     ({"labels": ["a", "b"]}, ValueError, r"^labels has 2 entries for 1 boxes"),
     ({"colors": []}, ValueError, r"^colors has 0 entries for 1 boxes"),
     ({"image": np.zeros((2, 4, 4))}, ValueError, r"^image must have shape \(H, W\)")],
    ids=["float-boxes", "three-columns", "flat", "empty-rows", "empty-columns", "labels-count",
         "colors-count", "image-3d"],
)
def test_show_boxes_rejects_bad_input(kwargs, error, match):
    args = {"image": np.zeros((6, 6)), "boxes": np.array([[0, 0, 3, 3]]), **kwargs}
    with pytest.raises(error, match=match):
        plotting.show_boxes(**args)


# -- curves, confusion matrices, probabilities ---------------------------------------------


def test_plot_history_draws_each_key_against_the_epoch():
    from cnnlab.plotting import plot_history

    history = {"loss": [0.9, 0.5, 0.3], "val_loss": [0.8, 0.6, 0.7]}
    ax = plot_history(history)
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["loss", "val_loss"]
    np.testing.assert_array_equal(lines[1].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(lines[1].get_ydata(), [0.8, 0.6, 0.7])


def test_plot_history_names_the_missing_key():
    from cnnlab.plotting import plot_history

    with pytest.raises(KeyError, match=r"history has no \['val_loss'\]; it has \['loss'\]"):
        plot_history({"loss": [1.0]})


def test_plot_confusion_writes_every_count_and_hides_the_diagonal_colour():
    from cnnlab.plotting import plot_confusion

    matrix = np.array([[5, 1, 0], [2, 7, 0], [0, 3, 9]])
    ax = plot_confusion(matrix)
    texts = {(t.get_position()[1], t.get_position()[0]): t.get_text() for t in ax.texts}
    assert texts == {(i, j): str(matrix[i, j]) for i in range(3) for j in range(3)}
    shown = np.ma.filled(ax.images[0].get_array(), np.nan)
    assert np.isnan(np.diag(shown)).all()
    assert shown[1, 0] == 2 and shown[2, 1] == 3


@pytest.mark.parametrize("matrix", [np.zeros((2, 3)), np.zeros(4), np.zeros((2, 2, 2))])
def test_plot_confusion_rejects_non_square(matrix):
    from cnnlab.plotting import plot_confusion

    with pytest.raises(ValueError, match="matrix must be square"):
        plot_confusion(matrix)


def test_show_probabilities_colours_truth_and_mistake():
    from matplotlib.colors import to_rgba

    from cnnlab.plotting import show_probabilities

    p = np.array([0.05, 0.7, 0.25])
    ax = show_probabilities(p, label=2)
    bars = ax.patches
    np.testing.assert_allclose([b.get_height() for b in bars], p)
    assert bars[1].get_facecolor() == to_rgba("tab:red")    # wrong prediction
    assert bars[2].get_facecolor() == to_rgba("tab:green")  # the truth
    ax = show_probabilities(p, label=1)
    assert ax.patches[1].get_facecolor() == to_rgba("tab:green")


def test_show_probabilities_rejects_2d():
    from cnnlab.plotting import show_probabilities

    with pytest.raises(ValueError, match="probabilities must be 1-D"):
        show_probabilities(np.zeros((2, 10)))


# -- heatmap overlays (MathWorks' CAMshow) ---------------------------------------------------


def _camshow(image, heatmap, threshold):
    """MathWorks' CAMshow, step by step: resize, normalise, cut, jet ramp, add to gray / 2."""
    from PIL import Image

    gray = np.asarray(image, dtype=np.float64).reshape(np.shape(image)[:2])
    height, width = gray.shape
    cam = np.asarray(Image.fromarray(np.asarray(heatmap, np.float32), mode="F").resize(
        (width, height), Image.Resampling.BILINEAR), dtype=np.float64)
    cam = (cam - cam.min()) / (cam.max() - cam.min()) if cam.max() > cam.min() else cam * 0
    cam[cam < threshold] = 0
    coloured = plt.get_cmap("jet")(cam)[..., :3] * cam[..., None]
    combined = gray[..., None] / 2 + coloured
    return (combined - combined.min()) / (combined.max() - combined.min())


@pytest.mark.parametrize(
    ("image_shape", "map_shape", "threshold"),
    [((28, 28), (7, 7), 0.2), ((28, 28, 1), (14, 14), 0.0), ((28, 28), (24, 24), 0.5),
     ((20, 12), (5, 3), 0.2), ((9, 9), (9, 9), 0.7)],
    ids=["cam-7", "single-channel", "gradcam-24", "not-square", "same-size"],
)
def test_heatmap_overlay_is_camshow(rng, image_shape, map_shape, threshold):
    image = rng.random(image_shape, dtype=np.float32)
    heatmap = 5 * rng.standard_normal(map_shape)
    got = plotting.heatmap_overlay(image, heatmap, threshold, scale="min-max")
    assert got.shape == (*image_shape[:2], 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, _camshow(image, heatmap, threshold), rtol=0, atol=1e-6)
    assert got.min() == 0 and got.max() == pytest.approx(1, abs=1e-7)
    # A map that is never negative (Grad-CAM's) is CAMshow's picture by default too.
    positive = np.abs(heatmap)
    np.testing.assert_allclose(plotting.heatmap_overlay(image, positive, threshold),
                               _camshow(image, positive, threshold), rtol=0, atol=1e-6)


@pytest.mark.parametrize(("image_shape", "map_shape", "threshold"),
                         [((28, 28), (14, 14), 0.2), ((28, 28, 1), (7, 7), 0.0),
                          ((9, 9), (9, 9), 0.5)], ids=["cam-14", "cut-0", "same-size"])
def test_heatmap_overlay_of_a_signed_map_is_camshow_of_its_positive_part(
        rng, image_shape, map_shape, threshold):
    # Independent: the map resized, its negative values set to 0, divided by its maximum
    # (its minimum is then 0), then CAMshow's cut, colours and sum.
    from PIL import Image

    image = rng.random(image_shape, dtype=np.float32)
    heatmap = 5 * rng.standard_normal(map_shape)
    height, width = image_shape[:2]
    resized = np.asarray(Image.fromarray(heatmap.astype(np.float32), mode="F").resize(
        (width, height), Image.Resampling.BILINEAR), dtype=np.float64)
    cam = np.maximum(resized, 0) / resized.max()
    cam[cam < threshold] = 0
    gray = np.asarray(image, dtype=np.float64).reshape(height, width)
    combined = gray[..., None] / 2 + plt.get_cmap("jet")(cam)[..., :3] * cam[..., None]
    want = (combined - combined.min()) / (combined.max() - combined.min())
    np.testing.assert_allclose(plotting.heatmap_overlay(image, heatmap, threshold), want,
                               atol=1e-6)


def test_heatmap_overlay_leaves_no_evidence_uncoloured():
    # Raw 0 over the background, strongly negative on a stroke, one positive spot: only the
    # spot is coloured; CAMshow (min-max) paints the zero background too.
    heatmap = np.zeros((14, 14))
    heatmap[4:10, 6:8] = -200.0
    heatmap[2, 2] = 60.0
    image = np.zeros((28, 28))
    fixed = plotting.heatmap_overlay(image, heatmap)
    old = plotting.heatmap_overlay(image, heatmap, scale="min-max")
    assert _coloured(old).mean() > 0.8
    assert 0 < _coloured(fixed).mean() < 0.05
    assert not _coloured(fixed)[14:, 14:].any()                     # far from the spot
    negative_only = plotting.heatmap_overlay(image, -np.abs(heatmap) - 1)
    assert not _coloured(negative_only).any()                       # nothing for the class


def test_heatmap_overlay_of_a_same_size_map_needs_no_resize(rng):
    # Independent of Pillow: a map of the image's size is only normalised, cut and coloured.
    image = rng.random((6, 5), dtype=np.float32)
    heatmap = rng.random((6, 5)) * 3 - 1
    cam = (heatmap - heatmap.min()) / (heatmap.max() - heatmap.min())
    cam[cam < 0.2] = 0
    jet = plt.get_cmap("jet")
    expected = np.empty((6, 5, 3))
    for i in range(6):
        for j in range(5):
            r, g, b, _ = jet(cam[i, j])
            expected[i, j] = [image[i, j] / 2 + v * cam[i, j] for v in (r, g, b)]
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(plotting.heatmap_overlay(image, heatmap, scale="min-max"),
                               expected, atol=1e-6)


def test_heatmap_overlay_ignores_the_maps_scale(rng):
    image, heatmap = rng.random((28, 28)), rng.random((7, 7)) - 0.3
    np.testing.assert_allclose(plotting.heatmap_overlay(image, 40 * heatmap),
                               plotting.heatmap_overlay(image, heatmap), atol=1e-6)
    # min-max (CAMshow) forgets an offset too; cutting negatives does not, as it should not.
    np.testing.assert_allclose(plotting.heatmap_overlay(image, 40 * heatmap - 3, scale="min-max"),
                               plotting.heatmap_overlay(image, heatmap, scale="min-max"),
                               atol=1e-6)


@pytest.mark.parametrize("heatmap", [np.zeros((7, 7)), np.full((7, 7), 2.5)],
                         ids=["zero", "constant"])
def test_heatmap_overlay_of_an_empty_map_is_the_gray_image(rng, heatmap):
    image = rng.random((28, 28), dtype=np.float32)
    got = plotting.heatmap_overlay(image, heatmap)
    gray = (image - image.min()) / (image.max() - image.min())
    for channel in range(3):
        np.testing.assert_allclose(got[..., channel], gray, atol=1e-6)


def _coloured(rgb):
    """Pixels that are not gray (R, G, B not all equal)."""
    return ~np.isclose(rgb[..., 0], rgb[..., 1]) | ~np.isclose(rgb[..., 1], rgb[..., 2])


def test_heatmap_overlay_high_threshold_keeps_only_the_peak(rng):
    image = rng.random((28, 28), dtype=np.float32)
    heatmap = rng.random((7, 7))
    low = plotting.heatmap_overlay(image, heatmap, threshold=0.0)
    high = plotting.heatmap_overlay(image, heatmap, threshold=0.999)
    assert _coloured(low).mean() > 0.9
    assert 1 <= _coloured(high).sum() <= 4            # the peak of the resized map
    peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    rows, cols = np.nonzero(_coloured(high))
    assert (np.abs(rows - (4 * peak[0] + 1.5)) <= 2.5).all()
    assert (np.abs(cols - (4 * peak[1] + 1.5)) <= 2.5).all()


def test_show_heatmap_draws_the_overlay(rng):
    image, heatmap = rng.random((28, 28, 1)), rng.random((7, 7))
    ax = plotting.show_heatmap(image, heatmap, title="CAM", threshold=0.3)
    assert len(ax.images) == 1
    np.testing.assert_array_equal(_shown(ax), plotting.heatmap_overlay(image, heatmap, 0.3))
    assert ax.get_title() == "CAM"
    assert list(ax.get_xticks()) == [] and list(ax.get_yticks()) == []
    fig, given = plt.subplots()
    assert plotting.show_heatmap(image, heatmap, ax=given) is given
    np.testing.assert_array_equal(_shown(given), plotting.heatmap_overlay(image, heatmap))
    assert len(fig.axes) == 1


_GRAY = np.linspace(0, 1, 28 * 28).reshape(28, 28)
_MAP = np.arange(49.0).reshape(7, 7)


@pytest.mark.parametrize(
    ("image", "heatmap", "threshold", "error", "match"),
    [
        (_GRAY, np.zeros((2, 7, 7)), 0.2, ValueError, r"^heatmap must have shape \(H, W\)"),
        (_GRAY, np.zeros(7), 0.2, ValueError, r"^heatmap must have shape \(H, W\)"),
        (np.zeros((28, 28, 3)), _MAP, 0.2, ValueError, r"^image must have shape \(H, W\)"),
        (_GRAY, np.where(_MAP == 3, np.nan, _MAP), 0.2, ValueError,
         r"^image and heatmap must be finite"),
        (_GRAY, np.where(_MAP == 3, np.inf, _MAP), 0.2, ValueError,
         r"^image and heatmap must be finite"),
        (np.where(_GRAY > 0.5, np.nan, _GRAY), _MAP, 0.2, ValueError,
         r"^image and heatmap must be finite"),
        (_GRAY, _MAP, 1.0, ValueError, r"^threshold must be in \[0, 1\), got 1\.$"),
        (_GRAY, _MAP, -0.1, ValueError, r"^threshold must be in \[0, 1\), got -0\.1\.$"),
        (_GRAY, _MAP, float("nan"), ValueError, r"^threshold must be finite, got nan"),
        (_GRAY, _MAP, True, TypeError, r"^threshold must be a number, got bool True"),
        (_GRAY, _MAP, "0.2", TypeError, r"^threshold must be a number, got str"),
        (np.full((28, 28), "a"), _MAP, 0.2, TypeError, r"^image must be numeric"),
        (_GRAY, np.full((7, 7), "a"), 0.2, TypeError, r"^heatmap must be numeric"),
    ],
    ids=["heatmap-3d", "heatmap-1d", "image-rgb", "heatmap-nan", "heatmap-inf", "image-nan",
         "threshold-1", "threshold-negative", "threshold-nan", "threshold-bool", "threshold-str",
         "image-strings", "heatmap-strings"],
)
@pytest.mark.parametrize("draw", [plotting.heatmap_overlay, plotting.show_heatmap],
                         ids=["overlay", "show"])
def test_heatmap_overlay_rejects_bad_input(draw, image, heatmap, threshold, error, match):
    with pytest.raises(error, match=match):
        draw(image, heatmap, threshold=threshold)


@pytest.mark.parametrize(("scale", "error", "match"),
                         [("relu", ValueError, r"^scale must be one of \('positive', 'min-max'\), "
                                               r"got 'relu'\.$"),
                          ("", ValueError, r"^scale must be one of"),
                          (None, TypeError, r"^scale must be a str, one of .*got NoneType\.$"),
                          (1, TypeError, r"^scale must be a str, one of .*got int\.$")],
                         ids=["unknown", "empty", "none", "int"])
@pytest.mark.parametrize("draw", [plotting.heatmap_overlay, plotting.show_heatmap],
                         ids=["overlay", "show"])
def test_heatmap_overlay_rejects_a_bad_scale(draw, scale, error, match):
    with pytest.raises(error, match=match):
        draw(_GRAY, _MAP, scale=scale)


def test_heatmap_overlay_margin_puts_each_unit_over_its_pixels():
    # A 'valid' conv2 map (24x24) of a 28x28 digit: unit (i, j) is centred on pixel
    # (i + 2, j + 2); a single hot unit must colour exactly that pixel.
    heat = np.zeros((24, 24), np.float32)
    heat[5, 7] = 1.0
    picture = plotting.heatmap_overlay(np.zeros((28, 28)), heat, margin=2)
    coloured = np.argwhere(picture.sum(axis=-1) > 0)
    assert coloured.tolist() == [[7, 9]]
    # Without the margin the same map is stretched and lands elsewhere.
    stretched = plotting.heatmap_overlay(np.zeros((28, 28)), heat)
    assert [7, 9] not in np.argwhere(stretched.sum(axis=-1) > 0).tolist()


@pytest.mark.parametrize(("margin", "error", "match"),
                         [(-1, ValueError, r"^margin must be at least 0, got -1"),
                          (14, ValueError, r"^margin must be in \[0, 13\]"),
                          (1.5, TypeError, r"^margin must be an int, got float"),
                          (True, TypeError, r"^margin must be an int, got bool")],
                         ids=["negative", "too-large", "float", "bool"])
def test_heatmap_overlay_rejects_bad_margin(margin, error, match):
    with pytest.raises(error, match=match):
        plotting.heatmap_overlay(np.zeros((28, 28)), np.ones((24, 24)), margin=margin)


# -- heatmap_margin --------------------------------------------------------------------------


def _stem(padding):
    """Two 3x3 convolutions and a 2x2 pooling, as the Keras example CNN starts."""
    import keras

    return keras.Sequential([keras.Input((28, 28, 1)),
                             keras.layers.Conv2D(2, 3, padding=padding, name="conv1"),
                             keras.layers.Conv2D(2, 3, padding=padding, name="conv2"),
                             keras.layers.MaxPooling2D(2, name="pool"),
                             keras.layers.Conv2D(2, 5, name="conv3")])


@pytest.mark.parametrize(("padding", "layer", "margin"),
                         [("valid", "conv1", 1), ("valid", "conv2", 2), ("valid", "pool", 0),
                          ("valid", "conv3", 0), ("same", "conv1", 0), ("same", "conv2", 0)])
def test_heatmap_margin_centres_unit_0_on_its_receptive_field(padding, layer, margin):
    model = _stem(padding)
    assert plotting.heatmap_margin(model, layer) == margin
    if margin:   # the map is the image less the field's overhang: (28 - h) / 2 on each side
        h = model.get_layer(layer).output.shape[1]
        assert margin == (28 - h) // 2


def test_heatmap_margin_names_an_unknown_layer():
    with pytest.raises(ValueError, match=r"unknown layer 'conv9'"):
        plotting.heatmap_margin(_stem("valid"), "conv9")


# -- show_learning_maps ----------------------------------------------------------------------


def _learning_record(rng, epochs=4, classes=3, side=6):
    maps = rng.random((2, epochs, classes, side, side)).astype(np.float32)
    peaks = rng.uniform(0.1, 2.0, (2, epochs, classes)).astype(np.float32)
    peaks[0, 1, 2] = 0.0          # an empty map
    peaks[0, 2, 0] = 1e-8         # a faint one
    peaks[1, 3, 1] = 1e-8         # faint, from the other score
    return {"maps": maps, "map_max": peaks, "scores": ["sigmoid", "logit"]}


def test_show_learning_maps_draws_each_epoch_and_class(rng):
    record, images = _learning_record(rng), rng.random((3, 10, 10, 1))
    axes = plotting.show_learning_maps(record, images, "sigmoid", [1, 2, 3], title="usual")
    assert axes.shape == (3, 3)
    for row, epoch in enumerate([1, 2, 3]):
        for c in range(3):
            want = plotting.heatmap_overlay(images[c], record["maps"][0, epoch - 1, c],
                                            margin=2)     # (10 - 6) / 2
            np.testing.assert_array_equal(_shown(axes[row, c]), want)
    marks = {(row, c): [t.get_text() for t in axes[row, c].texts]
             for row in range(3) for c in range(3)}
    assert marks.pop((1, 2)) == ["empty"] and marks.pop((2, 0)) == ["faint"]
    assert all(texts == [] for texts in marks.values())   # the others unmarked
    assert [ax.get_title() for ax in axes[0]] == ["0", "1", "2"]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == ["epoch 1", "epoch 2", "epoch 3"]
    assert axes[0, 0].figure._suptitle.get_text() == "usual"


def test_show_learning_maps_reads_the_score_asked_for_into_given_axes(rng):
    record, images = _learning_record(rng), rng.random((3, 6, 6))
    fig, given = plt.subplots(1, 3)
    axes = plotting.show_learning_maps(record, images, "logit", [4], faint=0.0, axes=given)
    assert axes[0, 0] is given[0] and len(fig.axes) == 3
    np.testing.assert_array_equal(_shown(given[1]),
                                  plotting.heatmap_overlay(images[1], record["maps"][1, 3, 1]))
    assert len(given[1].texts) == 0   # 1e-8 is above a faint of 0


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [({"record": [1]}, TypeError, r"^record must be a dict \(zoo\.record"),
     ({"record": {"maps": np.zeros((2, 1, 3, 6, 6))}}, ValueError,
      r"^record lacks \['map_max', 'scores'\]"),
     ({"score": "softmax"}, ValueError, r"^score must be one of \['sigmoid', 'logit'\]"),
     ({"images": np.zeros((2, 8, 8))}, ValueError, r"^images must hold the 3 watched digits"),
     ({"images": np.zeros((3, 4, 4))}, ValueError, r"^images \(4x4\) are smaller"),
     ({"epochs": [5]}, ValueError, r"^epochs must be a non-empty list in 1\.\.4, got \[5\]"),
     ({"epochs": []}, ValueError, r"^epochs must be a non-empty list"),
     ({"epochs": [0]}, ValueError, r"^epochs\[0\] must be at least 1"),
     ({"epochs": [1.0]}, TypeError, r"^epochs\[0\] must be an int"),
     ({"faint": -1.0}, ValueError, r"^faint must be at least 0, got -1"),
     ({"axes": np.empty((2, 3), object)}, ValueError,
      r"^axes must hold 1 x 3 Axes \(epochs x classes\), got shape \(2, 3\)")],
    ids=["record-list", "record-keys", "score", "images-count", "images-small", "epoch-late",
         "epochs-empty", "epoch-0", "epoch-float", "faint", "axes"],
)
def test_show_learning_maps_rejects_bad_input(rng, change, error, match):
    args = {"record": _learning_record(rng), "images": np.zeros((3, 8, 8)), "score": "sigmoid",
            "epochs": [1], **change}
    with pytest.raises(error, match=match):
        plotting.show_learning_maps(**args)


def test_plot_runs_draws_every_run_in_its_groups_colour():
    from cnnlab.plotting import plot_runs

    groups = {"a": [[3.0, 2.0, 1.0], [3.5, 2.5, 1.5]], "b": [[1.0, 2.0]]}
    ax = plot_runs(groups, title="t", ylabel="loss")
    lines = ax.get_lines()
    assert len(lines) == 3
    for line, expected in zip(lines, [[3.0, 2.0, 1.0], [3.5, 2.5, 1.5], [1.0, 2.0]], strict=True):
        np.testing.assert_array_equal(line.get_ydata(), expected)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(expected) + 1))
    assert lines[0].get_color() == lines[1].get_color() != lines[2].get_color()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a (2 runs)", "b"]
    assert ax.get_ylabel() == "loss" and ax.get_title() == "t"
    plt.close("all")


@pytest.mark.parametrize("groups, error, match", [
    ({}, TypeError, "groups must be a non-empty dict"),
    ([[1.0]], TypeError, "groups must be a non-empty dict"),
    ({"a": []}, ValueError, "group 'a' must hold runs"),
    ({"a": [[]]}, ValueError, "group 'a' must hold runs"),
    ({"a": [[1.0, np.nan]]}, ValueError, "finite"),
    ({"a": [[[1.0]]]}, ValueError, "one per epoch"),
])
def test_plot_runs_bad_input(groups, error, match):
    from cnnlab.plotting import plot_runs

    with pytest.raises(error, match=match):
        plot_runs(groups)


def test_plot_spread_puts_each_setting_at_its_mean_with_its_range():
    from cnnlab.plotting import plot_spread

    ax = plot_spread({"small": (2.0, [0.90, 0.94]), "large": (20.0, [0.97])},
                     xlabel="cost", ylabel="accuracy", log_x=True)
    bars = ax.containers
    assert len(bars) == 2
    (x0,), (y0,) = bars[0].lines[0].get_data()
    assert (x0, y0) == pytest.approx((2.0, 0.92))
    # The bar runs from the lowest to the highest seed.
    segment = bars[0].lines[2][0].get_segments()[0]
    assert segment[:, 1] == pytest.approx([0.90, 0.94])
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small (2 seeds)", "large"]
    plt.close("all")


@pytest.mark.parametrize("points, log_x, error, match", [
    ({}, False, TypeError, "points must be a non-empty dict"),
    ({"a": [1.0, [0.5]]}, False, ValueError, "must be a pair"),
    ({"a": (1.0, [])}, False, ValueError, "finite numbers, one per seed"),
    ({"a": (1.0, [np.inf])}, False, ValueError, "finite numbers, one per seed"),
    ({"a": ("one", [0.5])}, False, TypeError, "x of 'a'"),
    ({"a": (0.0, [0.5])}, True, ValueError, "positive on a logarithmic axis"),
])
def test_plot_spread_bad_input(points, log_x, error, match):
    from cnnlab.plotting import plot_spread

    with pytest.raises(error, match=match):
        plot_spread(points, log_x=log_x)


def test_show_image_writes_values_in_the_wording_it_is_given():
    from cnnlab.plotting import show_image

    image = np.array([[0.5, -0.25], [1.0, 0.0]])
    default = show_image(image, values=True)
    assert [t.get_text() for t in default.texts] == ["0.5", "-0.25", "1", "0"]
    worded = show_image(image, values=lambda v: f"{v:.1f}")
    assert [t.get_text() for t in worded.texts] == ["0.5", "-0.2", "1.0", "0.0"]
    plt.close("all")


@pytest.mark.parametrize(
    ("label", "expected"),
    [(2, {2: "tab:green"}), (0, {2: "tab:red", 0: "tab:green"}), (None, {2: "tab:blue"})],
    ids=["right", "wrong", "no-label"])
def test_probability_colors_mark_the_truth_and_the_prediction(label, expected):
    from matplotlib.colors import to_rgba

    from cnnlab.plotting import probability_colors, show_probabilities

    p = np.array([0.1, 0.2, 0.6, 0.1])
    colors = probability_colors(p, label)
    assert colors == [expected.get(k, "lightgray") for k in range(4)]
    ax = show_probabilities(p, label=label)
    assert [patch.get_facecolor() for patch in ax.patches] == [to_rgba(c) for c in colors]


def test_plot_invariance_draws_the_curves_and_their_quartiles():
    from cnnlab.invariance import InvarianceCurves
    from cnnlab.plotting import plot_invariance

    rng = np.random.default_rng(0)
    amounts = np.array([-4.0, 0.0, 4.0])
    distances = {"conv1": rng.random((3, 5)), "dense1": rng.random((3, 5))}
    curves = InvarianceCurves("shift", amounts, ("conv1", "dense1"), distances,
                              rng.random((3, 5)), rng.random((3, 5)) > 0.5)
    fig, ax = plt.subplots()
    assert plot_invariance(curves, ax=ax, title="shift") is ax
    lines = {line.get_label(): line.get_xydata() for line in ax.lines}
    for name in ("conv1", "dense1"):
        np.testing.assert_allclose(lines[f"{name}: distance"],
                                   np.column_stack([amounts, distances[name].mean(axis=1)]))
    np.testing.assert_allclose(lines["p(true class)"][:, 1], curves.per_image_p_true.mean(axis=1))
    # One shaded band per curve, from the 25th to the 75th percentile over images.
    wanted = [distances["conv1"], distances["dense1"], curves.per_image_p_true]
    assert len(ax.collections) == 3
    for band, values in zip(ax.collections, wanted, strict=True):
        y = band.get_paths()[0].vertices[:, 1]
        quartiles = np.percentile(values, [25, 75], axis=1)
        assert y.min() == pytest.approx(quartiles[0].min())
        assert y.max() == pytest.approx(quartiles[1].max())
    assert ax.get_xlabel() == "horizontal shift (pixels)" and ax.get_title() == "shift"
    with pytest.raises(TypeError, match=r"curves must be an InvarianceCurves .* got dict"):
        plot_invariance({"amounts": amounts})
