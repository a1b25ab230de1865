"""Tests for cnnlab.checks: accepted values pass through, each mistake names its argument."""

import numpy as np
import pytest

from cnnlab import checks

# -- check_int ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "minimum"),
    [(0, 0), (1, 1), (7, 1), (-3, -5), (np.int64(4), 1), (np.int32(2), 2), (np.uint8(9), 0)],
    ids=["zero", "at-minimum", "above", "negative-minimum", "np-int64", "np-int32", "np-uint8"],
)
def test_check_int_returns_the_value_as_python_int(value, minimum):
    got = checks.check_int("count", value, minimum)
    assert type(got) is int
    assert got == int(value)


@pytest.mark.parametrize(
    ("value", "minimum", "error", "match"),
    [
        (True, 0, TypeError, r"^count must be an int, got bool True"),
        (False, 0, TypeError, r"^count must be an int, got bool False"),
        (np.bool_(True), 0, TypeError, r"^count must be an int"),
        (1.0, 0, TypeError, r"^count must be an int, got float 1\.0"),
        ("3", 0, TypeError, r"^count must be an int, got str '3'"),
        (None, 0, TypeError, r"^count must be an int, got NoneType"),
        (0, 1, ValueError, r"^count must be at least 1, got 0\."),
        (-1, 0, ValueError, r"^count must be at least 0, got -1\."),
        (np.int64(2), 3, ValueError, r"^count must be at least 3, got 2\."),
    ],
    ids=["bool-true", "bool-false", "np-bool", "float", "str", "none", "below-1", "below-0",
         "np-below"],
)
def test_check_int_rejects_bad_input(value, minimum, error, match):
    with pytest.raises(error, match=match):
        checks.check_int("count", value, minimum)


# -- check_images -------------------------------------------------------------------------


@pytest.mark.parametrize("unit_range", [False, True])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_check_images_returns_the_array_itself(rng, unit_range, dtype):
    images = rng.random((3, 5, 4, 2)).astype(dtype)
    images[0, 0, 0, 0] = 0.0
    images[-1, -1, -1, -1] = 1.0  # the ends of [0, 1] are allowed
    before = images.copy()
    assert checks.check_images(images, unit_range=unit_range) is images
    np.testing.assert_array_equal(images, before)


def test_check_images_without_unit_range_accepts_any_finite_values_and_empty(rng):
    images = 100 * rng.standard_normal((2, 3, 3, 1))
    assert images.min() < 0 and images.max() > 1
    assert checks.check_images(images) is images
    empty = np.zeros((0, 28, 28, 1), dtype=np.float32)
    assert checks.check_images(empty) is empty


_GOOD = np.full((2, 4, 4, 1), 0.5, dtype=np.float32)


def _with(value, index=(1, 2, 3, 0)):
    images = _GOOD.copy()
    images[index] = value
    return images


# Mistakes refused with and without unit_range: (id, images, error, match).
_ALWAYS_BAD = [
    ("list", _GOOD.tolist(), TypeError, r"^batch must be a numpy array, got list"),
    ("3d", _GOOD[0], ValueError,
     r"^batch must have shape \(N, H, W, C\) \(4 axes\), got shape \(4, 4, 1\)"),
    ("5d", _GOOD[..., 0, None, None], ValueError, r"^batch must have shape \(N, H, W, C\)"),
    ("int", np.ones((2, 4, 4, 1), dtype=np.int64), TypeError,
     r"^batch must be a float array, got dtype int64"),
    ("bool", np.ones((2, 4, 4, 1), dtype=bool), TypeError, r"^batch must be a float array"),
    ("nan", _with(np.nan), ValueError, r"^batch must be finite, got NaN or infinite values"),
    ("inf", _with(np.inf), ValueError, r"^batch must be finite, got NaN or infinite values"),
    ("minus-inf", _with(-np.inf), ValueError, r"^batch must be finite, got NaN or infinite values"),
]
# Refused only with unit_range=True.
_OUT_OF_UNIT_RANGE = [
    ("empty", np.zeros((0, 28, 28, 1), dtype=np.float32), ValueError,
     r"^batch is empty \(shape \(0, 28, 28, 1\)\)"),
    ("below-0", _with(-0.1), ValueError,
     r"^batch must have values in \[0, 1\], got \[-0\.1, 0\.5\]"),
    ("above-1", _with(1.1), ValueError,
     r"^batch must have values in \[0, 1\], got \[0\.5, 1\.1\]"),
    ("uint8-scale", _with(255.0), ValueError,
     r"^batch must have values in \[0, 1\], got \[0\.5, 255\]"),
]


@pytest.mark.parametrize(
    ("images", "unit_range", "error", "match"),
    [pytest.param(images, unit_range, error, match, id=f"{name}-unit{unit_range:d}")
     for name, images, error, match in _ALWAYS_BAD for unit_range in (False, True)]
    + [pytest.param(images, True, error, match, id=f"{name}-unit1")
       for name, images, error, match in _OUT_OF_UNIT_RANGE],
)
def test_check_images_rejects_bad_input(images, unit_range, error, match):
    with pytest.raises(error, match=match):
        checks.check_images(images, name="batch", unit_range=unit_range)


