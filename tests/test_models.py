"""Tests for cnnlab.models: the book's architectures, layer by layer, as their sources list them."""

import keras
import numpy as np
import pytest

from cnnlab import models

# (name, Keras class, output shape without the batch axis, parameters), as the
# Keras example's summary in the source lists them.
KERAS_EXAMPLE_TABLE = [
    ("conv1", keras.layers.Conv2D, (26, 26, 32), 3 * 3 * 1 * 32 + 32),
    ("conv2", keras.layers.Conv2D, (24, 24, 64), 3 * 3 * 32 * 64 + 64),
    ("pool", keras.layers.MaxPooling2D, (12, 12, 64), 0),
    ("dropout1", keras.layers.Dropout, (12, 12, 64), 0),
    ("flatten", keras.layers.Flatten, (9216,), 0),
    ("dense1", keras.layers.Dense, (128,), 9216 * 128 + 128),
    ("dropout2", keras.layers.Dropout, (128,), 0),
    ("predictions", keras.layers.Dense, (10,), 128 * 10 + 10),
]

GAP_TABLE = [
    ("conv1", keras.layers.Conv2D, (28, 28, 8), 3 * 3 * 1 * 8 + 8),
    ("conv2", keras.layers.Conv2D, (28, 28, 8), 3 * 3 * 8 * 8 + 8),
    ("pool", keras.layers.MaxPooling2D, (14, 14, 8), 0),
    ("conv3", keras.layers.Conv2D, (14, 14, 64), 3 * 3 * 8 * 64 + 64),
    ("conv4", keras.layers.Conv2D, (14, 14, 64), 3 * 3 * 64 * 64 + 64),
    ("conv5", keras.layers.Conv2D, (14, 14, 64), 3 * 3 * 64 * 64 + 64),
    ("gap", keras.layers.GlobalAveragePooling2D, (64,), 0),
    ("predictions", keras.layers.Dense, (10,), 64 * 10 + 10),
]

# Table 1 of Sakai & Takenaka (JSAI 2019), with the dropout of its fully connected part.
SAKAI_TABLE = [
    ("conv1", keras.layers.Conv2D, (26, 26, 32), 3 * 3 * 1 * 32 + 32),
    ("conv2", keras.layers.Conv2D, (24, 24, 64), 3 * 3 * 32 * 64 + 64),
    ("pool", keras.layers.MaxPooling2D, (12, 12, 64), 0),
    ("flatten", keras.layers.Flatten, (9216,), 0),
    ("dense1", keras.layers.Dense, (128,), 9216 * 128 + 128),
    ("dropout", keras.layers.Dropout, (128,), 0),
    ("scores", keras.layers.Dense, (10,), 128 * 10 + 10),
    ("predictions", keras.layers.Softmax, (10,), 0),
]

BUILDERS = {"keras_example_cnn": (models.keras_example_cnn, KERAS_EXAMPLE_TABLE, 1_199_882),
            "gap_cnn": (models.gap_cnn, GAP_TABLE, 79_842),
            "sakai2019_cnn": (models.sakai2019_cnn, SAKAI_TABLE, 1_199_882)}


def test_the_hand_counted_tables_add_up_to_the_sources_totals():
    # The sources' own numbers, written out, so that the tables above cannot drift.
    assert [row[3] for row in KERAS_EXAMPLE_TABLE] == [320, 18496, 0, 0, 0, 1179776, 0, 1290]
    assert sum(row[3] for row in KERAS_EXAMPLE_TABLE) == 1_199_882
    assert [row[3] for row in GAP_TABLE] == [80, 584, 0, 4672, 36928, 36928, 0, 650]
    assert sum(row[3] for row in GAP_TABLE) == 79_842


