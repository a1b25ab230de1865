"""What the chapters' explorers share: the checks of their digits, and the digit control.

The checks run when an explorer is made, so that a bad argument is refused
with the shared wording of :mod:`cnnlab.checks` before any picture is drawn
(the site's static frames included).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnnlab.checks import check_images, check_int, check_labels, check_model_images
from cnnlab.explorers.base import Control


def check_digits(images: Any, labels: Any, static_digits: Any = None, model: Any = None,
                 num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """An explorer's digits, labels and static digits, checked.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float in [0, 1]
        Without a model, any height and width; with one, the model's input shape.
    labels : array_like, shape (N,), int in 0..num_classes-1
    static_digits : sequence of int, optional
        Indices into ``images``, at least one; None for an explorer without them.
    model : keras.Model, optional
        The model the images go through.
    num_classes : int, default 10

    Returns
    -------
    images : ndarray
        As given (float32 with a model, see :func:`cnnlab.checks.check_model_images`).
    labels : ndarray, shape (N,), int64

    Raises
    ------
    TypeError, ValueError
        As :func:`cnnlab.checks.check_images` (with ``unit_range``),
        :func:`cnnlab.checks.check_model_images`, :func:`cnnlab.checks.check_labels`
        and :func:`check_indices`; and for images with more than one channel.
    """
    if model is None:
        images = check_images(images, unit_range=True)
    else:
        images = check_model_images(model, images)
    if images.shape[-1] != 1:
        raise ValueError(f"images must be gray digits of shape (N, H, W, 1), got shape "
                         f"{images.shape}.")
    labels = check_labels(labels, len(images), num_classes=num_classes)
    if static_digits is not None:
        check_indices("static_digits", static_digits, len(images), "images")
    return images, labels


def check_indices(name: str, values: Any, n: int, of: str) -> list[int]:
    """A non-empty sequence of ints in 0..n-1 (positions offered on the static site).

    Returns
    -------
    list of int
        The values as ints; an explorer passes the original sequence on to its
        :class:`Control`, whose element id depends on their ``repr``.

    Raises
    ------
    TypeError
        For a single value or a string where a sequence is expected, or an entry
        that is not an int.
    ValueError
        For an empty sequence or an entry outside 0..n-1.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) \
            or (isinstance(values, np.ndarray) and values.ndim != 1):
        raise TypeError(f"{name} must be a sequence of ints, got {type(values).__name__} "
                        f"{values!r} (for one: [{values!r}]).")
    if len(values) == 0:
        raise ValueError(f"{name} is empty: offer at least one.")
    checked = [check_int(f"{name}[{k}]", value, 0) for k, value in enumerate(values)]
    for k, value in enumerate(checked):
        if value >= n:
            raise ValueError(f"{name}[{k}] must be at most {n - 1} (there are {n} {of}), "
                             f"got {value}.")
    return checked


def check_min_size(images: np.ndarray, size: int, what: str) -> None:
    """Refuse images smaller than ``size`` x ``size`` pixels (``what`` says why)."""
    height, width = images.shape[1:3]
    if min(height, width) < size:
        raise ValueError(f"images must be at least {size}x{size} pixels for {what}, got "
                         f"{height}x{width}.")


def digit_control(static_digits: Sequence[int], n: int) -> Control:
    """The "test digit" control: a few digits on the site, any of the ``n`` live."""
    return Control("digit", list(static_digits), label="test digit", live=range(n))
