"""Geometric transforms of images: rotation, scaling about the centre, resizing.

Zeiler & Fergus (2014, section 4, figure 5) turn, scale and shift images to see
how much a network's features and its output change; later chapters resize
digits to other input sizes. These are the package's only resampling
functions (:func:`cnnlab.features.shift_images` shifts by whole pixels).

Every function is linear in the pixels with non-negative weights that sum to
at most 1 per output pixel, so images in [0, 1] stay in [0, 1] and nothing
overshoots. Coordinates are pixel indices: pixel ``(i, j)`` is row ``i`` (down)
and column ``j`` (right), and the centre of an H x W image is the centre of its
pixel grid, ``((H - 1) / 2, (W - 1) / 2)``.

- :func:`rotate_images` and :func:`scale_images` keep the size and fill what
  comes from outside the image with zeros (the background of a digit).
- :func:`resize_images` resamples the whole image to a new size with pixel
  centres aligned (the half-pixel convention of PIL and of
  ``tf.image.resize``), as PIL's bilinear resize does.
"""

from __future__ import annotations

import numpy as np

from cnnlab.checks import check_images, check_int, check_number

# Scale factors admitted by scale_images: beyond these a 28 x 28 digit is a
# speck of under 3 pixels or a blow-up of one tenth of it.
MIN_FACTOR, MAX_FACTOR = 0.1, 10.0
# Output sizes admitted by resize_images.
MIN_SIZE, MAX_SIZE = 2, 512


def _triangle(distance: np.ndarray) -> np.ndarray:
    """The bilinear (tent) kernel: 1 - |d| for |d| < 1, else 0."""
    return np.maximum(0.0, 1.0 - np.abs(distance))


def _scale_weights(size: int, factor: float) -> np.ndarray:
    """(size, size) weights of one axis scaled by ``factor`` about its centre, zero fill.

    Output pixel ``o`` samples the input at ``c + (o - c) / factor``. Enlarging
    (factor >= 1) is plain linear interpolation. Shrinking widens the tent to
    ``1 / factor`` input pixels (an average over what one output pixel covers,
    as PIL does when it shrinks) so that thin strokes do not fall between samples.
    Each row is normalised over the input extended by zeros beyond its border,
    so that the outside counts as black rather than being left out.
    """
    centre = (size - 1) / 2
    source = centre + (np.arange(size) - centre) / factor
    width = max(1.0 / factor, 1.0)
    # The pixels under each tent, inside the image or not (a shrunk image samples
    # far outside it): normalised over all of them, then the outside ones dropped.
    reach = int(np.ceil(width))
    taps = np.floor(source).astype(np.int64)[:, None] + np.arange(-reach, reach + 2)
    tent = _triangle((taps - source[:, None]) / width)
    tent /= tent.sum(axis=1, keepdims=True)
    weights = np.zeros((size, size))
    rows, cols = np.nonzero((taps >= 0) & (taps < size))
    np.add.at(weights, (rows, taps[rows, cols]), tent[rows, cols])
    return weights


def _resize_weights(size_in: int, size_out: int) -> np.ndarray:
    """(size_out, size_in) weights of PIL's bilinear resize along one axis.

    Output pixel ``o`` has its centre at input coordinate
    ``(o + 0.5) * size_in / size_out - 0.5`` (pixel centres aligned); the tent
    is widened by the shrink factor when shrinking, and each row is normalised
    over the pixels inside the image (at the border the edge pixel takes the
    weight of the missing one).
    """
    scale = size_in / size_out
    width = max(scale, 1.0)
    source = (np.arange(size_out) + 0.5) * scale - 0.5
    weights = _triangle((np.arange(size_in)[None, :] - source[:, None]) / width)
    return weights / weights.sum(axis=1, keepdims=True)


