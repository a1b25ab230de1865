"""Tests for cnnlab.explain.sanity: Spearman correlation, the cascading randomization, shuffled
labels, two digits side by side, refusals."""

import random

import keras
import numpy as np
import pytest
from tiny_models import tiny_gap_cnn, tiny_mixed_init_cnn

from cnnlab.explain.sanity import (
    cascading_randomization,
    randomized_layers,
    rank_correlation,
    share_inside,
    shuffled_labels,
    side_by_side,
)


def slow_spearman(a, b):
    """Spearman's rho by its definition, in plain Python: Pearson's r of average ranks."""

    def ranks(values):
        # Rank of v (1-based) with ties averaged: below it, plus the middle of its ties.
        return [sum(w < v for w in values) + (sum(w == v for w in values) + 1) / 2
                for v in values]

    ra, rb = ranks([float(v) for v in np.ravel(a)]), ranks([float(v) for v in np.ravel(b)])
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    var_a, var_b = sum((x - ma) ** 2 for x in ra), sum((y - mb) ** 2 for y in rb)
    return float("nan") if var_a == 0 or var_b == 0 else cov / (var_a * var_b) ** 0.5


@pytest.mark.parametrize("levels", [None, 3, 2])
def test_rank_correlation_matches_the_definition(rng, levels):
    # levels=None: continuous values, no ties; 3 or 2 levels: many ties.
    a, b = rng.random((6, 5, 7)), rng.random((6, 5, 7))
    if levels is not None:
        a, b = np.floor(a * levels), np.floor(b * levels)
    b[0] = a[0] + 0.3 * rng.random((5, 7))  # one strongly correlated pair
    expected = [slow_spearman(x, y) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(rank_correlation(a, b), expected, rtol=1e-12, atol=1e-12)
    expected_abs = [slow_spearman(abs(x - 0.5), abs(y - 0.5)) for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(rank_correlation(a - 0.5, b - 0.5, absolute=True), expected_abs,
                               rtol=1e-12, atol=1e-12)


def test_rank_correlation_of_orderings(rng):
    maps = rng.normal(size=(4, 6, 6))
    np.testing.assert_allclose(rank_correlation(maps, maps), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rank_correlation(maps, -maps), -1.0, rtol=0, atol=1e-12)
    # Monotone transforms keep the order, hence the ranks: Spearman, unlike Pearson, stays 1.
    np.testing.assert_allclose(rank_correlation(maps, np.exp(3 * maps) + 2), 1.0, atol=1e-12)
    np.testing.assert_allclose(rank_correlation(maps, maps**3), 1.0, atol=1e-12)
    # The absolute variant ignores the sign: a map and its negative order |.| alike.
    np.testing.assert_allclose(rank_correlation(maps, -maps, absolute=True), 1.0, atol=1e-12)


def test_constant_map_gives_nan_and_leaves_the_others_alone(rng):
    a, b = rng.random((3, 4, 4)), rng.random((3, 4, 4))
    a[1] = 0.0  # an empty Grad-CAM map
    result = rank_correlation(a, b)
    assert np.isnan(result[1]) and not np.isnan(result[[0, 2]]).any()
    np.testing.assert_allclose(result[[0, 2]], [slow_spearman(a[0], b[0]),
                                                slow_spearman(a[2], b[2])], atol=1e-12)
    assert np.isnan(rank_correlation(b[:1], np.full((1, 4, 4), 7))).all()


def test_channels_are_ranked_together_and_integers_work(rng):
    a, b = rng.integers(0, 5, (2, 4, 4, 3)), rng.integers(0, 5, (2, 4, 4, 3))
    np.testing.assert_allclose(rank_correlation(a, b),
                               rank_correlation(a.reshape(2, 4, 12), b.reshape(2, 4, 12)))
    np.testing.assert_allclose(rank_correlation(a, b),
                               [slow_spearman(x, y) for x, y in zip(a, b, strict=True)])


@pytest.fixture(scope="module")
def tiny():
    """Conv-conv-GAP-dense with "trained" (random, nonzero) weights and mixed initializers."""
    model = tiny_mixed_init_cnn(size=8, classes=10)
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_order_is_top_down_and_weightless_layers_are_skipped(tiny):
    assert randomized_layers(tiny) == ["predictions", "conv2", "conv1"]
    assert [name for name, _ in cascading_randomization(tiny)] == ["predictions", "conv2",
                                                                    "conv1"]


def test_copy_k_has_exactly_the_top_k_layers_reinitialised(tiny):
    steps = list(cascading_randomization(tiny, seed=3))  # all copies alive at once
    order = randomized_layers(tiny)
    for k, (_, copy) in enumerate(steps, start=1):
        assert copy is not tiny and copy.name == tiny.name
        for depth, name in enumerate(order):
            old, new = tiny.get_layer(name).get_weights(), copy.get_layer(name).get_weights()
            if depth < k:  # re-initialised: every kernel value differs from the trained one
                assert not np.isin(new[0], old[0]).any()
                # ... and stays the same random value in the later, deeper copies.
                for _, later in steps[k:]:
                    for x, y in zip(new, later.get_layer(name).get_weights(), strict=True):
                        np.testing.assert_array_equal(x, y)
            else:
                for x, y in zip(old, new, strict=True):
                    np.testing.assert_array_equal(x, y)


def test_each_layer_is_redrawn_by_its_own_initializers(tiny):
    *_, (_, copy) = cascading_randomization(tiny)
    kernel1, bias1 = copy.get_layer("conv1").get_weights()
    kernel2, bias2 = copy.get_layer("conv2").get_weights()
    kernel3, bias3 = copy.get_layer("predictions").get_weights()
    np.testing.assert_array_equal(kernel1, np.full((3, 3, 1, 4), 0.25, np.float32))
    np.testing.assert_array_equal(bias1, np.zeros(4, np.float32))  # the default: zeros
    assert np.abs(kernel2).max() <= 0.01 and kernel2.std() > 0.002
    np.testing.assert_array_equal(bias2, np.full(4, 0.1, np.float32))
    limit = np.sqrt(6 / (4 + 10))  # Dense's default Glorot uniform, fan_in 4, fan_out 10
    assert np.abs(kernel3).max() <= limit and kernel3.std() > limit / 4
    np.testing.assert_array_equal(bias3, np.zeros(10, np.float32))


def test_original_is_unchanged_and_python_random_untouched(tiny):
    before = [w.copy() for w in tiny.get_weights()]
    names = [layer.name for layer in tiny.layers]
    state = random.getstate()
    for _ in cascading_randomization(tiny, seed=1):
        pass
    assert random.getstate() == state
    assert [layer.name for layer in tiny.layers] == names
    for a, b in zip(before, tiny.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_copies_other_seed_other_copies(tiny):
    def last_weights(seed):
        *_, (_, copy) = cascading_randomization(tiny, seed=seed)
        return copy.get_weights()

    first, again, other = last_weights(5), last_weights(5), last_weights(6)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    # The random kernels (conv2, predictions) differ; constant weights cannot.
    assert not np.array_equal(first[2], other[2]) and not np.array_equal(first[4], other[4])
    np.testing.assert_array_equal(first[0], other[0])


def test_fully_randomized_copy_predicts_otherwise(tiny, rng):
    images = rng.random((4, 8, 8, 1), dtype=np.float32)
    *_, (_, copy) = cascading_randomization(tiny)
    trained, randomized = tiny.predict(images, verbose=0), copy.predict(images, verbose=0)
    assert np.abs(trained - randomized).max() > 0.1


def _squares_and_crosses(rng, n):
    """12x12 noise with a filled 3x3 square (class 0) or a 3x3 cross (class 1) somewhere."""
    images = (rng.random((n, 12, 12, 1)) * 0.1).astype(np.float32)
    labels = rng.integers(0, 2, n)
    for image, label, (r, c) in zip(images, labels, rng.integers(0, 9, (n, 2)), strict=True):
        if label == 0:
            image[r:r + 3, c:c + 3] = 1.0
        else:
            image[r:r + 3, c + 1] = image[r + 1, c:c + 3] = 1.0
    return images, labels


def test_grad_cam_maps_of_a_randomized_model_lose_their_order(restore_global_state):
    # The paper's point on a tiny case: once every layer is re-initialised, Grad-CAM
    # maps are far from the trained model's (training seeds 0-4 gave medians 0.03-0.59).
    from cnnlab.explain.gradcam import grad_cam
    from cnnlab.runtime import set_seed

    set_seed(0)
    rng = np.random.default_rng(0)
    # conv1, conv2 (8 filters each, 'same'), gap, predictions: logits of 2 classes.
    model = tiny_gap_cnn(seed=0, filters=(8, 8), pool=False, classes=2, activation=None)
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(*_squares_and_crosses(rng, 256), epochs=8, batch_size=32, verbose=0)
    images, labels = _squares_and_crosses(rng, 32)
    assert (model.predict(images, verbose=0).argmax(axis=1) == labels).mean() >= 0.9
    trained = grad_cam(model, images, "conv2", labels)
    np.testing.assert_allclose(rank_correlation(trained, grad_cam(model, images, "conv2",
                                                                  labels)), 1.0, atol=1e-12)
    *_, (_, randomized) = cascading_randomization(model)
    rho = rank_correlation(trained, grad_cam(randomized, images, "conv2", labels))
    assert np.isfinite(rho).sum() >= 16
    assert np.nanmedian(rho) < 0.75


def _weightless():
    return keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()], name="flat")


class _Scale(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), name="scale", initializer="ones")


