"""Tests for cnnlab.explain.gradcam: CAM on a GAP network, saturation, Grad-CAM++ against
nested tapes and its closed form, refusals."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiny_models import tiny_dense_cnn

from cnnlab.explain.cam import class_activation_maps
from cnnlab.explain.gradcam import grad_cam, grad_cam_plus_plus, normalize_heatmaps


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


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layer": "pool"}, ValueError, r"layer must be a Conv2D layer, got 'pool'"),
        ({"score": "probability"}, ValueError,
         r"score must be one of 'logit', 'softmax', 'sigmoid', got 'probability'"),
        ({"weighting": "grad_cam+"}, ValueError, r"^weighting must be one of \['grad_cam', "),
        ({"layer": None}, TypeError, r"^layer must be a Conv2D layer's name or the layer"),
    ],
)
# The refusals every class-score method shares are in test_contract.py.
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


# -- Grad-CAM++ (Chattopadhay et al. 2018) ---------------------------------------------------


def _grad_cam_plus_plus_by_nested_tapes(model, image, layer, c):
    """The paper's general form (its eq. 10 with Y = exp(S), eq. 7 for the weights),
    with the second and third derivatives of Y taken by nested tapes, entry by entry
    (the diagonal of the Hessian and of the third-derivative tensor), not from powers
    of the gradient. Returns the map times exp(S), as the paper defines it."""
    names = [lay.name for lay in model.layers]
    above = model.layers[names.index(layer) + 1:]
    maps = keras.Model(model.inputs[0], model.get_layer(layer).output)(image[None]).numpy()
    a = tf.Variable(maps.astype(np.float64))
    size = a.shape.num_elements()

    def exp_score(x):
        for lay in above[:-1]:
            x = tf.cast(lay(tf.cast(x, tf.float32)), tf.float64)
        head = above[-1]
        logits = tf.matmul(x, tf.cast(head.kernel, tf.float64)) + tf.cast(head.bias, tf.float64)
        return tf.exp(logits[0, c])

    with tf.GradientTape(persistent=True) as third:
        with tf.GradientTape(persistent=True) as second:
            with tf.GradientTape() as first:
                y = exp_score(a)
            g1 = tf.reshape(first.gradient(y, a), (-1,))
        hessian = tf.reshape(second.jacobian(g1, a, experimental_use_pfor=False), (size, size))
        g2 = tf.linalg.diag_part(hessian)
    g3 = tf.linalg.diag_part(tf.reshape(third.jacobian(g2, a, experimental_use_pfor=False),
                                        (size, size)))
    shape = maps.shape[1:]
    g1, g2, g3 = (t.numpy().reshape(shape) for t in (g1, g2, g3))
    total = maps[0].sum(axis=(0, 1))                                   # sum_ab A^k_ab
    denominator = 2 * g2 + total * g3
    alpha = np.divide(g2, denominator, out=np.zeros_like(g2), where=g2 != 0)
    weights = (alpha * np.maximum(g1, 0)).sum(axis=(0, 1))             # eq. (7)
    return np.maximum((weights * maps[0]).sum(axis=-1), 0), float(y.numpy())


@pytest.fixture(scope="module")
def small_dense_model():
    """Like the tiny dense CNN, but conv2 has 3 x 3 x 3 = 27 units: the nested tapes take
    one backward pass per unit and order."""
    return tiny_dense_cnn(seed=11, size=7, conv2_filters=3)


@pytest.mark.parametrize("c", [0, 2])
def test_grad_cam_plus_plus_equals_nested_tapes(small_dense_model, rng, c):
    model = small_dense_model
    images = rng.random((2, 7, 7, 1), dtype=np.float32)
    got = grad_cam_plus_plus(model, images, "conv2", c)
    for n in range(2):
        want, exp_score = _grad_cam_plus_plus_by_nested_tapes(model, images[n], "conv2", c)
        assert want.max() > 0
        np.testing.assert_allclose(got[n] * exp_score, want, rtol=2e-4,
                                   atol=2e-5 * want.max())


def test_grad_cam_plus_plus_closed_form_on_a_gap_network(gap_model, rng):
    # With global average pooling, g = dS/dA^k_ij = w_k / (HW) everywhere, so eq. (19) gives
    # alpha = 1 / (2 + g sum_ab A^k_ab) and w_k = HW relu(g) / (2 + g sum_ab A^k_ab).
    images = rng.random((3, 12, 12, 1), dtype=np.float32)
    maps = keras.Model(gap_model.inputs[0], gap_model.get_layer("conv2").output)(images).numpy()
    kernel = gap_model.get_layer("predictions").get_weights()[0]
    area = maps.shape[1] * maps.shape[2]
    for c in range(3):
        g = kernel[:, c] / area                                        # (K,)
        total = maps.sum(axis=(1, 2))                                  # (N, K)
        weights = area * np.maximum(g, 0) / (2 + g * total)
        want = np.maximum(np.einsum("nk,nijk->nij", weights, maps), 0)
        np.testing.assert_allclose(grad_cam_plus_plus(gap_model, images, "conv2", c), want,
                                   rtol=1e-5, atol=1e-6)


def test_grad_cam_plus_plus_differs_from_grad_cam(dense_model, rng):
    images = rng.random((4, 12, 12, 1), dtype=np.float32)
    plain = normalize_heatmaps(grad_cam(dense_model, images, "conv2", 1))
    plus = normalize_heatmaps(grad_cam_plus_plus(dense_model, images, "conv2", 1))
    assert np.abs(plain - plus).max() > 0.05
