"""Tests for cnnlab.features: feature maps against Keras layers, shifts, relative change,
top-k activations against brute force."""

import keras
import numpy as np
import pytest
from tiny_models import tiny_cnn, tiny_dense_cnn

import cnnlab.data
import cnnlab.features
from cnnlab import zoo
from cnnlab.features import (
    feature_maps,
    relative_change,
    shift_images,
    strongest_activations,
    top_activations,
)
from cnnlab.receptive import crop_patches


@pytest.fixture(scope="module")
def model():
    """conv1 (3 filters), pool, dropout, flatten, predictions (10 classes)."""
    return tiny_cnn(seed=1, dropout=0.5)


@pytest.fixture
def images(rng):
    return rng.random((5, 12, 12, 1), dtype=np.float32)


def test_feature_maps_equal_the_layers_applied_in_turn(model, images):
    maps = feature_maps(model, ["conv1", "pool", "flatten", "predictions"], images)
    conv = keras.ops.convert_to_numpy(model.get_layer("conv1")(images))
    pooled = keras.ops.convert_to_numpy(model.get_layer("pool")(conv))
    np.testing.assert_allclose(maps["conv1"], conv, atol=1e-6)
    np.testing.assert_allclose(maps["pool"], pooled, atol=1e-6)
    np.testing.assert_allclose(maps["flatten"], pooled.reshape(5, -1), atol=1e-6)
    # Inference mode: dropout is off, so the output is the model's prediction.
    np.testing.assert_allclose(maps["predictions"], model.predict(images, verbose=0),
                               atol=1e-6)


def test_feature_maps_accepts_layer_objects_and_small_batches(model, images):
    by_name = feature_maps(model, ["conv1"], images)["conv1"]
    by_layer = feature_maps(model, [model.get_layer("conv1")], images, batch_size=2)["conv1"]
    np.testing.assert_allclose(by_layer, by_name, atol=1e-6)


def test_feature_maps_leaves_the_model_unchanged(model, images):
    before = [w.copy() for w in model.get_weights()]
    n_layers = len(model.layers)
    feature_maps(model, ["pool"], images)
    assert len(model.layers) == n_layers
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("layers", "imgs", "error", "match"),
    [
        (["nope"], None, ValueError, r"unknown layer 'nope'"),
        ([], None, ValueError, r"layers is empty"),
        ("conv1", None, TypeError,
         r"^layers must be a list of layer names or layers, got str 'conv1'"),
        ([3], None, TypeError, r"^layer must be a layer name \(str\) or a keras layer, got"),
        ([keras.layers.Dense(2, name="stranger")], None, ValueError, r"not a layer of model"),
        (["conv1"], np.zeros((2, 12, 12)), ValueError, r"images must have shape"),
        (["conv1"], np.full((1, 12, 12, 1), 2.0, np.float32), ValueError, r"images must have"),
        (["conv1"], np.zeros((1, 12, 12, 1), np.uint8), TypeError, r"images must be a float"),
    ],
)
def test_feature_maps_rejects_bad_input(model, images, layers, imgs, error, match):
    with pytest.raises(error, match=match):
        feature_maps(model, layers, images if imgs is None else imgs)


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (1, 0), (3, 0), (-2, 0), (0, 2), (2, -1)])
def test_shift_images_matches_a_pixel_loop(rng, dx, dy):
    x = rng.random((2, 6, 7, 1), dtype=np.float32)
    want = np.zeros_like(x)
    for i in range(6):
        for j in range(7):
            if 0 <= i + dy < 6 and 0 <= j + dx < 7:
                want[:, i + dy, j + dx] = x[:, i, j]
    np.testing.assert_array_equal(shift_images(x, dx=dx, dy=dy), want)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [({"dx": 7}, ValueError, r"\|dx\| must be smaller"), ({"dy": -6}, ValueError, r"\|dy\|"),
     ({"dx": 1.0}, TypeError, r"dx must be an int"), ({"dy": True}, TypeError, r"dy must be")],
)
def test_shift_images_rejects_bad_input(rng, kwargs, error, match):
    with pytest.raises(error, match=match):
        shift_images(rng.random((1, 6, 7, 1), dtype=np.float32), **kwargs)


