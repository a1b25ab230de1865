"""Tests for cnnlab.overlap (two digits in one picture), models.at_input_size and
cam.input_size_figures (one network at several input sizes)."""

import keras
import numpy as np
import pytest
from tiny_models import tiny_dense_cnn, tiny_gap_cnn

from cnnlab.explain.cam import input_size_figures
from cnnlab.models import at_input_size
from cnnlab.overlap import (
    attribution_split,
    digit_pairs,
    follows,
    overlap_figures,
    overlay_digits,
    scrambled,
)
from cnnlab.transforms import resize_images, scale_images


@pytest.fixture(scope="module")
def digits():
    """Twelve synthetic 28x28 "digits": a bright bar or box each, in [0, 1]."""
    rng = np.random.default_rng(7)
    images = np.zeros((12, 28, 28, 1), np.float32)
    for k, image in enumerate(images):
        top, left = rng.integers(4, 12, 2)
        image[top:top + 12, left + k % 5:left + k % 5 + 3] = rng.uniform(0.6, 1.0)
        image[top + 10:top + 13, left:left + 10] = 0.8
        image += rng.uniform(0, 0.3, image.shape).astype(np.float32) * (image > 0)
    return np.clip(images, 0, 1)


@pytest.fixture(scope="module")
def model28():
    """A tiny global-average-pooling network on 28x28 pictures, ten classes."""
    return tiny_gap_cnn(seed=11, size=28, classes=10)


# -- overlay_digits ------------------------------------------------------------------------


def test_a_digit_over_itself_is_the_digit(digits):
    images, first_mask, second_mask = overlay_digits(digits, digits)
    np.testing.assert_array_equal(images, digits)
    np.testing.assert_array_equal(first_mask, digits[..., 0] > 0.5)
    np.testing.assert_array_equal(second_mask, first_mask)


@pytest.mark.parametrize(("brightness", "scale"), [(0.4, 1.0), (1.0, 0.6), (0.75, 1.5)])
def test_overlay_is_the_pixelwise_maximum(digits, brightness, scale):
    first, second = digits[:6], digits[6:]
    images, first_mask, second_mask = overlay_digits(first, second, brightness, scale, 0.3)
    moved = scale_images(second, scale)
    want = np.array([[[max(a, brightness * b) for a, b in zip(r1, r2, strict=True)]
                      for r1, r2 in zip(f[..., 0], s[..., 0], strict=True)]
                     for f, s in zip(first, moved, strict=True)])
    np.testing.assert_allclose(images[..., 0], want, rtol=1e-6)
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(first_mask, first[..., 0] > 0.3)
    # The second digit's mask is where its strokes are, however faint it is drawn.
    np.testing.assert_array_equal(second_mask, moved[..., 0] > 0.3)
    if scale < 1:
        assert second_mask.sum() < (second[..., 0] > 0.3).sum()


def test_a_faint_second_digit_keeps_its_mask(digits):
    _, _, bright = overlay_digits(digits[:3], digits[3:6], 1.0)
    images, _, faint = overlay_digits(digits[:3], digits[3:6], 0.1)
    np.testing.assert_array_equal(faint, bright)
    assert images[..., 0][faint & ~(digits[:3, ..., 0] > 0)].max() <= 0.1 + 1e-7


# -- scrambled and digit_pairs -------------------------------------------------------------


def test_scrambled_keeps_the_ink_and_loses_the_shape(digits):
    noise = scrambled(digits, seed=3)
    assert noise.shape == digits.shape and noise.dtype == np.float32
    for a, b in zip(digits, noise, strict=True):
        np.testing.assert_array_equal(np.sort(a.ravel()), np.sort(b.ravel()))
        assert not np.array_equal(a, b)
    np.testing.assert_array_equal(noise, scrambled(digits, seed=3))
    assert not np.array_equal(noise, scrambled(digits, seed=4))


