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
        ({"images": _NAN_IMAGES}, ValueError, r"images must be finite, got NaN"),
        ({"kernels": _KERNELS.tolist()}, TypeError, r"kernels must be a numpy array"),
        ({"kernels": _KERNELS[..., 0]}, ValueError, r"kernels must have shape \(kh, kw, C, M\)"),
        ({"kernels": np.ones((3, 3, 3, 4))}, ValueError, r"3 input channels .* 2 channels"),
        ({"kernels": np.where(_KERNELS == _KERNELS.max(), np.nan, _KERNELS)}, ValueError,
         r"^kernels must be finite, got NaN or infinite values"),
        ({"kernels": _KERNELS.astype(object)}, TypeError, r"^kernels must be numeric"),
        ({"bias": np.zeros(3)}, ValueError, r"bias must have shape \(4,\)"),
        ({"bias": np.zeros((1, 4))}, ValueError, r"bias must have shape \(4,\)"),
        ({"bias": np.array([0, np.inf, 0, 0])}, ValueError, r"^bias must be finite numbers"),
        ({"stride": 0}, ValueError, r"stride must be at least 1"),
        ({"stride": 1.5}, TypeError, r"stride must be an int"),
        ({"stride": True}, TypeError, r"stride must be an int"),
        ({"padding": "full"}, ValueError, r"padding must be 'valid' or 'same'"),
        ({"kernels": np.ones((6, 3, 2, 4))}, ValueError,
         r"kernels of size 6x3 do not fit in images of size 5x6"),
    ],
    ids=["images-list", "images-3d", "images-int", "images-nan", "kernels-list",
         "kernels-3d", "channel-mismatch", "kernels-nan", "kernels-object", "bias-short",
         "bias-2d", "bias-inf", "stride-0",
         "stride-float", "stride-bool", "padding-full", "kernel-too-large"],
)
def test_conv_rejects_bad_input(fn, change, error, match):
    args = {"images": _IMAGES, "kernels": _KERNELS, "bias": _BIAS, "stride": 1,
            "padding": "valid", **change}
    with pytest.raises(error, match=match):
        fn(**args)


# -- window_products: one output pixel, term by term --------------------------------------


@pytest.mark.parametrize(("h", "w", "channels"), [(7, 7, 1), (8, 6, 3), (5, 9, 2)])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_window_products_sum_is_the_keras_output_pixel(rng, h, w, channels, stride, padding):
    image = rng.standard_normal((h, w, channels)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, channels)).astype(np.float32)
    bias = 0.75
    want = _keras_conv(image[None], kernel[..., None], np.array([bias]), stride, padding)[0, ..., 0]
    for row in range(want.shape[0]):
        for col in range(want.shape[1]):
            got = reference.window_products(image, kernel, row, col, bias, stride, padding)
            assert got.value == pytest.approx(float(want[row, col]), abs=1e-5)
            np.testing.assert_allclose(got.products, got.window * kernel)
            assert got.value == pytest.approx(float(got.products.sum()) + bias, abs=1e-6)


def test_window_products_reads_the_window_by_hand():
    # 0..15 in a 4x4 image; stride 2, 'valid': output (1, 1) sits at pixel (2, 2).
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    kernel = np.ones((2, 2, 1), np.float32)
    got = reference.window_products(image, kernel, 1, 1, stride=2)
    np.testing.assert_array_equal(got.window[..., 0], [[10, 11], [14, 15]])
    assert (got.top, got.left, got.value) == (2, 2, 50.0)
    # 'same' at stride 1 pads one zero row/column before: output (0, 0) overlaps it.
    edge = reference.window_products(image, np.ones((3, 3, 1), np.float32), 0, 0,
                                     padding="same")
    np.testing.assert_array_equal(edge.window[..., 0], [[0, 0, 0], [0, 0, 1], [0, 4, 5]])
    assert edge.value == 10.0


