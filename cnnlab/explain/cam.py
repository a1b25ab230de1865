"""Class activation maps (Zhou et al. 2016), for networks that end in global pooling.

The note "CNN-GAP for MNIST" writes them as (its equations, numbered here):

    F_k = 1/(XY) sum_{x,y} f_k(x, y)        (6.1)  global average pooling
    S_c = sum_k w_k^c F_k  (+ b_c)          (6.2)  the class score before softmax
    M_c(x, y) = sum_k w_k^c f_k(x, y)       (6.3)  the class activation map

so that ``mean over (x, y) of M_c + b_c = S_c``: the map spreads the class
score over the positions of the last convolution. That needs global average
pooling right before the last dense layer; a network ending in several dense
layers (the Keras example CNN) has no such map, and Grad-CAM is the way there.
"""

from __future__ import annotations

import numpy as np

from cnnlab.explain.class_score import check_arguments, classifier_head, layer_and_head_input


def cam_layer(model):
    """The layer CAM explains: the one feeding the global average pooling.

    Raises
    ------
    TypeError, ValueError
        For a model that is not a keras model, or one that does not end in global
        average pooling and one dense layer (the message says to use Grad-CAM).
    """
    import keras

    head = classifier_head(model)
    layers = model.layers
    if len(layers) < 3 or layers[-1] is not head \
            or not isinstance(layers[-2], keras.layers.GlobalAveragePooling2D):
        names = [f"{layer.name} ({type(layer).__name__})" for layer in layers[-4:]]
        raise ValueError(
            f"CAM needs global average pooling right before the last (dense) layer, so that "
            f"each class score is a weighted mean of the last feature maps (eq. 6.2); model "
            f"{model.name!r} ends with {names}. Use Grad-CAM for such a model."
        )
    return layers[-3]


def class_activation_maps(model, images: np.ndarray,
                          class_index: int | np.ndarray | None = None,
                          batch_size: int = 128) -> np.ndarray:
    """Class activation maps M_c (eq. 6.3) of a global-average-pooling network.

    Parameters
    ----------
    model : keras.Model
        Ends with ... -> last feature maps -> GlobalAveragePooling2D -> Dense
        (e.g. :func:`cnnlab.models.gap_cnn`). Not changed.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    class_index : int, ndarray of shape (N,), or None
        The class of each map; None gives the maps of every class.
    batch_size : int, default 128
        Images per forward pass.

    Returns
    -------
    ndarray, float32
        Shape (N, h, w) for one class per image, (N, K, h, w) for all K classes,
        at the resolution of the last feature maps (14x14 for ``gap_cnn``);
        raw (not normalised), so that ``maps.mean(axis=(-2, -1)) + bias`` is the
        class score before softmax.

    Raises
    ------
    ValueError
        If the model does not end in global average pooling and one dense layer
        (use Grad-CAM), or for bad images or class indices.
    TypeError
        For a model that is not a keras model, non-integer class indices or
        non-float images.
    """
    import keras

    layer = cam_layer(model)
    arguments = check_arguments(model, images, layer, 0 if class_index is None else class_index,
                                kind="any")
    maps, _ = layer_and_head_input(model, arguments, batch_size)     # (N, h, w, K_features)
    weights = keras.ops.convert_to_numpy(arguments.head.kernel)      # (K_features, classes)
    if class_index is None:
        return np.einsum("nxyk,kc->ncxy", maps, weights).astype(np.float32)  # (6.3), every c
    # Only the requested class's column of weights per image: eq. (6.3) once, not K times.
    n, height, width, channels = maps.shape
    columns = weights.T[arguments.class_index][:, :, None]           # (N, K_features, 1)
    flat = np.matmul(maps.reshape(n, height * width, channels), columns)
    return flat.reshape(n, height, width).astype(np.float32)