def _uninitializable():
    return keras.Sequential([keras.Input((3,)), _Scale(name="scale_layer")], name="custom")


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "error", "match"),
    [
        (np.zeros((2, 3, 3)), np.zeros((2, 3, 4)), {}, ValueError,
         r"a and b must have the same shape, got \(2, 3, 3\) and \(2, 3, 4\)"),
        (np.zeros((2, 9)), np.zeros((2, 9)), {}, ValueError,
         r"a must have shape \(N, h, w\) or \(N, H, W, C\), got \(2, 9\)"),
        (np.zeros((2, 3, 3)), np.zeros((1, 2, 3, 3, 1)), {}, ValueError, r"b must have shape"),
        (np.full((1, 2, 2), np.nan), np.zeros((1, 2, 2)), {}, ValueError,
         r"a must be finite, got NaN"),
        (np.zeros((1, 2, 2)), np.full((1, 2, 2), np.inf), {}, ValueError, r"b must be finite"),
        (np.full((1, 2, 2), "x"), np.zeros((1, 2, 2)), {}, TypeError,
         r"a must be numeric, got dtype <U1"),
        (np.zeros((1, 2, 2)), np.zeros((1, 2, 2), bool), {}, TypeError, r"b must be numeric"),
        (np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), {"absolute": 1}, TypeError,
         r"absolute must be a bool, got int 1"),
    ],
)
def test_rank_correlation_bad_input(a, b, kwargs, error, match):
    with pytest.raises(error, match=match):
        rank_correlation(a, b, **kwargs)