def test_digit_pairs_differ_in_class_and_are_seeded():
    labels = np.repeat(np.arange(10), 30)
    first, second = digit_pairs(labels, 200, seed=5)
    assert len(set(first.tolist())) == 200                     # no first digit twice
    assert (labels[first] != labels[second]).all()
    assert len(np.unique(labels[second])) == 10
    again = digit_pairs(labels, 200, seed=5)
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, digit_pairs(labels, 200, seed=6)[0])
    # Two classes: each pair is one of each.
    first, second = digit_pairs(np.array([3, 3, 3, 8]), 4)
    pairs = np.stack([np.array([3, 3, 3, 8])[first], np.array([3, 3, 3, 8])[second]], axis=1)
    assert sorted(pairs.tolist()) == [[3, 8], [3, 8], [3, 8], [8, 3]]


# -- attribution_split ---------------------------------------------------------------------


def test_attribution_split_by_hand():
    first = np.zeros((1, 4, 4), bool)
    second = np.zeros((1, 4, 4), bool)
    first[0, 0, :] = True            # the top row
    second[0, :, 0] = True           # the left column: they cross at (0, 0)
    heatmaps = np.array([[[1.0, 2.0, -5.0, 0.0],
                          [3.0, 4.0, 0.0, 0.0],
                          [0.5, 0.0, 0.0, 0.0],
                          [0.5, 0.0, -1.0, 1.0]]])
    total = 1 + 2 + 3 + 4 + 0.5 + 0.5 + 1                   # the positive values: 12
    got = attribution_split(heatmaps, first, second)
    assert got["first"] == pytest.approx([2 / total])       # (0, 1); (0, 2) is negative
    assert got["second"] == pytest.approx([(3 + 0.5 + 0.5) / total])
    assert got["both"] == pytest.approx([1 / total])
    assert got["background"] == pytest.approx([(4 + 1) / total])


def test_attribution_split_on_a_coarser_map():
    # A 2x2 map of 4x4 masks: each cell gives its evidence in proportion to its pixels.
    first = np.zeros((2, 4, 4), bool)
    first[:, :2, :2] = True                                 # the whole top-left cell
    second = np.zeros((2, 4, 4), bool)
    second[:, 0, 2] = True                                  # one pixel of the top-right cell
    second[:, 0, 1] = True                                  # and one of first's pixels
    heatmaps = np.array([[[2.0, 4.0], [0.0, -3.0]],
                         [[-1.0, -1.0], [-1.0, -1.0]]])
    got = attribution_split(heatmaps, first, second)
    assert got["first"][0] == pytest.approx(2 * 3 / 4 / 6)
    assert got["both"][0] == pytest.approx(2 * 1 / 4 / 6)
    assert got["second"][0] == pytest.approx(4 * 1 / 4 / 6)
    assert got["background"][0] == pytest.approx(4 * 3 / 4 / 6)
    assert all(np.isnan(share[1]) for share in got.values())  # no positive evidence at all


def test_attribution_split_adds_up_and_an_even_map_gives_the_area(rng):
    first, second = rng.random((2, 5, 12, 12)) > 0.6
    got = attribution_split(rng.standard_normal((5, 6, 6)), first, second)
    np.testing.assert_allclose(sum(got.values()), 1.0)
    even = attribution_split(np.ones((5, 3, 3)), first, second)
    np.testing.assert_allclose(even["both"], (first & second).mean(axis=(1, 2)))
    np.testing.assert_allclose(even["first"], (first & ~second).mean(axis=(1, 2)))


# -- follows and overlap_figures -----------------------------------------------------------


def _pairs(digits):
    labels_first = np.array([0, 1, 2, 3, 4, 5])
    return digits[:6], digits[6:], labels_first, (labels_first + 3) % 10


def _predictions_by_hand(model, first, second, brightness):
    return model.predict(np.maximum(first, brightness * second), verbose=0).argmax(axis=1)


@pytest.mark.parametrize("brightness", [1.0, 0.3])
def test_follows_counts_the_predictions(model28, digits, brightness):
    first, second, labels_first, _ = _pairs(digits)
    predicted = _predictions_by_hand(model28, first, second, brightness)
    # Labels chosen so that each outcome occurs: some pairs name the first, some the second.
    labels_first = np.where(np.arange(6) % 3 == 0, predicted, (predicted + 1) % 10)
    labels_second = np.where(np.arange(6) % 3 == 1, predicted, (predicted + 2) % 10)
    got = follows(model28, first, second, labels_first, labels_second, brightness)
    assert got == pytest.approx({"first": 2 / 6, "second": 2 / 6, "other": 2 / 6})


