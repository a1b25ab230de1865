"""Tiny digits and tiny keras models shared by the explorers' tests.

The models are untrained (seeded): the tests compare what an explorer draws
with what the computing modules give, and check the explorers' arguments.
Session-scoped models are never changed by a test.
"""

import numpy as np
import pytest
from tiny_models import digit_conv_only, digit_flat_cnn, digit_gap_cnn, digit_saturated_cnn


@pytest.fixture
def digits(rng):
    """Six random 28x28 gray "digits" in [0, 1] and their labels."""
    images = rng.random((6, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, 6)
    return images, labels


@pytest.fixture(scope="session")
def gap_model():
    """:func:`tiny_models.digit_gap_cnn`, shared: never changed by a test."""
    return digit_gap_cnn()


@pytest.fixture(scope="session")
def flat_model():
    """:func:`tiny_models.digit_flat_cnn`, shared: never changed by a test."""
    return digit_flat_cnn()


@pytest.fixture(scope="session")
def saturated_model():
    """:func:`tiny_models.digit_saturated_cnn`, shared: never changed by a test."""
    return digit_saturated_cnn()


@pytest.fixture(scope="session")
def conv_only_model():
    """:func:`tiny_models.digit_conv_only`, shared: never changed by a test."""
    return digit_conv_only()


@pytest.fixture
def unbuilt_model():
    """A Sequential model without ``keras.Input``, never called: it has no inputs yet."""
    import keras

    return keras.Sequential([keras.layers.Conv2D(4, 3, name="conv1")], name="unbuilt")


@pytest.fixture
def no_drawing(monkeypatch):
    """Make any figure an error: a check that fails must do so before anything is drawn."""
    import matplotlib.pyplot as plt

    def refuse(*args, **kwargs):
        raise AssertionError("a figure was drawn before the arguments were refused")

    for name in ("figure", "subplots"):
        monkeypatch.setattr(plt, name, refuse)