def test_relative_change_of_many_images_equals_one_float64_sum(rng):
    before = rng.normal(size=(150, 5, 4, 3)).astype(np.float32)
    after = before + rng.normal(scale=0.5, size=before.shape).astype(np.float32)
    before[7] = 0                                               # no map: NaN
    b, a = before.reshape(150, -1).astype(np.float64), after.reshape(150, -1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.linalg.norm(b, axis=1)
        want = np.where(norm > 0, np.linalg.norm(a - b, axis=1) / norm, np.nan)
    got = relative_change(before, after)
    assert np.isnan(got[7]) and np.isnan(want[7])
    np.testing.assert_allclose(np.delete(got, 7), np.delete(want, 7), rtol=1e-12)


def test_relative_change_by_hand():
    before = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 0.0]])
    after = np.array([[3.0, 4.0], [0.0, 1.0], [1.0, 0.0]])
    change = relative_change(before, after)
    np.testing.assert_allclose(change[:2], [0.0, np.sqrt(2)])
    assert np.isnan(change[2])  # nothing to compare with


@pytest.mark.parametrize(("a", "b"), [(np.zeros((2, 3)), np.zeros((2, 4))),
                                      (np.zeros(3), np.zeros(3))])
def test_relative_change_rejects_bad_shapes(a, b):
    with pytest.raises(ValueError, match="before and after must have the same shape"):
        relative_change(a, b)


# -- kernels and orientation tuning --------------------------------------------------------


def test_kernels_are_the_layers_variables(model):
    from cnnlab.features import kernels

    weights, bias = kernels(model, "conv1")
    np.testing.assert_array_equal(weights, model.get_layer("conv1").get_weights()[0])
    np.testing.assert_array_equal(bias, model.get_layer("conv1").get_weights()[1])
    assert weights.shape == (3, 3, 1, 3)


@pytest.mark.parametrize(("layer", "error", "match"), [
    ("pool", ValueError,
     r"^layer must be a Conv2D layer, got 'pool' \(MaxPooling2D\); .*\['conv1'\]"),
    ("predictions", ValueError, r"^layer must be a Conv2D layer, got 'predictions' \(Dense\)"),
    ("nope", ValueError, r"unknown layer"),
    (1, TypeError, r"^layer must be a layer name \(str\) or a keras layer, got int 1")])
def test_kernels_rejects_bad_input(model, layer, error, match):
    from cnnlab.features import kernels

    with pytest.raises(error, match=match):
        kernels(model, layer)


def test_oriented_edges_by_hand():
    from cnnlab.features import oriented_edges

    e = oriented_edges([0, 90, 180, 270], size=5)
    np.testing.assert_array_equal(e[0, 2, :, 0], [0, 0, 0.5, 1, 1])   # bright right
    np.testing.assert_array_equal(e[1, :, 2, 0], [1, 1, 0.5, 0, 0])   # bright top
    np.testing.assert_allclose(e[2], e[0][:, ::-1])                   # mirror images
    np.testing.assert_allclose(e[3], 1 - e[1])


@pytest.mark.parametrize(("size", "error"), [(4, ValueError), (1, ValueError), (3.0, TypeError)])
def test_oriented_edges_rejects_bad_size(size, error):
    from cnnlab.features import oriented_edges

    with pytest.raises(error, match="size"):
        oriented_edges([0], size=size)


def test_orientation_tuning_of_sobel_peaks_at_its_direction():
    from cnnlab import reference
    from cnnlab.features import orientation_tuning, oriented_edges

    k = reference.classic_kernels()
    bank = np.stack([k["sobel x"], k["sobel y"]], axis=-1)[:, :, None, :]
    angles = np.arange(0, 360, 15)
    tuning = orientation_tuning(bank, angles)
    # By hand: sobel x on "bright right" = 1 + 2 + 1 (+ 0.5 * 0 on the centre column).
    np.testing.assert_allclose(tuning[angles == 0, 0], 4.0)
    np.testing.assert_allclose(tuning[angles == 90, 1], -4.0)  # sobel y: + at the bottom
    assert abs(angles[tuning[:, 0].argmax()] - 0) <= 15 or angles[tuning[:, 0].argmax()] >= 345
    assert abs(angles[tuning[:, 1].argmin()] - 90) <= 15
    np.testing.assert_allclose(tuning[0], -tuning[12], atol=1e-6)  # opposite edges, opposite sign
    # Equal to the convolution of the edge image at its centre (an independent computation).
    edges = oriented_edges(angles, size=3)
    conv = reference.conv2d(edges, bank)[:, 0, 0, :]
    np.testing.assert_allclose(tuning, conv, atol=1e-6)


