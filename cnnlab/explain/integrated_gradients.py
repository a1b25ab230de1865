"""Integrated gradients (Sundararajan, Taly & Yan 2017): a pixel-space class-score method.

For an image x, a baseline x' (black, by default) and the class score F = y^c,

    IG_i(x) = (x_i - x'_i) * integral_0^1 dF(x' + a (x - x')) / dx_i  da     (eq. 1)

and the attributions add up to the change of the score (their "completeness"):

    sum_i IG_i(x) = F(x) - F(x')                                               (prop. 1)

The integral is a trapezoid sum over ``steps`` equal intervals of a. Each point
is one batched, compiled gradient of the class-score front end
(:mod:`cnnlab.explain.class_score`) with the layer set to the input: the same
checks, classifier head and score as Grad-CAM, differentiated down to the pixels.
"""

from __future__ import annotations

import numpy as np

from cnnlab.checks import check_int, check_number
from cnnlab.explain.class_score import Arguments, check_arguments, reduce_gradients


def _gradients(maps, grads, scores):
    return grads


def integrated_gradients(model, images: np.ndarray, class_index: int | np.ndarray,
                         baseline: float = 0.0, steps: int = 32, score: str = "logit",
                         batch_size: int = 128) -> np.ndarray:
    """Integrated gradients of the class score with respect to the pixels, eq. (1).

    Parameters
    ----------
    model : keras.Model
        A classifier ending in a Dense layer, possibly followed by a Softmax
        layer. Not changed.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    class_index : int or ndarray of shape (N,)
    baseline : float, default 0.0
        The gray level of the baseline image x', in [0, 1]: 0 is black, MNIST's
        background.
    steps : int, default 32
        Intervals of the trapezoid sum; the completeness gap
        ``sum IG - (F(x) - F(x'))`` shrinks as ``steps`` grows.
    score : {'logit', 'softmax', 'sigmoid'}, default 'logit'
    batch_size : int, default 128

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        Signed attributions; ``sum`` over a picture is about F(x) - F(x').

    Raises
    ------
    TypeError, ValueError
        As :func:`cnnlab.explain.class_score.check_arguments`, and for a
        baseline outside [0, 1] or steps below 1.
    """
    arguments = check_arguments(model, images, None, class_index)
    baseline = check_number("baseline", baseline, 0.0, 1.0)
    steps = check_int("steps", steps, 1)
    difference = arguments.images - np.float32(baseline)
    total = np.zeros(arguments.images.shape, np.float64)
    for k in range(steps + 1):
        alpha = k / steps
        weight = 0.5 if k in (0, steps) else 1.0                  # the trapezoid rule
        point = Arguments(np.float32(baseline) + np.float32(alpha) * difference, None,
                          arguments.class_index, arguments.head)
        total += weight * reduce_gradients(model, point, _gradients, score, batch_size)
    return (difference * total / steps).astype(np.float32)
