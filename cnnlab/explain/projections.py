"""Project a convolutional activation back to pixel space: deconvnet, gradient, guided backprop.

Zeiler & Fergus (2014), "Visualizing and understanding convolutional networks",
section 2.1: keep one activation (or one feature map) of a conv layer, zero the
others, and pass it down through the layers below: at each max-pool **unpool**
with the switches of the forward pass, at each ReLU **rectify** the signal going
down, at each convolution **filter** with the transposed kernels (no bias).

The plain gradient (Simonyan et al. 2014) and guided backpropagation
(Springenberg et al. 2015) are the same backward pass with another rule at the
ReLUs (Springenberg et al. 2015, Figure 1), with ``f`` the ReLU's forward input
and ``R`` the signal coming down:

- gradient:  ``R_below = R * (f > 0)``            (the forward mask)
- deconvnet: ``R_below = relu(R)``                (rectify the signal)
- guided:    ``R_below = relu(R) * (f > 0)``      (both)

Max-pools route the signal to their switches in all three (the gradient of a
max goes to the argmax), and convolutions are passed by their transpose.

The starting signal (the same for all three methods, so that they can be
compared): the selected activations' own values ``a * m`` (``m`` is 1 at the
selected units of the layer's post-ReLU output ``a``, 0 elsewhere), as Zeiler &
Fergus pass the feature map down. With the gradient rule the result is thus
exactly ``d/dx [ 1/2 * sum(m * a**2) ]``, the gradient of the selected
activations, each weighted by its own value; a selected unit that is 0
projects to all zeros.

Models: chains (Sequential-style) of Conv2D (relu or linear activation), ReLU
or Activation('relu') layers, MaxPooling2D and layers that do nothing at
inference (Dropout); anything may follow the chosen layer. The model is only
read, never changed.
"""

from __future__ import annotations

import numpy as np

from cnnlab.checks import check_int, check_layer, check_model_images
from cnnlab.explain import backward


def _relu_gradient(signal, forward_input):
    # Backpropagation: the ReLU's derivative, i.e. the forward mask.
    import tensorflow as tf

    return signal * tf.cast(forward_input > 0, signal.dtype)


def _relu_deconvnet(signal, forward_input):
    # Zeiler & Fergus: rectify what comes down; the forward pass plays no part here.
    import tensorflow as tf

    return tf.nn.relu(signal)


def _relu_guided(signal, forward_input):
    # Springenberg et al.: only where the unit was active AND the signal is positive.
    import tensorflow as tf

    return tf.nn.relu(signal) * tf.cast(forward_input > 0, signal.dtype)


RULES = {"gradient": _relu_gradient, "deconvnet": _relu_deconvnet, "guided": _relu_guided}
"""How each method passes the signal down through a ReLU: name -> rule(signal, forward input)."""

_METHODS = {"gradient": "backprop", "deconvnet": "deconvnet", "guided": "guided_backprop"}


def _check_unit(unit, height: int, width: int, layer_name: str):
    """``'max'``, ``None`` or an in-range ``(row, col)`` of ints, returned as a tuple."""
    if unit is None or (isinstance(unit, str) and unit == "max"):
        return unit
    if isinstance(unit, np.ndarray) and unit.ndim == 1:
        unit = tuple(unit.tolist())
    if isinstance(unit, str) or not isinstance(unit, (tuple, list)) or len(unit) != 2 or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in unit):
        raise TypeError(f"unit must be 'max', None or a (row, col) pair of ints, got {unit!r}.")
    row, col = int(unit[0]), int(unit[1])
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(
            f"unit must be (row, col) with 0 <= row < {height} and 0 <= col < {width} (the "
            f"output of layer {layer_name!r} is {height}x{width}), got {(row, col)}."
        )
    return row, col


def _prepare(model, images, layer, channel, unit, batch_size, method):
    """Check every argument; return the stages and the checked values."""
    conv = check_layer(model, layer, "conv")
    channel = check_int("channel", channel, 0)
    if channel >= conv.filters:
        raise ValueError(
            f"channel must be in 0..{conv.filters - 1} (layer {conv.name!r} has "
            f"{conv.filters} channels), got {channel}."
        )
    height, width = conv.output.shape[1:3]
    unit = _check_unit(unit, height, width, conv.name)
    images = check_model_images(model, images)
    batch_size = check_int("batch_size", batch_size, 1)
    stages = backward.build_stages(model, conv, method)
    return stages, images, channel, unit, batch_size


