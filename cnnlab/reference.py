"""Numpy teaching versions of the layers a CNN is built from.

Two implementations of the same 2-D convolution (chapter 1, equations (1)-(4)):

* :func:`conv2d_loop` follows the equation term by term. Read it, do not run it
  on a data set.
* :func:`conv2d` is the fast version: :func:`im2col` turns the image into a
  matrix of patches through a *strided view* (no copy, no index arrays), and
  one matrix product with the reshaped filters does the rest.

Both follow Keras' conventions, so they can be checked against
``keras.ops.conv``: images (N, H, W, C), kernels (kh, kw, C, M), one bias per
filter, ``padding`` 'valid' or 'same' (TensorFlow's split of the padding: the
extra pixel, if any, goes to the bottom/right).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from cnnlab.checks import check_images, check_int, check_number

Padding = Literal["valid", "same"]

# Upper bound on the temporary patch matrix of one chunk in conv2d, in bytes.
# The output has to be stored anyway; chunking keeps the extra memory a small
# fraction of it however many images arrive at once.
_CHUNK_BYTES = 64 * 2**20


def _check_padding(padding: object) -> str:
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}.")
    return str(padding)


def conv_output_size(size: int, kernel_size: int, stride: int = 1,
                     padding: Padding = "valid") -> int:
    """Length of a convolution's output along one axis.

    With ``padding='valid'`` this is the source's formula
    ``floor((W - H) / s) + 1`` (chapter 1, equation (3)); with ``'same'`` the
    input is padded so that the output has ``ceil(W / s)`` pixels.

    Parameters
    ----------
    size : int
        Input length ``W`` (height or width), at least 1.
    kernel_size : int
        Filter length ``H``, at least 1.
    stride : int, default 1
        Step ``s`` between two filter positions, at least 1.
    padding : {'valid', 'same'}, default 'valid'
        'valid': no padding, the filter stays inside the image.
        'same': zeros around the image so that the output has ``ceil(W / s)``
        pixels.

    Returns
    -------
    int
        The output length.

    Raises
    ------
    TypeError
        If a size or the stride is not an int.
    ValueError
        If a value is out of range, or the filter is larger than the image with
        ``padding='valid'``.
    """
    size = check_int("size", size, 1)
    kernel_size = check_int("kernel_size", kernel_size, 1)
    stride = check_int("stride", stride, 1)
    padding = _check_padding(padding)
    if padding == "same":
        return math.ceil(size / stride)
    if kernel_size > size:
        raise ValueError(
            f"kernel_size ({kernel_size}) is larger than the input ({size}); "
            "with padding='valid' the filter must fit inside the image."
        )
    return (size - kernel_size) // stride + 1


def same_padding(size: int, kernel_size: int, stride: int = 1) -> tuple[int, int]:
    """Zeros added before and after one axis by ``padding='same'``.

    TensorFlow's rule: pad just enough for ``ceil(W / s)`` outputs, the odd
    pixel going after (bottom/right).

    Parameters
    ----------
    size, kernel_size, stride : int
        As in :func:`conv_output_size`.

    Returns
    -------
    (before, after) : tuple of int
    """
    out = conv_output_size(size, kernel_size, stride, "same")
    total = max((out - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def _check_conv_args(images, kernels, bias, stride, padding):
    images = check_images(images)
    if not isinstance(kernels, np.ndarray):
        raise TypeError(f"kernels must be a numpy array, got {type(kernels).__name__}.")
    if kernels.ndim != 4:
        raise ValueError(
            f"kernels must have shape (kh, kw, C, M) (4 axes), got shape {kernels.shape}."
        )
    if kernels.shape[2] != images.shape[3]:
        raise ValueError(
            f"kernels expect {kernels.shape[2]} input channels (axis 2) but images have "
            f"{images.shape[3]} channels (axis 3)."
        )
    if 0 in kernels.shape:
        raise ValueError(f"kernels must not have an empty axis, got shape {kernels.shape}.")
    if kernels.dtype.kind not in "fiu":
        raise TypeError(f"kernels must be numeric, got dtype {kernels.dtype}.")
    if not np.isfinite(kernels).all():
        raise ValueError("kernels must be finite, got NaN or infinite values.")
    n_filters = kernels.shape[3]
    if bias is None:
        bias = np.zeros(n_filters, dtype=kernels.dtype)
    else:
        bias = np.asarray(bias)
        if bias.shape != (n_filters,):
            raise ValueError(
                f"bias must have shape ({n_filters},), one value per filter, "
                f"got shape {bias.shape}."
            )
        if bias.dtype.kind not in "fiu" or not np.isfinite(bias).all():
            raise ValueError(f"bias must be finite numbers, got {bias.dtype} {bias}.")
    stride = check_int("stride", stride, 1)
    padding = _check_padding(padding)
    h, w = images.shape[1:3]
    kh, kw = kernels.shape[:2]
    if padding == "valid" and (kh > h or kw > w):
        raise ValueError(
            f"kernels of size {kh}x{kw} do not fit in images of size {h}x{w} "
            "with padding='valid'."
        )
    return images, kernels, bias, stride, padding


def pad_images(images: np.ndarray, kernel_size: tuple[int, int], stride: int,
               padding: Padding, value: float = 0.0) -> np.ndarray:
    """Pad images as a convolution or pooling with ``padding`` would.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
    kernel_size : (kh, kw)
    stride : int or (sy, sx)
    padding : {'valid', 'same'}
    value : float, default 0.0
        What the border is filled with (zeros for a convolution, ``-inf`` for
        max pooling, so that the border never wins).

    Returns
    -------
    ndarray, shape (N, H', W', C)
        ``images`` itself for 'valid', a padded copy for 'same'.

    Raises
    ------
    TypeError, ValueError
        For bad images, stride or padding.
    """
    images = check_images(images)
    padding = _check_padding(padding)
    sy, sx = _pair("stride", stride)
    if padding == "valid":
        return images
    top, bottom = same_padding(images.shape[1], kernel_size[0], sy)
    left, right = same_padding(images.shape[2], kernel_size[1], sx)
    return np.pad(images, ((0, 0), (top, bottom), (left, right), (0, 0)),
                  constant_values=value)


def conv2d_loop(images: np.ndarray, kernels: np.ndarray, bias: np.ndarray | None = None,
                stride: int = 1, padding: Padding = "valid") -> np.ndarray:
    """2-D convolution written as the equation reads (slow; for reading).

    Implements chapter 1, equation (4)::

        u[n, i, j, m] = sum_{p, q, k} z[n, s*i + p, s*j + q, k] * h[p, q, k, m] + b[m]

    (as in every deep-learning library, the filter is not flipped, so this is a
    cross-correlation).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
        Input images ``z``.
    kernels : ndarray, shape (kh, kw, C, M)
        ``M`` filters ``h`` in Keras layout.
    bias : ndarray, shape (M,), optional
        One bias per filter; zeros if omitted.
    stride : int, default 1
        Step ``s`` between filter positions.
    padding : {'valid', 'same'}, default 'valid'

    Returns
    -------
    ndarray, shape (N, H_out, W_out, M)
        ``H_out = conv_output_size(H, kh, stride, padding)``, likewise ``W_out``.

    Raises
    ------
    TypeError, ValueError
        For arrays of the wrong type, number of axes or channels, a bias that is
        not one value per filter, a stride below 1 or an unknown padding.
    """
    images, kernels, bias, stride, padding = _check_conv_args(
        images, kernels, bias, stride, padding)
    kh, kw, _, n_filters = kernels.shape
    z = pad_images(images, (kh, kw), stride, padding)
    out_h = conv_output_size(images.shape[1], kh, stride, padding)
    out_w = conv_output_size(images.shape[2], kw, stride, padding)
    dtype = np.result_type(images, kernels)
    u = np.empty((images.shape[0], out_h, out_w, n_filters), dtype=dtype)
    for n in range(images.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                window = z[n, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
                for m in range(n_filters):
                    u[n, i, j, m] = np.sum(window * kernels[:, :, :, m]) + bias[m]
    return u


def im2col(images: np.ndarray, kernel_size: tuple[int, int], stride: int = 1,
           padding: Padding = "valid") -> np.ndarray:
    """All filter-sized patches of the images, as a strided view.

    The patch matrix of im2col (Chellapilla et al. 2006), without copying:
    element ``[n, i, j, p, q, k]`` is pixel ``(s*i + p, s*j + q)`` of channel
    ``k`` of image ``n``. Reshaping it to ``(N*H_out*W_out, kh*kw*C)`` gives the
    classic matrix; the view itself costs no memory (for 'same' padding, only
    the padded copy of the input).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
    kernel_size : (kh, kw) tuple of int
    stride : int, default 1
    padding : {'valid', 'same'}, default 'valid'

    Returns
    -------
    ndarray, shape (N, H_out, W_out, kh, kw, C)
        A read-only view. Copy it before writing.

    Raises
    ------
    TypeError, ValueError
        For bad images, kernel size, stride or padding.
    """
    images = check_images(images)
    if not isinstance(kernel_size, (tuple, list)) or len(kernel_size) != 2:
        raise TypeError(f"kernel_size must be a pair (kh, kw), got {kernel_size!r}.")
    kh = check_int("kernel_size[0]", kernel_size[0], 1)
    kw = check_int("kernel_size[1]", kernel_size[1], 1)
    stride = check_int("stride", stride, 1)
    padding = _check_padding(padding)
    conv_output_size(images.shape[1], kh, stride, padding)  # checks that the window fits
    conv_output_size(images.shape[2], kw, stride, padding)
    return _windows(pad_images(images, (kh, kw), stride, padding), kh, kw, stride)


def _pair(name: str, value: object) -> tuple[int, int]:
    """An int or a pair of ints, each at least 1, as a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise TypeError(f"{name} must be an int or a pair, got {value!r}.")
        return check_int(f"{name}[0]", value[0], 1), check_int(f"{name}[1]", value[1], 1)
    value = check_int(name, value, 1)
    return value, value


