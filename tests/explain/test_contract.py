"""The contract every class-score method keeps, checked for each entry of METHODS.

A new method gets these for free: the bad-input table (one wording per mistake,
at call time), the model left unchanged, batched equal to one at a time, any
batch size equal, and finite maps of the documented shape.
"""

import hashlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlab.explain.methods import METHODS

# The layer each method is asked about on the tiny GAP model: CAM has only one, a
# pixel-space method none.
LAYER = {"cam": "conv2", "integrated_gradients": None}
NAMES = sorted(METHODS)


def _call(name, model, images, class_index=0, layer="default", **options):
    layer = LAYER.get(name, "conv2") if layer == "default" else layer
    return METHODS[name](model, images, layer, class_index, **options)


@pytest.fixture
def images(rng):
    return rng.random((5, 12, 12, 1), dtype=np.float32)


def _fingerprint(model, probe):
    """A hash of every weight, and the last layer's activation on a fixed batch."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(keras.ops.convert_to_numpy(weight).tobytes())
    return digest.hexdigest(), model.predict(probe, verbose=0)


def test_every_method_is_in_the_table():
    assert {"cam", "grad_cam", "grad_cam++", "occlusion", "integrated_gradients"} <= set(METHODS)


@pytest.mark.parametrize("name", NAMES)
def test_maps_are_finite_and_of_the_documented_shape(gap_model, images, name):
    heatmaps = _call(name, gap_model, images, np.array([0, 1, 2, 0, 1]))
    assert heatmaps.dtype == np.float32 and heatmaps.ndim == 3 and len(heatmaps) == 5
    assert np.isfinite(heatmaps).all()
    assert heatmaps.std() > 0                  # something is explained, not a constant


@pytest.mark.parametrize("name", NAMES)
def test_the_model_is_unchanged(gap_model, images, name):
    probe = images[:2].copy()
    before = _fingerprint(gap_model, probe)
    layers = list(gap_model.layers)
    _call(name, gap_model, images, 1)
    after = _fingerprint(gap_model, probe)
    assert after[0] == before[0]
    np.testing.assert_array_equal(after[1], before[1])
    assert list(gap_model.layers) == layers


@pytest.mark.parametrize("name", NAMES)
def test_batched_equals_one_at_a_time(gap_model, images, name):
    classes = np.array([0, 2, 1, 1, 0])
    together = _call(name, gap_model, images, classes)
    for n in range(len(images)):
        alone = _call(name, gap_model, images[n:n + 1], int(classes[n]))
        np.testing.assert_allclose(together[n], alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("batch_size", [1, 2, 64])
def test_any_batch_size_gives_the_same_maps(gap_model, images, name, batch_size):
    classes = np.array([0, 2, 1, 1, 0])
    want = _call(name, gap_model, images, classes, batch_size=5)
    got = _call(name, gap_model, images, classes, batch_size=batch_size)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _two_outputs():
    inputs = keras.Input((12, 12, 1))
    hidden = keras.layers.Conv2D(2, 3, activation="relu", name="conv2")(inputs)
    flat = keras.layers.GlobalAveragePooling2D()(hidden)
    return keras.Model(inputs, [keras.layers.Dense(3, name="a")(flat),
                                keras.layers.Dense(2, name="b")(flat)])


def _unbuilt():
    return keras.Sequential([keras.layers.Conv2D(2, 3, name="conv2"),
                             keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(3)])


BAD = [
    # (what, arguments changed, error, message)
    ("model None", {"model": None}, TypeError, r"^model must be a keras.Model, got NoneType"),
    ("model name", {"model": "gap_cnn"}, TypeError,
     r"^model must be a keras.Model, got str \(load a recorded one with cnnlab.zoo.load"),
    ("unbuilt model", {"model": _unbuilt}, ValueError, r"has not been built"),
    ("two outputs", {"model": _two_outputs}, ValueError, r"^model must have one output"),
    ("uint8 digits", {"images": np.zeros((2, 12, 12, 1), np.uint8)}, TypeError,
     r"^images must be a float array, got dtype uint8 \(pixels 0-255: divide by 255\)"),
    ("0-255 floats", {"images": np.full((2, 12, 12, 1), 255.0, np.float32)}, ValueError,
     r"^images must have values in \[0, 1\], got \[255, 255\]"),
    ("negative", {"images": np.full((2, 12, 12, 1), -0.5, np.float32)}, ValueError,
     r"^images must have values in \[0, 1\]"),
    ("NaN", {"images": np.full((2, 12, 12, 1), np.nan, np.float32)}, ValueError,
     r"^images must be finite, got NaN or infinite values"),
    ("inf", {"images": np.full((2, 12, 12, 1), np.inf, np.float32)}, ValueError,
     r"^images must be finite"),
    ("no channel axis", {"images": np.zeros((2, 12, 12), np.float32)}, ValueError,
     r"^images must have shape \(N, H, W, C\)"),
    ("32 x 32", {"images": np.zeros((2, 32, 32, 1), np.float32)}, ValueError,
     r"^images must have shape \(N, 12, 12, 1\) for model 'tiny_gap', got \(2, 32, 32, 1\)"),
    ("channels first", {"images": np.zeros((2, 1, 12, 12), np.float32)}, ValueError,
     r"^images must have shape \(N, 12, 12, 1\)"),
    ("RGB", {"images": np.zeros((2, 12, 12, 3), np.float32)}, ValueError,
     r"^images must have shape \(N, 12, 12, 1\)"),
    ("empty batch", {"images": np.zeros((0, 12, 12, 1), np.float32)}, ValueError,
     r"^images is empty"),
    ("tensor", {"images": tf.zeros((2, 12, 12, 1))}, TypeError,
     r"^images must be a numpy array, got EagerTensor \(convert a tensor with .numpy\(\)\)"),
    ("class too large", {"class_index": 3}, ValueError, r"^class_index must be in 0..2, got"),
    ("class negative", {"class_index": -1}, ValueError, r"^class_index must be at least 0"),
    ("class float", {"class_index": 1.0}, TypeError, r"^class_index must be an int"),
    ("class bool", {"class_index": True}, TypeError, r"^class_index must be an int"),
    ("class wrong length", {"class_index": np.array([0, 1, 2])}, ValueError,
     r"^class_index must be an int or have shape \(2,\)"),
    ("class floats", {"class_index": np.zeros(2)}, TypeError, r"^class_index must be integers"),
    ("unknown layer", {"layer": "nope"}, ValueError, r"unknown layer 'nope'"),
    ("layer number", {"layer": 3}, TypeError, r"^layer must be a layer name \(str\) or"),
    ("batch 0", {"batch_size": 0}, ValueError, r"^batch_size must be at least 1, got 0"),
    ("batch float", {"batch_size": 2.0}, TypeError, r"^batch_size must be an int"),
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("what", "change", "error", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_with_one_wording(gap_model, rng, name, what, change, error, match):
    arguments = {"model": gap_model, "images": rng.random((2, 12, 12, 1), dtype=np.float32),
                 "class_index": 0, "layer": "default"}
    options = {}
    for key, value in change.items():
        if key == "batch_size":
            options[key] = value
        else:
            arguments[key] = value() if callable(value) else value
    with pytest.raises(error, match=match):
        _call(name, arguments["model"], arguments["images"], arguments["class_index"],
              arguments["layer"], **options)


@pytest.mark.parametrize("name", ["grad_cam", "grad_cam++", "occlusion"])
def test_a_dense_layer_is_refused(gap_model, images, name):
    with pytest.raises(ValueError, match=r"^layer must be a Conv2D layer, got 'predictions' "
                                         r"\(Dense\); the Conv2D layers of model 'tiny_gap' "
                                         r"are \['conv1', 'conv2'\]"):
        _call(name, gap_model, images, 0, layer="predictions")


def test_cam_refuses_another_layer(gap_model, images):
    with pytest.raises(ValueError, match=r"^layer must be 'conv2' for CAM"):
        _call("cam", gap_model, images, 0, layer="conv1")


def test_a_pixel_method_refuses_a_layer_and_takes_the_input(gap_model, images):
    with pytest.raises(ValueError, match=r"^layer must be None or the input for integrated"):
        _call("integrated_gradients", gap_model, images, 0, layer="conv1")
    np.testing.assert_array_equal(_call("integrated_gradients", gap_model, images, 0, "image"),
                                  _call("integrated_gradients", gap_model, images, 0, None))
