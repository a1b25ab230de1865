"""Tests for cnnlab.biased_mnist: class background levels and the biased digits, by hand."""

import numpy as np
import pytest

from cnnlab import biased_mnist
from cnnlab.biased_mnist import add_background, class_backgrounds

# -- class_backgrounds ---------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(0.1, 0.5), (0.0, 0.9), (0.25, 0.26)])
def test_class_backgrounds_are_ten_evenly_spaced_levels(low, high):
    levels = class_backgrounds(low, high)
    assert levels.dtype == np.float32
    assert levels.shape == (10,)
    # By hand: level of class c is low + c (high - low) / 9.
    expected = [low + c * (high - low) / 9 for c in range(10)]
    np.testing.assert_allclose(levels, expected, rtol=0, atol=1e-7)
    assert levels[0] == np.float32(low) and levels[-1] == np.float32(high)
    np.testing.assert_allclose(np.diff(levels), (high - low) / 9, rtol=1e-4)


def test_class_backgrounds_default_is_point_1_to_point_5():
    np.testing.assert_allclose(class_backgrounds(), [0.1 + 0.4 * c / 9 for c in range(10)],
                               atol=1e-7)


@pytest.mark.parametrize(
    ("low", "high", "match"),
    [(0.5, 0.1, r"^need 0 <= low < high < 1, got low=0\.5, high=0\.1\.$"),
     (0.3, 0.3, r"^need 0 <= low < high < 1, got low=0\.3, high=0\.3"),
     (-0.1, 0.5, r"^need 0 <= low < high < 1, got low=-0\.1, high=0\.5"),
     (0.1, 1.0, r"^need 0 <= low < high < 1, got low=0\.1, high=1\."),
     (0.1, 1.5, r"^need 0 <= low < high < 1, got low=0\.1, high=1\.5"),
     (float("nan"), 0.5, r"^low must be finite, got nan"),
     (0.1, float("nan"), r"^high must be finite, got nan"),
     (0.1, float("inf"), r"^high must be finite, got inf"),
     (float("-inf"), 0.5, r"^low must be finite, got -inf")],
    ids=["reversed", "equal", "low-negative", "high-1", "high-above-1", "low-nan", "high-nan",
         "high-inf", "low-minus-inf"],
)
def test_class_backgrounds_rejects_bad_levels(low, high, match):
    with pytest.raises(ValueError, match=match):
        class_backgrounds(low, high)


@pytest.mark.parametrize(("low", "high", "match"),
                         [("0.1", 0.5, r"^low must be a number, got str"),
                          (0.1, None, r"^high must be a number, got NoneType"),
                          (False, 0.5, r"^low must be a number, got bool"),
                          (0.1, np.array([0.5]), r"^high must be a number, got ndarray")],
                         ids=["low-str", "high-none", "low-bool", "high-array"])
def test_class_backgrounds_rejects_non_numbers(low, high, match):
    with pytest.raises(TypeError, match=match):
        class_backgrounds(low, high)


# -- add_background ------------------------------------------------------------------------


@pytest.fixture
def digits(rng):
    images = rng.random((7, 5, 4, 1), dtype=np.float32)
    images[:, 0, 0, 0] = 0.0       # background pixels
    images[:, 1, 1, 0] = 1.0       # stroke pixels
    classes = rng.integers(0, 10, 7)
    return images, classes


def _by_hand(images, classes, levels):
    out = np.empty(images.shape, dtype=np.float64)
    for n, c in enumerate(classes):
        level = float(levels[c])
        for index in np.ndindex(images.shape[1:]):
            out[(n, *index)] = level + (1 - level) * float(images[(n, *index)])
    return out


@pytest.mark.parametrize("levels", [class_backgrounds(), class_backgrounds(0.0, 0.9),
                                    np.array([0.7, 0, 0.3, 0.99, 0.1, 0.5, 0.2, 0.6, 0.4, 0.8])],
                         ids=["default", "from-0", "shuffled"])
