"""Tests for cnnlab.invariance: distances and probabilities against a keras sub-model and
numpy, the identity, a shift-invariant model, and bad input."""

import keras
import numpy as np
import pytest
from tiny_models import tiny_dense_cnn, tiny_gap_cnn

import cnnlab.invariance
from cnnlab.features import shift_images
from cnnlab.invariance import InvarianceCurves, invariance_curves, transform_images
from cnnlab.transforms import rotate_images, scale_images


@pytest.fixture(scope="module")
def model():
    """conv1, conv2, pool, flatten, dense1, predictions (3 classes, softmax), 12 x 12 inputs."""
    return tiny_dense_cnn(seed=11)


@pytest.fixture
def images(rng):
    """Six 'digits': random strokes in the middle of a black 12 x 12 field."""
    x = np.zeros((6, 12, 12, 1), np.float32)
    x[:, 3:9, 3:9] = rng.random((6, 6, 6, 1), dtype=np.float32)
    return x


LABELS = np.array([0, 1, 2, 0, 1, 2])


def by_hand(model, layer, images, moved):
    """||f(moved) - f(images)|| / ||f(images)|| per image, f from a keras sub-model."""
    sub = keras.Model(model.inputs[0], model.get_layer(layer).output)
    before = keras.ops.convert_to_numpy(sub(images)).reshape(len(images), -1).astype(float)
    after = keras.ops.convert_to_numpy(sub(moved)).reshape(len(images), -1).astype(float)
    return np.linalg.norm(after - before, axis=1) / np.linalg.norm(before, axis=1)


@pytest.mark.parametrize(("transform", "amounts", "move"), [
    ("shift", [-2, 0, 3], lambda x, a: shift_images(x, dx=int(a))),
    ("rotation", [0.0, 30.0, -90.0], rotate_images),
    ("scale", [0.7, 1.0, 1.4], scale_images),
])
def test_curves_equal_a_computation_by_hand(model, images, transform, amounts, move):
    curves = invariance_curves(model, images, LABELS, transform, amounts,
                               ["conv1", "dense1"], batch_size=4)
    assert isinstance(curves, InvarianceCurves) and curves.layers == ("conv1", "dense1")
    np.testing.assert_array_equal(curves.amounts, amounts)
    for k, amount in enumerate(amounts):
        moved = move(images, amount)
        probabilities = model.predict(moved, verbose=0)
        for layer in ("conv1", "dense1"):
            np.testing.assert_allclose(curves.per_image_distance[layer][k],
                                       by_hand(model, layer, images, moved), atol=1e-5)
        np.testing.assert_allclose(curves.per_image_p_true[k],
                                   probabilities[np.arange(6), LABELS], atol=1e-6)
        np.testing.assert_array_equal(curves.per_image_correct[k],
                                      probabilities.argmax(axis=1) == LABELS)
    # The summaries are the plain statistics over images.
    for layer in ("conv1", "dense1"):
        np.testing.assert_allclose(curves.distance[layer],
                                   curves.per_image_distance[layer].mean(axis=1))
        np.testing.assert_allclose(curves.spread[layer], np.percentile(
            curves.per_image_distance[layer], [25, 75], axis=1).T)
    np.testing.assert_allclose(curves.p_true, curves.per_image_p_true.mean(axis=1))
    np.testing.assert_allclose(curves.accuracy, curves.per_image_correct.mean(axis=1))


@pytest.mark.parametrize(("transform", "identity"), [("shift", 0), ("rotation", 0.0),
                                                     ("scale", 1.0)])
def test_no_change_gives_distance_zero_and_the_models_own_probability(
        model, images, transform, identity):
    curves = invariance_curves(model, images, LABELS, transform, [identity], ["conv1", "dense1"])
    for layer in ("conv1", "dense1"):
        np.testing.assert_array_equal(curves.distance[layer], [0.0])
    probabilities = model.predict(images, verbose=0)
    assert curves.p_true[0] == pytest.approx(probabilities[np.arange(6), LABELS].mean(), abs=1e-6)
    assert curves.accuracy[0] == pytest.approx((probabilities.argmax(axis=1) == LABELS).mean())