@pytest.mark.parametrize("name", list(BUILDERS))
def test_layer_table_matches_the_source(name):
    build, table, total = BUILDERS[name]
    model = build()
    assert model.name == name
    got = [(layer.name, type(layer), tuple(layer.output.shape[1:]), layer.count_params())
           for layer in model.layers]
    assert got == table
    assert model.count_params() == total
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == total
    assert model.non_trainable_weights == []
    assert tuple(model.input_shape) == (None, *models.INPUT_SHAPE)
    assert tuple(model.output_shape) == (None, models.NUM_CLASSES)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_activations_and_layer_settings(name):
    model = BUILDERS[name][0]()
    layers = {layer.name: layer for layer in model.layers}
    if name == "sakai2019_cnn":   # a sigmoid on the output units, then a softmax layer
        assert layers["scores"].activation is keras.activations.sigmoid
        assert isinstance(layers["predictions"], keras.layers.Softmax)
    else:
        assert layers["predictions"].activation is keras.activations.softmax
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) or (
                isinstance(layer, keras.layers.Dense) and name != "sakai2019_cnn"
                and layer.name != "predictions"):
            assert layer.activation is keras.activations.relu, layer.name
        if isinstance(layer, keras.layers.Conv2D):
            assert layer.kernel_size == (3, 3), layer.name
            assert layer.strides == (1, 1), layer.name
    assert layers["pool"].pool_size == (2, 2)
    assert layers["pool"].strides == (2, 2)
    if name == "keras_example_cnn":
        assert layers["dropout1"].rate == 0.25
        assert layers["dropout2"].rate == 0.5
        assert all(layers[f"conv{i}"].padding == "valid" for i in (1, 2))
    elif name == "sakai2019_cnn":
        # ReLU in the convolutions only; the paper names a sigmoid in the dense part.
        assert layers["dense1"].activation is keras.activations.sigmoid
        assert layers["dropout"].rate == 0.5
        assert all(layers[f"conv{i}"].padding == "valid" for i in (1, 2))
    else:
        assert all(layers[f"conv{i}"].padding == "same" for i in range(1, 6))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_output_is_a_probability_distribution(rng, name):
    model = BUILDERS[name][0]()
    x = rng.random((5, 28, 28, 1), dtype=np.float32)
    probabilities = keras.ops.convert_to_numpy(model(x, training=False))
    assert probabilities.shape == (5, 10)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-5)
    # The softmax of the last dense layer's logits, computed by hand (for the JSAI 2019
    # network, the softmax of the sigmoid of its output units' logits).
    last = model.get_layer("scores" if name == "sakai2019_cnn" else "predictions")
    features = keras.Model(model.inputs[0], last.input)(x, training=False)
    kernel, bias = (w.numpy() for w in last.weights)
    logits = keras.ops.convert_to_numpy(features) @ kernel + bias
    if name == "sakai2019_cnn":
        logits = 1 / (1 + np.exp(-logits))
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-6)


def test_the_mlp_baseline_is_the_keras_example_mlp(rng):
    model = models.keras_mlp()
    got = [(layer.name, type(layer), tuple(layer.output.shape[1:]), layer.count_params())
           for layer in model.layers]
    assert got == [("flatten", keras.layers.Flatten, (784,), 0),
                   ("dense1", keras.layers.Dense, (512,), 784 * 512 + 512),
                   ("dropout1", keras.layers.Dropout, (512,), 0),
                   ("dense2", keras.layers.Dense, (512,), 512 * 512 + 512),
                   ("dropout2", keras.layers.Dropout, (512,), 0),
                   ("predictions", keras.layers.Dense, (10,), 512 * 10 + 10)]
    assert model.count_params() == 669_706
    assert [model.get_layer(n).rate for n in ("dropout1", "dropout2")] == [0.2, 0.2]
    # The output is a softmax of two ReLU layers on the flattened pixels, by hand.
    x = rng.random((3, 28, 28, 1), dtype=np.float32)
    h = x.reshape(3, -1)
    for name in ("dense1", "dense2"):
        kernel, bias = (w.numpy() for w in model.get_layer(name).weights)
        h = np.maximum(h @ kernel + bias, 0)
    kernel, bias = (w.numpy() for w in model.get_layer("predictions").weights)
    logits = h @ kernel + bias
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), expected, rtol=0,
                               atol=1e-5)


def test_keras_example_inference_ignores_dropout(rng):
    model = models.keras_example_cnn()
    x = rng.random((3, 28, 28, 1), dtype=np.float32)
    first = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)), first)
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=0, atol=1e-6)