def _strongest(activation, channel: int):
    """Flat index (row * width + col) of each image's largest activation in ``channel``."""
    import tensorflow as tf

    shape = tf.shape(activation)
    flat = tf.reshape(activation[..., channel], (shape[0], shape[1] * shape[2]))
    # tf.argmax takes the first maximum: row-major order decides ties.
    return tf.argmax(flat, axis=1, output_type=tf.int32)


def _select(activation, channel: int, unit):
    """The mask ``m`` (N, h, w, K): 1 at the selected units of ``channel``, 0 elsewhere."""
    import tensorflow as tf

    n, height, width, depth = (tf.shape(activation)[i] for i in range(4))
    if unit is None:
        spatial = tf.ones((n, height, width), activation.dtype)
    else:
        if unit == "max":
            index = _strongest(activation, channel)
        else:
            index = tf.fill((n,), unit[0] * width + unit[1])
        spatial = tf.reshape(tf.one_hot(index, height * width, dtype=activation.dtype),
                             (n, height, width))
    return spatial[..., None] * tf.one_hot(channel, depth, dtype=activation.dtype)


def project(model, images: np.ndarray, layer, channel: int, unit="max",
            rule: str = "deconvnet", batch_size: int = 128) -> np.ndarray:
    """Project selected activations of a conv layer down to pixel space with a ReLU rule.

    The common backward pass of :func:`deconvnet`, :func:`backprop` and
    :func:`guided_backprop` (see the module docstring for the three rules).

    Parameters
    ----------
    model : keras.Model
        A built chain of Conv2D, ReLU, MaxPooling2D and Dropout layers up to ``layer``.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
        ``(H, W, C)`` as the model's input, e.g. (N, 28, 28, 1).
    layer : str or keras.layers.Conv2D
        The conv layer whose post-ReLU activations are projected.
    channel : int
        The feature map, ``0 <= channel < layer.filters``.
    unit : {'max', None} or (row, col) ints (tuple, list or array), default 'max'
        ``'max'``: the single strongest activation of ``channel`` in each image
        (first in row-major order on ties; see :func:`strongest_units`).
        ``(row, col)``: that single activation in every image. ``None``: the whole
        feature map.
    rule : {'deconvnet', 'gradient', 'guided'}, default 'deconvnet'
        How the signal passes each ReLU going down (:data:`RULES`).
    batch_size : int, default 128
        Images per backward pass (memory only; the results do not depend on it).

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        The projection of each image's selected activations, ``a * m`` at the top.

    Raises
    ------
    TypeError
        For a model that is not a keras.Model, a layer that is neither a name nor
        a layer, a non-int channel or batch size, a malformed unit, non-float images.
    ValueError
        For an unknown layer, a layer that is not Conv2D (the message lists the
        conv layers), a channel or unit out of range (the message gives the range),
        images with NaN, values outside [0, 1] or another shape than the model's
        input, an unknown rule, or an unsupported layer below ``layer``.
    """
    if not isinstance(rule, str) or rule not in RULES:
        raise ValueError(f"rule must be one of {sorted(RULES)}, got {rule!r}.")
    stages, images, channel, unit, batch_size = _prepare(
        model, images, layer, channel, unit, batch_size, _METHODS[rule])
    outputs = []
    for part in backward.in_batches(len(images), batch_size):
        activation, records = backward.forward(stages, images[part])
        top = activation * _select(activation, channel, unit)
        outputs.append(backward.backward(stages, records, top, RULES[rule]))
    return backward.as_numpy(outputs)


def deconvnet(model, images: np.ndarray, layer, channel: int, unit="max",
              batch_size: int = 128) -> np.ndarray:
    """Zeiler & Fergus's deconvnet projection of conv activations to pixel space.

    Zeiler & Fergus (2014), section 2.1. Going down from ``layer``, at each
    stage: unpool with the forward pass's switches, rectify (``relu`` of the
    signal going down, whatever the forward pass did), filter with the
    transposed kernels (``conv2d_transpose``, same strides and padding, no bias):
    ``R_below = W^T * relu(unpool(R))``. The top signal is the selected
    activations' values, all others zero.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    layer : str or keras.layers.Conv2D
    channel : int
    unit : {'max', None} or tuple of int (row, col), default 'max'
        A single activation (the strongest or a given one) or the whole map (``None``).
    batch_size : int, default 128

    Returns
    -------
    ndarray, shape (N, H, W, C), float32

    Raises
    ------
    TypeError, ValueError
        As :func:`project`.
    """
    return project(model, images, layer, channel, unit, "deconvnet", batch_size)