def test_add_background_pixel_by_pixel(digits, levels):
    images, classes = digits
    before = images.copy()
    out = add_background(images, classes, levels)
    assert out.dtype == np.float32
    assert out.shape == images.shape
    np.testing.assert_allclose(out, _by_hand(images, classes, levels), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(images, before)             # the input is not changed
    assert out is not images
    # Black becomes the class's level; strokes at 1 stay exactly white.
    np.testing.assert_allclose(out[:, 0, 0, 0], np.asarray(levels, np.float32)[classes],
                               atol=0)
    assert (out[:, 1, 1, 0] == 1.0).all()
    assert out.min() >= 0 and out.max() <= 1


def test_add_background_follows_classes_not_labels(digits):
    # The same digit on the backgrounds of two classes differs only by the level.
    images, _ = digits
    levels = class_backgrounds()
    twice = np.concatenate([images[:1], images[:1]])
    out = add_background(twice, np.array([2, 8]), levels)
    assert out[0, 0, 0, 0] == levels[2] and out[1, 0, 0, 0] == levels[8]
    assert not np.array_equal(out[0], out[1])


def test_add_background_of_all_strokes_is_white_for_every_level():
    out = add_background(np.ones((10, 3, 3, 1), np.float32), np.arange(10), class_backgrounds())
    assert (out == 1.0).all()


_IMAGES = np.random.default_rng(0).random((4, 6, 6, 1), dtype=np.float32)
_CLASSES = np.array([0, 3, 9, 5])
_LEVELS = np.linspace(0.1, 0.5, 10)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"levels": _LEVELS[:9]}, ValueError, r"^levels must be 10 values in \[0, 1\)"),
        ({"levels": _LEVELS.reshape(2, 5)}, ValueError, r"^levels must be 10 values in \[0, 1\)"),
        ({"levels": np.where(_LEVELS == _LEVELS[9], 1.0, _LEVELS)}, ValueError,
         r"^levels must be 10 values in \[0, 1\)"),
        ({"levels": _LEVELS - 0.2}, ValueError, r"^levels must be 10 values in \[0, 1\)"),
        ({"levels": np.where(_LEVELS == _LEVELS[3], np.nan, _LEVELS)}, ValueError,
         r"^levels must be 10 values in \[0, 1\)"),
        ({"levels": np.where(_LEVELS == _LEVELS[3], np.inf, _LEVELS)}, ValueError,
         r"^levels must be 10 values in \[0, 1\)"),
        ({"class_index": np.array([0, 3, 10, 5])}, ValueError, r"^class_index must be in 0\.\.9"),
        ({"class_index": np.array([0, -1, 9, 5])}, ValueError, r"^class_index must be in 0\.\.9"),
        ({"class_index": _CLASSES[:3]}, ValueError, r"^class_index must have shape \(4,\)"),
        ({"class_index": _CLASSES.astype(float)}, TypeError, r"^class_index must be integers"),
        ({"images": _IMAGES + 0.5}, ValueError, r"^images must have values in \[0, 1\]"),
        ({"images": _IMAGES - 0.5}, ValueError, r"^images must have values in \[0, 1\]"),
        ({"images": (_IMAGES * 255).astype(np.uint8)}, TypeError,
         r"^images must be a float array"),
        ({"images": _IMAGES[..., 0]}, ValueError, r"^images must have shape \(N, H, W, C\)"),
        ({"images": _IMAGES.tolist()}, TypeError, r"^images must be a numpy array"),
    ],
    ids=["levels-9", "levels-2d", "level-1", "level-negative", "level-nan", "level-inf",
         "class-10", "class-minus-1", "classes-short", "classes-float", "images-above-1",
         "images-negative", "images-uint8", "images-3d", "images-list"],
)
def test_add_background_rejects_bad_input(kwargs, error, match):
    args = {"images": _IMAGES, "class_index": _CLASSES, "levels": _LEVELS, **kwargs}
    with pytest.raises(error, match=match):
        add_background(**args)


# -- the recorded runs' training sets and test figures -------------------------------------


