"""Tests for cnnlab.explain.projections: each projection against TensorFlow autodiff.

The reference is independent of the module's explicit backward loop: a forward
pass rebuilt from the same weights (linear conv + ReLU + max-pool) in which the
ReLU's gradient is replaced with ``tf.custom_gradient``, differentiated by
``tape.gradient``. Deconvnet = autodiff with ``relu(upstream)`` at each ReLU,
guided = ``relu(upstream) * (x > 0)``, backprop = plain autodiff.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from tiny_models import tiny_dense_cnn, tiny_separate_relu_cnn, tiny_two_conv_cnn

from cnnlab import zoo
from cnnlab.checks import check_layer
from cnnlab.data import load_mnist
from cnnlab.explain import backward
from cnnlab.explain.projections import (
    RULES,
    backprop,
    cosine_matrix,
    deconvnet,
    guided_backprop,
    project,
    strongest_units,
)
from cnnlab.features import feature_maps

METHODS = {"deconvnet": deconvnet, "gradient": backprop, "guided": guided_backprop}


def _custom_relu(rule):
    """A ReLU whose backward pass is the rule's, through tf.custom_gradient."""

    @tf.custom_gradient
    def relu(x):
        def grad(upstream):
            if rule == "deconvnet":
                return tf.nn.relu(upstream)
            return tf.nn.relu(upstream) * tf.cast(x > 0, upstream.dtype)

        return tf.nn.relu(x), grad

    return relu


def _reference(model, images, last, channel, unit, rule):
    """d/dx 1/2 sum(m * a**2) by autodiff, ``a`` the output of layer ``last``."""
    relu = tf.nn.relu if rule == "gradient" else _custom_relu(rule)
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        h = x
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2D):
                h = tf.nn.conv2d(h, layer.kernel, layer.strides, layer.padding.upper())
                h = h + layer.bias
                if layer.activation is keras.activations.relu:
                    h = relu(h)
            elif isinstance(layer, (keras.layers.ReLU, keras.layers.Activation)):
                h = relu(h)
            elif isinstance(layer, keras.layers.MaxPooling2D):
                h = tf.nn.max_pool2d(h, layer.pool_size, layer.strides, layer.padding.upper())
            if layer.name == last:
                break
        a = h
        values = a.numpy()[..., channel]
        mask = np.zeros(a.shape, np.float32)
        for i in range(len(images)):
            if unit is None:
                mask[i, ..., channel] = 1
            else:
                row, col = (np.unravel_index(np.argmax(values[i]), values[i].shape)
                            if unit == "max" else unit)
                mask[i, row, col, channel] = 1
        quantity = 0.5 * tf.reduce_sum(mask * a * a)
    return tape.gradient(quantity, x).numpy(), a.numpy()