def test_gap_layer_is_the_mean_of_conv5_over_positions(rng):
    model = models.gap_cnn()
    # Bias the last convolution up so that ReLU leaves most positions non-zero.
    conv5 = model.get_layer("conv5")
    conv5.bias.assign(np.full(64, 0.3, dtype=np.float32))
    probe = keras.Model(model.inputs[0], [conv5.output, model.get_layer("gap").output])
    x = rng.random((4, 28, 28, 1), dtype=np.float32)
    maps, pooled = (keras.ops.convert_to_numpy(t) for t in probe(x))
    assert maps.shape == (4, 14, 14, 64)
    assert np.count_nonzero(maps) > maps.size // 2
    np.testing.assert_allclose(pooled, maps.mean(axis=(1, 2)), rtol=0, atol=1e-6)
    # And the prediction is the softmax of a dense layer on exactly those 64 numbers.
    kernel, bias = (w.numpy() for w in model.get_layer("predictions").weights)
    logits = pooled @ kernel + bias
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), expected, rtol=0,
                               atol=1e-6)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_two_builds_are_independent_models(rng, name):
    build = BUILDERS[name][0]
    first, second = build(), build()
    assert first is not second
    for a, b in zip(first.weights, second.weights, strict=True):
        assert a is not b
        assert a.path == b.path  # the fixed layer names: same paths in every build
    kernels = [(a.numpy(), b.numpy()) for a, b in zip(first.weights, second.weights,
                                                      strict=True) if "kernel" in a.path]
    assert all(not np.array_equal(a, b) for a, b in kernels)
    # Changing one build leaves the other alone.
    before = second.get_layer("conv1").kernel.numpy().copy()
    first.get_layer("conv1").kernel.assign(np.zeros_like(before))
    np.testing.assert_array_equal(second.get_layer("conv1").kernel.numpy(), before)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_seeded_builds_are_identical(name):
    build = BUILDERS[name][0]
    keras.utils.set_random_seed(7)
    first = [w.numpy() for w in build().weights]
    keras.utils.set_random_seed(7)
    second = [w.numpy() for w in build().weights]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


# Chapter 3's ablation: each variant's layers and parameters, counted by hand.
VARIANT_TABLES = {
    "no dropout": (dict(dropout=False), [
        ("conv1", (26, 26, 32), 320), ("conv2", (24, 24, 64), 18_496),
        ("pool", (12, 12, 64), 0), ("flatten", (9216,), 0),
        ("dense1", (128,), 9216 * 128 + 128), ("predictions", (10,), 1290)]),
    "16 and 32 channels": (dict(filters=(16, 32)), [
        ("conv1", (26, 26, 16), 9 * 16 + 16), ("conv2", (24, 24, 32), 9 * 16 * 32 + 32),
        ("pool", (12, 12, 32), 0), ("dropout1", (12, 12, 32), 0), ("flatten", (4608,), 0),
        ("dense1", (128,), 4608 * 128 + 128), ("dropout2", (128,), 0),
        ("predictions", (10,), 1290)]),
    "one convolution": (dict(filters=(32,)), [
        ("conv1", (26, 26, 32), 320), ("pool", (13, 13, 32), 0),
        ("dropout1", (13, 13, 32), 0), ("flatten", (5408,), 0),
        ("dense1", (128,), 5408 * 128 + 128), ("dropout2", (128,), 0),
        ("predictions", (10,), 1290)]),
    "three convolutions": (dict(filters=(32, 64, 64)), [
        ("conv1", (26, 26, 32), 320), ("conv2", (24, 24, 64), 18_496),
        ("conv3", (22, 22, 64), 9 * 64 * 64 + 64), ("pool", (11, 11, 64), 0),
        ("dropout1", (11, 11, 64), 0), ("flatten", (7744,), 0),
        ("dense1", (128,), 7744 * 128 + 128), ("dropout2", (128,), 0),
        ("predictions", (10,), 1290)]),
    "5x5 kernels": (dict(kernel_size=5), [
        ("conv1", (24, 24, 32), 25 * 32 + 32), ("conv2", (20, 20, 64), 25 * 32 * 64 + 64),
        ("pool", (10, 10, 64), 0), ("dropout1", (10, 10, 64), 0), ("flatten", (6400,), 0),
        ("dense1", (128,), 6400 * 128 + 128), ("dropout2", (128,), 0),
        ("predictions", (10,), 1290)]),
}


@pytest.mark.parametrize("variant", list(VARIANT_TABLES))
def test_keras_example_variants_change_one_thing(variant):
    kwargs, table = VARIANT_TABLES[variant]
    model = models.keras_example_cnn(**kwargs)
    got = [(layer.name, tuple(layer.output.shape[1:]), layer.count_params())
           for layer in model.layers]
    assert got == table
    assert model.name != "keras_example_cnn"
    assert all(layer.kernel_size == (kwargs.get("kernel_size", 3),) * 2
               for layer in model.layers if isinstance(layer, keras.layers.Conv2D))