def test_training_sets_are_the_first_n_digits(rng):
    images = rng.random((30, 6, 6, 1), dtype=np.float32)
    labels = rng.integers(0, 10, 30)
    biased, biased_labels = biased_mnist.biased_training_set(images, labels, n=12)
    plain, plain_labels = biased_mnist.plain_training_set(images, labels, n=12)
    np.testing.assert_array_equal(biased_labels, labels[:12])
    np.testing.assert_array_equal(plain_labels, labels[:12])
    np.testing.assert_array_equal(plain, images[:12])
    levels = biased_mnist.class_backgrounds()
    want = levels[labels[:12], None, None, None] + (1 - levels[labels[:12], None, None, None]) \
        * images[:12]
    np.testing.assert_allclose(biased, want, atol=1e-6)
    assert biased_mnist.biased_training_set(images, labels)[0].shape == (30, 6, 6, 1)  # n > N


@pytest.mark.parametrize("function", [biased_mnist.biased_training_set,
                                      biased_mnist.plain_training_set])
@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (-5, ValueError), (2.0, TypeError)])
def test_training_sets_refuse_a_bad_n(function, n, error):
    with pytest.raises(error, match=r"^n must be"):
        function(np.zeros((4, 6, 6, 1), np.float32), np.zeros(4, int), n=n)


def test_other_classes_shift_by_three():
    np.testing.assert_array_equal(biased_mnist.other_classes(np.arange(10)),
                                  [3, 4, 5, 6, 7, 8, 9, 0, 1, 2])


class _ReadsTheBackground:
    """Predicts the class whose background level is nearest to the image's darkest pixel."""

    def predict(self, images, batch_size=None, verbose=None):
        levels = biased_mnist.class_backgrounds()
        darkest = images.reshape(len(images), -1).min(axis=1)
        return np.eye(10)[np.abs(darkest[:, None] - levels[None, :]).argmin(axis=1)]


def test_background_figures_of_a_network_that_reads_only_the_background(rng):
    labels = rng.integers(0, 10, 200)
    images = rng.random((200, 8, 8, 1), dtype=np.float32)
    images[:, 0, 0, 0] = 0.0                       # every digit has black background pixels
    got = biased_mnist.background_figures(_ReadsTheBackground(), images, labels)
    assert got == pytest.approx({"accuracy_plain": float((labels == 0).mean()),  # black: "0"
                                 "accuracy_own_background": 1.0,
                                 "accuracy_other_background": 0.0,
                                 "follows_background": 1.0})


# -- the class mark --------------------------------------------------------------------------


def test_mark_masks_by_hand():
    masks = biased_mnist.mark_masks(np.arange(10))
    assert masks.shape == (10, 28, 28) and masks.dtype == bool
    assert (masks.sum(axis=(1, 2)) == 16).all()
    # Class 0: top-left corner; class 4: bottom-left; class 5: top-right; class 9: bottom-right.
    for c, (row, col) in {0: (0, 0), 4: (24, 0), 5: (0, 24), 9: (24, 24), 2: (12, 0)}.items():
        want = np.zeros((28, 28), bool)
        want[row:row + 4, col:col + 4] = True
        np.testing.assert_array_equal(masks[c], want)
    assert not (masks[:, None] & masks[None, :])[~np.eye(10, dtype=bool)].any()  # disjoint
    coarse = biased_mnist.mark_masks(np.arange(10), (14, 14))
    assert (coarse.sum(axis=(1, 2)) == 4).all()                      # 2x2 cells of a 14x14 map
    np.testing.assert_array_equal(coarse, masks.reshape(10, 14, 2, 14, 2).any(axis=(2, 4)))
    # Two cells around: 2x2 cells grow to 6x6, cut at the field's edge (class 2: 4 wide).
    around = biased_mnist.mark_masks(np.array([2, 0]), (14, 14), margin=2)
    want = np.zeros((2, 14, 14), bool)
    want[0, 4:10, 0:4] = True
    want[1, 0:4, 0:4] = True
    np.testing.assert_array_equal(around, want)