@pytest.mark.parametrize(
    ("model", "seed", "error", "match"),
    [
        ("tiny", 0, TypeError, r"model must be a keras.Model, got str"),
        (keras.layers.Dense, 0, TypeError, r"model must be a keras.Model, got type"),
        (_weightless, 0, ValueError,
         r"model must have layers with weights to randomize, but model 'flat' has none"),
        (_uninitializable, 0, ValueError,
         r"^model 'custom' has not been built"),
        (None, -1, ValueError, r"seed must be at least 0, got -1"),
        (None, 1.5, TypeError, r"seed must be an int, got float 1.5"),
        (None, True, TypeError, r"seed must be an int, got bool True"),
    ],
)
def test_cascading_randomization_bad_input(tiny, model, seed, error, match):
    if model is None:
        model = tiny
    elif callable(model) and not isinstance(model, type):
        model = model()
    with pytest.raises(error, match=match):
        cascading_randomization(model, seed=seed)  # refused at the call, before iterating


# -- data randomization: shuffled labels ------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 3])
def test_shuffled_labels_are_a_seeded_permutation(rng, seed):
    labels = rng.integers(0, 10, 200)
    got = shuffled_labels(labels, seed=seed)
    assert got.dtype == np.int64 and got.shape == (200,)
    np.testing.assert_array_equal(got, np.random.default_rng(seed).permutation(labels))
    np.testing.assert_array_equal(np.bincount(got, minlength=10),
                                  np.bincount(labels, minlength=10))
    assert (got != labels).mean() > 0.5                          # most labels moved
    np.testing.assert_array_equal(shuffled_labels(list(labels), seed=seed), got)


