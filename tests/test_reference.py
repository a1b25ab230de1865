"""Tests for cnnlab.reference: the numpy convolutions checked against Keras and by hand."""

import math

import keras
import numpy as np
import pytest

from cnnlab import reference

CONV_FUNCTIONS = [reference.conv2d, reference.conv2d_loop]

# (H, W, kh, kw, filters): non-square images and kernels, odd and even sizes.
SHAPES = [
    (7, 9, 3, 2, 1),
    (8, 5, 2, 3, 4),
    (11, 6, 5, 1, 2),
    (5, 5, 5, 5, 3),
    (9, 10, 4, 4, 2),
]


def _keras_conv(images, kernels, bias, stride, padding):
    out = keras.ops.conv(images, kernels, strides=stride, padding=padding)
    return keras.ops.convert_to_numpy(out) + bias


def _tf_same_split(size, kernel_size, stride):
    """TensorFlow's documented 'same' rule: ceil(W/s) outputs, odd pixel after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def _conv_inputs(rng, n, h, w, kh, kw, channels, filters):
    images = rng.standard_normal((n, h, w, channels))
    kernels = rng.standard_normal((kh, kw, channels, filters))
    bias = rng.standard_normal(filters)
    return images, kernels, bias


# -- conv2d and conv2d_loop against keras.ops.conv ---------------------------------------


@pytest.mark.parametrize("fn", CONV_FUNCTIONS, ids=["conv2d", "conv2d_loop"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "{}x{}_k{}x{}_m{}".format(*s))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_matches_keras(rng, fn, shape, channels, stride, padding):
    h, w, kh, kw, filters = shape
    images, kernels, bias = _conv_inputs(rng, 2, h, w, kh, kw, channels, filters)
    expected = _keras_conv(images, kernels, bias, stride, padding)
    got = fn(images, kernels, bias, stride=stride, padding=padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("fn", CONV_FUNCTIONS, ids=["conv2d", "conv2d_loop"])
def test_conv_same_padding_allows_kernel_larger_than_image(rng, fn):
    images, kernels, bias = _conv_inputs(rng, 2, 3, 4, 5, 5, 2, 3)
    expected = _keras_conv(images, kernels, bias, 2, "same")
    np.testing.assert_allclose(fn(images, kernels, bias, stride=2, padding="same"),
                               expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("fn", CONV_FUNCTIONS, ids=["conv2d", "conv2d_loop"])
def test_conv_without_bias_is_pure_correlation(rng, fn):
    images, kernels, _ = _conv_inputs(rng, 2, 6, 7, 3, 3, 2, 2)
    expected = _keras_conv(images, kernels, 0.0, 1, "valid")
    np.testing.assert_allclose(fn(images, kernels), expected, rtol=0, atol=1e-5)


def test_conv2d_on_non_contiguous_view(rng):
    base = rng.standard_normal((3, 10, 13, 2))
    images = base[:, ::-1, 1::2, :]
    assert not images.flags.c_contiguous
    kernels = rng.standard_normal((3, 2, 2, 3))
    bias = rng.standard_normal(3)
    expected = _keras_conv(np.ascontiguousarray(images), kernels, bias, 2, "same")
    np.testing.assert_allclose(reference.conv2d(images, kernels, bias, 2, "same"), expected,
                               rtol=0, atol=1e-5)


@pytest.mark.parametrize("fn", CONV_FUNCTIONS, ids=["conv2d", "conv2d_loop"])
def test_conv_keeps_float32(rng, fn):
    images = rng.random((1, 5, 5, 1), dtype=np.float32)
    kernels = rng.random((3, 3, 1, 2), dtype=np.float32)
    assert fn(images, kernels).dtype == np.float32


@pytest.mark.parametrize(("chunk_bytes", "calls"), [(1000, 7), (3 * 1536, 3)])
def test_conv2d_chunked_equals_unchunked(rng, monkeypatch, chunk_bytes, calls):
    # 7 images of 6x5x2, 3x2 kernels, 'valid': each image's patches take
    # 4*4*3*2*2*8 = 1536 bytes, so these budgets give chunks of 1 and of 3 images.
    images, kernels, bias = _conv_inputs(rng, 7, 6, 5, 3, 2, 2, 3)
    unchunked = reference.conv2d(images, kernels, bias)
    seen = []
    real_im2col = reference.im2col

    def spy(batch, *args, **kwargs):
        seen.append(batch.shape[0])
        return real_im2col(batch, *args, **kwargs)

    monkeypatch.setattr(reference, "_CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(reference, "im2col", spy)
    chunked = reference.conv2d(images, kernels, bias)
    assert len(seen) == calls
    assert sum(seen) == 7
    np.testing.assert_allclose(chunked, unchunked, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(chunked, _keras_conv(images, kernels, bias, 1, "valid"),
                               rtol=0, atol=1e-5)


_IMAGES = np.random.default_rng(0).standard_normal((1, 5, 6, 2))
_KERNELS = np.random.default_rng(1).standard_normal((3, 3, 2, 4))
_BIAS = np.zeros(4)
_NAN_IMAGES = _IMAGES.copy()
_NAN_IMAGES[0, 2, 3, 1] = np.nan


@pytest.mark.parametrize("fn", CONV_FUNCTIONS, ids=["conv2d", "conv2d_loop"])
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"images": _IMAGES.tolist()}, TypeError, r"images must be a numpy array"),
        ({"images": _IMAGES[0]}, ValueError, r"images must have shape \(N, H, W, C\)"),
        ({"images": np.ones((1, 5, 6, 2), dtype=int)}, TypeError, r"images must be a float"),
        ({"images": _NAN_IMAGES}, ValueError, r"images contain NaN"),
        ({"kernels": _KERNELS.tolist()}, TypeError, r"kernels must be a numpy array"),
        ({"kernels": _KERNELS[..., 0]}, ValueError, r"kernels must have shape \(kh, kw, C, M\)"),
        ({"kernels": np.ones((3, 3, 3, 4))}, ValueError, r"3 input channels .* 2 channels"),
        ({"bias": np.zeros(3)}, ValueError, r"bias must have shape \(4,\)"),
        ({"bias": np.zeros((1, 4))}, ValueError, r"bias must have shape \(4,\)"),
        ({"stride": 0}, ValueError, r"stride must be at least 1"),
        ({"stride": 1.5}, TypeError, r"stride must be an int"),
        ({"stride": True}, TypeError, r"stride must be an int"),
        ({"padding": "full"}, ValueError, r"padding must be 'valid' or 'same'"),
        ({"kernels": np.ones((6, 3, 2, 4))}, ValueError,
         r"kernels of size 6x3 do not fit in images of size 5x6"),
    ],
    ids=["images-list", "images-3d", "images-int", "images-nan", "kernels-list",
         "kernels-3d", "channel-mismatch", "bias-short", "bias-2d", "stride-0",
         "stride-float", "stride-bool", "padding-full", "kernel-too-large"],
)
def test_conv_rejects_bad_input(fn, change, error, match):
    args = {"images": _IMAGES, "kernels": _KERNELS, "bias": _BIAS, "stride": 1,
            "padding": "valid", **change}
    with pytest.raises(error, match=match):
        fn(**args)


# -- conv_output_size and same_padding -------------------------------------------------


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_output_size_matches_keras(padding, stride):
    wrong = []
    for size in range(1, 10):
        for kernel_size in range(1, 6):
            if padding == "valid" and kernel_size > size:
                continue
            layer = keras.layers.Conv2D(1, (kernel_size, 1), strides=stride, padding=padding)
            expected = layer.compute_output_shape((None, size, 1, 1))[1]
            got = reference.conv_output_size(size, kernel_size, stride, padding)
            if got != expected:
                wrong.append((size, kernel_size, got, expected))
    assert wrong == []


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 1, 1, "valid"), ValueError, r"^size must be at least 1"),
        ((4, 5, 1, "valid"), ValueError, r"kernel_size \(5\) is larger than the input \(4\)"),
        ((4, 0, 1, "valid"), ValueError, r"kernel_size must be at least 1"),
        ((4, 3, 0, "valid"), ValueError, r"stride must be at least 1"),
        ((4.0, 3, 1, "valid"), TypeError, r"^size must be an int"),
        (("4", 3, 1, "valid"), TypeError, r"^size must be an int"),
        ((4, True, 1, "valid"), TypeError, r"kernel_size must be an int"),
        ((4, 3, 1.5, "valid"), TypeError, r"stride must be an int"),
        ((4, 3, 1, "full"), ValueError, r"padding must be 'valid' or 'same'"),
    ],
    ids=["size-0", "kernel-too-large", "kernel-0", "stride-0", "size-float", "size-str",
         "kernel-bool", "stride-float", "padding-full"],
)
def test_conv_output_size_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        reference.conv_output_size(*args)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_same_padding_matches_tensorflow(rng, stride):
    # A 'same' conv in TensorFlow must equal a 'valid' conv of the input padded
    # with (before, after) zeros; a wrong split shifts the output.
    wrong = []
    for size in range(1, 10):
        for kernel_size in range(1, 6):
            before, after = reference.same_padding(size, kernel_size, stride)
            if (before, after) != _tf_same_split(size, kernel_size, stride):
                wrong.append((size, kernel_size, "formula"))
            x = rng.standard_normal((1, size, 1, 1))
            kernel = rng.standard_normal((kernel_size, 1, 1, 1))
            same = keras.ops.convert_to_numpy(
                keras.ops.conv(x, kernel, strides=stride, padding="same"))
            padded = np.pad(x, ((0, 0), (before, after), (0, 0), (0, 0)))
            valid = keras.ops.convert_to_numpy(
                keras.ops.conv(padded, kernel, strides=stride, padding="valid"))
            if same.shape != valid.shape or not np.allclose(same, valid, atol=1e-6):
                wrong.append((size, kernel_size, "tensorflow"))
    assert wrong == []


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 3, 1), ValueError, r"^size must be at least 1"),
        ((4, 0, 1), ValueError, r"kernel_size must be at least 1"),
        ((4, 3, 0), ValueError, r"stride must be at least 1"),
        ((2.5, 3, 1), TypeError, r"^size must be an int"),
        ((4, 3, False), TypeError, r"stride must be an int"),
    ],
    ids=["size-0", "kernel-0", "stride-0", "size-float", "stride-bool"],
)
def test_same_padding_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        reference.same_padding(*args)


# -- pad_images ---------------------------------------------------------------------------


def test_pad_images_valid_returns_input_itself(rng):
    images = rng.standard_normal((2, 5, 4, 1))
    assert reference.pad_images(images, (3, 3), 2, "valid") is images


def test_pad_images_same_pads_with_tensorflow_split(rng):
    images = rng.standard_normal((2, 7, 6, 3))
    top, bottom = _tf_same_split(7, 4, 2)
    left, right = _tf_same_split(6, 3, 2)
    expected = np.zeros((2, 7 + top + bottom, 6 + left + right, 3))
    expected[:, top:top + 7, left:left + 6, :] = images
    np.testing.assert_array_equal(reference.pad_images(images, (4, 3), 2, "same"), expected)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"padding": "full"}, ValueError, r"padding must be 'valid' or 'same'"),
        ({"stride": 0}, ValueError, r"stride must be at least 1"),
        ({"images": np.zeros((5, 6, 1))}, ValueError, r"images must have shape"),
    ],
    ids=["padding-full", "stride-0", "images-3d"],
)
def test_pad_images_rejects_bad_input(change, error, match):
    args = {"images": np.zeros((1, 5, 6, 1)), "kernel_size": (3, 3), "stride": 1,
            "padding": "same", **change}
    with pytest.raises(error, match=match):
        reference.pad_images(**args)


# -- im2col -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "{}x{}_k{}x{}".format(*s))
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_im2col_matches_slicing_loop(rng, shape, stride, padding):
    h, w, kh, kw, _ = shape
    images = rng.standard_normal((2, h, w, 3))
    if padding == "same":
        top, bottom = _tf_same_split(h, kh, stride)
        left, right = _tf_same_split(w, kw, stride)
        padded = np.pad(images, ((0, 0), (top, bottom), (left, right), (0, 0)))
    else:
        padded = images
    out_h = (padded.shape[1] - kh) // stride + 1
    out_w = (padded.shape[2] - kw) // stride + 1
    expected = np.empty((2, out_h, out_w, kh, kw, 3))
    for n in range(2):
        for i in range(out_h):
            for j in range(out_w):
                rows = slice(i * stride, i * stride + kh)
                cols = slice(j * stride, j * stride + kw)
                expected[n, i, j] = padded[n, rows, cols, :]
    np.testing.assert_array_equal(reference.im2col(images, (kh, kw), stride, padding),
                                  expected)


def test_im2col_valid_is_a_read_only_view(rng):
    images = rng.standard_normal((2, 6, 7, 2))
    patches = reference.im2col(images, (3, 2), stride=2)
    assert np.shares_memory(patches, images)
    assert not patches.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        patches[0, 0, 0, 0, 0, 0] = 1.0
    images[0, 0, 0, 0] = 42.0
    assert patches[0, 0, 0, 0, 0, 0] == 42.0


def test_im2col_same_reads_a_padded_copy(rng):
    images = rng.standard_normal((1, 5, 5, 1))
    patches = reference.im2col(images, (3, 3), padding="same")
    assert not np.shares_memory(patches, images)
    assert not patches.flags.writeable
    # The top-left patch straddles the zero border.
    np.testing.assert_array_equal(patches[0, 0, 0, 0, :, 0], 0.0)
    np.testing.assert_array_equal(patches[0, 0, 0, 1:, 1:, 0], images[0, :2, :2, 0])


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"kernel_size": 3}, TypeError, r"kernel_size must be a pair"),
        ({"kernel_size": (3, 3, 1)}, TypeError, r"kernel_size must be a pair"),
        ({"kernel_size": (0, 3)}, ValueError, r"kernel_size\[0\] must be at least 1"),
        ({"kernel_size": (3, 2.0)}, TypeError, r"kernel_size\[1\] must be an int"),
        ({"kernel_size": (6, 3)}, ValueError, r"kernel_size \(6\) is larger than the input"),
        ({"stride": 0}, ValueError, r"stride must be at least 1"),
        ({"stride": 2.0}, TypeError, r"stride must be an int"),
        ({"padding": "full"}, ValueError, r"padding must be 'valid' or 'same'"),
        ({"images": np.zeros((5, 6, 1))}, ValueError, r"images must have shape"),
        ({"images": np.zeros((1, 5, 6, 1), dtype=np.int32)}, TypeError,
         r"images must be a float"),
    ],
    ids=["kernel-int", "kernel-triple", "kernel-0", "kernel-float", "kernel-too-large",
         "stride-0", "stride-float", "padding-full", "images-3d", "images-int"],
)
def test_im2col_rejects_bad_input(change, error, match):
    args = {"images": np.zeros((1, 5, 6, 1)), "kernel_size": (3, 3), "stride": 1,
            "padding": "valid", **change}
    with pytest.raises(error, match=match):
        reference.im2col(**args)


# -- classic_kernels ----------------------------------------------------------------------


def test_classic_kernels_names_shapes_and_fresh_copies():
    kernels = reference.classic_kernels()
    assert set(kernels) == {"identity", "edge", "blur", "gaussian blur", "sharpen",
                            "sobel x", "sobel y"}
    for name, kernel in kernels.items():
        assert kernel.shape == (3, 3), name
        assert kernel.dtype == np.float32, name
    kernels["edge"][1, 1] = 100.0
    kernels["sobel x"][0, 0] = 100.0
    again = reference.classic_kernels()
    assert again["edge"][1, 1] == -4.0
    assert again["sobel x"][0, 0] == -1.0
    assert again["sobel y"][0, 0] == -1.0


@pytest.mark.parametrize(("name", "total"), [("blur", 1.0), ("gaussian blur", 1.0),
                                             ("identity", 1.0), ("sharpen", 1.0),
                                             ("edge", 0.0), ("sobel x", 0.0),
                                             ("sobel y", 0.0)])
def test_classic_kernel_sums(name, total):
    assert reference.classic_kernels()[name].sum() == pytest.approx(total, abs=1e-6)


def test_classic_kernel_relations():
    k = reference.classic_kernels()
    np.testing.assert_array_equal(k["sobel y"], k["sobel x"].T)
    np.testing.assert_array_equal(k["sharpen"], k["identity"] - k["edge"])
    np.testing.assert_allclose(k["blur"], np.full((3, 3), 1 / 9), rtol=1e-6)
    np.testing.assert_allclose(k["gaussian blur"],
                               np.outer([1, 2, 1], [1, 2, 1]) / 16, rtol=1e-6)


@pytest.mark.parametrize("fn", CONV_FUNCTIONS, ids=["conv2d", "conv2d_loop"])
def test_identity_kernel_returns_image_with_same_padding(rng, fn):
    images = rng.standard_normal((2, 7, 5, 1)).astype(np.float32)
    identity = reference.classic_kernels()["identity"][:, :, None, None]
    np.testing.assert_array_equal(fn(images, identity, padding="same"), images)


def _ramp(axis, h=6, w=7):
    i, j = np.indices((h, w), dtype=np.float64)
    return (j if axis == "x" else i)[None, :, :, None]


@pytest.mark.parametrize(
    ("name", "axis", "value"),
    [
        # Every row of sobel x weighs (j-1, j, j+1) by (-1, 0, 1): 2 per row,
        # and the rows are weighted 1, 2, 1: 2 + 4 + 2 = 8.
        ("sobel x", "x", 8.0),
        ("sobel y", "y", 8.0),
        ("sobel x", "y", 0.0),
        ("sobel y", "x", 0.0),
        ("edge", "x", 0.0),  # the Laplacian of a linear ramp vanishes
    ],
)
def test_classic_kernels_on_ramps(name, axis, value):
    kernel = reference.classic_kernels()[name][:, :, None, None]
    ramp = _ramp(axis)
    valid = reference.conv2d(ramp, kernel)
    assert valid.shape == (1, 4, 5, 1)
    np.testing.assert_array_equal(valid, value)
    same = reference.conv2d(ramp, kernel, padding="same")
    np.testing.assert_array_equal(same[0, 1:-1, 1:-1, 0], value)


def test_blur_keeps_a_ramp_in_the_interior():
    ramp = _ramp("x")
    for name in ("blur", "gaussian blur"):
        kernel = reference.classic_kernels()[name][:, :, None, None]
        np.testing.assert_allclose(reference.conv2d(ramp, kernel)[0, ..., 0],
                                   ramp[0, 1:-1, 1:-1, 0], atol=1e-6)
