"""Tests for cnnlab.receptive: receptive fields against perturbation, top-k against brute force."""

import keras
import numpy as np
import pytest
from tiny_models import (
    tiny_branched_cnn,
    tiny_dense_cnn,
    tiny_dilated_conv,
    tiny_even_functional_cnn,
    tiny_odd_chain_cnn,
)

import cnnlab.data
import cnnlab.features
from cnnlab import models, zoo
from cnnlab.features import feature_maps, top_activations
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


# -- top-k activating images ---------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    """conv1 (4 filters), conv2, pool, a linear 'same' conv3 (3 filters), then a dense head."""
    return tiny_dense_cnn(seed=3, size=12, conv3_filters=3, conv3_activation=None)


# Fields of the tiny model by hand: (size, stride, offset).
TINY_FIELDS = {"conv1": (3, 1, 0), "conv2": (5, 1, 0), "pool": (6, 2, 0),
               "conv3": (10, 2, -2)}


def _brute_force(model, layer, channel, images, k, field):
    maps = feature_maps(model, [layer], images)[layer][..., channel]
    best = maps.reshape(len(images), -1).max(axis=1)
    order = sorted(range(len(images)), key=lambda n: (-best[n], n))[:k]
    positions = [np.unravel_index(maps[n].argmax(), maps[n].shape) for n in order]
    size, stride, offset = field
    boxes = [(offset + i * stride, offset + j * stride, offset + i * stride + size,
              offset + j * stride + size) for i, j in positions]
    return np.array(order), best[order], np.array(positions), np.array(boxes)


@pytest.mark.parametrize(("layer", "channel"), [("conv1", 0), ("conv1", 3), ("pool", 1),
                                                ("conv3", 2)])
@pytest.mark.parametrize("chunk_bytes", [None, 1], ids=["one-chunk", "one-image-chunks"])
def test_top_activations_match_brute_force(tiny, rng, monkeypatch, layer, channel, chunk_bytes):
    if chunk_bytes is not None:
        monkeypatch.setattr(cnnlab.features, "_CHUNK_BYTES", chunk_bytes)
    images = rng.random((40, 12, 12, 1), dtype=np.float32)
    top = top_activations(tiny, layer, channel, images, k=6, batch_size=7)
    indices, values, positions, boxes = _brute_force(tiny, layer, channel, images, 6,
                                                     TINY_FIELDS[layer])
    assert (top.layer, top.channel) == (layer, channel)
    np.testing.assert_array_equal(top.indices, indices)
    np.testing.assert_allclose(top.values, values, atol=1e-6)
    np.testing.assert_array_equal(top.positions, positions)
    np.testing.assert_array_equal(top.boxes, boxes)


def test_top_activations_break_ties_by_index_and_position(tiny):
    # Blank images: every unit of every image equals relu(bias), a tie everywhere.
    top = top_activations(tiny, "conv1", 1, np.zeros((5, 12, 12, 1), np.float32), k=3)
    np.testing.assert_array_equal(top.indices, [0, 1, 2])
    np.testing.assert_array_equal(top.positions, [[0, 0]] * 3)


def test_top_activations_leave_the_model_unchanged(tiny, rng):
    before = [w.copy() for w in tiny.get_weights()]
    top_activations(tiny, "pool", 0, rng.random((4, 12, 12, 1), dtype=np.float32), k=2)
    assert len(tiny.layers) == 7
    for a, b in zip(before, tiny.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_top_activations_on_the_trained_model():
    (_, _), (x_test, _) = cnnlab.data.load_mnist()
    images, model = x_test[:500], zoo.load("keras_example_cnn")
    top = top_activations(model, "conv1", 0, images, k=9)
    indices, values, positions, boxes = _brute_force(model, "conv1", 0, images, 9, (3, 1, 0))
    np.testing.assert_array_equal(top.indices, indices)
    np.testing.assert_allclose(top.values, values, rtol=1e-6)
    np.testing.assert_array_equal(top.positions, positions)
    np.testing.assert_array_equal(top.boxes, boxes)
    patches = crop_patches(images[top.indices], top.boxes)
    assert patches.shape == (9, 3, 3, 1)
    i, j = top.positions[0]
    np.testing.assert_array_equal(patches[0], images[top.indices[0], i:i + 3, j:j + 3])


@pytest.mark.parametrize(
    ("layer", "channel", "k", "imgs", "error", "match"),
    [("nope", 0, 3, None, ValueError, r"unknown layer 'nope'"),
     ("dense1", 0, 3, None, ValueError,
      r"^layer must be a Conv2D or pooling layer \(one with feature maps\), got 'dense1'"),
     ("flatten", 0, 3, None, ValueError, r"got 'flatten' \(Flatten\)"),
     ("conv1", 4, 3, None, ValueError, r"channel must be in 0\.\.3 for layer 'conv1', got 4"),
     ("conv1", -1, 3, None, ValueError, r"channel must be at least 0"),
     ("conv1", 1.0, 3, None, TypeError, r"channel must be an int"),
     ("conv1", 0, 0, None, ValueError, r"k must be at least 1, got 0"),
     ("conv1", 0, 6, None, ValueError, r"k must be at most the number of images \(5\), got 6"),
     ("conv1", 0, 3, np.full((5, 12, 12, 1), np.nan, np.float32), ValueError, r"NaN"),
     ("conv1", 0, 3, np.zeros((5, 12, 12)), ValueError, r"images must have shape \(N, H, W, C\)"),
     ("conv1", 0, 3, np.full((5, 12, 12, 1), 2.0, np.float32), ValueError, r"in \[0, 1\]")],
)
def test_top_activations_reject_bad_input(tiny, rng, layer, channel, k, imgs, error, match):
    images = rng.random((5, 12, 12, 1), dtype=np.float32) if imgs is None else imgs
    with pytest.raises(error, match=match):
        top_activations(tiny, layer, channel, images, k=k)


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