def _separable(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``rows @ image @ cols.T`` for every image and channel, in float64, as float32."""
    out = np.einsum("oh,nhwc->nowc", rows, images.astype(np.float64))
    return np.einsum("pw,nowc->nopc", cols, out).astype(np.float32)


def rotate_images(images: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate images about their centre, counter-clockwise as displayed, same size.

    Output pixel ``(i, j)``, at ``(y, x) = (i - c_y, j - c_x)`` from the centre,
    takes the input at ``(c_y + x sin a + y cos a, c_x + x cos a - y sin a)``,
    ``a`` in radians, by bilinear interpolation; what comes from outside the
    image is zero. Rows grow downward, so positive ``degrees`` turn the picture
    counter-clockwise on screen, like ``np.rot90`` and PIL's ``Image.rotate``:
    90, 180 and 270 degrees give ``np.rot90(image, k)`` for k = 1, 2, 3 exactly
    (up to rounding).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
        Any finite values; images in [0, 1] stay in [0, 1].
    degrees : float
        The angle, any finite number (taken modulo 360).

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        A new array. Corners that come from outside the image are zero.

    Raises
    ------
    TypeError
        For images that are not a float numpy array, or degrees that is not a number.
    ValueError
        For images of another number of axes or with NaN or infinite values,
        or degrees that is not finite.
    """
    images = check_images(images)
    degrees = check_number("degrees", degrees)
    angle = np.deg2rad(degrees % 360.0)
    # Exact values at the quarter turns, so that they reproduce np.rot90 exactly.
    quarter = (degrees % 360.0) / 90.0
    if quarter == int(quarter):
        cos, sin = [(1, 0), (0, 1), (-1, 0), (0, -1)][int(quarter)]
    else:
        cos, sin = np.cos(angle), np.sin(angle)
    n, height, width, channels = images.shape
    cy, cx = (height - 1) / 2, (width - 1) / 2
    y, x = np.meshgrid(np.arange(height) - cy, np.arange(width) - cx, indexing="ij")
    # Where each output pixel comes from: the output position turned back by -a.
    src_y = cy + x * sin + y * cos
    src_x = cx + x * cos - y * sin
    # Zero fill: pad by one black pixel and keep the sample points within the
    # padding, where all four neighbours are black or the edge blends into black.
    padded = np.zeros((n, height + 2, width + 2, channels), np.float64)
    padded[:, 1:-1, 1:-1] = images
    src_y = np.clip(src_y + 1, 0, height + 1)
    src_x = np.clip(src_x + 1, 0, width + 1)
    top = np.minimum(np.floor(src_y).astype(np.int64), height)
    left = np.minimum(np.floor(src_x).astype(np.int64), width)
    dy = (src_y - top)[None, :, :, None]
    dx = (src_x - left)[None, :, :, None]
    out = ((1 - dy) * ((1 - dx) * padded[:, top, left] + dx * padded[:, top, left + 1])
           + dy * ((1 - dx) * padded[:, top + 1, left] + dx * padded[:, top + 1, left + 1]))
    return out.astype(np.float32)


def scale_images(images: np.ndarray, factor: float) -> np.ndarray:
    """Enlarge (``factor > 1``) or shrink (``factor < 1``) images about their centre, same size.

    Output pixel ``(i, j)`` takes the input at ``(c_y + (i - c_y) / factor,
    c_x + (j - c_x) / factor)`` by bilinear interpolation; outside the image is
    zero, so an enlarged image loses its border and a shrunk one gains a black
    one. When shrinking, each output pixel averages the ``1 / factor`` input
    pixels it covers (the tent widened, as PIL's resize does) instead of
    sampling between them; the sum of an image's pixels goes as ``factor**2``.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
        Any finite values; images in [0, 1] stay in [0, 1].
    factor : float
        In [0.1, 10]; 1 returns the images unchanged.

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        A new array.

    Raises
    ------
    TypeError
        For images that are not a float numpy array, or a factor that is not a number.
    ValueError
        For images of another number of axes or with NaN or infinite values,
        or a factor that is not finite or outside [0.1, 10].
    """
    images = check_images(images)
    factor = check_number("factor", factor, MIN_FACTOR, MAX_FACTOR)
    height, width = images.shape[1:3]
    return _separable(images, _scale_weights(height, factor), _scale_weights(width, factor))


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resample whole images to ``size`` x ``size`` pixels, bilinear, pixel centres aligned.

    The half-pixel convention of PIL's ``Image.resize(..., Image.BILINEAR)``
    and of ``tf.image.resize``: output pixel ``o`` has its centre at input
    coordinate ``(o + 0.5) * H / size - 0.5`` (so the image's outer edges, not
    its corner pixels' centres, line up). Enlarging interpolates linearly
    between the two nearest pixels, the edge pixel repeated beyond the border;
    shrinking averages over the ``H / size`` input pixels each output pixel
    covers (PIL's widened tent), so a digit's strokes are not lost. The same
    numbers as PIL's bilinear resize of a float ('F') image, up to rounding.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
        Any finite values; H and W may differ. Images in [0, 1] stay in [0, 1].
    size : int
        The new height and width, 2 to 512.

    Returns
    -------
    ndarray, shape (N, size, size, C), float32
        A new array.

    Raises
    ------
    TypeError
        For images that are not a float numpy array, or a size that is not an int.
    ValueError
        For images of another number of axes or with NaN or infinite values,
        or a size outside 2..512.
    """
    images = check_images(images)
    size = check_int("size", size, MIN_SIZE)
    if size > MAX_SIZE:
        raise ValueError(f"size must be at most {MAX_SIZE}, got {size}.")
    height, width = images.shape[1:3]
    return _separable(images, _resize_weights(height, size), _resize_weights(width, size))
