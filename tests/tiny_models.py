"""The tiny in-memory models the unit tests explain: one place, no downloads.

Each builder seeds Keras first: a layer draws its initial weights from the seed
in force when the layer object is made. Layers are named like the book's models
("conv1", "conv2", "pool", "predictions", ...), so tests name them the same way.
"""

import numpy as np


def tiny_gap_cnn(seed: int = 3, size: int = 12, *, filters=(4, 5), pool: bool = True,
                 classes: int = 3, activation: str | None = "softmax"):
    """A tiny global-average-pooling network: CAM and Grad-CAM apply (3 classes).

    ``filters`` are conv1's and conv2's (both 'same', ReLU); ``pool=False`` drops the
    max-pooling between them; ``activation=None`` gives logits.
    """
    import keras

    keras.utils.set_random_seed(seed)
    conv1_filters, conv2_filters = filters
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(conv1_filters, 3, padding="same", activation="relu", name="conv1"),
        *([keras.layers.MaxPooling2D(2, name="pool")] if pool else []),
        keras.layers.Conv2D(conv2_filters, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(classes, activation=activation, name="predictions"),
    ], name="tiny_gap")


def tiny_dense_cnn(seed: int = 7, size: int = 12, conv2_filters: int = 6, *,
                   dropout: float | None = None, conv3_filters: int | None = None,
                   conv3_activation: str | None = "relu"):
    """A tiny network shaped like the Keras example CNN: conv, pool, dense, dense (3 classes).

    conv1 (4 filters) and conv2 are 'valid' ReLU convolutions, then "pool". Below
    the flatten, optionally: a ``Dropout(dropout)`` named "dropout", then a 'same'
    convolution "conv3" with ``conv3_filters`` filters and ``conv3_activation``.
    """
    import keras

    keras.utils.set_random_seed(seed)
    # Made in order, top to bottom: each layer draws its weights' seeds when it is made.
    layers = [
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
        keras.layers.Conv2D(conv2_filters, 3, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool"),
    ]
    if dropout is not None:
        layers.append(keras.layers.Dropout(dropout, name="dropout"))
    if conv3_filters is not None:
        layers.append(keras.layers.Conv2D(conv3_filters, 3, padding="same",
                                          activation=conv3_activation, name="conv3"))
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(8, activation="relu", name="dense1"),
        keras.layers.Dense(3, activation="softmax", name="predictions"),
    ]
    return keras.Sequential(layers, name="tiny_dense")


def tiny_sigmoid_softmax_cnn(seed: int = 5, size: int = 12):
    """Sakai & Takenaka's head in small: sigmoid outputs, then a Softmax layer (3 classes)."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(3, activation="sigmoid", name="scores"),
        keras.layers.Softmax(name="predictions"),
    ], name="tiny_sigmoid_softmax")


def tiny_cnn(seed: int = 0, size: int = 12, *, filters: int = 3, classes: int = 10,
             dropout: float | None = None, name: str = "tiny_cnn"):
    """The smallest CNN: one 'valid' ReLU convolution "conv1", "pool", a softmax "predictions".

    ``dropout`` adds a ``Dropout`` named "dropout" after the pooling.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(filters, 3, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool"),
        *([keras.layers.Dropout(dropout, name="dropout")] if dropout is not None else []),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(classes, activation="softmax", name="predictions"),
    ], name=name)


def tiny_separate_relu_cnn(seed: int = 4, size: int = 13, channels: int = 2):
    """Linear convolutions with separate ReLU layers, strides, overlapping 'same' max-pooling.

    conv1 ('same') -> relu1 (a ``ReLU`` layer) -> pool (3x3, stride 2, 'same') ->
    conv2 (stride 2) -> relu2 (an ``Activation('relu')`` layer) -> flatten -> predictions.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, channels), name="image"),
        keras.layers.Conv2D(4, 3, padding="same", name="conv1"),
        keras.layers.ReLU(name="relu1"),
        keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool"),
        keras.layers.Conv2D(6, 3, strides=2, name="conv2"),
        keras.layers.Activation("relu", name="relu2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="softmax", name="predictions"),
    ], name="tiny_separate_relu")


def tiny_two_conv_cnn(middle=None, *, seed: int = 0, size: int = 12):
    """conv1 (2 filters, ReLU), then ``middle()`` if given, then conv2 (2 filters, 'same', ReLU).

    ``middle`` is a function that makes the layer (a BatchNormalization, say), so that
    the layer is made after the seed is set.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(2, 3, activation="relu", name="conv1"),
        *([middle()] if middle is not None else []),
        keras.layers.Conv2D(2, 3, activation="relu", padding="same", name="conv2"),
    ], name="tiny_two_conv")