def backprop(model, images: np.ndarray, layer, channel: int, unit="max",
             batch_size: int = 128) -> np.ndarray:
    """The gradient of the selected activations with respect to the pixels.

    Simonyan, Vedaldi & Zisserman (2014), "Deep inside convolutional networks",
    equation (2) (``w = dS/dI``), here for a conv unit instead of a class score:
    ``d/dx [ 1/2 * sum(m * a**2) ]``, i.e. the backward pass with the ReLU
    rule ``R_below = R * (f > 0)`` and the same top signal as :func:`deconvnet`.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    layer : str or keras.layers.Conv2D
    channel : int
    unit : {'max', None} or tuple of int (row, col), default 'max'
    batch_size : int, default 128

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        Signed; take ``abs`` (and the max over channels) for Simonyan's map.

    Raises
    ------
    TypeError, ValueError
        As :func:`project`.
    """
    return project(model, images, layer, channel, unit, "gradient", batch_size)


def guided_backprop(model, images: np.ndarray, layer, channel: int, unit="max",
                    batch_size: int = 128) -> np.ndarray:
    """Guided backpropagation of the selected activations to the pixels.

    Springenberg, Dosovitskiy, Brox & Riedmiller (2015), "Striving for simplicity:
    the all convolutional net", section 3.4 and Figure 1: at each ReLU the signal
    passes only where the forward input was positive and the signal is positive,
    ``R_below = relu(R) * (f > 0)``. Same top signal as :func:`deconvnet`.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    layer : str or keras.layers.Conv2D
    channel : int
    unit : {'max', None} or tuple of int (row, col), default 'max'
    batch_size : int, default 128

    Returns
    -------
    ndarray, shape (N, H, W, C), float32

    Raises
    ------
    TypeError, ValueError
        As :func:`project`.
    """
    return project(model, images, layer, channel, unit, "guided", batch_size)


def strongest_units(model, images: np.ndarray, layer, channel: int,
                    batch_size: int = 128) -> np.ndarray:
    """Where each image's strongest activation of a channel is (the unit ``'max'`` selects).

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    layer : str or keras.layers.Conv2D
    channel : int
    batch_size : int, default 128

    Returns
    -------
    ndarray, shape (N, 2), int64
        ``(row, col)`` in the layer's output; the first in row-major order on ties
        (``(0, 0)`` for a map that is all zeros).

    Raises
    ------
    TypeError, ValueError
        As :func:`project`.
    """
    import tensorflow as tf

    stages, images, channel, _, batch_size = _prepare(
        model, images, layer, channel, "max", batch_size, "strongest_units")
    rows = []
    for part in backward.in_batches(len(images), batch_size):
        activation, _ = backward.forward(stages, images[part])
        index, width = _strongest(activation, channel), tf.shape(activation)[2]
        rows.append(tf.stack([index // width, index % width], axis=1))
    return np.concatenate([np.asarray(r) for r in rows]).astype(np.int64)


def cosine_matrix(projections: np.ndarray) -> np.ndarray:
    """The cosine similarity of every pair of projections: do they differ beyond a scale?

    A projection that depends on the image only through a positive factor
    (Zeiler & Fergus's deconvnet below a unit with no max-pool under it: the
    rectified transposed filters of a fixed signal) gives cosines of 1
    between all the images; switches that route the signal differently
    bring them below 1.

    Parameters
    ----------
    projections : ndarray, shape (K, ...), real
        K projections (e.g. cropped to the receptive field), each flattened.

    Returns
    -------
    ndarray, shape (K, K), float64
        ``<p_i, p_j> / (|p_i| |p_j|)``; NaN in the rows and columns of
        projections that are all zero.

    Raises
    ------
    TypeError
        For a non-numeric array.
    ValueError
        For fewer than 2 dimensions, no projection, or values that are not finite.
    """
    projections = np.asarray(projections)
    if not np.issubdtype(projections.dtype, np.number) or np.iscomplexobj(projections):
        raise TypeError(f"projections must be a real numeric array, got dtype "
                        f"{projections.dtype}.")
    if projections.ndim < 2 or len(projections) == 0:
        raise ValueError(f"projections must have shape (K, ...) with K >= 1 and at least "
                         f"2 dimensions, got {projections.shape}.")
    flat = projections.reshape(len(projections), -1).astype(np.float64)
    if not np.isfinite(flat).all():
        raise ValueError("projections must be finite, got NaN or infinite values.")
    norms = np.linalg.norm(flat, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = flat / norms[:, None]
    return unit @ unit.T