def class_scores(model, images: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """The class scores S_c before softmax (eq. 6.2), from the maps: mean of M_c plus b_c.

    Parameters
    ----------
    model, images, batch_size
        As :func:`class_activation_maps`.

    Returns
    -------
    ndarray, shape (N, classes), float32
    """
    import keras

    cam_layer(model)
    dense = classifier_head(model)
    bias = (keras.ops.convert_to_numpy(dense.bias) if dense.use_bias
            else np.zeros(dense.units, dtype=np.float32))
    return class_activation_maps(model, images, batch_size=batch_size).mean(axis=(2, 3)) + bias


def positive_share(heatmaps: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """The share of each map's positive evidence that lies inside a region.

    ``sum(max(M, 0) * region) / sum(max(M, 0))``: how much of what speaks *for*
    the class sits on, say, the strokes or a mark. A map without positive
    values has no share (NaN).

    Parameters
    ----------
    heatmaps : ndarray, shape (N, h, w)
        Raw maps, e.g. :func:`class_activation_maps` for one class per image.
    regions : ndarray, shape (N, h, w) or (h, w), bool or weights in [0, 1]
        The region of each map (or one for all), at the maps' resolution.

    Returns
    -------
    ndarray, shape (N,), float64
        In [0, 1], NaN for a map that is nowhere positive.

    Raises
    ------
    TypeError
        For maps or regions that are not numbers or booleans.
    ValueError
        For maps that are not (N, h, w) or not finite, or regions of another
        shape or outside [0, 1].
    """
    heatmaps, regions = np.asarray(heatmaps), np.asarray(regions)
    for name, array in (("heatmaps", heatmaps), ("regions", regions)):
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be numbers or booleans, got dtype {array.dtype}.")
    if heatmaps.ndim != 3 or not np.isfinite(heatmaps).all():
        raise ValueError(f"heatmaps must be finite maps of shape (N, h, w), got shape "
                         f"{heatmaps.shape}.")
    if regions.shape not in (heatmaps.shape, heatmaps.shape[1:]):
        raise ValueError(f"regions must have shape {heatmaps.shape} or {heatmaps.shape[1:]}, "
                         f"got {regions.shape}.")
    regions = regions.astype(np.float64)
    if not ((regions >= 0) & (regions <= 1)).all():
        raise ValueError("regions must be booleans or weights in [0, 1].")
    evidence = np.maximum(heatmaps.astype(np.float64), 0)
    total = evidence.sum(axis=(1, 2))
    inside = (evidence * regions).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1), np.nan)


def input_size_figures(model, images: np.ndarray, labels: np.ndarray,
                       sizes: tuple[int, ...] = (28, 42, 56),
                       batch_size: int = 128) -> dict[int, dict[str, float]]:
    """Accuracy and map size of one trained network fed its pictures enlarged (chapter 8).

    MathWorks' CAM example notes that a larger input gives a finer class
    activation map, at some cost in accuracy. Each picture is resampled whole
    to ``size`` x ``size`` (:func:`cnnlab.transforms.resize_images`) and
    classified by :func:`cnnlab.models.at_input_size` of ``model``.

    Parameters
    ----------
    model : keras.Sequential
        As :func:`cnnlab.models.at_input_size`. Not changed.
    images : ndarray, shape (N, H, H, C), float in [0, 1]
    labels : ndarray, shape (N,), int in 0..9
    sizes : tuple of int, default (28, 42, 56)
        Input sides, each 2 to 512 (as :func:`cnnlab.transforms.resize_images`).
    batch_size : int, default 128

    Returns
    -------
    dict of int to dict
        For each size: 'accuracy', and 'map_side', the side of the maps that
        feed the global pooling (the class activation maps' resolution).

    Raises
    ------
    TypeError, ValueError
        As :func:`cnnlab.models.at_input_size`, and for bad images, labels or sizes.
    """
    from cnnlab.checks import check_images, check_int, check_labels
    from cnnlab.features import compiled_outputs, in_batches
    from cnnlab.models import at_input_size, global_pooling_index
    from cnnlab.transforms import resize_images

    images = check_images(images, unit_range=True)
    labels = check_labels(labels, len(images))
    if images.shape[1] != images.shape[2]:
        raise ValueError(f"images must be square, got {images.shape[1]}x{images.shape[2]}.")
    if not isinstance(sizes, tuple) or not sizes:
        raise TypeError(f"sizes must be a non-empty tuple of ints, got {sizes!r}.")
    sizes = tuple(check_int(f"sizes[{k}]", s, 2) for k, s in enumerate(sizes))
    batch_size = check_int("batch_size", batch_size, 1)
    figures = {}
    for size in sizes:
        resized = at_input_size(model, size)
        # At the images' own size the resampling gives them back exactly.
        function = compiled_outputs(resized, ("output",), lambda r=resized: [r.outputs[0]])
        predicted = in_batches(function, resize_images(images, size),
                               batch_size)[0].argmax(axis=1)
        maps = resized.layers[global_pooling_index(resized) - 1].output
        figures[size] = {"accuracy": float((predicted == labels).mean()),
                         "map_side": int(maps.shape[1])}
    return figures
