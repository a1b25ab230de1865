"""Tiny digits and tiny keras models shared by the explorers' tests.

The models are untrained (seeded): the tests compare what an explorer draws
with what the computing modules give, and check the explorers' arguments.
Session-scoped models are never changed by a test.
"""

import numpy as np
import pytest


def _sequential(seed, make_layers, name):
    """A seeded model on 28x28x1 inputs.

    The seed is set before the layers are made: Keras draws an initializer's seed
    when the layer is constructed, not when it is built.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((28, 28, 1)), *make_layers(keras.layers)], name=name)


@pytest.fixture
def digits(rng):
    """Six random 28x28 gray "digits" in [0, 1] and their labels."""
    images = rng.random((6, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, 6)
    return images, labels


@pytest.fixture(scope="session")
def gap_model():
    """conv1 -> conv2 -> global average pooling -> dense: CAM and Grad-CAM both work."""

    return _sequential(0, lambda layers: [
        layers.Conv2D(4, 3, activation="relu", name="conv1"),
        layers.Conv2D(4, 3, activation="relu", name="conv2"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ], "gap")


@pytest.fixture(scope="session")
def flat_model():
    """conv1 -> pool -> conv2 -> flatten -> dense: Grad-CAM works on it, CAM does not."""

    return _sequential(1, lambda layers: [
        layers.Conv2D(4, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Conv2D(4, 3, activation="relu", name="conv2"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ], "flat")


@pytest.fixture(scope="session")
def saturated_model():
    """conv1 -> flatten -> dense whose bias of 200 saturates class 3: p = 1 in float32."""

    model = _sequential(2, lambda layers: [
        layers.Conv2D(4, 3, activation="relu", name="conv1"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ], "saturated")
    model.layers[-1].bias.assign(np.where(np.arange(10) == 3, 200.0, 0.0).astype(np.float32))
    return model


@pytest.fixture(scope="session")
def conv_only_model():
    """One convolution and nothing after it: feature maps, but no class scores."""

    return _sequential(3, lambda layers: [layers.Conv2D(4, 3, name="conv1")], "conv_only")


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