def test_orientation_tuning_rejects_bad_weights():
    from cnnlab.features import orientation_tuning

    with pytest.raises(ValueError, match=r"weights must have shape \(k, k, 1, M\)"):
        orientation_tuning(np.zeros((3, 3, 2, 4)), [0])
    with pytest.raises(ValueError, match="odd k"):
        orientation_tuning(np.zeros((2, 2, 1, 4)), [0])


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


@pytest.mark.parametrize("layer", ["conv1", "pool", "conv3"])
def test_strongest_activations_are_the_maps_maxima(tiny, rng, layer):
    images = rng.random((9, 12, 12, 1), dtype=np.float32)
    got = strongest_activations(tiny, layer, images, batch_size=4)
    want = feature_maps(tiny, [layer], images)[layer].max(axis=(1, 2))
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-6)
    # Given as scores, they rank every channel as top_activations does on its own.
    for channel in range(got.shape[1]):
        alone = top_activations(tiny, layer, channel, images, k=4)
        reused = top_activations(tiny, layer, channel, images, k=4, scores=got)
        for field in ("indices", "values", "positions", "boxes"):
            np.testing.assert_array_equal(getattr(reused, field), getattr(alone, field))


@pytest.mark.parametrize(("layer", "scores", "error", "match"), [
    ("dense1", None, ValueError, r"^layer must be a Conv2D or pooling layer"),
    ("nope", None, ValueError, r"unknown layer 'nope'"),
    ("conv1", np.zeros((5, 3), np.float32), ValueError,
     r"^scores must be a float array of shape \(5, 4\) .* got float32 \(5, 3\)"),
    ("conv1", np.zeros((4, 4), np.float32), ValueError, r"^scores must be .* got float32 \(4, 4\)"),
    ("conv1", np.zeros((5, 4), np.int64), ValueError, r"^scores must be .* got int64 \(5, 4\)"),
    ("conv1", [[0.0] * 4] * 5, ValueError, r"^scores must be .* got list"),
], ids=["dense", "unknown", "channels", "images", "ints", "list"])
def test_strongest_activations_and_scores_reject_bad_input(tiny, rng, layer, scores, error,
                                                           match):
    images = rng.random((5, 12, 12, 1), dtype=np.float32)
    with pytest.raises(error, match=match):
        if scores is None:
            strongest_activations(tiny, layer, images)
        else:
            top_activations(tiny, layer, 0, images, k=2, scores=scores)


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


def test_edge_alignment_is_one_for_an_edge_difference_and_zero_for_a_blur():
    from cnnlab.features import edge_alignment, oriented_edges

    angles = np.arange(0, 360, 15)
    edges = oriented_edges(angles, size=3)[..., 0]                      # (A, 3, 3)
    # The pair of edges farthest apart, found independently of the function.
    flat = edges.reshape(len(angles), -1)
    distances = np.linalg.norm(flat[:, None] - flat[None], axis=2)
    a, b = np.unravel_index(distances.argmax(), distances.shape)
    difference = (edges[a] - edges[b])[:, :, None, None]
    blur = np.full((3, 3, 1, 1), 1 / 9)
    alignment = edge_alignment(np.concatenate([difference, 2.5 * difference, blur], axis=3),
                               angles)
    np.testing.assert_allclose(alignment, [1.0, 1.0, 0.0], atol=1e-6)
    rng = np.random.default_rng(0)
    random = edge_alignment(rng.normal(size=(3, 3, 1, 50)), angles)
    assert np.all((random >= 0) & (random <= 1 + 1e-9))


@pytest.mark.parametrize("weights, match", [
    (np.zeros((3, 3, 2, 4)), "shape"),
    (np.zeros((2, 2, 1, 4)), "shape"),
    (np.zeros((3, 3, 1, 2)), "all zero"),
])
def test_edge_alignment_bad_input(weights, match):
    from cnnlab.features import edge_alignment

    with pytest.raises(ValueError, match=match):
        edge_alignment(weights, [0, 90])


# -- compiled_outputs and in_batches ------------------------------------------------------