def _windows(z: np.ndarray, kh: int, kw: int, stride: int | tuple[int, int]) -> np.ndarray:
    """Every kh x kw window of the (already padded) images z, as a strided view."""
    sy, sx = _pair("stride", stride)
    out_h = (z.shape[1] - kh) // sy + 1
    out_w = (z.shape[2] - kw) // sx + 1
    sn, sh, sw, sc = z.strides
    # Moving one output pixel moves the window by `stride` input pixels; moving
    # inside the window moves one input pixel. No index arrays are built.
    return as_strided(
        z,
        shape=(z.shape[0], out_h, out_w, kh, kw, z.shape[3]),
        strides=(sn, sh * sy, sw * sx, sh, sw, sc),
        writeable=False,
    )


def conv2d(images: np.ndarray, kernels: np.ndarray, bias: np.ndarray | None = None,
           stride: int = 1, padding: Padding = "valid") -> np.ndarray:
    """Fast 2-D convolution: im2col view times the filter matrix.

    Same result as :func:`conv2d_loop` (chapter 1, equation (4)), computed as
    one matrix product per chunk of images: the ``(patches, kh*kw*C)`` matrix
    from :func:`im2col` times the ``(kh*kw*C, M)`` filter matrix. Images are
    processed in chunks so that the temporary patch matrix stays small
    (``_CHUNK_BYTES``); the extra memory is then about the size of the output.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
    kernels : ndarray, shape (kh, kw, C, M)
    bias : ndarray, shape (M,), optional
    stride : int, default 1
    padding : {'valid', 'same'}, default 'valid'

    Returns
    -------
    ndarray, shape (N, H_out, W_out, M)

    Raises
    ------
    TypeError, ValueError
        As :func:`conv2d_loop`.
    """
    images, kernels, bias, stride, padding = _check_conv_args(
        images, kernels, bias, stride, padding)
    kh, kw, channels, n_filters = kernels.shape
    n = images.shape[0]
    out_h = conv_output_size(images.shape[1], kh, stride, padding)
    out_w = conv_output_size(images.shape[2], kw, stride, padding)
    dtype = np.result_type(images, kernels)
    weights = kernels.reshape(kh * kw * channels, n_filters).astype(dtype, copy=False)
    out = np.empty((n, out_h, out_w, n_filters), dtype=dtype)
    row_bytes = out_h * out_w * kh * kw * channels * np.dtype(dtype).itemsize
    chunk = max(1, _CHUNK_BYTES // max(row_bytes, 1))
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        patches = im2col(images[start:stop], (kh, kw), stride, padding)
        # The reshape copies this chunk's patches into one matrix (the "col").
        cols = patches.reshape(-1, kh * kw * channels)
        np.matmul(cols, weights, out=out[start:stop].reshape(-1, n_filters))
    out += bias.astype(dtype, copy=False)
    return out


class Window(NamedTuple):
    """One output pixel of a convolution, term by term (see :func:`window_products`)."""

    window: np.ndarray
    products: np.ndarray
    value: float
    top: int
    left: int


def window_products(image: np.ndarray, kernel: np.ndarray, row: int, col: int,
                    bias: float = 0.0, stride: int = 1,
                    padding: Padding = "valid") -> Window:
    """The pixels under the filter at one output position, their products and sum.

    Equation (1.4) of chapter 1 for one output pixel ``(row, col)`` of one
    filter: ``u[row, col] = sum_{p, q, k} z[s*row + p, s*col + q, k] * h[p, q, k] + b``,
    where ``z`` is the (padded) image. The terms are returned so that a reader
    can see the sum being formed.

    Parameters
    ----------
    image : ndarray, shape (H, W, C), float
        One image ``z`` (not a batch).
    kernel : ndarray, shape (kh, kw, C)
        One filter ``h``, spanning all C channels.
    row, col : int
        The output position, ``0 <= row < H_out`` and ``0 <= col < W_out``
        (the sizes :func:`conv_output_size` gives).
    bias : float, default 0.0
        The filter's bias ``b``.
    stride : int, default 1
    padding : {'valid', 'same'}, default 'valid'

    Returns
    -------
    Window
        ``window``: ndarray (kh, kw, C), the pixels under the filter (zeros
        where it hangs over a 'same' border); ``products``: ndarray (kh, kw, C),
        ``window * kernel``; ``value``: float, ``products.sum() + bias``, equal to
        ``conv2d(image[None], kernel[..., None], [bias], stride, padding)[0, row, col, 0]``
        up to float32 rounding; ``top``, ``left``: int, the window's corner in
        the padded image (:func:`pad_images`).

    Raises
    ------
    TypeError, ValueError
        For an image that is not an (H, W, C) float array, a kernel that is not
        a (kh, kw, C) array with the image's channels, a bias that is not a
        finite number, a bad stride or padding, or a position outside the output.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}.")
    if image.ndim != 3:
        raise ValueError(f"image must have shape (H, W, C) (3 axes), got shape {image.shape}.")
    if not isinstance(kernel, np.ndarray):
        raise TypeError(f"kernel must be a numpy array, got {type(kernel).__name__}.")
    if kernel.ndim != 3:
        raise ValueError(
            f"kernel must have shape (kh, kw, C) (3 axes), got shape {kernel.shape}.")
    bias = check_number("bias", bias)
    check_images(image[None], name="image")          # float, finite: named as the caller wrote it
    images, kernels, _, stride, padding = _check_conv_args(
        image[None], kernel[..., None], None, stride, padding)
    kh, kw = kernel.shape[:2]
    for name, value, size, axis in (("row", row, image.shape[0], "rows"),
                                    ("col", col, image.shape[1], "columns")):
        n_out = conv_output_size(size, kh if name == "row" else kw, stride, padding)
        if check_int(name, value, 0) >= n_out:
            raise ValueError(f"{name} must be at most {n_out - 1} (the output has {n_out} "
                             f"{axis} with stride {stride}, {padding!r}), got {value}.")
    z = pad_images(images, (kh, kw), stride, padding)[0]
    top, left = row * stride, col * stride            # equation (1.2): the window moves s pixels
    window = z[top:top + kh, left:left + kw, :]
    products = window * kernels[..., 0]
    return Window(window, products, float(products.sum()) + bias, top, left)


def classic_kernels() -> dict[str, np.ndarray]:
    """The classic 3x3 image-processing kernels, by name.

    Returns
    -------
    dict of str to ndarray, shape (3, 3), float32
        'identity', 'edge' (the Laplacian: responds where the intensity bends),
        'blur' (box average), 'gaussian blur', 'sharpen' (identity minus edge),
        'sobel x' (responds to vertical edges: the x-derivative, smoothed in y),
        'sobel y' (its transpose: horizontal edges). A fresh dict each call.
    """
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    return {
        "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
        "edge": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32),
        "blur": np.full((3, 3), 1 / 9, dtype=np.float32),
        "gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
        "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
        "sobel x": sobel_x,
        "sobel y": sobel_x.T.copy(),
    }


def _pool(images, pool_size, stride, padding, kind):
    images = check_images(images)
    ph, pw = _pair("pool_size", pool_size)
    stride = (ph, pw) if stride is None else _pair("stride", stride)
    padding = _check_padding(padding)
    if padding == "valid" and (ph > images.shape[1] or pw > images.shape[2]):
        raise ValueError(
            f"pool_size {ph}x{pw} does not fit in images of size "
            f"{images.shape[1]}x{images.shape[2]} with padding='valid'."
        )
    if kind == "max":
        # -inf borders never win, as in Keras.
        z = pad_images(images, (ph, pw), stride, padding, value=-np.inf)
        return _windows(z, ph, pw, stride).max(axis=(3, 4))
    # Average over the pixels inside the image only: Keras does not count the border.
    total = _windows(pad_images(images, (ph, pw), stride, padding), ph, pw, stride).sum(
        axis=(3, 4))
    ones = np.ones((1, *images.shape[1:3], 1), dtype=images.dtype)
    count = _windows(pad_images(ones, (ph, pw), stride, padding), ph, pw, stride).sum(
        axis=(3, 4))
    return total / count


def max_pool2d(images: np.ndarray, pool_size: int | tuple[int, int] = 2,
               stride: int | tuple[int, int] | None = None,
               padding: Padding = "valid") -> np.ndarray:
    """Max pooling: the largest value in each window, channel by channel.

    Chapter 2, equation (2.1): ``u[n, i, j, k] = max over (p, q) in P_ij of
    z[n, p, q, k]``, where ``P_ij`` is the window at output position (i, j).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
    pool_size : int or (ph, pw), default 2
    stride : int or (sy, sx), optional
        Step between windows; the window's size if omitted (Keras' default).
    padding : {'valid', 'same'}, default 'valid'
        With 'same', windows may hang over the border; the border is ignored.

    Returns
    -------
    ndarray, shape (N, H_out, W_out, C)
        ``H_out = conv_output_size(H, ph, stride, padding)``, likewise ``W_out``.

    Raises
    ------
    TypeError, ValueError
        For bad images, pool size, stride or padding, or a window larger than
        the image with 'valid' padding.
    """
    return _pool(images, pool_size, stride, padding, "max")


def avg_pool2d(images: np.ndarray, pool_size: int | tuple[int, int] = 2,
               stride: int | tuple[int, int] | None = None,
               padding: Padding = "valid") -> np.ndarray:
    """Average pooling: the mean of each window, channel by channel.

    Chapter 2, equation (2.2): ``u[n, i, j, k] = mean over (p, q) in P_ij of
    z[n, p, q, k]``. With 'same' padding a window that hangs over the border
    averages only the pixels inside the image, as Keras does.

    Parameters, Returns, Raises
        As :func:`max_pool2d`.
    """
    return _pool(images, pool_size, stride, padding, "avg")


def max_pool2d_backward(images: np.ndarray, upstream: np.ndarray,
                        pool_size: int | tuple[int, int] = 2,
                        stride: int | tuple[int, int] | None = None,
                        padding: Padding = "valid") -> np.ndarray:
    """The gradient of max pooling: each window's upstream gradient goes to its maximum.

    Chapter 2, equation (2.7): ``u = max over P_ij of z`` depends on the one
    input that is largest (the *switch*), with derivative 1; every other input
    of the window gets 0. Where a window holds several equal maxima, the first
    in row-major order takes the gradient, as TensorFlow's CPU kernel does
    (measured in chapter 2). Overlapping windows (stride < window) add up.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
        The input of the pooling (the forward pass decides the switches).
    upstream : ndarray, shape (N, H_out, W_out, C), float
        ``dL/du``: one value per output of :func:`max_pool2d` with the same
        ``pool_size``, ``stride`` and ``padding``.
    pool_size, stride, padding
        As :func:`max_pool2d`.

    Returns
    -------
    ndarray, shape (N, H, W, C)
        ``dL/dz``: zero except at the switches.

    Raises
    ------
    TypeError, ValueError
        As :func:`max_pool2d`, and for ``upstream`` that is not a finite float
        array of the pooled shape.
    """
    pooled_shape = max_pool2d(images, pool_size, stride, padding).shape   # checks the rest
    upstream = check_images(upstream, "upstream")
    if upstream.shape != pooled_shape:
        raise ValueError(f"upstream must have the pooled shape {pooled_shape}, got shape "
                         f"{upstream.shape}.")
    ph, pw = _pair("pool_size", pool_size)
    sy, sx = (ph, pw) if stride is None else _pair("stride", stride)
    z = pad_images(images, (ph, pw), (sy, sx), padding, value=-np.inf)  # the border never wins
    windows = _windows(z, ph, pw, (sy, sx))                             # (N, Ho, Wo, ph, pw, C)
    n, out_h, out_w = pooled_shape[:3]
    # np.argmax returns the first maximum of the flattened (row-major) window.
    switch = windows.reshape(n, out_h, out_w, ph * pw, -1).argmax(axis=3)  # (N, Ho, Wo, C)
    index = np.indices(pooled_shape)
    rows = index[1] * sy + switch // pw
    cols = index[2] * sx + switch % pw
    grad = np.zeros(z.shape, dtype=np.result_type(images, upstream))
    np.add.at(grad, (index[0], rows, cols, index[3]), upstream)   # overlapping windows add
    top = same_padding(images.shape[1], ph, sy)[0] if padding == "same" else 0
    left = same_padding(images.shape[2], pw, sx)[0] if padding == "same" else 0
    return grad[:, top:top + images.shape[1], left:left + images.shape[2]]
