"""Feature transfer with few examples per class (Zeiler & Fergus 2014, section 5.2).

Zeiler & Fergus keep the layers of their ImageNet network fixed and fit only
a new softmax classifier on Caltech-101 and Caltech-256 with 15 to 60
training images per class; with 15 or 30 per class the transferred features
beat the best results of the time, while the same network trained from
scratch on those few images does badly. On PASCAL, whose pictures hold
several objects of kinds ImageNet does not centre on, transfer gains less.

Here the fixed network is the Keras example CNN trained on MNIST; the new
classifier is :func:`cnnlab.training.linear_classifier_accuracy` (a linear
classifier in closed form, so a draw of examples always gives the same
accuracy); the other data are those of :mod:`cnnlab.other_data`. The network
trained from scratch on the same few examples is a recorded run of the zoo
(``keras_example_cnn_scratch_*``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cnnlab.checks import check_int, check_labels

# A fixed part of the 10,000 silhouettes, so that a layer's features of all of them fit
# the chapter's memory budget (pool features: 3,000 x 9,216 float32 = 111 MB).
ANIMAL_SUBSET = 300           # per class, drawn once with seed 0
TEST_PER_CLASS = 150          # the test images of a draw, per class, at most


def mnist_frame(images: np.ndarray) -> np.ndarray:
    """Small digits put into MNIST's frame: resized to 20x20 and centred in 28x28.

    MNIST's digits were size-normalised into a 20x20 box and centred in a
    28x28 field (LeCun et al. 1998); the 8x8 digits fill their frame, so they
    are resampled to 20x20 (bilinear, :func:`cnnlab.transforms.resize_images`)
    and padded by 4 pixels on each side.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float32 in [0, 1]

    Returns
    -------
    ndarray, shape (N, 28, 28, 1), float32 in [0, 1]

    Raises
    ------
    TypeError, ValueError
        For images that are not float arrays of shape (N, H, W, 1) in [0, 1].
    """
    from cnnlab.transforms import resize_images

    resized = resize_images(images, 20)
    if resized.shape[-1] != 1:
        raise ValueError(f"images must have one channel, got shape {images.shape}.")
    return np.pad(resized, ((0, 0), (4, 4), (4, 4), (0, 0)))


def animal_subset(labels: np.ndarray) -> np.ndarray:
    """The fixed part of the Animal-Shape set that chapter 8 uses: 300 of each class.

    Parameters
    ----------
    labels : ndarray, shape (N,), int in 0..9
        With at least :data:`ANIMAL_SUBSET` images of each class.

    Returns
    -------
    ndarray, shape (3000,), int64
        Indices into the set, sorted.

    Raises
    ------
    ValueError
        For bad labels or a class with too few images.
    """
    labels = check_labels(labels, len(np.asarray(labels)))
    rng = np.random.default_rng(0)
    chosen = []
    for c in range(10):
        members = np.flatnonzero(labels == c)
        if len(members) < ANIMAL_SUBSET:
            raise ValueError(f"labels must have at least {ANIMAL_SUBSET} images of each "
                             f"class; class {c} has {len(members)}.")
        chosen.append(rng.choice(members, ANIMAL_SUBSET, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def few_per_class(labels: np.ndarray, per_class: int, seed: int,
                  test_per_class: int = TEST_PER_CLASS) -> tuple[np.ndarray, np.ndarray]:
    """A random draw of ``per_class`` training examples of each class, and a test set.

    As Zeiler & Fergus draw their Caltech training images: ``per_class`` of
    each class at random, the test images from the rest. The test images of
    a class are the first ``test_per_class`` of its remaining ones in a
    seeded shuffle, so every draw of one seed is tested on images it never
    trained on.

    Parameters
    ----------
    labels : ndarray, shape (N,), int in 0..9
    per_class : int, >= 1
    seed : int, >= 0
    test_per_class : int, default 150

    Returns
    -------
    train_index, test_index : ndarray of int64, shapes (10 * per_class,) and (M,)
        Disjoint, each sorted.

    Raises
    ------
    TypeError, ValueError
        For bad labels, non-int or non-positive counts, a negative seed, or a
        class with fewer than ``per_class + 1`` examples.
    """
    labels = check_labels(labels, len(np.asarray(labels)))
    per_class = check_int("per_class", per_class, 1)
    seed = check_int("seed", seed, 0)
    test_per_class = check_int("test_per_class", test_per_class, 1)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        if len(members) <= per_class:
            raise ValueError(f"per_class must leave test images: class {c} has "
                             f"{len(members)} examples, per_class is {per_class}.")
        train.append(members[:per_class])
        test.append(members[per_class:per_class + test_per_class])
    return (np.sort(np.concatenate(train)).astype(np.int64),
            np.sort(np.concatenate(test)).astype(np.int64))


def transfer_accuracies(features: np.ndarray, labels: np.ndarray,
                        per_class: Sequence[int], seeds: Sequence[int],
                        test_per_class: int = TEST_PER_CLASS) -> np.ndarray:
    """Test accuracy of a new linear classifier on fixed features, per draw of examples.

    Parameters
    ----------
    features : ndarray, shape (N, ...), finite
        One layer's features of every image (or the pixels), computed once.
    labels : ndarray, shape (N,), int in 0..9
    per_class : sequence of int
        Training examples per class, e.g. (1, 3, 10, 30).
    seeds : sequence of int
        One draw of examples per seed (:func:`few_per_class`).
    test_per_class : int, default 150

    Returns
    -------
    ndarray, shape (len(per_class), len(seeds)), float64
        Accuracy on each draw's test images.

    Raises
    ------
    TypeError, ValueError
        For bad features, labels, counts or seeds (see :func:`few_per_class`
        and :func:`cnnlab.training.linear_classifier_accuracy`).
    """
    from cnnlab.training import linear_classifier_accuracy

    for name, values in (("per_class", per_class), ("seeds", seeds)):
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise TypeError(f"{name} must be a non-empty sequence of ints, got {values!r}.")
    if not isinstance(features, np.ndarray) or len(features) != len(np.asarray(labels)):
        raise ValueError(f"features must be an array with one row per label, got "
                         f"{type(features).__name__} of length {len(features)} for "
                         f"{len(np.asarray(labels))} labels.")
    result = np.empty((len(per_class), len(seeds)))
    for i, count in enumerate(per_class):
        for j, seed in enumerate(seeds):
            train, test = few_per_class(labels, count, seed, test_per_class)
            result[i, j] = linear_classifier_accuracy(features[train], labels[train],
                                                      features[test], labels[test])
    return result


TARGETS = ("small_digits", "animal_shapes")


def target_set(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A target task of chapter 8's transfer, as the network sees it: 28x28 images.

    Parameters
    ----------
    name : {'small_digits', 'animal_shapes'}
        scikit-learn's 1,797 digits in MNIST's frame (:func:`mnist_frame`), or
        the fixed 3,000 of the Animal-Shape silhouettes (:func:`animal_subset`).

    Returns
    -------
    images : ndarray, shape (N, 28, 28, 1), float32 in [0, 1]
    labels : ndarray, shape (N,), int64 in 0..9

    Raises
    ------
    TypeError, ValueError
        For a name that is not one of :data:`TARGETS`.
    RuntimeError
        If the data cannot be fetched (see :mod:`cnnlab.other_data`).
    """
    from cnnlab import other_data

    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    if name not in TARGETS:
        raise ValueError(f"name must be one of {TARGETS}, got {name!r}.")
    if name == "small_digits":
        images, labels = other_data.load_small_digits()
        return mnist_frame(images), labels
    images, labels = other_data.load_animal_shapes()
    keep = animal_subset(labels)
    return images[keep], labels[keep]
