"""Tests for cnnlab.receptive: receptive fields against perturbation, crop_patches by hand."""

import keras
import numpy as np
import pytest
from tiny_models import (
    tiny_branched_cnn,
    tiny_dilated_conv,
    tiny_even_functional_cnn,
    tiny_odd_chain_cnn,
)

from cnnlab import models
from cnnlab.features import feature_maps
from cnnlab.receptive import crop_patches, receptive_field, unit_patch


def _positive(model, seed=0):
    """Weights in [0.5, 1], zero biases: on inputs >= 0 every unit is a positive sum of the
    pixels it sees, so a unit changes exactly when a pixel inside its field does."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.uniform(0.5, 1.0, w.shape).astype(np.float32) if w.ndim > 1
                               else np.zeros_like(w) for w in weights])
    return model


MODELS = {
    "keras_example_cnn": (models.keras_example_cnn, ["conv1", "conv2", "pool"]),
    "gap_cnn": (models.gap_cnn, ["conv1", "conv2", "pool", "conv3", "conv5"]),
    "odd_chain": (tiny_odd_chain_cnn, ["conv1", "conv2", "pool1", "conv3", "pool2"]),
    "even_functional": (tiny_even_functional_cnn, ["conv1", "conv2", "pool"]),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_receptive_field_is_the_set_of_pixels_that_move_a_unit(name):
    build, layers = MODELS[name]
    keras.utils.set_random_seed(0)
    model = _positive(build())
    height, width = model.inputs[0].shape[1:3]
    # Image p lights pixel p alone: unit u changes from 0 exactly when p is in its field.
    one_hot = np.eye(height * width, dtype=np.float32).reshape(-1, height, width, 1)
    maps = feature_maps(model, layers, np.concatenate([np.zeros_like(one_hot[:1]), one_hot]))
    for layer in layers:
        assert not maps[layer][0].any()  # the blank image leaves every unit at zero
        moved = maps[layer][1:, ..., 0] > 0                        # (pixels, H', W')
        for i in range(moved.shape[1]):
            for j in range(moved.shape[2]):
                top, left, bottom, right = unit_patch(model, layer, i, j)
                box = np.zeros((height, width), dtype=bool)
                box[top:bottom, left:right] = True
                np.testing.assert_array_equal(moved[:, i, j].reshape(height, width), box,
                                              err_msg=f"{name} {layer} unit ({i}, {j})")


def _support(model, layer, i, j):
    """Pixels whose lighting moves unit (i, j), channel 0, of a model with positive weights."""
    height, width = model.inputs[0].shape[1:3]
    one_hot = np.eye(height * width, dtype=np.float32).reshape(-1, height, width, 1)
    return (feature_maps(model, [layer], one_hot)[layer][:, i, j, 0] > 0).reshape(height, width)


def test_a_dilated_unit_sees_only_part_of_its_bounding_box():
    keras.utils.set_random_seed(0)
    model = _positive(tiny_dilated_conv(size=9, dilation_rate=2))
    assert receptive_field(model, "conv1") == ((5, 5), (1, 1), (0, 0))
    seen = _support(model, "conv1", 1, 2)
    expected = np.zeros((9, 9), dtype=bool)
    expected[1:6:2, 2:7:2] = True  # every other pixel of the box (1, 2, 6, 7)
    np.testing.assert_array_equal(seen, expected)
    assert unit_patch(model, "conv1", 1, 2) == (1, 2, 6, 7)


@pytest.mark.parametrize(
    ("build", "layer", "expected"),
    [(models.keras_example_cnn, "conv1", ((3, 3), (1, 1), (0, 0))),
     (models.keras_example_cnn, "conv2", ((5, 5), (1, 1), (0, 0))),
     (models.keras_example_cnn, "pool", ((6, 6), (2, 2), (0, 0))),
     (models.gap_cnn, "conv1", ((3, 3), (1, 1), (-1, -1))),
     (models.gap_cnn, "conv3", ((10, 10), (2, 2), (-4, -4))),
     (tiny_even_functional_cnn, "conv1", ((4, 4), (1, 1), (-1, -1))),
     (tiny_even_functional_cnn, "pool", ((10, 10), (4, 4), (-1, -1)))],
)
def test_receptive_field_by_hand(build, layer, expected):
    model = build()
    assert receptive_field(model, layer) == expected
    assert receptive_field(model, model.get_layer(layer)) == expected
    size, stride, offset = receptive_field(model, layer)  # unpacks as (size, stride, offset)
    assert (size, stride, offset) == expected


def test_unit_patch_clips_what_hangs_over_the_border():
    model = models.gap_cnn()
    assert unit_patch(model, "conv2", 0, 0, clip=False) == (-2, -2, 3, 3)
    assert unit_patch(model, "conv2", 0, 0) == (0, 0, 3, 3)
    assert unit_patch(model, "conv2", 27, 13) == (25, 11, 28, 16)
    assert unit_patch(model, "conv2", 27, 13, clip=False) == (25, 11, 30, 16)
    assert unit_patch(models.keras_example_cnn(), "pool", 11, 3) == (22, 6, 28, 12)


@pytest.mark.parametrize(
    ("model_fn", "layer", "error", "match"),
    [(models.keras_example_cnn, "nope", ValueError, r"unknown layer 'nope'"),
     (models.keras_example_cnn, "dense1", ValueError, r"layer must be a Conv2D or pooling.*dense1"),
     (models.keras_example_cnn, "dropout1", ValueError, r"must be a Conv2D or pooling"),
     (models.keras_example_cnn, 3, TypeError,
      r"^layer must be a layer name \(str\) or a keras layer, got int 3")],
)
def test_receptive_field_rejects_bad_layers(model_fn, layer, error, match):
    with pytest.raises(error, match=match):
        receptive_field(model_fn(), layer)


def test_receptive_field_refuses_what_it_cannot_follow():
    branched = tiny_branched_cnn(size=8)  # conv1a and conv1b of the input, added, then conv2
    with pytest.raises(ValueError, match=r"layer 'add' has 2 inputs"):
        receptive_field(branched, "conv2")
    reshaped = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Flatten(name="flatten"),   # named: Keras counts
        keras.layers.Reshape((8, 8, 1)), keras.layers.Conv2D(1, 3, name="conv")])
    with pytest.raises(ValueError, match=r"cannot follow .* layer 'flatten' \(Flatten\)"):
        receptive_field(reshaped, "conv")


@pytest.mark.parametrize(("i", "j", "match"), [(26, 0, r"unit \(i, j\) must be inside"),
                                               (0, -1, r"j must be at least 0")])
def test_unit_patch_rejects_units_outside_the_layer(i, j, match):
    with pytest.raises(ValueError, match=match):
        unit_patch(models.keras_example_cnn(), "conv1", i, j)


# -- crop_patches --------------------------------------------------------------------------


def test_crop_patches_pads_with_zeros_like_a_pixel_loop(rng):
    images = rng.random((4, 6, 7, 2), dtype=np.float32) + 1  # no zeros of their own
    boxes = np.array([[-2, -1, 2, 4], [3, 4, 7, 9], [1, 1, 5, 6], [-3, 5, 1, 10]])
    patches = crop_patches(images, boxes)
    assert patches.shape == (4, 4, 5, 2)
    for n, (top, left, _, _) in enumerate(boxes):
        for y in range(4):
            for x in range(5):
                inside = 0 <= top + y < 6 and 0 <= left + x < 7
                want = images[n, top + y, left + x] if inside else np.zeros(2)
                np.testing.assert_array_equal(patches[n, y, x], want)


@pytest.mark.parametrize(
    ("boxes", "error", "match"),
    [(np.array([[0, 0, 2, 2], [0, 0, 3, 3]]), ValueError, r"boxes must all have the same size"),
     (np.array([[0, 0, 0, 2], [1, 0, 1, 2]]), ValueError, r"at least 1 x 1"),
     (np.array([[0, 0, 2, 2]]), ValueError, r"boxes must have shape \(2, 4\)"),
     (np.zeros((2, 4)), TypeError, r"boxes must be integers")],
)
def test_crop_patches_rejects_bad_boxes(rng, boxes, error, match):
    with pytest.raises(error, match=match):
        crop_patches(rng.random((2, 6, 6, 1), dtype=np.float32), boxes)