def _with_random_biases(model, seed):
    # Zero-initialised biases would make every ReLU mask depend on the kernels alone.
    rng = np.random.default_rng(seed)
    model.set_weights([w if w.ndim > 1 else rng.normal(0, 0.1, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def tiny():
    """conv1, conv2, pool, dropout, a 'same' conv3, then the dense head; biases set here."""
    model = tiny_dense_cnn(seed=5, conv2_filters=5, dropout=0.5, conv3_filters=3)
    # Seeds 5 and 5: channel 1 is active at 72-100% of the positions of every conv layer.
    return _with_random_biases(model, 5)


@pytest.fixture(scope="module")
def separate():
    """Separate ReLU layers, a linear conv, strides, overlapping 'same' max-pooling."""
    return _with_random_biases(tiny_separate_relu_cnn(seed=4, size=13, channels=2), 4)


@pytest.fixture(scope="module")
def trained():
    return zoo.load("keras_example_cnn")


@pytest.fixture(scope="module")
def digits():
    _, (x_test, _) = load_mnist()
    return x_test[:6]


def _images(shape, seed=7):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.mark.parametrize("rule", sorted(METHODS))
@pytest.mark.parametrize("unit", ["max", None, (1, 2)])
@pytest.mark.parametrize("layer", ["conv1", "conv2", "conv3"])
def test_tiny_model_projection_equals_autodiff_with_the_rule(tiny, layer, unit, rule):
    images = _images((4, 12, 12, 1))
    expected, top = _reference(tiny, images, layer, 1, unit, rule)
    got = METHODS[rule](tiny, images, layer, 1, unit=unit)
    assert got.shape == images.shape and got.dtype == np.float32
    assert np.abs(expected).max() > 1e-3  # something reached the pixels
    # The rebuilt forward pass is the model's own.
    np.testing.assert_allclose(top, feature_maps(tiny, [layer], images)[layer], atol=1e-5)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("rule", sorted(METHODS))
@pytest.mark.parametrize("unit", ["max", None])
@pytest.mark.parametrize(("layer", "last"), [("conv1", "relu1"), ("conv2", "relu2")])
def test_separate_relu_layers_strides_and_overlapping_pools(separate, layer, last, unit, rule):
    images = _images((3, 13, 13, 2))
    expected, top = _reference(separate, images, last, 1, unit, rule)
    got = METHODS[rule](separate, images, layer, 1, unit=unit)
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(top, feature_maps(separate, [last], images)[last], atol=1e-5)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("rule", sorted(METHODS))
@pytest.mark.parametrize("unit", ["max", None])
@pytest.mark.parametrize(("layer", "channel"), [("conv1", 3), ("conv2", 17)])
def test_trained_model_projection_equals_autodiff_with_the_rule(trained, digits, layer, channel,
                                                                unit, rule):
    expected, _ = _reference(trained, digits, layer, channel, unit, rule)
    got = METHODS[rule](trained, digits, layer, channel, unit=unit)
    assert np.abs(expected).max() > 1e-2
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("unit", ["max", None])
def test_backprop_equals_the_gradient_through_the_keras_layers(trained, digits, unit):
    # Independent of any rebuilt forward pass: Keras's own layers, plain autodiff.
    probe = keras.Model(trained.inputs, trained.get_layer("conv2").output)
    x = tf.constant(digits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        a = probe(x, training=False)
        mask = np.zeros(a.shape, np.float32)
        for i, (row, col) in enumerate(strongest_units(trained, digits, "conv2", 9)):
            if unit == "max":
                mask[i, row, col, 9] = 1
            else:
                mask[i, ..., 9] = 1
        quantity = 0.5 * tf.reduce_sum(mask * a * a)
    expected = tape.gradient(quantity, x).numpy()
    np.testing.assert_allclose(backprop(trained, digits, "conv2", 9, unit), expected,
                               rtol=0, atol=1e-5)


def test_the_rules_agree_on_the_first_layer_and_differ_above(trained, digits):
    # On conv1 the only ReLU is the top one, where the signal a*m is >= 0 and zero
    # wherever the unit is off: the three rules coincide. Above, they must not.
    first = [METHODS[rule](trained, digits, "conv1", 3, unit=None) for rule in sorted(METHODS)]
    np.testing.assert_allclose(first[0], first[1], atol=1e-6)
    np.testing.assert_allclose(first[0], first[2], atol=1e-6)
    deep = {rule: METHODS[rule](trained, digits, "conv2", 17, unit=None) for rule in METHODS}
    scale = np.abs(deep["gradient"]).max()
    for a, b in [("deconvnet", "gradient"), ("deconvnet", "guided"), ("gradient", "guided")]:
        assert np.abs(deep[a] - deep[b]).max() > 0.05 * scale, (a, b)


def test_project_dispatches_on_the_rule(tiny):
    images = _images((2, 12, 12, 1))
    assert set(RULES) == set(METHODS)
    for rule, method in METHODS.items():
        np.testing.assert_array_equal(project(tiny, images, "conv3", 1, rule=rule),
                                      method(tiny, images, "conv3", 1))


def test_a_single_unit_projects_inside_its_receptive_field(trained, digits):
    # conv2's unit (r, c) sees input rows r..r+4 and cols c..c+4 (two 3x3 valid convs).
    for i, (row, col) in enumerate(strongest_units(trained, digits, "conv2", 17)):
        out = deconvnet(trained, digits[i:i + 1], "conv2", 17, unit=(int(row), int(col)))
        inside = np.zeros(out.shape[1:3], bool)
        inside[row:row + 5, col:col + 5] = True
        assert np.all(out[0, ~inside] == 0)
        assert np.abs(out[0, inside]).max() > 0


def test_max_unit_is_the_strongest_activation(trained, digits):
    units = strongest_units(trained, digits, "conv2", 17)
    maps = feature_maps(trained, ["conv2"], digits)["conv2"][..., 17]
    assert units.shape == (len(digits), 2) and units.dtype == np.int64
    for i, (row, col) in enumerate(units):
        assert maps[i, row, col] == maps[i].max()
        np.testing.assert_array_equal(
            deconvnet(trained, digits[i:i + 1], "conv2", 17, unit=(int(row), int(col))),
            deconvnet(trained, digits[i:i + 1], "conv2", 17, unit="max"))


@pytest.mark.parametrize("rule", sorted(METHODS))
def test_batched_results_equal_per_image_results(trained, digits, rule):
    method = METHODS[rule]
    whole = method(trained, digits, "conv2", 5)
    single = np.concatenate([method(trained, digits[i:i + 1], "conv2", 5)
                             for i in range(len(digits))])
    small_batches = method(trained, digits, "conv2", 5, batch_size=4)
    np.testing.assert_allclose(whole, single, rtol=0, atol=1e-6)
    np.testing.assert_allclose(whole, small_batches, rtol=0, atol=1e-6)


def _state(model):
    return ([layer for layer in model.layers],
            [(layer.name, getattr(layer, "activation", None), layer.trainable)
             for layer in model.layers],
            [w.copy() for w in model.get_weights()])


@pytest.mark.parametrize("call", [
    lambda m, x: deconvnet(m, x, "conv2", 1),
    lambda m, x: backprop(m, x, "conv2", 1, unit=None),
    lambda m, x: guided_backprop(m, x, "conv1", 1, unit=(3, 4)),
    lambda m, x: strongest_units(m, x, "conv2", 1),
])
def test_the_model_is_unchanged(trained, digits, call):
    layers, attributes, weights = _state(trained)
    predictions = trained.predict(digits, verbose=0)
    call(trained, digits)
    after_layers, after_attributes, after_weights = _state(trained)
    assert after_layers == layers and after_attributes == attributes
    for a, b in zip(weights, after_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(trained.predict(digits, verbose=0), predictions)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"layer": "nope"}, ValueError, r"unknown layer 'nope'"),
        ({"layer": 3}, TypeError,
         r"layer must be a layer name \(str\) or a keras layer, got int 3"),
        ({"layer": "pool"}, ValueError,
         r"layer must be a Conv2D layer, got 'pool' \(MaxPooling2D\).*\['conv1', 'conv2'\]"),
        ({"layer": "dense1"}, ValueError,
         r"layer must be a Conv2D layer, got 'dense1' \(Dense\).*\['conv1', 'conv2'\]"),
        ({"channel": 32}, ValueError, r"channel must be in 0\.\.31 .*32 channels.*got 32"),
        ({"layer": "conv2", "channel": 64}, ValueError, r"channel must be in 0\.\.63"),
        ({"channel": -1}, ValueError, r"channel must be at least 0, got -1"),
        ({"channel": 1.0}, TypeError, r"channel must be an int, got float"),
        ({"unit": (26, 0)}, ValueError,
         r"unit must be \(row, col\) with 0 <= row < 26 and 0 <= col < 26 .*got \(26, 0\)"),
        ({"layer": "conv2", "unit": (3, 24)}, ValueError, r"0 <= col < 24 .*got \(3, 24\)"),
        ({"unit": (-1, 2)}, ValueError, r"unit must be \(row, col\)"),
        ({"unit": "min"}, TypeError, r"unit must be 'max', None or a \(row, col\) pair"),
        ({"unit": (1,)}, TypeError, r"unit must be 'max', None or a \(row, col\) pair"),
        ({"unit": (1.5, 2)}, TypeError, r"unit must be 'max', None or a \(row, col\) pair"),
        ({"images": np.full((2, 28, 28, 1), np.nan, np.float32)}, ValueError,
         r"images must be finite, got NaN"),
        ({"images": np.zeros((2, 28, 28), np.float32)}, ValueError,
         r"images must have shape \(N, H, W, C\)"),
        ({"images": np.zeros((2, 14, 14, 1), np.float32)}, ValueError,
         r"images must have shape \(N, 28, 28, 1\) for model 'keras_example_cnn', "
         r"got \(2, 14, 14, 1\)"),
        ({"images": np.full((2, 28, 28, 1), 2, np.float32)}, ValueError,
         r"images must have values in \[0, 1\]"),
        ({"images": [[0.5]]}, TypeError, r"images must be a numpy array"),
        ({"batch_size": 0}, ValueError, r"batch_size must be at least 1, got 0"),
    ],
)
@pytest.mark.parametrize("method", [deconvnet, backprop, guided_backprop])
def test_bad_arguments_are_named_in_the_error(trained, digits, method, kwargs, error, match):
    arguments = {"images": digits[:2], "layer": "conv1", "channel": 0, **kwargs}
    with pytest.raises(error, match=match):
        method(trained, **arguments)


def test_a_unit_may_be_an_array_row_of_strongest_units(trained, digits):
    units = strongest_units(trained, digits[:1], "conv2", 17)
    np.testing.assert_array_equal(deconvnet(trained, digits[:1], "conv2", 17, unit=units[0]),
                                  deconvnet(trained, digits[:1], "conv2", 17))


def test_bad_rule_and_model(trained, digits):
    with pytest.raises(ValueError, match=r"rule must be one of \['deconvnet', 'gradient'"):
        project(trained, digits, "conv1", 0, rule="backprop")
    with pytest.raises(TypeError, match=r"model must be a keras.Model, got str"):
        deconvnet("model", digits, "conv1", 0)
    unbuilt = keras.Sequential([keras.layers.Conv2D(2, 3, name="conv")], name="unbuilt")
    with pytest.raises(ValueError, match=r"model 'unbuilt' has not been built"):
        deconvnet(unbuilt, digits, "conv", 0)


@pytest.mark.parametrize(("middle", "match"), [
    (lambda: keras.layers.BatchNormalization(name="bn"),
     r"got layer 'bn' of type BatchNormalization\."),
    (lambda: keras.layers.Conv2D(3, 3, activation="tanh", name="tanh_conv"),
     r"got layer 'tanh_conv' of type Conv2D with activation 'tanh' \(not relu or linear\)"),
    (lambda: keras.layers.AveragePooling2D(2, name="avg"),
     r"got layer 'avg' of type AveragePooling2D\."),
    (lambda: keras.layers.Conv2D(3, 3, dilation_rate=2, activation="relu", name="dilated"),
     r"got layer 'dilated' of type Conv2D with dilation or groups"),
])
def test_unsupported_layers_below_the_chosen_layer(middle, match):
    model = tiny_two_conv_cnn(middle)  # conv1, middle(), conv2
    prefix = r"deconvnet works through Conv2D .* below 'conv2'; "
    with pytest.raises(ValueError, match=prefix + match):
        deconvnet(model, _images((1, 12, 12, 1)), "conv2", 0)
    # Layers above the chosen one do not matter.
    assert deconvnet(model, _images((1, 12, 12, 1)), "conv1", 0).shape == (1, 12, 12, 1)


def test_the_explicit_forward_pass_is_the_models(separate):
    images = _images((3, 13, 13, 2))
    conv = check_layer(separate, "conv2", "conv")
    top, _ = backward.forward(backward.build_stages(separate, conv, "test"), images)
    np.testing.assert_allclose(top, feature_maps(separate, ["relu2"], images)["relu2"],
                               atol=1e-5)


def test_cosine_matrix_by_hand():
    projections = np.array([[[1.0, 0.0]], [[3.0, 0.0]], [[1.0, 1.0]], [[0.0, 0.0]]])
    got = cosine_matrix(projections)
    assert got.shape == (4, 4) and got.dtype == np.float64
    np.testing.assert_allclose(got[:3, :3], [[1, 1, 2**-0.5], [1, 1, 2**-0.5],
                                             [2**-0.5, 2**-0.5, 1]], atol=1e-12)
    assert np.isnan(got[3]).all() and np.isnan(got[:, 3]).all()   # an all-zero projection


def test_no_pool_below_means_the_deconvnet_ignores_the_image(tiny, rng):
    # conv1 -> conv2 with no max-pool between: relu(W1^T relu(W2^T e)) for every image,
    # so the projections of one unit differ only by their scale (Zeiler & Fergus 2014, 2.1).
    images = rng.random((6, 12, 12, 1)).astype(np.float32)
    unit = (1, 2)
    recon = deconvnet(tiny, images, "conv2", 0, unit=unit)
    live = np.abs(recon).reshape(6, -1).max(axis=1) > 0
    cosines = cosine_matrix(recon[live])
    np.testing.assert_allclose(cosines, 1.0, atol=1e-6)


@pytest.mark.parametrize(("projections", "error", "match"), [
    (np.array(["a", "b"]), TypeError, r"^projections must be a real numeric array"),
    (np.ones(3), ValueError, r"^projections must have shape \(K, \.\.\.\).* got \(3,\)"),
    (np.ones((0, 4)), ValueError, r"^projections must have shape .* got \(0, 4\)"),
    (np.array([[1.0, np.nan]]), ValueError, r"^projections must be finite"),
], ids=["strings", "1-d", "empty", "nan"])
def test_cosine_matrix_rejects_bad_input(projections, error, match):
    with pytest.raises(error, match=match):
        cosine_matrix(projections)
