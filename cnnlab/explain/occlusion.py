"""Occlusion sensitivity: what the prediction loses when part of the image is hidden.

Zeiler & Fergus (2014), "Visualizing and Understanding Convolutional Networks",
section 4.2 (Fig. 6 of the ECCV version, Fig. 7 of arXiv v3): a gray square
slides over the image and, for every position of the square, one records the
probability of the correct class, the most probable class, and the total
activation of the strongest feature map of a layer. The square's gray level is
a parameter (``value``): what the maps say depends on it. Where hiding the
pixels makes the probability drop, the network was looking.

:func:`occlusion_loop` hides one patch position at a time (read it);
:func:`occlusion` computes the same maps with thousands of occluded copies per
batched call (use it). :func:`patch_corners` gives the grid, :func:`upsample`
brings a map back to the image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from cnnlab.checks import check_int, check_number
from cnnlab.explain.class_score import check_arguments
from cnnlab.features import compiled_outputs, in_batches

OCCLUDERS = {"gray": 0.5, "black": 0.0, "white": 1.0}
"""Occluders by name: the gray level of the square (the paper's is gray)."""

# Upper bound on one chunk of occluded copies plus their maps' totals, in bytes: the
# model takes batch_size copies at a time, but the copies of one chunk live in numpy
# at once. 64 MiB is ~20,000 MNIST copies.
_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class OcclusionResult:
    """What hiding each patch position did to each image.

    Attributes
    ----------
    probability : ndarray, shape (N, H', W'), float32
        The model's output ``class_index`` with the patch at each position
        (``[n, a, b]``: corner ``(a * stride, b * stride)``).
    activation : ndarray, shape (N, H', W'), float32, or None
        The total activation (sum over all units) of feature map ``channel`` of
        ``layer`` with the patch at each position; None without a layer.
    baseline_probability, baseline_activation : ndarray, shape (N,), float32
        The same on the unoccluded images (activation None without a layer).
    class_index, channel : ndarray, shape (N,), int64
        The class recorded, and the strongest map on the unoccluded image
        (None without a layer).
    layer : str or None
    patch, stride, value, image_size
        The arguments, and (H, W), for :func:`upsample`.
    predicted : ndarray, shape (N, H', W'), int64
        The most probable class with the patch at each position (the paper's
        Fig. 6 (e), arXiv v3 Fig. 7 (e): the label given to the occluded image).
    """

    probability: np.ndarray
    activation: np.ndarray | None
    baseline_probability: np.ndarray
    baseline_activation: np.ndarray | None
    class_index: np.ndarray
    channel: np.ndarray | None
    layer: str | None
    patch: int
    stride: int
    value: float
    image_size: tuple[int, int]
    predicted: np.ndarray | None = None


def patch_corners(size: int, patch: int, stride: int) -> np.ndarray:
    """Top-left coordinates of the patch along one axis.

    The bottom rows (right columns) left over when ``stride`` does not divide
    ``size - patch`` are never hidden.

    Parameters
    ----------
    size : int
        Image height or width.
    patch, stride : int

    Returns
    -------
    ndarray, shape ((size - patch) // stride + 1,), int64
        ``0, stride, 2 * stride, ...`` while the patch fits inside the image.

    Raises
    ------
    TypeError, ValueError
        For non-int arguments, values below 1 or a patch larger than ``size``.
    """
    size = check_int("size", size, 1)
    patch = check_int("patch", patch, 1)
    stride = check_int("stride", stride, 1)
    if patch > size:
        raise ValueError(f"patch ({patch}) is larger than the image ({size} pixels).")
    return np.arange(0, size - patch + 1, stride, dtype=np.int64)


def _cover(size: int, corners: np.ndarray, patch: int) -> np.ndarray:
    """cover[a, y] is True where the patch with corner ``corners[a]`` covers pixel y."""
    pixels = np.arange(size)
    return (pixels >= corners[:, None]) & (pixels < corners[:, None] + patch)


def _probe(model, layer):
    """A compiled function of a batch: the model's output and, if asked, the total of
    each of ``layer``'s maps (the paper's "total activation")."""
    import keras

    if layer is None:
        return compiled_outputs(model, ("output",), lambda: [model.outputs[0]])
    # Only each map's total leaves the graph, summed in float64 (576 units in float32
    # would lose the last digits): the maps of a few hundred copies would be tens of MB
    # to copy out for one number each.
    return compiled_outputs(
        model, ("output and totals", layer.name),
        lambda: [model.outputs[0],
                 keras.ops.sum(keras.ops.cast(layer.output, "float64"), axis=(1, 2))])


def _check_args(model, images, class_index, patch, stride, value, layer, batch_size):
    # The class-score front end checks the model, the images, the layer and class_index.
    arguments = check_arguments(model, images, layer, class_index, kind="conv")
    height, width = arguments.images.shape[1:3]
    patch = check_int("patch", patch, 1)
    stride = check_int("stride", stride, 1)
    if patch > min(height, width):
        raise ValueError(f"patch ({patch}) is larger than the image ({height} x {width}).")
    value = check_number("value (the patch's gray level)", value, 0.0, 1.0)
    batch_size = check_int("batch_size", batch_size, 1)
    return (arguments.images, arguments.class_index, patch, stride, value, arguments.layer,
            batch_size)


def _setup(model, *args):
    """Checked arguments, the patch grid and the unoccluded pass, shared by both versions.

    Returns the result without maps (filled in with ``dataclasses.replace``),
    the float32 images, the layer object, the probe, the corners and batch size.
    """
    images, class_index, patch, stride, value, layer, batch_size = _check_args(
        model, *args)
    tops = patch_corners(images.shape[1], patch, stride)
    lefts = patch_corners(images.shape[2], patch, stride)
    probe = _probe(model, layer)
    rows = np.arange(len(images))
    out = in_batches(probe, images, batch_size)
    channel = base_activation = None
    if layer is None:
        base_probability = out[0][rows, class_index]
    else:
        base_probability = np.asarray(out[0])[rows, class_index]
        # "Strongest" by the measure that is reported: the total activation.
        per_channel = np.asarray(out[1])
        channel = per_channel.argmax(axis=1)
        base_activation = per_channel[rows, channel].astype(np.float32)
    base = OcclusionResult(
        None, None, base_probability.astype(np.float32), base_activation, class_index, channel,
        None if layer is None else layer.name, patch, stride, value, images.shape[1:3])
    return base, images, layer, probe, tops, lefts, batch_size


def _forward(probe, copies, batch_size, class_index, channel, image):
    """Output ``class_index`` per copy, the total of map ``channel[image]``, the argmax.

    Without a layer the activations are NaN (``_finish`` drops them).
    """
    out = in_batches(probe, copies, batch_size)
    rows = np.arange(len(copies))
    scores = out[0]
    if channel is None:
        return scores[rows, class_index], np.nan, scores.argmax(axis=1)
    totals = np.asarray(out[1])[rows, channel[image]]
    return scores[rows, class_index], totals, scores.argmax(axis=1)


def _finish(base, probability, activation, predicted):
    return replace(base, probability=probability, activation=None if base.layer is None
                   else activation.astype(np.float32), predicted=predicted)


def occlusion(model, images: np.ndarray, class_index: int | np.ndarray, *, patch: int = 7,
              stride: int = 2, value: float = 0.5, layer=None,
              batch_size: int = 256) -> OcclusionResult:
    """Occlusion sensitivity maps, batched (Zeiler & Fergus 2014, section 4.2).

    All N x H' x W' occluded copies are made by broadcasting the images against
    the patch masks and go through the model in a few large batched calls,
    in chunks of at most ``_CHUNK_BYTES`` of copies and feature maps.

    Parameters
    ----------
    model : keras.Model
        A classifier with one output of shape (None, num_classes), e.g. softmax
        probabilities. Not changed.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    class_index : int or array of int, shape (N,)
        The class whose output is recorded (the true labels, as in the paper).
    patch : int, default 7
        Side of the square patch, at most min(H, W).
    stride : int, default 2
        Step between two patch positions (see :func:`patch_corners`).
    value : float, default 0.5
        Gray level the patch sets every pixel and channel to, in [0, 1] (the
        paper's gray square; on MNIST's black background 0.0, a black patch,
        hides strokes without drawing new edges, 1.0 paints a white block).
    layer : str or keras Conv2D layer, optional
        Also record, per image, the total activation (sum over its units, as in
        the paper's Fig. 6) of the feature map of this layer that has the
        largest total activation on the unoccluded image.
    batch_size : int, default 256
        Images per forward pass.

    Returns
    -------
    OcclusionResult
        Maps of shape (N, H', W') with ``H' = (H - patch) // stride + 1`` and
        ``W' = (W - patch) // stride + 1``.

    Raises
    ------
    TypeError, ValueError
        For bad images (wrong shape for the model, NaN, outside [0, 1]), a patch
        of 0 or larger than the image, a stride of 0, a value outside [0, 1], a
        class_index out of range or of the wrong length, an unknown layer or one
        that is not a Conv2D.
    """
    base, images, layer, probe, tops, lefts, batch_size = _setup(
        model, images, class_index, patch, stride, value, layer, batch_size)
    n, height, width, _ = images.shape
    # masks[p] is True inside the patch at position p (row-major over the grid).
    in_rows, in_cols = _cover(height, tops, patch), _cover(width, lefts, patch)
    masks = (in_rows[:, None, :, None] & in_cols[None, :, None, :]).reshape(-1, height, width)
    total = n * len(masks)
    per_copy = images[0].nbytes
    if layer is not None:
        per_copy += int(layer.output.shape[-1]) * 8        # a total per channel
    chunk = max(1, _CHUNK_BYTES // per_copy)
    probability = np.empty((n, len(tops), len(lefts)), dtype=np.float32)
    activation = np.empty(probability.shape, dtype=np.float64)
    predicted = np.empty(probability.shape, dtype=np.int64)
    for start in range(0, total, chunk):
        # Copy k of the flat range is image k // positions under the patch at k % positions.
        flat = np.arange(start, min(start + chunk, total))
        image, position = flat // len(masks), flat % len(masks)
        copies = np.where(masks[position][..., None], np.float32(value), images[image])
        where = (image, position // len(lefts), position % len(lefts))
        probability[where], activation[where], predicted[where] = _forward(
            probe, copies, batch_size, base.class_index[image], base.channel, image)
    return _finish(base, probability, activation, predicted)


def occlusion_loop(model, images: np.ndarray, class_index: int | np.ndarray, *,
                   patch: int = 7, stride: int = 2, value: float = 0.5, layer=None,
                   batch_size: int = 256) -> OcclusionResult:
    """Occlusion sensitivity maps, one patch position at a time (reference version).

    The same maps as :func:`occlusion` (Zeiler & Fergus 2014, section 4.2),
    written to be read: for each position, hide that square in a copy of all
    images and run one forward pass.

    Parameters
    ----------
    model, images, class_index, patch, stride, value, layer, batch_size
        As in :func:`occlusion`.

    Returns
    -------
    OcclusionResult
        Maps of shape (N, H', W'), equal to :func:`occlusion`'s up to rounding.

    Raises
    ------
    TypeError, ValueError
        As :func:`occlusion`.
    """
    base, images, layer, probe, tops, lefts, batch_size = _setup(
        model, images, class_index, patch, stride, value, layer, batch_size)
    everyone = np.arange(len(images))
    probability = np.empty((len(images), len(tops), len(lefts)), dtype=np.float32)
    activation = np.empty(probability.shape, dtype=np.float64)
    predicted = np.empty(probability.shape, dtype=np.int64)
    for a, top in enumerate(tops):
        for b, left in enumerate(lefts):
            occluded = images.copy()
            occluded[:, top:top + patch, left:left + patch, :] = value
            probability[:, a, b], activation[:, a, b], predicted[:, a, b] = _forward(
                probe, occluded, batch_size, base.class_index, base.channel, everyone)
    return _finish(base, probability, activation, predicted)


def upsample(maps: np.ndarray, image_size: tuple[int, int], patch: int,
             stride: int) -> np.ndarray:
    """Occlusion maps at the image's resolution, for overlays.

    Each pixel gets the mean of the values of all patch positions whose patch
    covers it. Pixels that no position covers (the bottom rows and right
    columns left over when ``stride`` does not divide ``H - patch``) get NaN,
    which matplotlib draws as transparent.

    Parameters
    ----------
    maps : ndarray, shape (N, H', W')
        E.g. ``OcclusionResult.probability``.
    image_size : tuple of int
        (H, W), e.g. ``OcclusionResult.image_size``.
    patch, stride : int
        As given to :func:`occlusion`.

    Returns
    -------
    ndarray, shape (N, H, W), float32

    Raises
    ------
    TypeError, ValueError
        For maps that are not 3-D or whose grid does not match ``image_size``,
        ``patch`` and ``stride``.
    """
    maps = np.asarray(maps)
    if not np.issubdtype(maps.dtype, np.number) or maps.ndim != 3:
        raise ValueError(f"maps must be a numeric array of shape (N, H', W'), got "
                         f"{maps.dtype} {maps.shape}.")
    if not (isinstance(image_size, tuple) and len(image_size) == 2):
        raise TypeError(f"image_size must be a tuple (H, W), got {image_size!r}.")
    tops = patch_corners(image_size[0], patch, stride)
    lefts = patch_corners(image_size[1], patch, stride)
    if maps.shape[1:] != (len(tops), len(lefts)):
        raise ValueError(f"maps must have shape (N, {len(tops)}, {len(lefts)}) for images of "
                         f"{image_size} with patch {patch} and stride {stride}, got "
                         f"{maps.shape}.")
    # The sum over the positions covering each pixel is two matrix products.
    cover_rows = _cover(image_size[0], tops, patch).astype(np.float64)      # (H', H)
    cover_cols = _cover(image_size[1], lefts, patch).astype(np.float64)     # (W', W)
    total = np.einsum("ay,nab,bx->nyx", cover_rows, maps.astype(np.float64), cover_cols)
    count = np.outer(cover_rows.sum(axis=0), cover_cols.sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)