def test_overlap_figures_match_the_maps_by_hand(model28, digits):
    from cnnlab.explain.cam import class_activation_maps
    from cnnlab.explain.gradcam import grad_cam

    first, second, labels_first, labels_second = _pairs(digits)
    images = np.maximum(first, 0.5 * second)
    predicted = _predictions_by_hand(model28, first, second, 0.5)
    figures = overlap_figures(model28, first, second, labels_first, labels_second, "conv2",
                              brightness=0.5)
    assert figures["first"] == pytest.approx((predicted == labels_first).mean())
    assert figures["second"] == pytest.approx((predicted == labels_second).mean())
    first_mask, second_mask = first[..., 0] > 0.5, second[..., 0] > 0.5
    for method, maps in (("cam", class_activation_maps(model28, images, predicted)),
                         ("grad_cam", grad_cam(model28, images, "conv2", predicted))):
        # Each 14x14 cell covers 2x2 pixels: the fraction of them in each part.
        cells = lambda mask: mask.reshape(6, 14, 2, 14, 2).mean(axis=(2, 4))  # noqa: E731
        positive = np.maximum(maps, 0)
        total = positive.sum(axis=(1, 2))
        on_first = (positive * cells(first_mask & ~second_mask)).sum(axis=(1, 2)) / total
        on_second = (positive * cells(second_mask & ~first_mask)).sum(axis=(1, 2)) / total
        assert figures[f"{method}_first"] == pytest.approx(on_first.mean())
        assert figures[f"{method}_second"] == pytest.approx(on_second.mean())
        assert figures[f"{method}_empty"] == 0.0
    area = (first_mask & second_mask).mean(axis=(1, 2)).mean()
    assert figures["area_both"] == pytest.approx(area)


def test_overlap_figures_named_and_unnamed(model28, digits):
    from cnnlab.explain.cam import class_activation_maps

    first, second, _, _ = _pairs(digits)
    predicted = _predictions_by_hand(model28, first, second, 1.0)
    labels_first = np.where(np.arange(6) < 2, predicted, (predicted + 1) % 10)
    labels_second = np.where(np.arange(6) >= 4, predicted, (predicted + 2) % 10)
    figures = overlap_figures(model28, first, second, labels_first, labels_second, "conv2",
                              methods=("cam",))
    maps = class_activation_maps(model28, np.maximum(first, second), predicted)
    shares = attribution_split(maps, first[..., 0] > 0.5, second[..., 0] > 0.5)
    named = np.r_[shares["first"][:2], shares["second"][4:]]
    unnamed = np.r_[shares["second"][:2], shares["first"][4:]]
    assert figures["cam_named"] == pytest.approx(named.mean())
    assert figures["cam_unnamed"] == pytest.approx(unnamed.mean())
    assert "grad_cam_first" not in figures
    # The area baseline of the same pictures: each digit's own strokes' share of the picture.
    only_first = ((first[..., 0] > 0.5) & ~(second[..., 0] > 0.5)).mean(axis=(1, 2))
    only_second = ((second[..., 0] > 0.5) & ~(first[..., 0] > 0.5)).mean(axis=(1, 2))
    assert figures["area_named"] == pytest.approx(np.r_[only_first[:2], only_second[4:]].mean())
    assert figures["area_unnamed"] == pytest.approx(np.r_[only_second[:2], only_first[4:]].mean())


# -- at_input_size and input_size_figures ---------------------------------------------------


