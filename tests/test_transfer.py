"""Tests for cnnlab.transfer: draws of few examples, the small digits' frame, transfer."""

import numpy as np
import pytest

from cnnlab import training, transfer


def _labels(per_class=20):
    return np.repeat(np.arange(10), per_class)[np.random.default_rng(0).permutation(
        10 * per_class)]


def test_few_per_class_draws_disjoint_balanced_sets():
    labels = _labels(20)
    train, test = transfer.few_per_class(labels, 3, seed=1, test_per_class=5)
    assert np.bincount(labels[train], minlength=10).tolist() == [3] * 10
    assert np.bincount(labels[test], minlength=10).tolist() == [5] * 10
    assert not set(train) & set(test)
    assert list(train) == sorted(train) and list(test) == sorted(test)
    again = transfer.few_per_class(labels, 3, seed=1, test_per_class=5)
    assert all(np.array_equal(a, b) for a, b in zip((train, test), again, strict=True))
    other, _ = transfer.few_per_class(labels, 3, seed=2, test_per_class=5)
    assert not np.array_equal(train, other)
    # The test images are whatever is left, up to the cap.
    _, rest = transfer.few_per_class(labels, 3, seed=1, test_per_class=1000)
    assert len(rest) == 170


def test_mnist_frame_puts_the_digit_in_a_20_pixel_box():
    images = np.ones((2, 8, 8, 1), np.float32)
    framed = transfer.mnist_frame(images)
    assert framed.shape == (2, 28, 28, 1)
    assert framed[:, 4:24, 4:24].min() == pytest.approx(1.0)
    assert framed.sum() == pytest.approx(2 * 400)
    # A single bright pixel in a corner stays in that corner of the box.
    corner = np.zeros((1, 8, 8, 1), np.float32)
    corner[0, 0, 0] = 1
    framed = transfer.mnist_frame(corner)[0, ..., 0]
    row, col = np.unravel_index(framed.argmax(), framed.shape)
    assert (row, col) == (4, 4)


def test_animal_subset_is_fixed_and_balanced():
    labels = np.repeat(np.arange(10), 400)
    chosen = transfer.animal_subset(labels)
    assert len(chosen) == 3000 and np.array_equal(chosen, transfer.animal_subset(labels))
    assert np.bincount(labels[chosen]).tolist() == [300] * 10


def test_transfer_accuracies_are_the_classifier_on_each_draw(rng):
    labels = _labels(40)
    features = np.eye(10)[labels] * 3 + rng.normal(size=(400, 10))
    result = transfer.transfer_accuracies(features, labels, (1, 5), (0, 1), test_per_class=20)
    assert result.shape == (2, 2)
    train, test = transfer.few_per_class(labels, 5, 1, 20)
    assert result[1, 1] == training.linear_classifier_accuracy(
        features[train], labels[train], features[test], labels[test])
    # Informative features beat noise, and more examples help on average.
    noise = transfer.transfer_accuracies(rng.normal(size=(400, 10)), labels, (5,), (0, 1, 2),
                                         test_per_class=20)
    assert result[1].mean() > 0.8 > 0.3 > noise.mean()


@pytest.mark.parametrize("call, error, match", [
    (lambda: transfer.few_per_class(_labels(), 0, 0), ValueError, "per_class"),
    (lambda: transfer.few_per_class(_labels(), 2.5, 0), TypeError, "per_class"),
    (lambda: transfer.few_per_class(_labels(), 20, 0), ValueError, "must leave test images"),
    (lambda: transfer.few_per_class(_labels(), 2, -1), ValueError, "seed"),
    (lambda: transfer.few_per_class(_labels(), 2, 0, 0), ValueError, "test_per_class"),
    (lambda: transfer.few_per_class(np.array([0, 1, 12]), 1, 0), ValueError, "labels"),
    (lambda: transfer.animal_subset(np.repeat(np.arange(10), 10)), ValueError,
     "at least 300 images of each class"),
    (lambda: transfer.mnist_frame(np.ones((2, 8, 8))), ValueError, "images"),
    (lambda: transfer.mnist_frame(np.ones((2, 8, 8, 3), np.float32)), ValueError,
     "one channel"),
    (lambda: transfer.transfer_accuracies(np.ones((200, 3)), _labels(), 5, (0,)), TypeError,
     "per_class must be a non-empty sequence"),
    (lambda: transfer.transfer_accuracies(np.ones((200, 3)), _labels(), (5,), []), TypeError,
     "seeds must be a non-empty sequence"),
    (lambda: transfer.transfer_accuracies(np.ones((10, 3)), _labels(), (5,), (0,)), ValueError,
     "one row per label"),
    (lambda: transfer.target_set(3), TypeError, "name must be a str"),
    (lambda: transfer.target_set("fashion"), ValueError, "name must be one of"),
])
def test_bad_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()