def test_compiled_outputs_in_batches_equal_predict_and_are_built_once(model, images):
    from cnnlab.features import compiled_outputs, in_batches

    built = []

    def outputs():
        built.append(1)
        return [model.get_layer("conv1").output, model.outputs[0]]

    function = compiled_outputs(model, ("test", "conv1"), outputs)
    assert compiled_outputs(model, ("test", "conv1"), outputs) is function and built == [1]
    conv, scores = in_batches(function, images, batch_size=2)      # batches of 2, 2 and 1
    sub = keras.Model(model.inputs, [model.get_layer("conv1").output, model.outputs[0]])
    want_conv, want_scores = sub.predict(images, verbose=0)
    np.testing.assert_allclose(conv, want_conv, atol=1e-6)
    np.testing.assert_allclose(scores, want_scores, atol=1e-6)
    # One output comes back in a list too.
    (alone,) = in_batches(compiled_outputs(model, ("test", "one"), lambda: [model.outputs[0]]),
                          images, batch_size=5)
    np.testing.assert_allclose(alone, want_scores, atol=1e-6)


@pytest.mark.parametrize(
    ("target", "outputs", "error", "match"),
    [("not a model", lambda: [], TypeError, r"model"),
     (None, "conv1", TypeError, r"outputs must be a callable that returns the tensors, got str")],
    ids=["not-model", "outputs-not-callable"])
def test_compiled_outputs_rejects_bad_input(model, target, outputs, error, match):
    from cnnlab.features import compiled_outputs

    with pytest.raises(error, match=match):
        compiled_outputs(model if target is None else target, ("bad",), outputs)


@pytest.mark.parametrize(
    ("count", "batch_size", "error", "match"),
    [(3, 0, ValueError, r"batch_size"), (3, 1.5, TypeError, r"batch_size"),
     (0, 2, ValueError, r"images is empty")],
    ids=["zero-batch", "float-batch", "no-images"])
def test_in_batches_rejects_bad_input(model, images, count, batch_size, error, match):
    from cnnlab.features import compiled_outputs, in_batches

    function = compiled_outputs(model, ("test", "one"), lambda: [model.outputs[0]])
    with pytest.raises(error, match=match):
        in_batches(function, images[:count], batch_size)


# -- frequency_bands ------------------------------------------------------------------------


def _cosine_filter(frequency, size=7, angle=0.0):
    y, x = np.mgrid[:size, :size] - size // 2
    along = x * np.cos(angle) + y * np.sin(angle)
    return np.cos(2 * np.pi * frequency * along)[:, :, None, None]


@pytest.mark.parametrize("frequency, band", [(0.08, 0), (0.25, 1), (0.45, 2)])
def test_frequency_bands_find_a_cosines_frequency(frequency, band):
    shares = cnnlab.features.frequency_bands(_cosine_filter(frequency, size=31), size=64)
    assert shares.shape == (1, 3)
    assert shares[0].sum() == pytest.approx(1.0)
    assert shares[0, band] > 0.8
    # Turning the filter does not move its energy to another band.
    turned = cnnlab.features.frequency_bands(_cosine_filter(frequency, size=31, angle=0.6), size=64)
    assert turned[0, band] > 0.7


def test_frequency_bands_of_a_constant_filter_are_undefined():
    weights = np.concatenate([np.ones((5, 5, 1, 1)), _cosine_filter(0.25, 5)], axis=3)
    shares = cnnlab.features.frequency_bands(weights)
    assert np.isnan(shares[0]).all() and np.isfinite(shares[1]).all()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(weights=np.ones((5, 5, 2, 3))), ValueError, r"shape \(kh, kw, 1, M\)"),
    (dict(weights=np.ones((5, 5, 3))), ValueError, r"shape \(kh, kw, 1, M\)"),
    (dict(edges=(0.3, 0.1)), ValueError, "edges must be a tuple of increasing"),
    (dict(edges=(0.6,)), ValueError, "edges must be a tuple of increasing"),
    (dict(edges=[0.1]), ValueError, "edges must be a tuple"),
    (dict(size=3), ValueError, "size"),
])
def test_frequency_bands_bad_input(kwargs, error, match):
    arguments = dict(weights=np.ones((5, 5, 1, 2)))
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        cnnlab.features.frequency_bands(**arguments)