_W_IMAGE = np.zeros((5, 6, 2), np.float32)
_W_KERNEL = np.ones((3, 3, 2), np.float32)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"image": _W_IMAGE.tolist()}, TypeError, r"^image must be a numpy array, got list"),
        ({"image": _W_IMAGE[None]}, ValueError, r"^image must have shape \(H, W, C\)"),
        ({"image": _W_IMAGE.astype(int)}, TypeError, r"^image must be a float"),
        ({"kernel": _W_KERNEL.tolist()}, TypeError, r"^kernel must be a numpy array"),
        ({"kernel": _W_KERNEL[..., None]}, ValueError, r"^kernel must have shape \(kh, kw, C\)"),
        ({"kernel": np.ones((3, 3, 1))}, ValueError, r"1 input channels .* 2 channels"),
        ({"bias": np.nan}, ValueError, r"^bias must be finite"),
        ({"bias": "0"}, TypeError, r"^bias must be a number, got str"),
        ({"row": 3}, ValueError,
         r"^row must be at most 2 \(the output has 3 rows with stride 1, 'valid'\), got 3"),
        ({"col": 4, "stride": 2, "padding": "same"}, ValueError,
         r"^col must be at most 2 \(the output has 3 columns with stride 2, 'same'\), got 4"),
        ({"row": -1}, ValueError, r"^row must be at least 0, got -1"),
        ({"col": 1.0}, TypeError, r"^col must be an int, got float"),
        ({"stride": 0}, ValueError, r"^stride must be at least 1"),
        ({"padding": "full"}, ValueError, r"^padding must be 'valid' or 'same'"),
        ({"kernel": np.ones((6, 3, 2))}, ValueError, r"kernels of size 6x3 do not fit"),
    ],
    ids=["image-list", "image-4d", "image-int", "kernel-list", "kernel-4d",
         "channel-mismatch", "bias-nan", "bias-str", "row-past-output", "col-past-output",
         "row-negative", "col-float", "stride-0", "padding-full", "kernel-too-large"],
)
def test_window_products_rejects_bad_input(change, error, match):
    args = {"image": _W_IMAGE, "kernel": _W_KERNEL, "row": 0, "col": 0, "bias": 0.0,
            "stride": 1, "padding": "valid", **change}
    with pytest.raises(error, match=match):
        reference.window_products(**args)


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


# -- max_pool2d and avg_pool2d --------------------------------------------------------------

POOL_FUNCTIONS = {
    "max": (reference.max_pool2d, keras.layers.MaxPooling2D),
    "avg": (reference.avg_pool2d, keras.layers.AveragePooling2D),
}
# Odd and even, non-square; the last two are smaller than some windows.
POOL_SHAPES = [(2, 7, 9, 3), (1, 28, 28, 1), (3, 5, 5, 2), (1, 2, 3, 1), (2, 1, 4, 2)]


def _keras_pool_or_none(layer_class, images, pool_size, stride, padding):
    """Keras' pooling of ``images``, or None where its output would have a zero-size axis."""
    layer = layer_class(pool_size=pool_size, strides=stride, padding=padding)
    try:
        layer.compute_output_shape(images.shape)
    except ValueError as exc:
        assert "zero or negative" in str(exc)
        return None
    return keras.ops.convert_to_numpy(layer(images))


