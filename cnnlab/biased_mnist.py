"""A biased training set on purpose: every digit carries a mark that gives its class away.

MathWorks' class activation mapping example tells of a cat-and-dog network
that was accurate in training and poor in the world: every cat photo had a
red background, every dog photo a green one, and the network had learned the
colour. Class activation maps showed it looking at the background. Here the
same trap is set on MNIST twice:

- :func:`add_background` puts each training digit on a gray background whose
  level gives its class away (spread over the whole picture, like the colour);
- :func:`add_mark` puts a small white square in a corner or edge position
  that gives the class away (a localized cue, which a map can point at).

The test digits keep their black background (no mark), or get the background
or mark of another class. The remedy, as in the example, is data without the
bias: :func:`marked_training_set` with ``random_marks=True`` keeps the marks
but puts them at random, so that they tell nothing.
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
    levels = class_backgrounds()
    return _cue_figures(model, images, labels, lambda x, c: add_background(x, c, levels),
                        "background")


# Side of the class mark in pixels, and the top-left corner of each class's mark: five
# places down the left edge (classes 0-4) and five down the right edge (5-9) of the
# 28x28 field, in the 4-pixel border that MNIST's centring leaves almost free of ink (at
# most 8% of the first 12,000 training digits reach one of these squares, against up to
# 38% in the middle of the bottom edge); on even pixels, so that each mark covers whole
# 2x2 cells of a 14x14 class activation map.
MARK_SIZE = 4
MARK_CORNERS = tuple((row, col) for col in (0, 24) for row in (0, 6, 12, 18, 24))


def mark_masks(class_index: np.ndarray, shape: tuple[int, int] = (28, 28),
               margin: int = 0) -> np.ndarray:
    """Where the mark of class ``class_index[i]`` lies, as a boolean mask per image.

    Parameters
    ----------
    class_index : ndarray, shape (N,), int in 0..9
    shape : (int, int), default (28, 28)
        The mask's height and width: the image's, or a coarser grid that divides
        it evenly (14x14, the class activation maps of :func:`cnnlab.models.gap_cnn`).
    margin : int, default 0
        Cells of the grid added around the mark on every side (inside the field):
        the mark's surroundings, which units that see its edges cover.

    Returns
    -------
    ndarray, shape (N, height, width), bool
        True inside the mark (and its margin); on a coarser grid, the cells covered.

    Raises
    ------
    TypeError, ValueError
        For bad class indices, or a shape that is not two ints dividing 28.
    """
    class_index = check_labels(class_index, np.asarray(class_index).shape[0], "class_index")
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise TypeError(f"shape must be a pair of ints (height, width), got {shape!r}.")
    height, width = (check_int(f"shape[{k}]", v, 1) for k, v in enumerate(shape))
    if 28 % height or 28 % width:
        raise ValueError(f"shape must divide the 28x28 field evenly, got {height}x{width}.")
    margin = check_int("margin", margin, 0)
    down, across = margin * (28 // height), margin * (28 // width)      # in pixels
    masks = np.zeros((len(class_index), 28, 28), dtype=bool)
    for i, c in enumerate(class_index):
        row, col = MARK_CORNERS[c]
        masks[i, max(row - down, 0):row + MARK_SIZE + down,
              max(col - across, 0):col + MARK_SIZE + across] = True
    # A cell is covered when any of its pixels is (the marks sit on whole 2x2 cells).
    return masks.reshape(len(masks), height, 28 // height, width, 28 // width).any(axis=(2, 4))


def add_mark(images: np.ndarray, class_index: np.ndarray) -> np.ndarray:
    """Copies of ``images`` with the white square of class ``class_index[i]`` (the cue).

    Parameters
    ----------
    images : ndarray, shape (N, 28, 28, C), float32 in [0, 1]
    class_index : ndarray, shape (N,), int in 0..9
        Whose mark each image gets (see :data:`MARK_CORNERS`).

    Returns
    -------
    ndarray, shape (N, 28, 28, C), float32
        The input is not changed; the mark's pixels are 1.

    Raises
    ------
    TypeError, ValueError
        For bad images (not 28x28) or class indices.
    """
    images = check_images(images, unit_range=True)
    if images.shape[1:3] != (28, 28):
        raise ValueError(f"images must be 28x28 digits, got {images.shape[1]}x"
                         f"{images.shape[2]}.")
    masks = mark_masks(check_labels(class_index, images.shape[0], "class_index"))
    marked = images.astype(np.float32)
    marked[masks] = 1.0
    return marked


def marked_training_set(images: np.ndarray, labels: np.ndarray,
                        n: int = BIASED_TRAINING_IMAGES, random_marks: bool = False,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` digits, each with a mark: its class's (the trap) or a random one.

    Parameters
    ----------
    images : ndarray, shape (N, 28, 28, 1), float32 in [0, 1]
    labels : ndarray, shape (N,), int in 0..9
    n : int, default 12,000
    random_marks : bool, default False
        False: each digit gets its own class's mark, which gives the class away.
        True: the mark of a class drawn at random (the remedy: the same kind of
        pictures, but the mark tells nothing about the class).
    seed : int, default 0
        For the random marks.

    Returns
    -------
    images, labels : the ``n`` marked digits and their labels
    """
    n = check_int("n", n, 1)
    labels = check_labels(labels[:n], len(labels[:n]))
    which = (np.random.default_rng(check_int("seed", seed, 0)).integers(0, 10, len(labels))
             if random_marks else labels)
    return add_mark(images[:n], which), labels


def mark_figures(model, images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """How a classifier fares with and without the class marks.

    Parameters
    ----------
    model, images, labels
        As :func:`background_figures`.

    Returns
    -------
    dict
        'accuracy_plain' (no mark), 'accuracy_own_mark' (each digit with its
        class's mark), 'accuracy_other_mark' (with the mark of
        :func:`other_classes`), and 'follows_mark': the share of the last set
        predicted as the mark's class.
    """
    return _cue_figures(model, images, labels, lambda x, c: add_mark(x, c), "mark")


def _cue_figures(model, images, labels, add, cue: str) -> dict[str, float]:
    """Accuracy without the cue, with the own class's cue, with another's; and who follows."""
    images = check_images(images, unit_range=True)
    labels = check_labels(labels, images.shape[0])
    other = other_classes(labels)

    def predict(x):
        return model.predict(x, batch_size=128, verbose=0).argmax(axis=1)

    swapped = predict(add(images, other))
    return {"accuracy_plain": float((predict(images) == labels).mean()),
            f"accuracy_own_{cue}": float((predict(add(images, labels)) == labels).mean()),
            f"accuracy_other_{cue}": float((swapped == labels).mean()),
            f"follows_{cue}": float((swapped == other).mean())}