def test_default_variant_is_the_keras_example():
    assert models.keras_example_cnn(filters=(32, 64), kernel_size=3, dropout=True).name == \
        "keras_example_cnn"


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(filters=[32, 64]), ValueError, "filters must be a tuple"),
    (dict(filters=()), ValueError, "filters must be a tuple"),
    (dict(filters=(32, 64, 64, 64, 64)), ValueError, "1 to 4"),
    (dict(filters=(32, 0)), ValueError, "positive ints"),
    (dict(filters=(32, 6.5)), ValueError, "positive ints"),
    (dict(filters=(True,)), ValueError, "positive ints"),
    (dict(kernel_size=4), ValueError, "kernel_size must be an odd int"),
    (dict(kernel_size=9), ValueError, "kernel_size must be an odd int"),
    (dict(kernel_size=3.0), ValueError, "kernel_size must be an odd int"),
    (dict(dropout=1), TypeError, "dropout must be a bool"),
])
def test_keras_example_variant_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        models.keras_example_cnn(**kwargs)


def test_multiply_adds_by_hand():
    work = models.multiply_adds(models.keras_example_cnn())
    assert work == {"conv1": 26 * 26 * 32 * 9, "conv2": 24 * 24 * 64 * 9 * 32,
                    "dense1": 9216 * 128, "predictions": 128 * 10}
    # A layer with weights costs one multiply-add per weight per output position:
    # for a dense layer that is its kernel's size, and no layer without weights counts.
    gap = models.gap_cnn()
    assert models.multiply_adds(gap)["predictions"] == 64 * 10
    assert set(models.multiply_adds(gap)) == {"conv1", "conv2", "conv3", "conv4", "conv5",
                                              "predictions"}
    assert models.multiply_adds(gap)["conv3"] == 14 * 14 * 64 * 9 * 8


@pytest.mark.parametrize("bad", [None, "keras_example_cnn", models.keras_example_cnn])
def test_multiply_adds_bad_input(bad):
    with pytest.raises(TypeError, match="model must be a built keras Model"):
        models.multiply_adds(bad)


# -- chapter 8's variants ---------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, name, table", [
    (dict(first_layer=(7, 4)), "keras_example_cnn_conv1_7x7_stride4", [
        ("conv1", (6, 6, 32), 49 * 32 + 32), ("conv2", (4, 4, 64), 18_496),
        ("pool", (2, 2, 64), 0), ("dropout1", (2, 2, 64), 0), ("flatten", (256,), 0),
        ("dense1", (128,), 256 * 128 + 128), ("dropout2", (128,), 0),
        ("predictions", (10,), 1290)]),
    (dict(dense=0), "keras_example_cnn_no_dense", [
        ("conv1", (26, 26, 32), 320), ("conv2", (24, 24, 64), 18_496),
        ("pool", (12, 12, 64), 0), ("dropout1", (12, 12, 64), 0), ("flatten", (9216,), 0),
        ("predictions", (10,), 92_170)]),
    (dict(filters=(48, 96), dense=512, dropout=False),
     "keras_example_cnn_48_96_k3_dense512_no_dropout", [
         ("conv1", (26, 26, 48), 480), ("conv2", (24, 24, 96), 9 * 48 * 96 + 96),
         ("pool", (12, 12, 96), 0), ("flatten", (13_824,), 0),
         ("dense1", (512,), 13_824 * 512 + 512), ("predictions", (10,), 5130)]),
])
def test_chapter_8_keras_variants(kwargs, name, table):
    model = models.keras_example_cnn(**kwargs)
    assert model.name == name
    assert [(layer.name, tuple(layer.output.shape[1:]), layer.count_params())
            for layer in model.layers] == table
    if "first_layer" in kwargs:
        assert model.get_layer("conv1").strides == (4, 4)
        assert model.get_layer("conv2").strides == (1, 1)