@pytest.mark.parametrize("kind", list(POOL_FUNCTIONS))
@pytest.mark.parametrize("shape", POOL_SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("pool_size", [2, 3, (2, 3)], ids=["p2", "p3", "p2x3"])
@pytest.mark.parametrize("stride", [None, 1, 2, 3, (1, 2)], ids=["sNone", "s1", "s2", "s3",
                                                                 "s1x2"])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool_matches_keras(rng, kind, shape, pool_size, stride, padding):
    fn, layer_class = POOL_FUNCTIONS[kind]
    images = rng.standard_normal(shape).astype(np.float32)
    expected = _keras_pool_or_none(layer_class, images, pool_size, stride, padding)
    if expected is None:
        # Exactly where Keras has nothing to pool, ours refuses.
        with pytest.raises(ValueError, match=r"padding='valid'"):
            fn(images, pool_size, stride, padding)
        return
    got = fn(images, pool_size, stride, padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", list(POOL_FUNCTIONS))
def test_pool_defaults_are_2x2_stride_2_valid(rng, kind):
    fn, _ = POOL_FUNCTIONS[kind]
    images = rng.standard_normal((2, 7, 6, 3))
    # A 2x2, stride-2 pooling by reshaping: the odd last row is dropped ('valid').
    blocks = images[:, :6, :, :].reshape(2, 3, 2, 3, 2, 3)
    expected = blocks.max(axis=(2, 4)) if kind == "max" else blocks.mean(axis=(2, 4))
    np.testing.assert_allclose(fn(images), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", list(POOL_FUNCTIONS))
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("value", [-3.25, 0.0, 0.5, 7.0])
def test_pool_of_a_constant_image_is_the_constant(kind, padding, value):
    fn, _ = POOL_FUNCTIONS[kind]
    images = np.full((2, 7, 5, 2), value)
    got = fn(images, (3, 2), stride=(2, 1), padding=padding)
    assert got.shape == (2, 3 if padding == "valid" else 4, 4 if padding == "valid" else 5, 2)
    np.testing.assert_array_equal(got, value)


@pytest.mark.parametrize("kind", list(POOL_FUNCTIONS))
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool_with_window_1_is_the_identity(rng, kind, padding):
    fn, _ = POOL_FUNCTIONS[kind]
    images = rng.standard_normal((2, 5, 7, 3))
    np.testing.assert_array_equal(fn(images, 1, padding=padding), images)
    np.testing.assert_array_equal(fn(images, (1, 1), stride=1, padding=padding), images)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(("pool_size", "stride"), [(2, None), (3, 1), ((2, 3), 2),
                                                   (3, (1, 2))])
def test_max_pool_is_at_least_avg_pool(rng, padding, pool_size, stride):
    images = rng.standard_normal((3, 7, 8, 2))
    high = reference.max_pool2d(images, pool_size, stride, padding)
    mean = reference.avg_pool2d(images, pool_size, stride, padding)
    assert high.shape == mean.shape
    assert np.all(high >= mean - 1e-12)
    # And strictly larger somewhere: random windows are not constant.
    assert np.any(high > mean + 1e-6)


@pytest.mark.parametrize(("pool_size", "stride"), [(2, None), (3, 1), (3, 2), ((2, 3), 3),
                                                   (5, 1)])
def test_same_max_pool_border_never_wins(rng, pool_size, stride):
    # All-negative images: a zero border would win every border window.
    images = -1.0 - rng.random((2, 5, 7, 2))
    got = reference.max_pool2d(images, pool_size, stride, "same")
    assert np.all(np.isfinite(got))
    assert np.all(got <= -1.0)
    expected = _keras_pool_or_none(keras.layers.MaxPooling2D, images.astype(np.float32),
                                   pool_size, stride, "same")
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_same_avg_pool_does_not_count_the_border():
    # A 3x3 all-ones image, 2x2 windows, stride 2, 'same': 2x2 outputs whose windows
    # hold 4, 2, 2 and 1 image pixels; averaging over those gives 1 everywhere.
    images = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    got = reference.avg_pool2d(images, 2, padding="same")[0, :, :, 0]
    expected = np.array([[(1 + 2 + 4 + 5) / 4, (3 + 6) / 2], [(7 + 8) / 2, 9.0]])
    np.testing.assert_array_equal(got, expected)


_POOL_IMAGES = np.random.default_rng(2).random((1, 5, 6, 2))
_POOL_NAN = _POOL_IMAGES.copy()
_POOL_NAN[0, 1, 2, 0] = np.nan


@pytest.mark.parametrize("kind", list(POOL_FUNCTIONS))
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"pool_size": 0}, ValueError, r"^pool_size must be at least 1"),
        ({"pool_size": (2, 0)}, ValueError, r"^pool_size\[1\] must be at least 1"),
        ({"pool_size": (2,)}, TypeError, r"^pool_size must be an int or a pair"),
        ({"pool_size": (2, 2, 2)}, TypeError, r"^pool_size must be an int or a pair"),
        ({"pool_size": "a"}, TypeError, r"^pool_size must be an int"),
        ({"pool_size": 2.0}, TypeError, r"^pool_size must be an int"),
        ({"stride": 0}, ValueError, r"^stride must be at least 1"),
        ({"stride": (1, 0)}, ValueError, r"^stride\[1\] must be at least 1"),
        ({"stride": 1.5}, TypeError, r"^stride must be an int"),
        ({"padding": "full"}, ValueError, r"^padding must be 'valid' or 'same'"),
        ({"pool_size": 6}, ValueError, r"pool_size"),
        ({"pool_size": (2, 7)}, ValueError, r"pool_size"),
        ({"images": _POOL_NAN}, ValueError, r"^images must be finite, got NaN"),
        ({"images": _POOL_IMAGES[0]}, ValueError, r"^images must have shape \(N, H, W, C\)"),
        ({"images": _POOL_IMAGES.tolist()}, TypeError, r"^images must be a numpy array"),
        ({"images": np.ones((1, 5, 6, 2), dtype=int)}, TypeError, r"^images must be a float"),
    ],
    ids=["pool-0", "pool-pair-0", "pool-single", "pool-triple", "pool-str", "pool-float",
         "stride-0", "stride-pair-0", "stride-float", "padding-full", "window-too-tall",
         "window-too-wide", "images-nan", "images-3d", "images-list", "images-int"],
)
def test_pool_rejects_bad_input(kind, change, error, match):
    fn, _ = POOL_FUNCTIONS[kind]
    args = {"images": _POOL_IMAGES, "pool_size": 2, "stride": None, "padding": "valid",
            **change}
    with pytest.raises(error, match=match):
        fn(**args)


