"""What the layers of a network compute: feature maps, kernels, the images that excite a
feature map most, shifted inputs.

:func:`top_activations` finds, as Zeiler & Fergus (2014, section 4, figure 2)
do for their projections, the images whose strongest unit in one feature map is
largest, with the box that unit sees (:func:`cnnlab.receptive.crop_patches`
cuts those boxes out).

Feature maps come from one forward pass through a sub-model whose outputs are
the requested layers (the model itself is never changed), compiled once
(:func:`compiled_outputs`) and called batch by batch (:func:`in_batches`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnnlab.checks import (
    check_images,
    check_int,
    check_layer,
    check_layers,
    check_model,
    check_model_images,
)
from cnnlab.receptive import receptive_field

# Upper bound on the feature maps of one chunk of images in top_activations, in
# bytes: conv2 of the Keras example is 147 kB per digit, 1.5 GB for the test set.
_CHUNK_BYTES = 16 * 2**20

# Compiled sub-models by model and key: building one per call would trace a new
# function each time (slow, and TensorFlow warns about it).
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def compiled_outputs(model, key, outputs: Callable[[], list]) -> Callable:
    """A compiled function from a batch of images to tensors of ``model``, made once per key.

    Parameters
    ----------
    model : keras.Model
        Not changed.
    key : hashable
        Names what the function computes (say, the layers' names); the function
        is built on the first call with a key and reused after.
    outputs : callable
        ``() -> list of symbolic tensors`` of ``model`` (its layers' outputs,
        or values computed from them), called only to build the function.

    Returns
    -------
    callable
        ``f(images) -> list of tensors``, inference mode, for float32 images of
        the model's input shape. Compiled, and called directly rather than
        through ``model.predict``, which builds a data pipeline at every call:
        ten times the cost of the pass itself for the one digit an explorer shows.

    Raises
    ------
    TypeError, ValueError
        For a model that is not a built keras model with one input
        (:func:`cnnlab.checks.check_model`), or ``outputs`` that is not callable.
    """
    import keras
    import tensorflow as tf

    check_model(model)
    if not callable(outputs):
        raise TypeError(f"outputs must be a callable that returns the tensors, got "
                        f"{type(outputs).__name__}.")
    cache = _COMPILED.setdefault(model, {})
    if key not in cache:
        sub = keras.Model(model.inputs, list(outputs()))
        shape = (None, *model.inputs[0].shape[1:])

        def run(x):
            found = sub(x, training=False)
            # Keras gives a model of one output that output bare, not in a list.
            return list(found) if isinstance(found, (list, tuple)) else [found]

        cache[key] = tf.function(run, input_signature=[tf.TensorSpec(shape, tf.float32)])
    return cache[key]


def in_batches(function: Callable, images: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """``function``'s outputs for ``images``, ``batch_size`` at a time, joined per output.

    Parameters
    ----------
    function : callable
        From :func:`compiled_outputs`.
    images : ndarray, shape (N, H, W, C), float32
    batch_size : int

    Returns
    -------
    list of ndarray
        One array per output, with N rows.

    Raises
    ------
    TypeError, ValueError
        For a batch size that is not an int of at least 1, or no images.
    """
    import tensorflow as tf

    batch_size = check_int("batch_size", batch_size, 1)
    if len(images) == 0:
        raise ValueError("images is empty: pass at least one image.")

    parts = [function(tf.constant(images[start:start + batch_size]))
             for start in range(0, len(images), batch_size)]
    return [np.concatenate([np.asarray(part[k]) for part in parts])
            for k in range(len(parts[0]))]


def feature_maps(model, layers: list, images: np.ndarray,
                 batch_size: int = 128) -> dict[str, np.ndarray]:
    """The outputs of several layers for a batch of images, in one forward pass.

    Parameters
    ----------
    model : keras.Model
        A built model with defined inputs (e.g. from :mod:`cnnlab.models`).
    layers : list of str or keras layers
        The layers whose outputs are wanted.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    batch_size : int, default 128
        Images per forward pass. Memory grows with it: without oneDNN,
        TensorFlow's CPU convolution unfolds a batch into patches (conv2 of
        the Keras example CNN: 330 MB for 500 digits).

    Returns
    -------
    dict of str to ndarray
        Layer name -> output, e.g. shape (N, 26, 26, 32) for a convolution.
        Inference mode: dropout is off.

    Raises
    ------
    TypeError, ValueError
        For an unknown layer, a layer of another model, no layers, or bad images.
    """
    picked = check_layers(model, layers)
    images = check_model_images(model, images)
    batch_size = check_int("batch_size", batch_size, 1)
    function = compiled_outputs(model, ("maps", *(layer.name for layer in picked)),
                                lambda: [layer.output for layer in picked])
    outputs = in_batches(function, images, batch_size)
    return {layer.name: np.asarray(out) for layer, out in zip(picked, outputs, strict=True)}


@dataclass(frozen=True)
class TopK:
    """The k images whose strongest unit in one feature map is largest.

    Attributes
    ----------
    layer : str
    channel : int
    indices : ndarray, shape (k,), int64
        Into the images given, strongest first (ties: the lower index first).
    values : ndarray, shape (k,), float32
        The activation of the strongest unit of the map in each of them.
    positions : ndarray, shape (k, 2), int64
        (i, j) of that unit (the first in row-major order if several tie).
    boxes : ndarray, shape (k, 4), int64
        (top, left, bottom, right) of its receptive field, bottom and right
        excluded, *not* clipped to the image (see :func:`crop_patches`).
    """

    layer: str
    channel: int
    indices: np.ndarray
    values: np.ndarray
    positions: np.ndarray
    boxes: np.ndarray


def strongest_activations(model, layer, images: np.ndarray,
                          batch_size: int = 128) -> np.ndarray:
    """Each image's strongest activation in every feature map of a layer.

    The score by which :func:`top_activations` ranks images (Zeiler & Fergus
    2014, section 4: the maximum of the map over all positions), for all
    channels at once: pass it to :func:`top_activations` as ``scores`` to
    rank several channels of one layer after a single forward pass.

    Parameters
    ----------
    model : keras.Model
        Not changed.
    layer : str or keras layer
        A Conv2D, MaxPooling2D or AveragePooling2D layer of ``model``.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    batch_size : int, default 128
        Images per forward pass.

    Returns
    -------
    ndarray, shape (N, channels), float32
        ``max over (i, j)`` of the layer's output, per image and channel.

    Raises
    ------
    TypeError, ValueError
        For an unknown or non-spatial layer, or bad images (wrong shape, NaN,
        outside [0, 1]).
    """
    import keras

    target = check_layer(model, layer, "spatial")
    images = check_model_images(model, images)
    batch_size = check_int("batch_size", batch_size, 1)
    # A sub-model that ends in a spatial max: no feature maps are held.
    function = compiled_outputs(model, ("strongest", target.name),
                                lambda: [keras.ops.max(target.output, axis=(1, 2))])
    return in_batches(function, images, batch_size)[0].astype(np.float32)


def top_activations(model, layer, channel: int, images: np.ndarray, k: int = 9,
                    batch_size: int = 128, scores: np.ndarray | None = None) -> TopK:
    """The k images whose strongest unit in feature map ``channel`` is largest.

    Each image is scored by the maximum of the map over all positions
    (Zeiler & Fergus 2014, section 4: the top 9 activations). The scores come
    from a sub-model that ends in that maximum, so no feature maps are held
    and a whole test set fits; the maps of the k chosen images alone give
    the positions.

    Parameters
    ----------
    model : keras.Model
        Not changed.
    layer : str or keras layer
        A Conv2D, MaxPooling2D or AveragePooling2D layer of ``model``.
    channel : int
        The feature map, 0 <= channel < the layer's number of channels.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    k : int, default 9
        1 <= k <= N.
    batch_size : int, default 128
        Images per forward pass. Memory grows with it: without oneDNN,
        TensorFlow's CPU convolution unfolds a batch into patches (conv2 of
        the Keras example CNN: 330 MB for 500 digits).
    scores : ndarray, shape (N, channels), optional
        :func:`strongest_activations` of the same model, layer and images,
        computed once for several channels; computed here if omitted.

    Returns
    -------
    TopK

    Raises
    ------
    TypeError, ValueError
        For an unknown or non-spatial layer, a channel out of range, bad images
        (wrong shape, NaN, outside [0, 1]), k outside 1..N, or scores of
        another shape than (N, channels).
    """
    target = check_layer(model, layer, "spatial")
    field = receptive_field(model, target)
    _, height, width, channels = target.output.shape
    channel = check_int("channel", channel, 0)
    if channel >= channels:
        raise ValueError(f"channel must be in 0..{channels - 1} for layer {target.name!r}, "
                         f"got {channel}.")
    images = check_model_images(model, images)
    k = check_int("k", k, 1)
    if k > len(images):
        raise ValueError(f"k must be at most the number of images ({len(images)}), got {k}.")
    batch_size = check_int("batch_size", batch_size, 1)
    if scores is None:
        # One sub-model that ends in a spatial max: no feature maps are held.
        scores = strongest_activations(model, target, images, batch_size)
    elif not isinstance(scores, np.ndarray) or scores.shape != (len(images), channels) \
            or not np.issubdtype(scores.dtype, np.floating):
        got = (f"{scores.dtype} {scores.shape}" if isinstance(scores, np.ndarray)
               else type(scores).__name__)
        raise ValueError(f"scores must be a float array of shape ({len(images)}, {channels}) "
                         f"(strongest_activations of layer {target.name!r} on the images), "
                         f"got {got}.")
    best = scores[:, channel]
    indices = np.argsort(-best, kind="stable")[:k]
    # Where it sits, for the k chosen images only, from their maps in chunks.
    chunk = max(1, _CHUNK_BYTES // (height * width * channels * 4))
    where = np.empty(k, dtype=np.int64)
    for start in range(0, k, chunk):
        maps = feature_maps(model, [target], images[indices[start:start + chunk]], batch_size)
        flat = maps[target.name][..., channel].reshape(-1, height * width)
        # numpy's argmax takes the first maximum: ties (e.g. a flat background) are
        # resolved the same way every time.
        where[start:start + len(flat)] = flat.argmax(axis=1)
    positions = np.stack(np.divmod(where, width), axis=1)
    corners = np.asarray(field.offset) + positions * np.asarray(field.stride)
    boxes = np.concatenate([corners, corners + np.asarray(field.size)], axis=1)
    return TopK(target.name, channel, indices.astype(np.int64),
                best[indices].astype(np.float32), positions,
                boxes.astype(np.int64))


def shift_images(images: np.ndarray, dx: int = 0, dy: int = 0) -> np.ndarray:
    """Translate images by whole pixels, filling the uncovered border with zeros.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C)
    dx, dy : int
        Pixels to the right (``dx > 0``) and down (``dy > 0``); negative values
        go left and up. ``|dx| < W`` and ``|dy| < H``.

    Returns
    -------
    ndarray, same shape and dtype
        A new array: ``out[:, i + dy, j + dx] = images[:, i, j]`` where both exist.

    Raises
    ------
    TypeError, ValueError
        For bad images or shifts that are not ints or not smaller than the image.
    """
    images = check_images(images)
    for name, value, size in (("dx", dx, images.shape[2]), ("dy", dy, images.shape[1])):
        check_int(name, value, -(2**62))   # the type; the range is the image's, below
        if abs(value) >= size:
            raise ValueError(f"|{name}| must be smaller than the image ({size}), got {value}.")
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def relative_change(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How much each map changed: ``||after - before|| / ||before||``, per image.

    Parameters
    ----------
    before, after : ndarray, shape (N, ...)
        The same maps (same shape) for N images before and after a change.

    Returns
    -------
    ndarray, shape (N,)
        0 where nothing changed; 1 means a change as large as the map itself.
        Images whose ``before`` map is all zeros give NaN.

    Raises
    ------
    ValueError
        If the shapes differ or there is no batch axis.
    """
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape or before.ndim < 2:
        raise ValueError(
            f"before and after must have the same shape (N, ...), got {before.shape} and "
            f"{after.shape}."
        )
    n = before.shape[0]
    norm, diff = np.empty(n), np.empty(n)
    # Sums in float64, 64 images at a time: the whole batch in float64 would take twice
    # the memory of the maps, three times over (1000 conv2 maps: 0.9 GB).
    for start in range(0, n, 64):
        b = before[start:start + 64].reshape(-1, before[0].size).astype(np.float64)
        a = after[start:start + 64].reshape(-1, after[0].size).astype(np.float64)
        norm[start:start + 64] = np.linalg.norm(b, axis=1)
        diff[start:start + 64] = np.linalg.norm(a - b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, diff / norm, np.nan)


