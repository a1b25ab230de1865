"""Tests for cnnlab.explain.gradcam: CAM on a GAP network, saturation, refusals."""

import keras
import numpy as np
import pytest

from cnnlab.explain.cam import class_activation_maps
from cnnlab.explain.gradcam import grad_cam, normalize_heatmaps


@pytest.fixture(scope="module")
def gap_model():
    keras.utils.set_random_seed(5)
    return keras.Sequential([
        keras.Input((12, 12, 1)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(3, activation="softmax", name="predictions"),
    ], name="tiny_gap")


@pytest.fixture
def images(rng):
    return rng.random((5, 12, 12, 1), dtype=np.float32)


@pytest.mark.parametrize("c", [0, 1, 2])
def test_on_a_gap_network_grad_cam_is_relu_cam_over_hw(gap_model, images, c):
    # d S_c / d A_k(x, y) = w_k^c / (H W), so alpha_k = w_k^c / (H W): Grad-CAM = ReLU(M_c) / (H W).
    heat = grad_cam(gap_model, images, "conv2", c)
    cam = class_activation_maps(gap_model, images, c)
    assert heat.shape == (5, 6, 6)
    np.testing.assert_allclose(heat, np.maximum(cam, 0) / 36, atol=1e-6)


def test_batched_equals_one_at_a_time(gap_model, images):
    classes = np.array([0, 2, 1, 1, 0])
    together = grad_cam(gap_model, images, "conv1", classes, score="softmax")
    for n in range(5):
        alone = grad_cam(gap_model, images[n:n + 1], "conv1", int(classes[n]), score="softmax")
        np.testing.assert_allclose(together[n], alone[0], atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 2, 5, 64])
def test_any_batch_size_gives_the_same_maps(gap_model, images, batch_size):
    classes = np.array([0, 2, 1, 1, 0])
    want = grad_cam(gap_model, images, "conv2", classes, batch_size=5)
    got = grad_cam(gap_model, images, "conv2", classes, batch_size=batch_size)
    assert got.shape == want.shape == (5, 6, 6)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_softmax_maps_vanish_at_a_saturated_output_and_logit_maps_do_not():
    from cnnlab import zoo
    from cnnlab.data import load_mnist

    model = zoo.load("keras_example_cnn")
    (_, _), (x_test, y_test) = load_mnist()
    p = model.predict(x_test[:200], verbose=0)
    saturated = np.flatnonzero(p[np.arange(200), y_test[:200]] > 1 - 1e-6)[:5]
    assert len(saturated) == 5
    digits, labels = x_test[saturated], y_test[saturated]
    soft = grad_cam(model, digits, "conv2", labels, score="softmax")
    logit = grad_cam(model, digits, "conv2", labels, score="logit")
    assert (logit.max(axis=(1, 2)) > 0).all()
    assert (soft.max(axis=(1, 2)) < 1e-4 * logit.max(axis=(1, 2))).all()


def test_model_unchanged(gap_model, images):
    before = [w.copy() for w in gap_model.get_weights()]
    n_layers = len(gap_model.layers)
    grad_cam(gap_model, images, "conv2", 1, score="softmax")
    assert len(gap_model.layers) == n_layers
    for a, b in zip(before, gap_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layer": "nope"}, ValueError, r"unknown layer 'nope'"),
        ({"layer": "pool"}, ValueError, r"layer must be a Conv2D layer, got 'pool'"),
        ({"class_index": 3}, ValueError, r"class_index must be in 0..2"),
        ({"class_index": np.array([0, 1])}, ValueError, r"class_index must be an int or have"),
        ({"class_index": np.zeros(5)}, TypeError, r"class_index must be integers"),
        ({"score": "probability"}, ValueError, r"score must be 'logit', 'softmax' or 'sigmoid'"),
        ({"images": np.full((2, 12, 12, 1), np.nan, np.float32)}, ValueError, r"NaN"),
        ({"images": np.zeros((2, 12, 12))}, ValueError, r"images must have shape"),
        ({"batch_size": 0}, ValueError, r"^batch_size must be"),
        ({"batch_size": 2.0}, TypeError, r"^batch_size must be"),
    ],
)
def test_bad_input(gap_model, images, kwargs, error, match):
    args = {"images": images, "layer": "conv2", "class_index": 0} | kwargs
    with pytest.raises(error, match=match):
        grad_cam(gap_model, **args)


# -- normalize_heatmaps, eq. (7.3) ----------------------------------------------------------