def tiny_mixed_init_cnn(seed: int = 0, size: int = 8, classes: int = 10):
    """Conv-conv-GAP-dropout-dense (logits), each weighted layer with its own initializers.

    conv1: kernel ``Constant(0.25)``, default zero bias; conv2: kernel
    ``RandomUniform(-0.01, 0.01)``, bias ``Constant(0.1)``; predictions: Keras's
    defaults (Glorot uniform, zeros). Both convolutions have 4 filters, 'valid'.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1",
                            kernel_initializer=keras.initializers.Constant(0.25)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv2",
                            kernel_initializer=keras.initializers.RandomUniform(-0.01, 0.01),
                            bias_initializer=keras.initializers.Constant(0.1)),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dropout(0.5, name="dropout"),
        keras.layers.Dense(classes, name="predictions"),
    ], name="tiny_mixed_init")


# -- receptive-field arithmetic: unusual strides, paddings, dilations ----------------------


def tiny_odd_chain_cnn(seed: int = 0, size: int = 17):
    """Valid conv, strided 'same' conv, stride-1 max pool, dilated conv, 'same' avg pool.

    conv1 (3x3) -> conv2 (3x3, stride 2, 'same') -> pool1 (2x2, stride 1) -> dropout ->
    conv3 (3x3, dilation 2, 'valid') -> pool2 (average, 3x3, stride 2, 'same') ->
    flatten -> predictions; linear, 2 filters each. The dilated conv is 'valid': with
    'same' padding its border units would skip pixels inside their box.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(2, 3, name="conv1"),
        keras.layers.Conv2D(2, 3, strides=2, padding="same", name="conv2"),
        keras.layers.MaxPooling2D(2, strides=1, name="pool1"),
        keras.layers.Dropout(0.5, name="dropout"),
        keras.layers.Conv2D(2, 3, dilation_rate=2, name="conv3"),
        keras.layers.AveragePooling2D(3, strides=2, padding="same", name="pool2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(3, name="predictions"),
    ], name="tiny_odd_chain")


def tiny_even_functional_cnn(seed: int = 0, size: int = 12):
    """Functional, even kernel: 'same' padding with the odd zero after (1/2, then 0/1, 0/1).

    conv1 (4x4, 'same') -> conv2 (3x3, stride 2, 'same') -> pool (3x3, stride 2, 'same'),
    one linear filter each, no head.
    """
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 1), name="image")
    x = keras.layers.Conv2D(1, 4, padding="same", name="conv1")(inputs)
    x = keras.layers.Conv2D(1, 3, strides=2, padding="same", name="conv2")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool")(x)
    return keras.Model(inputs, x, name="tiny_even_functional")


def tiny_dilated_conv(seed: int = 0, size: int = 9, dilation_rate: int = 2):
    """One linear 3x3 convolution "conv1" with one filter and ``dilation_rate``, no head."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(1, 3, dilation_rate=dilation_rate, name="conv1"),
    ], name="tiny_dilated")


def tiny_branched_cnn(seed: int = 0, size: int = 8):
    """Two convolutions of the input ("conv1a", "conv1b") added ("add"), then "conv2"."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 1), name="image")
    a = keras.layers.Conv2D(1, 3, name="conv1a")(inputs)
    b = keras.layers.Conv2D(1, 3, name="conv1b")(inputs)
    merged = keras.layers.Add(name="add")([a, b])
    return keras.Model(inputs, keras.layers.Conv2D(1, 3, name="conv2")(merged),
                       name="tiny_branched")


def _digit_model(seed, make_layers, name):
    """A seeded model on 28x28x1 inputs.

    The seed is set before the layers are made: Keras draws an initializer's seed
    when the layer is constructed, not when it is built.
    """
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((28, 28, 1)), *make_layers(keras.layers)], name=name)


def digit_gap_cnn():
    """conv1 -> conv2 -> global average pooling -> dense: CAM and Grad-CAM both work."""
    return _digit_model(0, lambda layers: [
        layers.Conv2D(4, 3, activation="relu", name="conv1"),
        layers.Conv2D(4, 3, activation="relu", name="conv2"),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ], "gap")


def digit_flat_cnn():
    """conv1 -> pool -> conv2 -> flatten -> dense: Grad-CAM works on it, CAM does not."""
    return _digit_model(1, lambda layers: [
        layers.Conv2D(4, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Conv2D(4, 3, activation="relu", name="conv2"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ], "flat")


def digit_saturated_cnn():
    """conv1 -> flatten -> dense whose bias of 200 saturates class 3: p = 1 in float32."""
    model = _digit_model(2, lambda layers: [
        layers.Conv2D(4, 3, activation="relu", name="conv1"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="predictions"),
    ], "saturated")
    model.layers[-1].bias.assign(np.where(np.arange(10) == 3, 200.0, 0.0).astype(np.float32))
    return model


def digit_conv_only():
    """One convolution and nothing after it: feature maps, but no class scores."""
    return _digit_model(3, lambda layers: [layers.Conv2D(4, 3, name="conv1")], "conv_only")