@pytest.mark.parametrize("kwargs, name, table", [
    (dict(late_filters=(64,)), "gap_cnn_64", [
        ("conv1", (28, 28, 8), 80), ("conv2", (28, 28, 8), 584), ("pool", (14, 14, 8), 0),
        ("conv3", (14, 14, 64), 9 * 8 * 64 + 64), ("gap", (64,), 0),
        ("predictions", (10,), 650)]),
    (dict(cam_head=True), "gap_cnn_cam_head", [
        ("conv1", (28, 28, 8), 80), ("conv2", (28, 28, 8), 584), ("pool", (14, 14, 8), 0),
        ("conv3", (14, 14, 64), 4672), ("conv4", (14, 14, 64), 36_928),
        ("conv5", (14, 14, 64), 36_928), ("class_maps", (14, 14, 10), 650),
        ("gap", (10,), 0), ("predictions", (10,), 0)]),
])
def test_chapter_8_gap_variants(kwargs, name, table):
    model = models.gap_cnn(**kwargs)
    assert model.name == name
    assert [(layer.name, tuple(layer.output.shape[1:]), layer.count_params())
            for layer in model.layers] == table


def test_the_cam_head_scores_are_the_means_of_its_class_maps(rng):
    model = models.gap_cnn(cam_head=True)
    images = rng.random((3, 28, 28, 1)).astype(np.float32)
    maps = keras.Model(model.inputs[0], model.get_layer("class_maps").output)(images).numpy()
    assert (maps >= 0).all()                                   # ReLU maps
    expected = np.exp(maps.mean(axis=(1, 2)))
    np.testing.assert_allclose(model(images).numpy(), expected / expected.sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("build, kwargs, error, match", [
    (models.keras_example_cnn, dict(first_layer=(7,)), ValueError, "first_layer must be"),
    (models.keras_example_cnn, dict(first_layer=[7, 2]), ValueError, "first_layer must be"),
    (models.keras_example_cnn, dict(first_layer=(13, 2)), ValueError, "kernel size 1..11"),
    (models.keras_example_cnn, dict(first_layer=(7, 5)), ValueError, "stride 1..4"),
    (models.keras_example_cnn, dict(first_layer=(11, 4), filters=(32, 64, 64)), ValueError,
     "leaves .* maps for the pool"),
    (models.keras_example_cnn, dict(dense=-1), ValueError, "dense must be an int from 0"),
    (models.keras_example_cnn, dict(dense=128.0), ValueError, "dense must be an int"),
    (models.keras_example_cnn, dict(dense=True), ValueError, "dense must be an int"),
    (models.gap_cnn, dict(late_filters=[64]), ValueError, "late_filters must be a tuple"),
    (models.gap_cnn, dict(late_filters=()), ValueError, "late_filters must be a tuple"),
    (models.gap_cnn, dict(late_filters=(64, 0)), ValueError, "positive ints"),
    (models.gap_cnn, dict(cam_head=1), TypeError, "cam_head must be a bool"),
])
def test_chapter_8_variant_bad_input(build, kwargs, error, match):
    with pytest.raises(error, match=match):
        build(**kwargs)


@pytest.mark.usefixtures("restore_global_state")
def test_seeded_networks_start_from_the_weights_of_their_layers_made_in_order():
    """Keras draws each new layer's seed from Python's generator, so a layer made and
    dropped, or made out of order, would change every later layer's starting weights."""
    from keras import layers

    from cnnlab.runtime import set_seed

    def by_hand_keras():
        return keras.Sequential([
            keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Dropout(0.25), layers.Flatten(), layers.Dense(128, activation="relu"),
            layers.Dropout(0.5), layers.Dense(10, activation="softmax")])

    def by_hand_gap():
        return keras.Sequential([
            keras.Input((28, 28, 1)), layers.Conv2D(8, 3, padding="same"),
            layers.Conv2D(8, 3, padding="same"), layers.MaxPooling2D(2),
            *(layers.Conv2D(64, 3, padding="same") for _ in range(3)),
            layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])

    for build, by_hand in ((models.keras_example_cnn, by_hand_keras),
                           (models.gap_cnn, by_hand_gap)):
        set_seed(0)
        ours = build().get_weights()
        set_seed(0)
        theirs = by_hand().get_weights()
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_global_pooling_index_finds_the_pooling_or_says_why_not():
    assert models.global_pooling_index(models.gap_cnn()) == 6
    assert models.global_pooling_index(models.gap_cnn(cam_head=True)) == 7
    with pytest.raises(ValueError, match="has Flatten layer 'flatten' before any"):
        models.global_pooling_index(models.keras_example_cnn())
    with pytest.raises(ValueError, match="must have a global pooling layer"):
        models.global_pooling_index(keras.Sequential([keras.Input((8, 8, 1)),
                                                      keras.layers.Conv2D(2, 3)]))
