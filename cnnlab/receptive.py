"""Receptive fields: the box of the input that one unit of a layer sees (chapters 4 and 5).

A unit of a convolution or pooling layer sees a box of the input: its
*receptive field*. Along each axis it is fixed by three numbers computed from
the chain of layers below (the recurrence of Araujo, Norris & Sim, "Computing
Receptive Fields of Convolutional Neural Networks", Distill 2019, section
"Single-path networks"): ``size``, ``stride`` (how far the box moves from one
unit to the next) and ``offset`` (the top-left input coordinate of unit 0's
box, negative when 'same' padding makes it hang over the border). Unit ``i``
sees input rows ``offset + i * stride`` up to, not including,
``offset + i * stride + size``.

:func:`crop_patches` cuts such boxes out of images, e.g. those of
:func:`cnnlab.features.top_activations`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlab.checks import check_images, check_int, check_layer
from cnnlab.reference import conv_output_size, same_padding


class ReceptiveField(NamedTuple):
    """The input box a unit sees, per axis (rows, columns), in pixels.

    Attributes
    ----------
    size : tuple of int
        Height and width of the box.
    stride : tuple of int
        Shift of the box from one unit to the next.
    offset : tuple of int
        Top-left corner of the box of unit (0, 0); negative where 'same'
        padding makes it hang over the border.
    """

    size: tuple[int, int]
    stride: tuple[int, int]
    offset: tuple[int, int]


def _is_pooling(layer) -> bool:
    import keras

    return isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D))


def _geometry(layer) -> tuple[tuple[int, int], tuple[int, int], str] | None:
    """(kernel, strides, padding) of a layer that moves the box; None for one that does not."""
    import keras

    if isinstance(layer, keras.layers.Conv2D) or _is_pooling(layer):
        if layer.data_format != "channels_last":
            raise ValueError(f"layer {layer.name!r} must use data_format 'channels_last', "
                             f"got {layer.data_format!r}.")
        if _is_pooling(layer):
            return tuple(layer.pool_size), tuple(layer.strides), layer.padding
        # A dilated kernel spans dilation * (k - 1) + 1 pixels (with holes inside).
        kernel = tuple(d * (k - 1) + 1 for k, d in zip(layer.kernel_size, layer.dilation_rate,
                                                         strict=True))
        return kernel, tuple(layer.strides), layer.padding
    # Element-wise layers: a unit sees exactly what the unit below it sees.
    passing = (keras.layers.InputLayer, keras.layers.Dropout, keras.layers.GaussianNoise,
               keras.layers.GaussianDropout, keras.layers.Activation, keras.layers.ReLU,
               keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.BatchNormalization,
               keras.layers.Rescaling)
    if isinstance(layer, passing):
        return None
    raise ValueError(f"cannot follow the receptive field through layer {layer.name!r} "
                     f"({type(layer).__name__}): only Conv2D, MaxPooling2D, AveragePooling2D "
                     "and element-wise layers are understood.")


def _chain(model, target) -> list:
    """The layers from the model's input up to ``target``, which must form one path."""
    chain, layer = [target], target
    while True:
        below = layer.input
        if isinstance(below, (list, tuple)):
            raise ValueError(f"layer {layer.name!r} has {len(below)} inputs; receptive fields "
                             "are computed for a single chain of layers.")
        if any(below is tensor for tensor in model.inputs):
            return chain[::-1]
        producers = [c for c in model.layers if c.output is below]
        if len(producers) != 1:
            raise ValueError(f"cannot find the one layer below {layer.name!r} in model "
                             f"{model.name!r}; receptive fields need a single chain of layers.")
        layer = producers[0]
        chain.append(layer)