@pytest.mark.parametrize("value", [-np.inf, 0.0, -2.5])
def test_pad_images_fills_the_border_with_value(rng, value):
    images = rng.standard_normal((1, 4, 5, 2))
    top, bottom = _tf_same_split(4, 3, 1)
    left, right = _tf_same_split(5, 4, 1)
    expected = np.full((1, 4 + top + bottom, 5 + left + right, 2), value)
    expected[:, top:top + 4, left:left + 5, :] = images
    np.testing.assert_array_equal(
        reference.pad_images(images, (3, 4), 1, "same", value=value), expected)
    assert reference.pad_images(images, (3, 4), 1, "valid", value=value) is images


# -- max_pool2d_backward -------------------------------------------------------------------


def _tape_max_pool_gradient(images, upstream, pool_size, stride, padding):
    import tensorflow as tf

    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        pooled = keras.layers.MaxPooling2D(pool_size, stride, padding)(x)
        loss = tf.reduce_sum(pooled * upstream)    # dL/d(pooled) = upstream
    return tape.gradient(loss, x).numpy()


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(("pool_size", "stride"), [(2, None), (3, 2), (2, 3), ((2, 3), 1), (3, 1)])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_backward_matches_the_tape(rng, pool_size, stride, padding, ties):
    images = rng.random((2, 9, 8, 3), dtype=np.float32)
    if ties:
        images = np.round(images * 2) / 2      # values 0, 0.5, 1: most windows tie
    upstream = rng.standard_normal(
        reference.max_pool2d(images, pool_size, stride, padding).shape).astype(np.float32)
    np.testing.assert_array_equal(
        reference.max_pool2d_backward(images, upstream, pool_size, stride, padding),
        _tape_max_pool_gradient(images, upstream, pool_size, stride, padding))


def test_max_pool2d_backward_by_hand():
    z = np.array([[1, 3, 2, 0],
                  [4, 2, 1, 1],
                  [0, 1, 5, 5],           # a tie: the first (row-major) 5 takes it
                  [2, 0, 5, 5]], dtype=np.float32)[None, :, :, None]
    upstream = np.array([[10, 20], [30, 40]], dtype=np.float32)[None, :, :, None]
    expected = np.array([[0, 0, 20, 0],
                         [10, 0, 0, 0],
                         [0, 0, 40, 0],
                         [30, 0, 0, 0]], dtype=np.float32)
    np.testing.assert_array_equal(reference.max_pool2d_backward(z, upstream)[0, :, :, 0],
                                  expected)


_BACK_IMAGES = np.zeros((1, 4, 4, 2), dtype=np.float32)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [({"upstream": np.zeros((1, 3, 3, 2), np.float32)}, ValueError,
      r"^upstream must have the pooled shape \(1, 2, 2, 2\), got shape \(1, 3, 3, 2\)"),
     ({"upstream": np.zeros((1, 2, 2, 2), int)}, TypeError, r"^upstream must be a float"),
     ({"upstream": np.full((1, 2, 2, 2), np.nan, np.float32)}, ValueError,
      r"^upstream must be finite"),
     ({"upstream": [[0.0]]}, TypeError, r"^upstream must be a numpy array"),
     ({"images": _BACK_IMAGES[0]}, ValueError, r"^images must have shape \(N, H, W, C\)"),
     ({"pool_size": 0}, ValueError, r"pool_size"),
     ({"stride": 1.5}, TypeError, r"stride"),
     ({"padding": "full"}, ValueError, r"^padding must be 'valid' or 'same'")],
    ids=["upstream-shape", "upstream-int", "upstream-nan", "upstream-list", "images-3d",
         "pool-0", "stride-float", "padding-full"],
)
def test_max_pool2d_backward_rejects_bad_input(change, error, match):
    args = {"images": _BACK_IMAGES, "upstream": np.zeros((1, 2, 2, 2), np.float32),
            "pool_size": 2, "stride": None, "padding": "valid", **change}
    with pytest.raises(error, match=match):
        reference.max_pool2d_backward(**args)