def kernels(model, layer) -> tuple[np.ndarray, np.ndarray]:
    """The filters and biases of a convolution layer.

    Parameters
    ----------
    model : keras.Model
    layer : str or keras layer
        A ``Conv2D`` layer of ``model``.

    Returns
    -------
    weights : ndarray, shape (kh, kw, C, M)
        Keras' layout: ``weights[:, :, k, m]`` is filter ``m``'s slice for input
        channel ``k`` (the source's ``w2[:, :, 0, i]``).
    bias : ndarray, shape (M,)
        Zeros if the layer has no bias.

    Raises
    ------
    ValueError
        For an unknown layer or one that is not a ``Conv2D``.
    """
    import keras

    picked = check_layer(model, layer, "conv")
    weights = keras.ops.convert_to_numpy(picked.kernel)
    bias = (keras.ops.convert_to_numpy(picked.bias) if picked.use_bias
            else np.zeros(weights.shape[-1], dtype=weights.dtype))
    return weights, bias


def oriented_edges(angles: np.ndarray, size: int = 9) -> np.ndarray:
    """Step edges through the centre of a square image, one per angle.

    Pixel (i, j) is 1 where the point lies on the positive side of the line
    through the centre whose normal points at ``angle`` (0: dark left, bright
    right; 90 degrees: bright at the top), 0 elsewhere, with a linear ramp of
    one pixel across the line so that every angle is drawn alike.

    Parameters
    ----------
    angles : array_like, shape (A,)
        Directions of the edge's normal in degrees, counter-clockwise.
    size : int, default 9
        Odd side length.

    Returns
    -------
    ndarray, shape (A, size, size, 1), float32 in [0, 1]

    Raises
    ------
    ValueError
        If ``size`` is not an odd int of at least 3.
    """
    size = check_int("size", size, 3)
    if size % 2 == 0:
        raise ValueError(f"size must be odd (so the edge passes through a pixel), got {size}.")
    theta = np.deg2rad(np.asarray(angles, dtype=np.float64))[:, None, None]
    centre = (size - 1) / 2
    rows, cols = np.mgrid[0:size, 0:size]
    # Signed distance to the line; image rows grow downwards, so y = centre - row.
    distance = (cols - centre) * np.cos(theta) + (centre - rows) * np.sin(theta)
    return np.clip(distance + 0.5, 0, 1)[..., None].astype(np.float32)