@pytest.mark.parametrize(("labels", "seed", "error", "match"), [
    (np.arange(10).reshape(2, 5), 0, ValueError, r"^labels must have shape \(N,\), got \(2, 5\)"),
    (np.arange(10.0), 0, TypeError, r"^labels must be integers"),
    (np.array([0, 10]), 0, ValueError, r"^labels must be in 0\.\.9"),
    (np.arange(10), -1, ValueError, r"^seed must be at least 0, got -1"),
    (np.arange(10), 1.5, TypeError, r"^seed must be an int, got float 1\.5"),
], ids=["2d", "float", "ten", "seed-negative", "seed-float"])
def test_shuffled_labels_bad_input(labels, seed, error, match):
    with pytest.raises(error, match=match):
        shuffled_labels(labels, seed=seed)


# -- class discrimination: two digits side by side -----------------------------------------


def test_side_by_side_keeps_the_middle_half_of_each(rng):
    left = rng.random((3, 28, 28, 1), dtype=np.float32)
    right = rng.random((3, 28, 28, 1), dtype=np.float32)
    got = side_by_side(left, right)
    assert got.shape == (3, 28, 28, 1) and got.dtype == np.float32
    for n in range(3):
        for column in range(28):
            source = left if column < 14 else right
            np.testing.assert_array_equal(got[n, :, column], source[n, :, 7 + column % 14])


def test_share_inside_by_hand(rng):
    maps = rng.random((4, 6, 5))
    maps[2] = 0.0                                               # an empty map
    mask = rng.random((6, 5)) < 0.4
    got = share_inside(maps, mask)
    for n in range(4):
        total = sum(float(v) for v in maps[n].ravel())
        inside = sum(float(v) for v, m in zip(maps[n].ravel(), mask.ravel(), strict=True) if m)
        if total == 0:
            assert np.isnan(got[n])
        else:
            assert got[n] == pytest.approx(inside / total, rel=1e-12)
    masks = np.stack([mask, ~mask, mask, np.ones_like(mask)])  # one mask per map
    np.testing.assert_allclose(share_inside(maps, masks)[[0, 1, 3]],
                               [got[0], 1 - got[1], 1.0], rtol=1e-12)


_IMAGES = np.full((2, 28, 28, 1), 0.5, np.float32)


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: side_by_side(_IMAGES, _IMAGES[:1]), ValueError,
     r"^left and right must have the same shape, got \(2, 28, 28, 1\) and \(1, 28, 28, 1\)"),
    (lambda: side_by_side(_IMAGES[:, :, :27], _IMAGES[:, :, :27]), ValueError,
     r"^images must have an even width, got 27"),
    (lambda: side_by_side(_IMAGES * 255, _IMAGES), ValueError,
     r"^left must have values in \[0, 1\]"),
    (lambda: side_by_side(_IMAGES, _IMAGES.astype(np.uint8)), TypeError,
     r"^right must be a float array"),
    (lambda: side_by_side(_IMAGES[0], _IMAGES[0]), ValueError,
     r"^left must have shape \(N, H, W, C\)"),
    (lambda: share_inside(np.ones((2, 3, 3)), np.ones((3, 3))), TypeError,
     r"^mask must be boolean, got dtype float64"),
    (lambda: share_inside(np.ones((2, 3, 3)), np.ones((3, 4), bool)), ValueError,
     r"^mask must have shape \(3, 3\) or \(2, 3, 3\), got \(3, 4\)"),
    (lambda: share_inside(-np.ones((2, 3, 3)), np.ones((3, 3), bool)), ValueError,
     r"^heatmaps must be non-negative"),
    (lambda: share_inside(np.ones((2, 3, 3, 1)), np.ones((3, 3), bool)), ValueError,
     r"^heatmaps must have shape \(N, h, w\), got \(2, 3, 3, 1\)"),
    (lambda: share_inside(np.full((2, 3, 3), np.nan), np.ones((3, 3), bool)), ValueError,
     r"^heatmaps must be finite"),
    (lambda: share_inside(np.array([["a"]]), np.ones((1,), bool)), TypeError,
     r"^heatmaps must be numeric"),
], ids=["side-shapes", "side-odd", "side-range", "side-uint8", "side-3d", "mask-float",
        "mask-shape", "negative", "four-axes", "nan", "strings"])
def test_two_digit_helpers_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
