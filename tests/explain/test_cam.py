"""Tests for cnnlab.explain.cam: the CAM identity, the maps by hand, and refusals."""

import keras
import numpy as np
import pytest

from cnnlab.explain.cam import class_activation_maps, class_scores


@pytest.fixture
def images(rng):
    return rng.random((6, 12, 12, 1), dtype=np.float32)


def test_mean_of_the_map_plus_bias_is_the_logit(gap_model, images):
    # Independent: log-probabilities differ from the logits by one constant per image.
    scores = class_scores(gap_model, images)
    log_p = np.log(gap_model.predict(images, verbose=0))
    np.testing.assert_allclose(scores - scores[:, :1], log_p - log_p[:, :1], atol=1e-4)
    # And directly: the dense layer applied to the pooled features, without softmax.
    pooled = keras.Model(gap_model.inputs, gap_model.get_layer("gap").output).predict(
        images, verbose=0)
    kernel, bias = gap_model.get_layer("predictions").get_weights()
    np.testing.assert_allclose(scores, pooled @ kernel + bias, atol=1e-5)


def test_maps_by_hand(gap_model, images):
    conv2 = keras.Model(gap_model.inputs, gap_model.get_layer("conv2").output).predict(
        images, verbose=0)
    kernel = gap_model.get_layer("predictions").get_weights()[0]
    want = np.stack([sum(kernel[k, c] * conv2[..., k] for k in range(5)) for c in range(3)],
                    axis=1)
    all_maps = class_activation_maps(gap_model, images)
    assert all_maps.shape == (6, 3, 6, 6)
    np.testing.assert_allclose(all_maps, want, atol=1e-5)
    picked = class_activation_maps(gap_model, images, np.array([0, 1, 2, 0, 1, 2]))
    np.testing.assert_allclose(picked, want[np.arange(6), [0, 1, 2, 0, 1, 2]], atol=1e-5)
    np.testing.assert_allclose(class_activation_maps(gap_model, images, 2), want[:, 2],
                               atol=1e-5)


def test_model_unchanged(gap_model, images):
    before = [w.copy() for w in gap_model.get_weights()]
    class_activation_maps(gap_model, images)
    for a, b in zip(before, gap_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_model_without_global_pooling_is_refused_with_the_reason(images):
    from cnnlab.models import keras_example_cnn

    with pytest.raises(ValueError, match=r"CAM needs global average pooling right before the "
                                         r"last \(dense\) layer.*Use Grad-CAM"):
        class_activation_maps(keras_example_cnn(), np.zeros((1, 28, 28, 1), np.float32))


# The refusals every class-score method shares are in test_contract.py.


def test_class_index_none_is_every_class_and_needs_no_index(gap_model, images):
    every = class_activation_maps(gap_model, images)
    for c in range(3):
        np.testing.assert_allclose(every[:, c], class_activation_maps(gap_model, images, c),
                                   rtol=1e-5, atol=1e-6)


def test_trained_gap_cnn_identity_on_mnist():
    from cnnlab import zoo
    from cnnlab.data import load_mnist

    model = zoo.load("gap_cnn")
    (_, _), (x_test, y_test) = load_mnist()
    digits = x_test[:50]
    scores = class_scores(model, digits)
    log_p = np.log(np.clip(model.predict(digits, verbose=0), 1e-30, 1))
    # Compare where both are well conditioned: the top three classes of each digit.
    top = np.argsort(-scores, axis=1)[:, :3]
    rows = np.arange(50)[:, None]
    np.testing.assert_allclose(scores[rows, top] - scores[rows, top[:, :1]],
                               log_p[rows, top] - log_p[rows, top[:, :1]], atol=1e-3)
    assert (scores.argmax(axis=1) == model.predict(digits, verbose=0).argmax(axis=1)).all()
    assert class_activation_maps(model, digits[:2], y_test[:2]).shape == (2, 14, 14)


# -- positive_share ------------------------------------------------------------------------


def test_positive_share_by_hand(rng):
    from cnnlab.explain.cam import positive_share

    heatmaps = rng.standard_normal((5, 4, 4))
    regions = rng.random((5, 4, 4)) > 0.5
    want = [sum(max(v, 0) for v, r in zip(h.ravel(), g.ravel(), strict=True) if r)
            / sum(max(v, 0) for v in h.ravel()) for h, g in zip(heatmaps, regions, strict=True)]
    np.testing.assert_allclose(positive_share(heatmaps, regions), want)
    # One region for every map; weights in [0, 1]; a map with no positive value has no share.
    one = regions[0]
    np.testing.assert_allclose(positive_share(heatmaps, one),
                               positive_share(heatmaps, np.broadcast_to(one, heatmaps.shape)))
    assert positive_share(heatmaps, np.full((4, 4), 0.5)) == pytest.approx(np.full(5, 0.5))
    assert np.isnan(positive_share(-np.abs(heatmaps[:1]) - 1, one))[0]


@pytest.mark.parametrize(
    ("heatmaps", "regions", "error", "match"),
    [(np.zeros((4, 4)), np.ones((4, 4)), ValueError, r"^heatmaps must be finite maps of shape"),
     (np.full((1, 4, 4), np.nan), np.ones((4, 4)), ValueError, r"^heatmaps must be finite"),
     (np.zeros((2, 4, 4)), np.ones((3, 3)), ValueError,
      r"^regions must have shape \(2, 4, 4\) or \(4, 4\), got \(3, 3\)\.$"),
     (np.zeros((2, 4, 4)), np.full((4, 4), 2.0), ValueError, r"^regions must be booleans or "),
     (np.full((1, 4, 4), "a"), np.ones((4, 4)), TypeError, r"^heatmaps must be numbers"),
     (np.zeros((1, 4, 4)), np.full((4, 4), "a"), TypeError, r"^regions must be numbers")],
    ids=["2d", "nan", "region-shape", "region-range", "heatmap-str", "region-str"],
)
def test_positive_share_rejects_bad_input(heatmaps, regions, error, match):
    from cnnlab.explain.cam import positive_share

    with pytest.raises(error, match=match):
        positive_share(heatmaps, regions)