def _eq_7_3_by_hand(heatmaps):
    out = []
    for heat in np.asarray(heatmaps, dtype=np.float64):
        low, high = min(heat.ravel()), max(heat.ravel())
        out.append([[(v - low) / (high - low) if high > low else 0.0 for v in row]
                    for row in heat])
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_normalize_heatmaps_is_eq_7_3_per_map(rng, dtype):
    heatmaps = rng.random((4, 5, 6)) * 50 * np.array([1, 3, 0.1, 5])[:, None, None]
    heatmaps = heatmaps.astype(dtype)
    got = normalize_heatmaps(heatmaps)
    assert got.dtype == np.float32 and got.shape == (4, 5, 6)
    np.testing.assert_allclose(got, _eq_7_3_by_hand(heatmaps), rtol=0, atol=1e-6)
    assert (got.min(axis=(1, 2)) == 0).all() and (got.max(axis=(1, 2)) == 1).all()


def test_normalize_heatmaps_of_grad_cam_maps(gap_model, images):
    heat = grad_cam(gap_model, images, "conv2", 1)
    np.testing.assert_allclose(normalize_heatmaps(heat), _eq_7_3_by_hand(heat), atol=1e-6)


def test_normalize_heatmaps_leaves_constant_maps_at_zero(rng):
    heatmaps = np.stack([np.zeros((3, 3)), np.full((3, 3), 4.2), rng.random((3, 3)),
                         np.full((3, 3), -1.0)])
    got = normalize_heatmaps(heatmaps)
    assert np.isfinite(got).all()
    np.testing.assert_array_equal(got[[0, 1, 3]], 0)
    np.testing.assert_allclose(got[2], _eq_7_3_by_hand(heatmaps[2:3])[0], atol=1e-6)
    before = heatmaps.copy()
    normalize_heatmaps(heatmaps)
    np.testing.assert_array_equal(heatmaps, before)              # the input is not changed


@pytest.mark.parametrize(
    ("heatmaps", "error", "match"),
    [
        (np.zeros((3, 3)), ValueError, r"^heatmaps must have shape \(N, h, w\), got \(3, 3\)"),
        (np.zeros((2, 3, 3, 1)), ValueError, r"^heatmaps must have shape \(N, h, w\)"),
        (np.where(np.eye(3)[None] == 1, np.nan, 0.0), ValueError, r"^heatmaps must be finite"),
        (np.where(np.eye(3)[None] == 1, np.inf, 0.0), ValueError, r"^heatmaps must be finite"),
        (np.where(np.eye(3)[None] == 1, -np.inf, 0.0), ValueError, r"^heatmaps must be finite"),
        (np.full((1, 3, 3), "a"), TypeError, r"^heatmaps must be numeric"),
        (np.ones((1, 3, 3), dtype=bool), TypeError, r"^heatmaps must be numeric"),
        (np.ones((1, 3, 3), dtype=object), TypeError, r"^heatmaps must be numeric"),
    ],
    ids=["2d", "4d", "nan", "inf", "minus-inf", "strings", "bool", "object"],
)
def test_normalize_heatmaps_rejects_bad_input(heatmaps, error, match):
    with pytest.raises(error, match=match):
        normalize_heatmaps(heatmaps)


def test_sigmoid_outputs_before_a_softmax_layer():
    """Sakai & Takenaka's head: Dense with a sigmoid, then a Softmax layer.

    The usual map differentiates y = sigmoid(x); by the chain rule its weights are the
    logit map's times sigmoid'(x) = y (1 - y), so the maps differ by that factor.
    """
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
        keras.layers.Flatten(),
        keras.layers.Dense(5, activation="sigmoid", name="scores"),
        keras.layers.Softmax(name="predictions"),
    ])
    images = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    classes = np.array([0, 2, 4])
    logit = grad_cam(model, images, "conv1", classes, score="logit")
    sigmoid = grad_cam(model, images, "conv1", classes, score="sigmoid")
    dense = model.get_layer("scores")
    hidden = keras.Model(model.inputs[0], dense.input)(images).numpy()
    x = hidden @ dense.kernel.numpy() + dense.bias.numpy()
    y = 1 / (1 + np.exp(-x[np.arange(3), classes]))
    np.testing.assert_allclose(sigmoid, logit * (y * (1 - y))[:, None, None], rtol=1e-4,
                               atol=1e-7)
    assert logit.max() > 0