@pytest.mark.parametrize("cam_head", [False, True])
def test_at_input_size_shares_the_weights(cam_head):
    from cnnlab.models import gap_cnn

    keras.utils.set_random_seed(0)
    model = gap_cnn(cam_head=cam_head)
    before = [w.copy() for w in model.get_weights()]
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    same = at_input_size(model, 28)
    for a, b in zip(same.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(same.predict(images, verbose=0),
                                  model.predict(images, verbose=0))
    larger = at_input_size(model, 42)
    assert larger.input_shape == (None, 42, 42, 1) and larger.name == model.name + "_42"
    assert [layer.name for layer in larger.layers] == [layer.name for layer in model.layers]
    for a, b in zip(larger.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    # Independently: the given model's own layers run on the larger picture.
    big = resize_images(images, 42)
    x = keras.ops.convert_to_tensor(big)
    for layer in model.layers:
        x = layer(x)
    np.testing.assert_allclose(larger.predict(big, verbose=0), keras.ops.convert_to_numpy(x),
                               atol=1e-6)
    assert larger.get_layer("conv5").output.shape[1:3] == (21, 21)
    for a, b in zip(model.get_weights(), before, strict=True):   # the model is not changed
        np.testing.assert_array_equal(a, b)
    # A copy, not the same variables: changing it leaves the model as it was.
    larger.layers[0].kernel.assign(np.zeros(larger.layers[0].kernel.shape))
    np.testing.assert_array_equal(model.layers[0].get_weights()[0], before[0])


def test_input_size_figures_by_hand(model28, digits):
    labels = np.arange(12) % 10
    got = input_size_figures(model28, digits, labels, sizes=(28, 56))
    assert got[28]["map_side"] == 14 and got[56]["map_side"] == 28
    assert got[28]["accuracy"] == pytest.approx(
        (model28.predict(digits, verbose=0).argmax(axis=1) == labels).mean())
    big = at_input_size(model28, 56).predict(resize_images(digits, 56), verbose=0)
    assert got[56]["accuracy"] == pytest.approx((big.argmax(axis=1) == labels).mean())


# -- bad input -----------------------------------------------------------------------------

_D = np.full((2, 28, 28, 1), 0.5, np.float32)
_L1, _L2 = np.array([1, 2]), np.array([3, 4])
_M = np.zeros((1, 4, 4), bool)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [(lambda m: overlay_digits(_D, _D[:1]), ValueError,
      r"^first and second must have the same shape"),
     (lambda m: overlay_digits(_D + 1, _D), ValueError, r"^first must have values in \[0, 1\]"),
     (lambda m: overlay_digits(_D, _D.astype(np.uint8)), TypeError,
      r"^second must be a float array"),
     (lambda m: overlay_digits(_D, _D, brightness=0), ValueError,
      r"^brightness must be in \(0, 1\], got 0\.$"),
     (lambda m: overlay_digits(_D, _D, brightness=1.5), ValueError,
      r"^brightness must be in \(0, 1\], got 1\.5\.$"),
     (lambda m: overlay_digits(_D, _D, brightness="1"), TypeError, r"^brightness must be a number"),
     (lambda m: overlay_digits(_D, _D, scale=3.0), ValueError,
      r"^scale must be in \[0.25, 2\], got 3"),
     (lambda m: overlay_digits(_D, _D, threshold=1), ValueError,
      r"^threshold must be in \[0, 1\), got 1\.$"),
     (lambda m: scrambled(_D[0]), ValueError, r"^images must have shape \(N, H, W, C\)"),
     (lambda m: scrambled(_D, seed=-1), ValueError, r"^seed must be at least 0"),
     (lambda m: digit_pairs(np.array([1, 2]), 3), ValueError,
      r"^n must be at most the number of labels, 2, got 3\.$"),
     (lambda m: digit_pairs(np.array([1, 1]), 1), ValueError, r"^labels must hold at least two"),
     (lambda m: digit_pairs(np.array([1, 12]), 1), ValueError, r"labels"),
     (lambda m: digit_pairs(np.ones((2, 2), int), 1), ValueError,
      r"^labels must have shape \(N,\)"),
     (lambda m: digit_pairs(np.array([1, 2]), 1.0), TypeError, r"^n must be an int"),
     (lambda m: attribution_split(np.zeros((1, 4, 4)), _M.astype(int), _M), TypeError,
      r"^first_mask must be boolean"),
     (lambda m: attribution_split(np.zeros((1, 4, 4)), _M, np.zeros((2, 4, 4), bool)),
      ValueError, r"^second_mask must have shape \(1, H, W\)"),
     (lambda m: attribution_split(np.zeros((1, 4, 4)), _M, np.zeros((1, 8, 8), bool)),
      ValueError, r"^first_mask and second_mask must have the same shape"),
     (lambda m: attribution_split(np.zeros((1, 3, 3)), _M, _M), ValueError,
      r"^the masks' size must be a multiple of the maps', got masks 4x4 and maps 3x3\.$"),
     (lambda m: attribution_split(np.zeros((4, 4)), _M, _M), ValueError,
      r"^heatmaps must have shape \(N, h, w\)"),
     (lambda m: attribution_split(np.full((1, 4, 4), "a"), _M, _M), TypeError,
      r"^heatmaps must be numbers"),
     (lambda m: attribution_split(np.full((1, 4, 4), np.nan), _M, _M), ValueError,
      r"^heatmaps must be finite"),
     (lambda m: follows(m, _D, _D, _L1, _L1), ValueError,
      r"^labels_first and labels_second must differ in every pair, but 2 pairs"),
     (lambda m: follows(m, _D, _D, _L1, _L2[:1]), ValueError, r"labels_second"),
     (lambda m: follows(m, _D[:, :12, :12], _D[:, :12, :12], _L1, _L2), ValueError,
      r"^images must have shape \(N, 28, 28, 1\)"),
     (lambda m: follows("model", _D, _D, _L1, _L2), TypeError, r"^model must be"),
     (lambda m: overlap_figures(m, _D, _D, _L1, _L2, "conv2", methods=("nope",)), ValueError,
      r"^methods must be a non-empty tuple of names from"),
     (lambda m: overlap_figures(m, _D, _D, _L1, _L2, "conv2", methods="cam"), ValueError,
      r"^methods must be a non-empty tuple"),
     (lambda m: overlap_figures(m, _D, _D, _L1, _L2, "nope"), ValueError, r"layer"),
     (lambda m: overlap_figures(m, _D, _D, _L1, _L2, "conv2", batch_size=0), ValueError,
      r"^batch_size must be at least 1"),
     (lambda m: at_input_size(m, 0), ValueError, r"^size must be at least 1"),
     (lambda m: at_input_size(m, 42.0), TypeError, r"^size must be an int"),
     (lambda m: at_input_size(tiny_gap_cnn(size=12), 1), ValueError,
      r"^size 1 is too small for model 'tiny_gap'"),
     (lambda m: at_input_size(tiny_dense_cnn(), 42), ValueError,
      r"^model must be convolutional up to a global pooling layer .* Flatten layer 'flatten'"),
     (lambda m: at_input_size(keras.Model(m.inputs, m.outputs), 42), TypeError,
      r"^model must be a keras.Sequential model, got Functional\.$"),
     (lambda m: at_input_size(keras.Sequential([keras.Input((4, 4, 1)),
                                                keras.layers.Conv2D(2, 3)]), 8),
      ValueError, r"^model must have a global pooling layer"),
     (lambda m: input_size_figures(m, _D, _L1, sizes=(28, 1)), ValueError,
      r"^sizes\[1\] must be at least 2, got 1\.$"),
     (lambda m: input_size_figures(m, _D, _L1, sizes=[28]), TypeError,
      r"^sizes must be a non-empty tuple of ints"),
     (lambda m: input_size_figures(m, _D[:, :, :20], _L1), ValueError,
      r"^images must be square, got 28x20\.$"),
     (lambda m: input_size_figures(m, _D, _L1[:1]), ValueError, r"labels")],
    ids=["overlay-shapes", "overlay-range", "overlay-uint8", "brightness-0", "brightness-high",
         "brightness-str", "scale-range", "threshold-1", "scrambled-3d", "scrambled-seed",
         "pairs-n-high", "pairs-one-class", "pairs-label-range", "pairs-2d", "pairs-n-float",
         "split-mask-int", "split-mask-n", "split-mask-shapes", "split-not-multiple",
         "split-2d", "split-str", "split-nan", "follows-same-class", "follows-label-count",
         "follows-size", "follows-model", "figures-method", "figures-method-str",
         "figures-layer", "figures-batch", "size-0", "size-float", "size-too-small",
         "size-flatten", "size-functional", "size-no-pooling", "sizes-1", "sizes-list",
         "sizes-not-square", "sizes-labels"],
)
def test_bad_input(model28, call, error, match):
    with pytest.raises(error, match=match):
        call(model28)