@pytest.mark.parametrize("images", [row[1] for row in _OUT_OF_UNIT_RANGE],
                         ids=[row[0] for row in _OUT_OF_UNIT_RANGE])
def test_check_images_without_unit_range_accepts_what_unit_range_refuses(images):
    assert checks.check_images(images, name="batch") is images


def test_check_images_default_name_is_images():
    with pytest.raises(ValueError, match=r"^images must have values in \[0, 1\]"):
        checks.check_images(_with(2.0), unit_range=True)


# -- check_labels -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.int8])
def test_check_labels_returns_the_same_values_as_int64(rng, dtype):
    values = rng.integers(0, 10, size=50)
    values[:2] = [0, 9]  # both ends of the range
    labels = values.astype(dtype)
    got = checks.check_labels(labels, 50)
    assert got.dtype == np.int64
    assert got.shape == (50,)
    np.testing.assert_array_equal(got, values)


def test_check_labels_accepts_a_list_and_an_empty_batch():
    got = checks.check_labels([3, 1, 4], 3)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [3, 1, 4])
    empty = checks.check_labels(np.zeros(0, dtype=np.int64), 0)
    assert empty.dtype == np.int64 and empty.shape == (0,)


def test_check_labels_honours_num_classes():
    np.testing.assert_array_equal(checks.check_labels([0, 2, 1], 3, num_classes=3), [0, 2, 1])
    with pytest.raises(ValueError, match=r"^labels must be in 0\.\.2, got \[0, 3\]"):
        checks.check_labels([0, 3, 1], 3, num_classes=3)


_LABELS = np.array([0, 3, 9, 5], dtype=np.int64)


@pytest.mark.parametrize(
    ("labels", "n", "error", "match"),
    [
        (_LABELS.astype(np.float32), 4, TypeError, r"^targets must be integers, got dtype "
                                                   r"float32"),
        (_LABELS.astype(bool), 4, TypeError, r"^targets must be integers, got dtype bool"),
        (["0", "3"], 2, TypeError, r"^targets must be integers"),
        (_LABELS, 5, ValueError, r"^targets must have shape \(5,\), one per image, got \(4,\)"),
        (_LABELS[:3], 4, ValueError, r"^targets must have shape \(4,\), one per image, got "
                                     r"\(3,\)"),
        (_LABELS.reshape(2, 2), 4, ValueError, r"^targets must have shape \(4,\), one per "
                                               r"image, got \(2, 2\)"),
        (_LABELS[:, None], 4, ValueError, r"^targets must have shape \(4,\)"),
        (np.array([0, 10, 2, 1]), 4, ValueError, r"^targets must be in 0\.\.9, got \[0, 10\]"),
        (np.array([0, -1, 2, 1]), 4, ValueError, r"^targets must be in 0\.\.9, got \[-1, 2\]"),
    ],
    ids=["float", "bool", "str", "too-short-for-n", "too-short", "2d", "column", "ten",
         "minus-one"],
)
def test_check_labels_rejects_bad_input(labels, n, error, match):
    with pytest.raises(error, match=match):
        checks.check_labels(labels, n, name="targets")


def test_check_class_index_broadcasts_an_int_and_keeps_arrays():
    from cnnlab.checks import check_class_index

    np.testing.assert_array_equal(check_class_index(2, 3, 5), [2, 2, 2])
    np.testing.assert_array_equal(check_class_index(np.array([0, 4, 1]), 3, 5), [0, 4, 1])


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [(5, ValueError, r"class_index must be in 0..4"), (-1, ValueError, r"at least 0"),
     (np.array([0, 1]), ValueError, r"class_index must be an int or have shape \(3,\)"),
     (np.zeros(3), TypeError, r"class_index must be integers"),
     (1.0, TypeError, r"class_index must be an int")],
)
def test_check_class_index_rejects_bad_input(value, error, match):
    from cnnlab.checks import check_class_index

    with pytest.raises(error, match=match):
        check_class_index(value, 3, 5)


# -- check_number -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, 1, 0.5, np.float32(0.25), np.int64(1), np.float64(0.0)])
def test_check_number_returns_a_float(value):
    got = checks.check_number("level", value, 0, 1)
    assert type(got) is float and got == float(value)


@pytest.mark.parametrize(
    ("value", "low", "high", "error", "match"),
    [
        (True, None, None, TypeError, r"^level must be a number, got bool True"),
        ("0.5", None, None, TypeError, r"^level must be a number, got str '0.5'"),
        (None, None, None, TypeError, r"^level must be a number, got NoneType"),
        (np.array([0.5]), None, None, TypeError, r"^level must be a number, got ndarray"),
        (float("nan"), None, None, ValueError, r"^level must be finite, got nan"),
        (float("inf"), 0, None, ValueError, r"^level must be finite, got inf"),
        (1.5, 0, 1, ValueError, r"^level must be in \[0, 1\], got 1\.5"),
        (-0.1, 0, None, ValueError, r"^level must be at least 0, got -0\.1"),
        (3, None, 2, ValueError, r"^level must be at most 2, got 3"),
    ],
    ids=["bool", "str", "none", "array", "nan", "inf", "above", "below", "above-high"],
)
def test_check_number_rejects_bad_input(value, low, high, error, match):
    with pytest.raises(error, match=match):
        checks.check_number("level", value, low, high)