def test_a_global_average_is_invariant_to_shifts_that_keep_the_digit_in_the_frame(images):
    # 'valid' convolution, then the mean over all positions: a shift moves the maps and
    # leaves their mean alone as long as every stroke stays where three outputs see it
    # (columns 2..9 of 12). Strokes on columns 4..7, shifted by up to 2 pixels:
    images = images.copy()
    images[:, :, [3, 8]] = 0.0
    keras.utils.set_random_seed(2)
    gap_model = keras.Sequential([
        keras.Input((12, 12, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(3, activation="softmax", name="predictions"),
    ])
    curves = invariance_curves(gap_model, images, LABELS, "shift", [-2, -1, 0, 1, 2],
                               ["conv1", "gap"])
    np.testing.assert_allclose(curves.per_image_distance["gap"], 0.0, atol=1e-6)
    assert (curves.distance["conv1"][[0, 1, 3, 4]] > 0.1).all()
    np.testing.assert_allclose(curves.per_image_p_true, curves.per_image_p_true[[2] * 5],
                               atol=1e-6)


def test_images_with_all_zero_features_are_left_out_of_the_mean(model, images):
    # A black image gives conv1 all zeros (zero biases, ReLU): its relative change is NaN.
    images = images.copy()
    images[0] = 0.0
    curves = invariance_curves(model, images, LABELS, "rotation", [20.0], ["conv1"])
    assert np.isnan(curves.per_image_distance["conv1"][0, 0])
    assert curves.distance["conv1"][0] == pytest.approx(
        curves.per_image_distance["conv1"][0, 1:].mean())
    assert np.isfinite(curves.spread["conv1"]).all()


def test_chunks_of_images_give_the_same_curves(model, images, monkeypatch):
    whole = invariance_curves(model, images, LABELS, "scale", [0.8, 1.2], ["conv1", "dense1"])
    monkeypatch.setattr(cnnlab.invariance, "_CHUNK_BYTES", 1)   # one image per chunk
    pieces = invariance_curves(model, images, LABELS, "scale", [0.8, 1.2], ["conv1", "dense1"])
    for layer in ("conv1", "dense1"):
        np.testing.assert_allclose(pieces.per_image_distance[layer],
                                   whole.per_image_distance[layer], atol=1e-6)
    np.testing.assert_allclose(pieces.per_image_p_true, whole.per_image_p_true, atol=1e-6)


@pytest.mark.parametrize(("transform", "amount", "want"), [
    ("shift", 2, lambda x: shift_images(x, dx=2)),
    ("shift", -3.0, lambda x: shift_images(x, dx=-3)),
    ("rotation", 33.0, lambda x: rotate_images(x, 33.0)),
    ("scale", 1.25, lambda x: scale_images(x, 1.25)),
])
def test_transform_images_calls_the_transform_named(images, transform, amount, want):
    np.testing.assert_array_equal(transform_images(images, transform, amount), want(images))


@pytest.mark.parametrize(("transform", "amount", "error", "match"), [
    ("shear", 1.0, ValueError, r"transform must be one of \['shift', 'rotation', 'scale'\]"),
    (None, 1.0, ValueError, r"transform must be one of"),
    ("shift", 1.5, TypeError, r"dx must be an int"),
    ("shift", 12, ValueError, r"\|dx\| must be smaller than the image \(12\)"),
    ("rotation", np.inf, ValueError, r"degrees must be finite"),
    ("scale", 0.0, ValueError, r"factor must be in \[0.1, 10\]"),
])
def test_transform_images_rejects_bad_input(images, transform, amount, error, match):
    with pytest.raises(error, match=match):
        transform_images(images, transform, amount)


def test_a_model_without_probabilities_is_refused(images):
    logits = tiny_gap_cnn(size=12, activation=None)
    with pytest.raises(ValueError, match=r"model must output class probabilities"):
        invariance_curves(logits, images, LABELS, "shift", [1], ["conv1"])


GOOD = {"labels": LABELS, "transform": "shift", "amounts": [0, 1], "layers": ["conv1"],
        "batch_size": 128}


@pytest.mark.parametrize(("change", "error", "match"), [
    ({"model": "keras_example_cnn"}, TypeError, r"model must be a keras.Model, got str"),
    ({"model": keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3)])},
     ValueError, r"must have one output of class scores"),
    ({"images": np.zeros((6, 12, 12, 1), np.uint8)}, TypeError, r"images must be a float"),
    ({"images": np.full((6, 12, 12, 1), 1.5, np.float32)}, ValueError, r"values in \[0, 1\]"),
    ({"images": np.zeros((6, 10, 10, 1), np.float32)}, ValueError, r"images must have shape"),
    ({"labels": LABELS[:5]}, ValueError, r"labels must have shape \(6,\)"),
    ({"labels": LABELS + 1}, ValueError, r"labels must be in 0..2"),
    ({"labels": LABELS.astype(float)}, TypeError, r"labels must be integers"),
    ({"transform": "flip"}, ValueError, r"transform must be one of"),
    ({"amounts": []}, ValueError, r"amounts is empty"),
    ({"amounts": 3}, TypeError, r"amounts must be a list or 1-D array of numbers, got int"),
    ({"amounts": np.zeros((2, 2))}, TypeError, r"amounts must be a list or 1-D array"),
    ({"amounts": [0, 1.5]}, TypeError, r"amounts\[1\] \(a shift in whole pixels\) must be an int"),
    ({"amounts": [12]}, ValueError, r"amounts\[0\] must be smaller than the image width \(12\)"),
    ({"amounts": [-12]}, ValueError, r"amounts\[0\] \(a shift in whole pixels\) must be at "
                                     r"least -11"),
    ({"transform": "scale", "amounts": [1.0, 0.0]}, ValueError,
     r"amounts\[1\] must be in \[0.1, 10\], got 0"),
    ({"transform": "rotation", "amounts": [np.nan]}, ValueError, r"amounts\[0\] must be finite"),
    ({"transform": "rotation", "amounts": ["90"]}, TypeError, r"amounts\[0\] must be a number"),
    ({"layers": "conv1"}, TypeError, r"layers must be a list of layer names"),
    ({"layers": ["conv9"]}, ValueError, r"unknown layer 'conv9'"),
    ({"batch_size": 0}, ValueError, r"batch_size must be at least 1, got 0"),
])
def test_invariance_curves_rejects_bad_input(model, images, change, error, match):
    arguments = {"model": model, "images": images, **GOOD, **change}
    with pytest.raises(error, match=match):
        invariance_curves(**arguments)
