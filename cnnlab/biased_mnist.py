"""A biased training set on purpose: every digit carries a mark that gives its class away.

MathWorks' class activation mapping example tells of a cat-and-dog network
that was accurate in training and poor in the world: every cat photo had a
red background, every dog photo a green one, and the network had learned the
colour. Class activation maps showed it looking at the background. Here the
same trap is set on MNIST: :func:`add_background` puts each training digit
on a gray background whose level gives its class away. The test digits keep
their black background, or get the background of another class.
"""

from __future__ import annotations

import numpy as np

from cnnlab.checks import check_images, check_int, check_labels, check_number


def class_backgrounds(low: float = 0.1, high: float = 0.5) -> np.ndarray:
    """Ten background gray levels, one per class, evenly spaced from ``low`` to ``high``.

    Parameters
    ----------
    low, high : float, default 0.1 and 0.5
        The levels of class 0 and class 9, with 0 <= low < high < 1.

    Returns
    -------
    ndarray, shape (10,), float32

    Raises
    ------
    TypeError
        For a level that is not a number (a bool, a string, None).
    ValueError
        For levels out of order, not finite or outside [0, 1).
    """
    low, high = check_number("low", low), check_number("high", high)
    # Below 1: a white background would hide the white strokes.
    if not 0 <= low < high < 1:
        raise ValueError(f"need 0 <= low < high < 1, got low={low:g}, high={high:g}.")
    return np.linspace(low, high, 10, dtype=np.float32)


def add_background(images: np.ndarray, class_index: np.ndarray,
                   levels: np.ndarray) -> np.ndarray:
    """Copies of ``images`` on the background gray of class ``class_index[i]``:
    level + (1 - level) * image.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
        Digits on black (MNIST).
    class_index : ndarray, shape (N,), int in 0..9
        Whose background each image gets: the true labels for a biased
        training set; other classes to see what the network follows.
    levels : ndarray, shape (10,), values in [0, 1)
        From :func:`class_backgrounds`.

    Returns
    -------
    ndarray, shape (N, H, W, C), float32 in [0, 1]
        The input is not changed; the strokes stay white.

    Raises
    ------
    TypeError, ValueError
        For bad images, class indices or levels.
    """
    images = check_images(images, unit_range=True)
    class_index = check_labels(class_index, images.shape[0], "class_index")
    levels = np.asarray(levels)
    if levels.dtype.kind not in "fiu":
        raise TypeError(f"levels must be numbers, got dtype {levels.dtype}.")
    levels = levels.astype(np.float64)
    if levels.shape != (10,) or not (np.isfinite(levels).all() and (levels >= 0).all()
                                     and (levels < 1).all()):
        raise ValueError(f"levels must be 10 values in [0, 1), got {np.asarray(levels)!r}.")
    level = levels[class_index].astype(np.float32)[:, None, None, None]
    return (level + (1 - level) * images).astype(np.float32)


# The zoo's recorded runs of chapter 6 train on the first 12,000 training digits.
BIASED_TRAINING_IMAGES = 12_000


def biased_training_set(images: np.ndarray, labels: np.ndarray,
                        n: int = BIASED_TRAINING_IMAGES) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` digits, each on the background of its own class (the trap).

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    labels : ndarray, shape (N,), int in 0..9
    n : int, default 12,000

    Returns
    -------
    images, labels : the ``n`` biased digits and their labels
    """
    n = check_int("n", n, 1)
    return add_background(images[:n], labels[:n], class_backgrounds()), labels[:n]


def plain_training_set(images: np.ndarray, labels: np.ndarray,
                       n: int = BIASED_TRAINING_IMAGES) -> tuple[np.ndarray, np.ndarray]:
    """The same first ``n`` digits on their black background (the control)."""
    n = check_int("n", n, 1)
    return check_images(images[:n], unit_range=True), check_labels(labels[:n], len(images[:n]))


def other_classes(labels: np.ndarray) -> np.ndarray:
    """The class whose background a test digit gets in the swap test: (label + 3) mod 10."""
    return (check_labels(labels, np.asarray(labels).shape[0]) + 3) % 10


def background_figures(model, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """How a classifier fares with and without the class backgrounds.

    Parameters
    ----------
    model : keras.Model
        Outputs class probabilities.
    images : ndarray, shape (N, 28, 28, 1), float32 in [0, 1]
        Test digits on black.
    labels : ndarray, shape (N,), int in 0..9

    Returns
    -------
    dict
        'accuracy_plain' (digits on black), 'accuracy_own_background' (each on
        its class's background), 'accuracy_other_background' (each on the
        background of :func:`other_classes`), and 'follows_background': the
        share of the last set predicted as the background's class.
    """
    images = check_images(images, unit_range=True)
    labels = check_labels(labels, images.shape[0])
    levels, other = class_backgrounds(), other_classes(labels)

    def predict(x):
        return model.predict(x, batch_size=128, verbose=0).argmax(axis=1)

    swapped = predict(add_background(images, other, levels))
    return {"accuracy_plain": float((predict(images) == labels).mean()),
            "accuracy_own_background": float(
                (predict(add_background(images, labels, levels)) == labels).mean()),
            "accuracy_other_background": float((swapped == labels).mean()),
            "follows_background": float((swapped == other).mean())}
