"""The tiny in-memory models the unit tests explain: one place, no downloads.

Each builder seeds Keras first: a layer draws its initial weights from the seed
in force when the layer object is made.
"""


def tiny_gap_cnn(seed: int = 3, size: int = 12):
    """A tiny global-average-pooling network: CAM and Grad-CAM apply (3 classes)."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(3, activation="softmax", name="predictions"),
    ], name="tiny_gap")


def tiny_dense_cnn(seed: int = 7, size: int = 12, conv2_filters: int = 6):
    """A tiny network shaped like the Keras example CNN: conv, pool, dense, dense (3 classes)."""
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input((size, size, 1), name="image"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
        keras.layers.Conv2D(conv2_filters, 3, activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(8, activation="relu", name="dense1"),
        keras.layers.Dense(3, activation="softmax", name="predictions"),
    ], name="tiny_dense")


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