def orientation_tuning(weights: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Each filter's response to a step edge at every angle (at the edge's centre).

    Parameters
    ----------
    weights : ndarray, shape (kh, kw, 1, M)
        Single-channel filters (a first layer), odd kh = kw.
    angles : array_like, shape (A,)
        Directions of the edge's normal, degrees.

    Returns
    -------
    ndarray, shape (A, M)
        ``sum(h * patch)``: the filter's output at the centre of the edge image,
        without bias or ReLU. A filter that detects an edge direction peaks there
        and is most negative at the opposite direction (180 degrees away).

    Raises
    ------
    ValueError
        If ``weights`` is not (k, k, 1, M) with odd k.
    """
    weights = np.asarray(weights)
    if weights.ndim != 4 or weights.shape[2] != 1 or weights.shape[0] != weights.shape[1] \
            or weights.shape[0] % 2 == 0:
        raise ValueError(
            f"weights must have shape (k, k, 1, M) with odd k, got {weights.shape}."
        )
    patches = oriented_edges(angles, size=weights.shape[0])      # (A, k, k, 1)
    return np.einsum("aijc,ijcm->am", patches, weights)


def edge_alignment(weights: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """How much of an edge detector each filter is, from 0 to 1 (chapter 4).

    A filter's swing over the edges, max minus min of
    :func:`orientation_tuning`, is ``w . (e_best - e_worst)``, at most ``|w|``
    times the largest ``|e_a - e_b|`` over the edges (Cauchy-Schwarz). The
    ratio of the two says how well the filter's weights line up with the
    difference of two opposite edges, whatever their size: 1 for a filter that
    is exactly such a difference, near 0 for one that responds to every edge
    alike (a blur, a brightness detector).

    Parameters
    ----------
    weights : ndarray, shape (kh, kw, 1, M)
        Single-channel filters, odd kh = kw, none all zero.
    angles : array_like, shape (A,)
        Directions of the edges, degrees.

    Returns
    -------
    ndarray, shape (M,), float in [0, 1]

    Raises
    ------
    ValueError
        If ``weights`` is not (k, k, 1, M) with odd k, or a filter is all zero.
    """
    tuning = orientation_tuning(weights, angles)
    edges = oriented_edges(angles, size=weights.shape[0]).reshape(len(tuning), -1)
    bound = max(np.linalg.norm(a - b) for a in edges for b in edges)
    norms = np.linalg.norm(np.asarray(weights).reshape(-1, weights.shape[-1]), axis=0)
    if not norms.all():
        raise ValueError(f"weights: filters {np.flatnonzero(norms == 0).tolist()} are all zero; "
                         "an all-zero filter has no direction.")
    return (tuning.max(axis=0) - tuning.min(axis=0)) / (norms * bound)


def frequency_bands(weights: np.ndarray, edges: tuple[float, ...] = (1 / 6, 1 / 3),
                    size: int = 32) -> np.ndarray:
    """How each filter's energy splits over bands of spatial frequency (chapter 8).

    Zeiler & Fergus (2014, section 4.1) saw first-layer filters that were "a
    mix of extremely high and low frequency information, with little coverage
    of the mid frequencies". This measures it: each single-channel filter,
    less its mean (the DC term, which only shifts the output), is
    zero-padded to ``size`` x ``size``; its power spectrum ``|FFT|^2`` is
    summed over rings of radial frequency ``sqrt(fx^2 + fy^2)`` (cycles per
    pixel, up to 0.5 along an axis and 0.71 on the diagonal) split at ``edges``.

    Parameters
    ----------
    weights : ndarray, shape (kh, kw, 1, M)
        Single-channel filters (a first layer).
    edges : tuple of float, default (1/6, 1/3)
        Increasing band edges in (0, 0.5): low below the first, high above the last.
    size : int, default 32
        The padded size of the transform, at least the filter size.

    Returns
    -------
    ndarray, shape (M, len(edges) + 1), float64
        Each filter's share of its power in each band; rows sum to 1 (NaN for
        a constant filter, which has no power once its mean is removed).

    Raises
    ------
    TypeError, ValueError
        For weights that are not (kh, kw, 1, M), edges not increasing in (0, 0.5),
        or a size smaller than the filter.
    """
    weights = np.asarray(weights)
    if weights.ndim != 4 or weights.shape[2] != 1 or not np.issubdtype(weights.dtype, np.number):
        raise ValueError(f"weights must be a numeric array of shape (kh, kw, 1, M), got "
                         f"{weights.dtype} {weights.shape}.")
    if (not isinstance(edges, tuple) or not edges
            or not all(isinstance(e, float) and 0 < e < 0.5 for e in edges)
            or list(edges) != sorted(set(edges))):
        raise ValueError(f"edges must be a tuple of increasing floats in (0, 0.5), got {edges!r}.")
    size = check_int("size", size, max(weights.shape[:2]))
    filters = weights[:, :, 0, :].transpose(2, 0, 1).astype(np.float64)
    filters = filters - filters.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(filters, s=(size, size))) ** 2
    frequencies = np.fft.fftfreq(size)
    radius = np.hypot(frequencies[:, None], frequencies[None, :])
    bounds = (0.0, *edges, np.inf)
    shares = np.stack([power[:, (radius >= low) & (radius < high)].sum(axis=1)
                       for low, high in zip(bounds[:-1], bounds[1:], strict=True)], axis=1)
    total = shares.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 1e-12 * max(total.max(), 1e-300), shares / total, np.nan)