def receptive_field(model, layer) -> ReceptiveField:
    """The input box that one unit of a convolution or pooling layer sees.

    Follows the chain of layers from the input: per axis, a layer with
    (effective) kernel ``k``, stride ``s`` and ``p`` zeros padded before makes
    ``size += (k - 1) * stride``, ``offset -= p * stride``, ``stride *= s``
    (Araujo et al. 2019, section "Single-path networks"; TensorFlow's 'same'
    padding puts the odd zero after, see :func:`cnnlab.reference.same_padding`).
    With a dilated kernel the box is the bounding box: it can contain pixels the
    unit does not see.

    Parameters
    ----------
    model : keras.Model
        With a fixed input size; not changed.
    layer : str or keras layer
        A Conv2D, MaxPooling2D or AveragePooling2D layer of ``model``.

    Returns
    -------
    ReceptiveField
        ``(size, stride, offset)``, each a (rows, columns) tuple. For the Keras
        example CNN: conv1 (3, 3), (1, 1), (0, 0); conv2 (5, 5), (1, 1), (0, 0);
        pool (6, 6), (2, 2), (0, 0).

    Raises
    ------
    TypeError, ValueError
        For an unknown layer, one that is not a convolution or pooling layer, a
        layer below it that changes the geometry in a way not understood
        (e.g. Flatten, a branch), or an input of unknown size.
    """
    target = check_layer(model, layer, "spatial")
    sizes = list(model.inputs[0].shape[1:3])
    if None in sizes:
        raise ValueError(f"model {model.name!r} must have a fixed input size, got "
                         f"{tuple(model.inputs[0].shape)}.")
    size, stride, offset = [1, 1], [1, 1], [0, 0]
    for step in _chain(model, target):
        geometry = _geometry(step)
        if geometry is None:
            continue
        for axis in range(2):
            kernel, s, padding = geometry[0][axis], geometry[1][axis], geometry[2]
            before = same_padding(sizes[axis], kernel, s)[0] if padding == "same" else 0
            size[axis] += (kernel - 1) * stride[axis]
            offset[axis] -= before * stride[axis]
            stride[axis] *= s
            sizes[axis] = conv_output_size(sizes[axis], kernel, s, padding)
    return ReceptiveField(tuple(size), tuple(stride), tuple(offset))


def unit_patch(model, layer, i: int, j: int, clip: bool = True) -> tuple[int, int, int, int]:
    """The input box of unit (i, j) of a convolution or pooling layer.

    Parameters
    ----------
    model : keras.Model
    layer : str or keras layer
        As in :func:`receptive_field`.
    i, j : int
        Row and column of the unit in the layer's output.
    clip : bool, default True
        Clip the box to the image. With 'same' padding the boxes of border units
        hang over the border (the part outside is zero padding).

    Returns
    -------
    (top, left, bottom, right) : tuple of int
        ``image[top:bottom, left:right]`` is what the unit sees.

    Raises
    ------
    TypeError, ValueError
        As :func:`receptive_field`, and for ``i`` or ``j`` outside the layer's output.
    """
    field = receptive_field(model, layer)
    height, width = check_layer(model, layer, "spatial").output.shape[1:3]
    i, j = check_int("i", i, 0), check_int("j", j, 0)
    if i >= height or j >= width:
        raise ValueError(f"unit (i, j) must be inside the layer's {height} x {width} output, "
                         f"got ({i}, {j}).")
    top, left = (o + u * s for o, u, s in zip(field.offset, (i, j), field.stride, strict=True))
    box = (top, left, top + field.size[0], left + field.size[1])
    if not clip:
        return box
    rows, cols = model.inputs[0].shape[1:3]
    return (max(box[0], 0), max(box[1], 0), min(box[2], rows), min(box[3], cols))


def crop_patches(images: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Cut one box out of each image, with zeros where a box hangs over the border.

    Parameters
    ----------
    images : ndarray, shape (K, H, W, C), float
        One image per box, e.g. ``images[top.indices]``.
    boxes : array of int, shape (K, 4)
        (top, left, bottom, right), bottom and right excluded, all of the same
        size, e.g. ``TopK.boxes``.

    Returns
    -------
    ndarray, shape (K, bottom - top, right - left, C), same dtype as images
        Every patch has the full box size (the receptive field's), padded with
        zeros outside the image.

    Raises
    ------
    TypeError, ValueError
        For bad images, boxes that are not integers of shape (K, 4), empty boxes
        or boxes of different sizes.
    """
    images = check_images(images)
    boxes = np.asarray(boxes)
    if not np.issubdtype(boxes.dtype, np.integer):
        raise TypeError(f"boxes must be integers, got dtype {boxes.dtype}.")
    if boxes.shape != (len(images), 4) or len(images) == 0:
        raise ValueError(f"boxes must have shape ({len(images)}, 4), one (top, left, bottom, "
                         f"right) per image (at least one), got {boxes.shape}.")
    sizes = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)
    if (sizes < 1).any() or (sizes != sizes[0]).any():
        raise ValueError(f"boxes must all have the same size of at least 1 x 1, got sizes "
                         f"{sorted({tuple(map(int, s)) for s in sizes})}.")
    _, height, width, _ = images.shape
    # One padding wide enough for every box, then one gather for all patches.
    pad = int(max(0, -boxes[:, :2].min(), boxes[:, 2].max() - height,
                  boxes[:, 3].max() - width))
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    rows = boxes[:, 0, None] + pad + np.arange(sizes[0, 0])
    cols = boxes[:, 1, None] + pad + np.arange(sizes[0, 1])
    return padded[np.arange(len(images))[:, None, None], rows[:, :, None], cols[:, None, :]]
