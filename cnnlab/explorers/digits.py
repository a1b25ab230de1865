"""Shared checks of the chapters' explorers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnlab.explorers.base import Control


def check_digits(images, labels, static_digits):
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(
            f"images must be an array of shape (N, H, W, 1), got "
            f"{getattr(images, 'shape', type(images).__name__)}."
        )
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}.")
    bad = [i for i in static_digits if not 0 <= i < images.shape[0]]
    if bad:
        raise ValueError(f"static_digits {bad} out of range for {images.shape[0]} images.")
    return labels


def digit_control(static_digits: Sequence[int], n: int) -> Control:
    """The "test digit" control: a few digits on the site, any of the ``n`` live."""
    return Control("digit", list(static_digits), label="test digit", live=range(n))
