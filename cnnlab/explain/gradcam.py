"""Grad-CAM (Selvaraju et al. 2017) on any convolution layer, from the logit or the softmax.

Equations (1)-(3) of the JSAI 2019 paper on the learning process (after
Selvaraju et al.), for class c and feature maps A^k of the chosen layer:

    alpha_k^c = 1/Z sum_{i,j} dy^c / dA^k_ij          (7.1)  weight of map k
    L^c       = ReLU( sum_k alpha_k^c A^k )           (7.2)  the map
    L^c       = (L^c - min L^c) / (max L^c - min L^c) (7.3)  for display

The paper's finding: with y^c the class probability after softmax, the
gradient vanishes once the output saturates (p -> 1) and the map is empty;
differentiating the score *before* the softmax (its eq. 4, the logit) does
not. ``score='logit'`` (the default) does that, ``score='softmax'`` the usual.

Grad-CAM++ (Chattopadhay et al. 2018) changes only the weights alpha_k^c
(its eq. 19): one more entry in :data:`CHANNEL_WEIGHTS`. The plumbing (checks,
the classifier head, the score, one compiled tape) is
:mod:`cnnlab.explain.class_score`'s. The model is never changed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cnnlab.explain.class_score import check_arguments, reduce_gradients


def grad_cam_weights(maps, grads):
    """Grad-CAM's weight of map k: the mean gradient over the positions, eq. (7.1).

    alpha_k^c = 1/Z sum_{i,j} dy^c / dA^k_ij (Selvaraju et al. 2017, eq. 1).

    Parameters
    ----------
    maps, grads : tf.Tensor, shape (N, h, w, K)
        The feature maps A^k and dy^c/dA^k.

    Returns
    -------
    tf.Tensor, shape (N, 1, 1, K)
    """
    import tensorflow as tf

    return tf.reduce_mean(grads, axis=(1, 2), keepdims=True)


def grad_cam_plus_plus_weights(maps, grads):
    """Grad-CAM++'s weight of map k (Chattopadhay et al. 2018, eq. 19).

    With the class score S^c passed through the exponential, Y^c = exp(S^c),
    the second and third derivatives of Y^c in a network that is piecewise
    linear above A are exp(S^c) times the second and third powers of
    g = dS^c/dA (the paper's eqs. 17-18), and the pixel weights are

        a_ij^kc = g_ij^2 / (2 g_ij^2 + sum_ab A^k_ab g_ij^3)            (19)
        w_k^c   = sum_ij a_ij^kc relu(dY^c / dA^k_ij)                   (eq. 7)

    with a_ij^kc = 0 where g_ij = 0 (the paper: "if ... = 0, a = 0"). The
    factor exp(S^c) > 0 in dY^c/dA = exp(S^c) g is left out: it scales an
    image's whole map by one positive number, which eq. (7.3) removes, and
    it overflows float32 for scores above 88.

    Parameters
    ----------
    maps, grads : tf.Tensor, shape (N, h, w, K)
        The feature maps A^k and g = dS^c/dA^k.

    Returns
    -------
    tf.Tensor, shape (N, 1, 1, K)
    """
    import tensorflow as tf

    squared = tf.square(grads)
    denominator = 2.0 * squared + tf.reduce_sum(maps, axis=(1, 2), keepdims=True) \
        * squared * grads
    alpha = tf.math.divide_no_nan(squared, denominator)
    return tf.reduce_sum(alpha * tf.nn.relu(grads), axis=(1, 2), keepdims=True)


# Grad-CAM's variants differ only in how they weight the maps: one function each.
CHANNEL_WEIGHTS = {
    "grad_cam": grad_cam_weights,
    "grad_cam++": grad_cam_plus_plus_weights,
}


def _weighted_maps(weights):
    """The reduction ``(A, dy/dA, y) -> ReLU(sum_k w_k A^k)`` for one weighting, eq. (7.2)."""
    import tensorflow as tf

    def reduce(maps, grads, scores):
        return tf.nn.relu(tf.reduce_sum(weights(maps, grads) * maps, axis=-1))

    return reduce


# One reduction object per weighting: the compiled tape is cached by it.
_REDUCTIONS = {name: _weighted_maps(weights) for name, weights in CHANNEL_WEIGHTS.items()}


def grad_cam(model, images: np.ndarray, layer, class_index: int | np.ndarray,
             score: Literal["logit", "softmax", "sigmoid"] = "logit",
             batch_size: int = 128, weighting: str = "grad_cam") -> np.ndarray:
    """Grad-CAM heatmaps, eqs. (7.1)-(7.2), batched and compiled.

    Parameters
    ----------
    model : keras.Model
        A classifier whose last layer is Dense (softmax, sigmoid or linear),
        possibly followed by a Softmax layer. Not changed.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    layer : str or keras Conv2D layer
        Whose feature maps A^k are weighted.
    class_index : int or ndarray of shape (N,)
        The class explained for each image.
    score : {'logit', 'softmax', 'sigmoid'}, default 'logit'
        Differentiate the score x^c of the last dense layer before its
        nonlinearity (the fix of eq. 7.4), or the score after it: the softmax
        probability (the usual Grad-CAM on a softmax model) or the sigmoid of
        the logit (the usual way on Sakai & Takenaka's network, whose output
        units have a sigmoid before a softmax layer).
    batch_size : int, default 128
        Images per tape: memory grows with the batch, not with N.
    weighting : str, default 'grad_cam'
        A key of :data:`CHANNEL_WEIGHTS`: 'grad_cam' (eq. 7.1) or 'grad_cam++'
        (Chattopadhay et al. 2018, eq. 19).

    Returns
    -------
    ndarray, shape (N, h, w), float32
        The maps at the layer's resolution, after the ReLU and *not* normalised
        (normalise for display; an all-zero map is an "empty" map).

    Raises
    ------
    ValueError
        For an unknown or non-convolution layer, a model not ending in a Dense
        layer, an unknown score or weighting, class indices out of range, or
        bad images (shape, NaN, outside [0, 1]).
    TypeError
        For a model that is not a keras model, non-integer class indices or
        non-float images.
    """
    if weighting not in CHANNEL_WEIGHTS:
        raise ValueError(f"weighting must be one of {sorted(CHANNEL_WEIGHTS)}, got "
                         f"{weighting!r}.")
    arguments = check_arguments(model, images, layer, class_index, kind="conv")
    if arguments.layer is None:
        raise TypeError("layer must be a Conv2D layer's name or the layer, got None.")
    return reduce_gradients(model, arguments, _REDUCTIONS[weighting], score, batch_size)


def grad_cam_plus_plus(model, images: np.ndarray, layer, class_index: int | np.ndarray,
                       score: Literal["logit", "softmax", "sigmoid"] = "logit",
                       batch_size: int = 128) -> np.ndarray:
    """Grad-CAM++ heatmaps (Chattopadhay et al. 2018, eq. 19): :func:`grad_cam` with
    ``weighting='grad_cam++'``.

    Parameters, Returns and Raises as :func:`grad_cam`; the maps are the
    paper's divided by exp(S^c), a positive factor per image (see
    :func:`grad_cam_plus_plus_weights`).
    """
    return grad_cam(model, images, layer, class_index, score, batch_size, "grad_cam++")


def normalize_heatmaps(heatmaps: np.ndarray) -> np.ndarray:
    """Scale each map to [0, 1] for display, eq. (7.3): (L - min L) / (max L - min L).

    Parameters
    ----------
    heatmaps : ndarray, shape (N, h, w)

    Returns
    -------
    ndarray, shape (N, h, w), float32
        Each map scaled to [0, 1]. A constant map (an empty one, all zero, in
        particular) has nothing to scale and stays all zero: eq. (7.3) would
        divide by zero there.

    Raises
    ------
    ValueError
        For a shape other than (N, h, w) or values that are not finite.
    TypeError
        For a non-numeric array.
    """
    heatmaps = np.asarray(heatmaps)
    if heatmaps.dtype.kind not in "fiu":
        raise TypeError(f"heatmaps must be numeric, got dtype {heatmaps.dtype}.")
    if heatmaps.ndim != 3:
        raise ValueError(f"heatmaps must have shape (N, h, w), got {heatmaps.shape}.")
    heatmaps = heatmaps.astype(np.float64)
    if not np.isfinite(heatmaps).all():
        raise ValueError("heatmaps must be finite, got NaN or infinite values.")
    low = heatmaps.min(axis=(1, 2), keepdims=True)
    spread = heatmaps.max(axis=(1, 2), keepdims=True) - low
    scaled = np.divide(heatmaps - low, spread, out=np.zeros_like(heatmaps), where=spread > 0)
    return scaled.astype(np.float32)