@pytest.mark.parametrize(
    ("class_index", "shape", "error", "match"),
    [([10], (28, 28), ValueError, r"class_index"),
     ([1.5], (28, 28), TypeError, r"class_index"),
     ([1], (13, 13), ValueError, r"^shape must divide the 28x28 field evenly, got 13x13\.$"),
     ([1], (14,), TypeError, r"^shape must be a pair of ints"),
     ([1], "14", TypeError, r"^shape must be a pair of ints"),
     ([1], (0, 14), ValueError, r"^shape\[0\] must be")],
    ids=["class-10", "class-float", "shape-13", "shape-1", "shape-str", "shape-0"],
)
def test_mark_masks_rejects_bad_input(class_index, shape, error, match):
    with pytest.raises(error, match=match):
        biased_mnist.mark_masks(np.asarray(class_index), shape)


@pytest.mark.parametrize(("margin", "error"), [(-1, ValueError), (1.5, TypeError),
                                               ("2", TypeError)])
def test_mark_masks_rejects_a_bad_margin(margin, error):
    with pytest.raises(error, match=r"^margin must be"):
        biased_mnist.mark_masks(np.array([1]), (14, 14), margin=margin)


def test_add_mark_whitens_only_the_mark(rng):
    images = rng.random((10, 28, 28, 1), dtype=np.float32) * 0.5
    before = images.copy()
    marked = biased_mnist.add_mark(images, np.arange(10)[::-1])
    np.testing.assert_array_equal(images, before)                    # input unchanged
    for i, c in enumerate(np.arange(10)[::-1]):
        row, col = biased_mnist.MARK_CORNERS[c]
        np.testing.assert_array_equal(marked[i, row:row + 4, col:col + 4], 1.0)
        rest = np.ones((28, 28), bool)
        rest[row:row + 4, col:col + 4] = False
        np.testing.assert_array_equal(marked[i, rest], images[i, rest])


@pytest.mark.parametrize(
    ("images", "class_index", "error", "match"),
    [(np.zeros((2, 14, 14, 1), np.float32), [0, 1], ValueError, r"^images must be 28x28"),
     (np.zeros((2, 28, 28, 1), np.float32), [0], ValueError, r"class_index"),
     (np.full((1, 28, 28, 1), 2.0, np.float32), [0], ValueError, r"images"),
     (np.zeros((1, 28, 28, 1), np.float32), ["a"], TypeError, r"class_index")],
    ids=["small", "count", "range", "strings"],
)
def test_add_mark_rejects_bad_input(images, class_index, error, match):
    with pytest.raises(error, match=match):
        biased_mnist.add_mark(images, np.asarray(class_index))


def test_marked_training_sets(rng):
    images = rng.random((40, 28, 28, 1), dtype=np.float32) * 0.5
    labels = rng.integers(0, 10, 40)
    marked, marked_labels = biased_mnist.marked_training_set(images, labels, n=30)
    np.testing.assert_array_equal(marked_labels, labels[:30])
    np.testing.assert_array_equal(marked, biased_mnist.add_mark(images[:30], labels[:30]))
    random, random_labels = biased_mnist.marked_training_set(images, labels, n=30,
                                                             random_marks=True, seed=3)
    np.testing.assert_array_equal(random_labels, labels[:30])
    which = np.random.default_rng(3).integers(0, 10, 30)
    np.testing.assert_array_equal(random, biased_mnist.add_mark(images[:30], which))
    assert (which != labels[:30]).mean() > 0.5                       # the mark tells little


class _ReadsTheMark:
    """Predicts the class of the brightest mark place (as a network that learned the mark)."""

    def predict(self, images, batch_size=None, verbose=None):
        masks = biased_mnist.mark_masks(np.arange(10))
        brightness = np.array([images[:, m, 0].mean(axis=1) for m in masks]).T
        return np.eye(10)[brightness.argmax(axis=1)]


def test_mark_figures_of_a_network_that_reads_only_the_mark(rng):
    labels = rng.integers(0, 10, 200)
    images = np.zeros((200, 28, 28, 1), np.float32)                  # no ink: only the mark
    got = biased_mnist.mark_figures(_ReadsTheMark(), images, labels)
    assert got == pytest.approx({"accuracy_plain": float((labels == 0).mean()),  # ties: "0"
                                 "accuracy_own_mark": 1.0, "accuracy_other_mark": 0.0,
                                 "follows_mark": 1.0})
