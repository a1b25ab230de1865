"""Tests for cnnlab.explain.occlusion: batched maps against the loop and hand-made occlusions."""

import numpy as np
import pytest

import cnnlab.data
import cnnlab.explain.occlusion as occlusion_module
from cnnlab import zoo
from cnnlab.explain.occlusion import occlusion, occlusion_loop, patch_corners, upsample
from cnnlab.features import feature_maps


@pytest.fixture
def model(dense_model):
    """The session's tiny_dense_cnn (conftest): occlusion only reads the model."""
    return dense_model


@pytest.fixture
def images(rng):
    return rng.random((4, 12, 12, 1), dtype=np.float32)


def _assert_same(got, want, atol=1e-5):
    np.testing.assert_allclose(got.probability, want.probability, atol=atol)
    np.testing.assert_allclose(got.baseline_probability, want.baseline_probability, atol=atol)
    np.testing.assert_array_equal(got.class_index, want.class_index)
    if want.activation is None:
        assert got.activation is None and got.channel is None
    else:
        # Sums of a few hundred units: compare relative to their size as well.
        np.testing.assert_allclose(got.activation, want.activation, atol=atol, rtol=1e-6)
        np.testing.assert_array_equal(got.channel, want.channel)


@pytest.mark.parametrize(("patch", "stride"), [(3, 2), (4, 3), (1, 1), (12, 5)])
@pytest.mark.parametrize("layer", [None, "conv2"])
def test_batched_equals_loop_on_a_tiny_model(model, images, patch, stride, layer):
    labels = np.array([0, 2, 1, 2])
    batched = occlusion(model, images, labels, patch=patch, stride=stride, layer=layer)
    loop = occlusion_loop(model, images, labels, patch=patch, stride=stride, layer=layer)
    grid = (12 - patch) // stride + 1
    assert batched.probability.shape == (4, grid, grid)
    assert batched.probability.dtype == np.float32
    _assert_same(batched, loop)


def test_chunks_do_not_change_the_maps(model, images, monkeypatch):
    whole = occlusion(model, images, 1, patch=3, stride=2, layer="conv2")
    monkeypatch.setattr(occlusion_module, "_CHUNK_BYTES", 1)  # one copy per predict
    _assert_same(occlusion(model, images, 1, patch=3, stride=2, layer="conv2", batch_size=5),
                 whole, atol=1e-6)


def test_maps_are_the_model_on_hand_occluded_images(model, images):
    labels = np.array([2, 0, 1, 1])
    result = occlusion(model, images, labels, patch=5, stride=3, value=0.25, layer="conv2")
    assert result.probability.shape == (4, 3, 3)  # corners 0, 3, 6
    baseline = model.predict(images, verbose=0)
    np.testing.assert_allclose(result.baseline_probability, baseline[np.arange(4), labels],
                               atol=1e-6)
    totals = feature_maps(model, ["conv2"], images)["conv2"].sum(axis=(1, 2))   # (4, channels)
    np.testing.assert_array_equal(result.channel, totals.argmax(axis=1))
    np.testing.assert_allclose(result.baseline_activation, totals.max(axis=1), rtol=1e-5)
    for a, b in [(0, 0), (1, 2), (2, 1)]:
        hidden = images.copy()
        hidden[:, 3 * a:3 * a + 5, 3 * b:3 * b + 5] = 0.25
        want = model.predict(hidden, verbose=0)[np.arange(4), labels]
        np.testing.assert_allclose(result.probability[:, a, b], want, atol=1e-6)
        maps = feature_maps(model, ["conv2"], hidden)["conv2"]
        want = maps[np.arange(4), :, :, result.channel].sum(axis=(1, 2))
        np.testing.assert_allclose(result.activation[:, a, b], want, rtol=1e-5)


@pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
def test_predicted_is_the_most_probable_class_of_each_occluded_image(model, images, value):
    result = occlusion(model, images, 1, patch=4, stride=4, value=value)
    loop = occlusion_loop(model, images, 1, patch=4, stride=4, value=value)
    assert result.predicted.shape == (4, 3, 3) and result.predicted.dtype == np.int64
    np.testing.assert_array_equal(result.predicted, loop.predicted)
    for a, b in [(0, 0), (2, 1)]:
        hidden = images.copy()
        hidden[:, 4 * a:4 * a + 4, 4 * b:4 * b + 4] = value
        np.testing.assert_array_equal(result.predicted[:, a, b],
                                      model.predict(hidden, verbose=0).argmax(axis=1))


def test_the_named_occluders():
    assert occlusion_module.OCCLUDERS == {"gray": 0.5, "black": 0.0, "white": 1.0}


def test_a_patch_of_the_images_own_gray_changes_nothing(model):
    gray = np.full((2, 12, 12, 1), 0.5, np.float32)
    result = occlusion(model, gray, 1, patch=4, stride=2, value=0.5, layer="conv2")
    grid = result.probability.shape
    np.testing.assert_allclose(
        result.probability, np.broadcast_to(result.baseline_probability[:, None, None], grid),
        atol=1e-6)
    np.testing.assert_allclose(
        result.activation, np.broadcast_to(result.baseline_activation[:, None, None], grid),
        rtol=1e-6)


