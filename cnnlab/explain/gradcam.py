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

The model is never changed: the logit is computed from the input of its last
dense layer with that layer's own weights.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from cnnlab.checks import check_class_index, check_images, check_int


def _parts(model, layer):
    import keras

    from cnnlab.explain.backward import resolve_conv

    picked = resolve_conv(model, layer)
    last = model.layers[-1]
    # A separate softmax layer may follow the classifier (Sakai & Takenaka's network).
    if isinstance(last, keras.layers.Softmax) and len(model.layers) > 1:
        last = model.layers[-2]
    if not isinstance(last, keras.layers.Dense):
        raise ValueError(f"the model's last layer must be a Dense layer (the classifier), "
                         f"possibly followed by a Softmax layer; got {last.name!r} "
                         f"({type(last).__name__}).")
    return picked, last


def grad_cam(model, images: np.ndarray, layer, class_index: int | np.ndarray,
             score: Literal["logit", "softmax", "sigmoid"] = "logit",
             batch_size: int = 128) -> np.ndarray:
    """Grad-CAM heatmaps, eqs. (7.1)-(7.2), batched.

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
        Images per tape: the tape holds every layer's activations for its
        batch, so memory grows with the batch, not with N.

    Returns
    -------
    ndarray, shape (N, h, w), float32
        The maps at the layer's resolution, after the ReLU and *not* normalised
        (normalise for display; an all-zero map is an "empty" map).

    Raises
    ------
    ValueError
        For an unknown or non-convolution layer, a model not ending in a Dense
        layer, an unknown score, class indices out of range, or bad images.
    TypeError
        For non-integer class indices or non-float images.
    """
    import keras
    import tensorflow as tf

    picked, last = _parts(model, layer)
    if score not in ("logit", "softmax", "sigmoid"):
        raise ValueError(f"score must be 'logit', 'softmax' or 'sigmoid', got {score!r}.")
    images = check_images(images, unit_range=True)
    n_classes = last.units
    class_index = check_class_index(class_index, len(images), n_classes)
    batch_size = check_int("batch_size", batch_size, 1)

    # One sub-model gives the feature maps and the input of the last dense layer;
    # the logit is that input times the layer's kernel plus its bias.
    probe = keras.Model(model.inputs, [picked.output, last.input])
    kernel = tf.convert_to_tensor(keras.ops.convert_to_numpy(last.kernel))
    bias = tf.convert_to_tensor(keras.ops.convert_to_numpy(last.bias) if last.use_bias
                                else np.zeros(n_classes, np.float32))
    heatmaps = []
    for start in range(0, len(images), batch_size):
        x = tf.convert_to_tensor(images[start:start + batch_size])
        with tf.GradientTape() as tape:
            maps, hidden = probe(x, training=False)
            logits = tf.matmul(hidden, kernel) + bias
            outputs = {"logit": logits, "softmax": tf.nn.softmax(logits),
                       "sigmoid": tf.sigmoid(logits)}[score]
            picked_scores = tf.gather(outputs, class_index[start:start + batch_size], axis=1,
                                      batch_dims=1)
        grads = tape.gradient(picked_scores, maps)                          # dy^c / dA^k_ij
        alpha = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)           # eq. (7.1)
        heatmaps.append(tf.nn.relu(tf.reduce_sum(alpha * maps, axis=-1)).numpy())  # (7.2)
    return np.concatenate(heatmaps).astype(np.float32)


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
