"""Input checks shared by the package: one wording for one mistake everywhere.

Each check raises ``TypeError`` or ``ValueError`` with a message that names the
argument, what was expected and what arrived, and returns the checked value.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def check_int(name: str, value: object, minimum: int) -> int:
    """An int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def check_images(images: Any, name: str = "images", unit_range: bool = False) -> np.ndarray:
    """A float array of shape (N, H, W, C) with finite values.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
    name : str
        The argument's name, for the message.
    unit_range : bool, default False
        Also require values in [0, 1] (images as the book loads them) and N >= 1.

    Returns
    -------
    ndarray
        ``images`` itself.

    Raises
    ------
    TypeError
        If ``images`` is not a float numpy array.
    ValueError
        For another number of axes, NaN or infinite values, and with
        ``unit_range`` an empty batch or values outside [0, 1].
    """
    if not isinstance(images, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(images).__name__}.")
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, H, W, C) (4 axes), got shape {images.shape}.")
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{name} must be a float array, got dtype {images.dtype}.")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} contain NaN or infinite values.")
    if unit_range:
        if images.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {images.shape}).")
        low, high = float(images.min()), float(images.max())
        if low < 0 or high > 1:
            raise ValueError(f"{name} must have values in [0, 1], got [{low:g}, {high:g}].")
    return images


def check_labels(labels: Any, n: int, name: str = "labels", num_classes: int = 10) -> np.ndarray:
    """Integer class labels in 0..num_classes-1, one per image, as int64.

    Raises
    ------
    TypeError, ValueError
        For non-integer labels, a length other than ``n`` or values out of range.
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{name} must be integers, got dtype {labels.dtype}.")
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one per image, got {labels.shape}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must be in 0..{num_classes - 1}, got [{labels.min()}, {labels.max()}]."
        )
    return labels.astype(np.int64)


def check_class_index(class_index: Any, n: int, num_classes: int) -> np.ndarray:
    """A class per image: an int for all ``n`` images, or ``n`` ints, in 0..num_classes-1.

    Returns
    -------
    ndarray, shape (n,), int

    Raises
    ------
    TypeError, ValueError
        For non-integers, a wrong length or values out of range.
    """
    if np.ndim(class_index) == 0:
        class_index = np.full(n, check_int("class_index", class_index, 0))
    class_index = np.asarray(class_index)
    if not np.issubdtype(class_index.dtype, np.integer):
        raise TypeError(f"class_index must be integers, got dtype {class_index.dtype}.")
    if class_index.shape != (n,):
        raise ValueError(f"class_index must be an int or have shape ({n},), got "
                         f"shape {class_index.shape}.")
    if class_index.min() < 0 or class_index.max() >= num_classes:
        raise ValueError(f"class_index must be in 0..{num_classes - 1}, got "
                         f"[{class_index.min()}, {class_index.max()}].")
    return class_index.astype(np.int64)  # TensorFlow gathers with int32/int64 only