def test_occlusion_leaves_the_model_unchanged(model, images):
    before = [w.copy() for w in model.get_weights()]
    outputs = model.predict(images, verbose=0)
    occlusion(model, images, 0, layer="conv2", patch=3)
    occlusion_loop(model, images, 0, layer=model.get_layer("conv2"), patch=6, stride=6)
    assert [layer.name for layer in model.layers] == ["conv1", "conv2", "pool", "flatten",
                                                      "dense1", "predictions"]
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(images, verbose=0), outputs)


def test_batched_equals_loop_on_the_trained_model():
    (_, _), (x_test, y_test) = cnnlab.data.load_mnist()
    trained = zoo.load("keras_example_cnn")
    batched = occlusion(trained, x_test[:2], y_test[:2], patch=7, stride=2, layer="conv2")
    loop = occlusion_loop(trained, x_test[:2], y_test[:2], patch=7, stride=2, layer="conv2")
    assert batched.probability.shape == (2, 11, 11)
    _assert_same(batched, loop)
    # The trained model is sure of both digits, and hiding part of them costs it something.
    assert (batched.baseline_probability > 0.9).all()
    assert (batched.probability.min(axis=(1, 2)) < batched.baseline_probability).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"patch": 13}, ValueError, r"patch \(13\) is larger than the image \(12 x 12\)"),
     ({"patch": 0}, ValueError, r"patch must be at least 1, got 0"),
     ({"patch": 2.0}, TypeError, r"patch must be an int"),
     ({"stride": 0}, ValueError, r"stride must be at least 1, got 0"),
     ({"value": 1.5}, ValueError, r"value \(the patch's gray level\) must be in \[0, 1\], got 1.5"),
     ({"value": -0.1}, ValueError, r"value .* must be in \[0, 1\]"),
     ({"value": "gray"}, TypeError, r"value \(the patch's gray level\) must be a number, got str"),
     ({"class_index": 3}, ValueError, r"class_index must be in 0\.\.2, got 3"),
     ({"class_index": -1}, ValueError, r"class_index must be at least 0"),
     ({"class_index": np.array([0, 1])}, ValueError,
      r"class_index must be an int or have shape \(4,\)"),
     ({"class_index": np.array([0, 1, 2, 3])}, ValueError, r"class_index must be in 0\.\.2"),
     ({"class_index": np.zeros(4)}, TypeError, r"class_index must be integers"),
     ({"layer": "nope"}, ValueError, r"unknown layer 'nope'"),
     ({"layer": "pool"}, ValueError, r"layer must be a Conv2D layer, got 'pool' \(MaxPooling2D\)"),
     ({"layer": "predictions"}, ValueError, r"layer must be a Conv2D layer"),
     ({"images": np.full((4, 12, 12, 1), np.nan, np.float32)}, ValueError, r"NaN"),
     ({"images": np.zeros((4, 12, 12), np.float32)}, ValueError, r"images must have shape"),
     ({"images": np.zeros((4, 10, 10, 1), np.float32)}, ValueError,
      r"images must have shape \(N, 12, 12, 1\) for model 'tiny_dense', got \(4, 10, 10, 1\)"),
     ({"images": np.full((4, 12, 12, 1), 2.0, np.float32)}, ValueError, r"in \[0, 1\]"),
     ({"batch_size": 0}, ValueError, r"batch_size must be at least 1")],
)
@pytest.mark.parametrize("function", [occlusion, occlusion_loop], ids=["batched", "loop"])
def test_occlusion_rejects_bad_input(model, images, function, kwargs, error, match):
    arguments = {"images": images, "class_index": 0, **kwargs}
    with pytest.raises(error, match=match):
        function(model, **arguments)


def test_patch_corners_follow_the_documented_grid():
    np.testing.assert_array_equal(patch_corners(28, 7, 2), np.arange(0, 22, 2))
    np.testing.assert_array_equal(patch_corners(12, 5, 3), [0, 3, 6])
    np.testing.assert_array_equal(patch_corners(5, 5, 4), [0])
    with pytest.raises(ValueError, match=r"patch \(6\) is larger than the image \(5 pixels\)"):
        patch_corners(5, 6, 1)


@pytest.mark.parametrize(("size", "patch", "stride"), [((8, 9), 3, 2), ((7, 7), 2, 2),
                                                       ((6, 10), 4, 1)])
def test_upsample_is_the_mean_over_covering_positions(rng, size, patch, stride):
    tops, lefts = patch_corners(size[0], patch, stride), patch_corners(size[1], patch, stride)
    maps = rng.random((2, len(tops), len(lefts)))
    total, count = np.zeros((2, *size)), np.zeros(size)
    for a, top in enumerate(tops):
        for b, left in enumerate(lefts):
            total[:, top:top + patch, left:left + patch] += maps[:, a, b, None, None]
            count[top:top + patch, left:left + patch] += 1
    with np.errstate(invalid="ignore"):
        want = total / count
    got = upsample(maps, size, patch, stride)
    assert got.shape == (2, *size) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6)  # NaN where no patch reaches, in both
    assert np.isnan(got).any() == (count == 0).any()


@pytest.mark.parametrize(
    ("maps", "size", "error", "match"),
    [(np.zeros((2, 3, 3)), (8, 9), ValueError, r"maps must have shape \(N, 3, 4\)"),
     (np.zeros((3, 4)), (8, 9), ValueError, r"maps must be a numeric array of shape"),
     (np.zeros((2, 3, 3)), [8, 9], TypeError, r"image_size must be a tuple")],
)
def test_upsample_rejects_bad_input(maps, size, error, match):
    with pytest.raises(error, match=match):
        upsample(maps, size, 3, 2)