# -- check_model, check_layer(s), check_model_images ----------------------------------------


def test_check_layer_finds_layers_by_name_and_object_and_kind(gap_model):
    assert checks.check_layer(gap_model, "conv2", "conv") is gap_model.get_layer("conv2")
    pool = gap_model.get_layer("pool")
    assert checks.check_layer(gap_model, pool, "spatial") is pool
    assert checks.check_layer(gap_model, "predictions") is gap_model.get_layer("predictions")
    assert checks.check_layer(gap_model, "image", "conv_or_input") is None   # the input
    assert [lay.name for lay in checks.check_layers(gap_model, ("conv1", "pool"))] == \
        ["conv1", "pool"]


def _other_layer():
    import keras

    return keras.layers.Dense(2, name="elsewhere")


@pytest.mark.parametrize(
    ("layer", "kind", "error", "match"),
    [
        ("nope", "any", ValueError, r"^unknown layer 'nope': the layers of model 'tiny_gap' "
                                    r"are \['conv1', 'pool', 'conv2', 'gap', 'predictions'\]"),
        ("nope", "conv", ValueError, r"^unknown layer 'nope': the Conv2D layers of model "
                                     r"'tiny_gap' are \['conv1', 'conv2'\]"),
        ("pool", "conv", ValueError, r"^layer must be a Conv2D layer, got 'pool' "
                                     r"\(MaxPooling2D\); the Conv2D layers"),
        ("gap", "spatial", ValueError, r"^layer must be a Conv2D or pooling layer"),
        ("predictions", "conv_or_input", ValueError, r"^layer must be a Conv2D layer or the "
                                                     r"input, got 'predictions' \(Dense\)"),
        (3, "any", TypeError, r"^layer must be a layer name \(str\) or a keras layer, got int"),
        (None, "any", TypeError, r"^layer must be a layer name \(str\) or a keras layer"),
        (_other_layer, "any", ValueError, r"^layer 'elsewhere' is not a layer of model "
                                          r"'tiny_gap'"),
        ("conv1", "dense", ValueError, r"^kind must be one of"),
    ],
    ids=["unknown", "unknown-conv", "pool-not-conv", "gap-not-spatial", "dense-not-input",
         "int", "none", "other-model", "bad-kind"],
)
def test_check_layer_rejects_bad_input(gap_model, layer, kind, error, match):
    with pytest.raises(error, match=match):
        checks.check_layer(gap_model, layer() if callable(layer) else layer, kind)


@pytest.mark.parametrize(
    ("layers", "error", "match"),
    [
        ("conv1", TypeError, r"^layers must be a list of layer names or layers, got str "
                             r"'conv1' \(for one layer: \['conv1'\]\)"),
        ([], ValueError, r"^layers is empty"),
        (["conv1", "nope"], ValueError, r"^unknown layer 'nope'"),
    ],
)
def test_check_layers_rejects_bad_input(gap_model, layers, error, match):
    with pytest.raises(error, match=match):
        checks.check_layers(gap_model, layers)


def test_check_model_rejects_what_is_not_a_built_model():
    import keras

    with pytest.raises(TypeError, match=r"^model must be a keras.Model, got NoneType\.$"):
        checks.check_model(None)
    with pytest.raises(TypeError, match=r"cnnlab.zoo.load\('gap_cnn'\)"):
        checks.check_model("gap_cnn")
    with pytest.raises(TypeError, match=r"^model must be a keras.Model, got Dense"):
        checks.check_model(keras.layers.Dense(2))
    unbuilt = keras.Sequential([keras.layers.Dense(2)], name="unbuilt")
    with pytest.raises(ValueError, match=r"^model 'unbuilt' has not been built"):
        checks.check_model(unbuilt)
    a, b = keras.Input((2,)), keras.Input((2,))
    two = keras.Model([a, b], keras.layers.Add()([a, b]))
    with pytest.raises(ValueError, match=r"^model must have one input, got 2"):
        checks.check_model(two)


def test_check_model_images_returns_float32_and_refuses_other_shapes(gap_model, rng):
    images = rng.random((2, 12, 12, 1))                               # float64
    got = checks.check_model_images(gap_model, images)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, images.astype(np.float32))
    same = images.astype(np.float32)
    assert checks.check_model_images(gap_model, same) is same          # not copied
    with pytest.raises(ValueError, match=r"^images must have shape \(N, 12, 12, 1\) for model "
                                         r"'tiny_gap', got \(2, 28, 28, 1\)"):
        checks.check_model_images(gap_model, np.zeros((2, 28, 28, 1), np.float32))
    with pytest.raises(TypeError, match=r"\(convert a tensor with .numpy\(\)\)"):
        import tensorflow as tf

        checks.check_model_images(gap_model, tf.zeros((2, 12, 12, 1)))
