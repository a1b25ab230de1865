"""The book's architectures, named after the source that describes them.

Layers carry fixed names (``conv1``, ``pool``, ``dense1`` ...) so that chapters,
explainers and stored weights can refer to them the same way everywhere.
"""

from __future__ import annotations

import numpy as np

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


def _convolutions_and_pool(filters: tuple[int, ...] = (32, 64), kernel_size: int = 3,
                           first_stride: int = 1, first_kernel: int | None = None):
    """The convolutional part of the Keras example CNN (and its JSAI 2019 variant):
    ReLU convolutions ``conv1``, ``conv2``, ... and a 2x2 max pool.

    Every layer is made once, in the model's order: Keras draws each new layer's
    seed from Python's generator, so the order decides a seeded network's
    starting weights (chapters 2 to 5 show untrained networks, and every
    recorded run starts from them).
    """
    import keras
    from keras import layers

    kernels = [first_kernel or kernel_size] + [kernel_size] * (len(filters) - 1)
    strides = [first_stride] + [1] * (len(filters) - 1)
    return [keras.Input(shape=INPUT_SHAPE, name="image"),
            *(layers.Conv2D(f, (k, k), strides=s, activation="relu", name=f"conv{i}")
              for i, (f, k, s) in enumerate(zip(filters, kernels, strides, strict=True),
                                            start=1)),
            layers.MaxPooling2D((2, 2), name="pool")]


def keras_example_cnn(filters: tuple[int, ...] = (32, 64), kernel_size: int = 3,
                      dropout: bool = True, first_layer: tuple[int, int] | None = None,
                      dense: int = 128):
    """The Keras MNIST example CNN, as the source blog post builds it, and its variants.

    With the defaults: Conv2D 32 3x3 relu (26x26x32), Conv2D 64 3x3 relu
    (24x24x64), MaxPooling 2x2 (12x12x64), Dropout 0.25, Flatten (9216), Dense
    128 relu, Dropout 0.5, Dense 10 softmax: 1,199,882 parameters. Train with
    Adadelta(learning_rate=1.0), batch 128 (see :mod:`cnnlab.zoo`).

    The arguments change one design choice at a time, for chapter 3's ablation
    (the source asks how depth, filter size and channels are chosen).

    Parameters
    ----------
    filters : tuple of int, default (32, 64)
        Channels of each convolution, ``conv1``, ``conv2``, ...: its length is
        the depth (1 to 4 convolutions).
    kernel_size : int, default 3
        Every convolution's square kernel, odd, 1 to 7.
    dropout : bool, default True
        Keep the two dropout layers (0.25 after the pool, 0.5 after ``dense1``).
    first_layer : (int, int), optional
        ``conv1``'s own kernel size and stride, for chapter 8's first-layer
        experiment (Zeiler & Fergus 2014, section 4.1, narrowed their first
        layer from 11x11 stride 4 to 7x7 stride 2); ``kernel_size`` and stride 1
        by default. Kernel 1 to 11, stride 1 to 4.
    dense : int, default 128
        Units of the hidden dense layer ``dense1``; 0 removes it with its
        dropout, so that the flattened maps feed the classifier (chapter 8's
        ablations, after Zeiler & Fergus 2014, section 5.1).

    Returns
    -------
    keras.Sequential
        Uncompiled, input (None, 28, 28, 1), output softmax probabilities (None, 10),
        named ``keras_example_cnn`` with the defaults and after its changes otherwise.

    Raises
    ------
    TypeError, ValueError
        For filters that are not 1 to 4 positive ints, a kernel size that is not
        an odd int from 1 to 7, a dropout that is not a bool, a first layer that
        is not (kernel 1..11, stride 1..4) or leaves no room for the layers
        after it, or a dense width that is not an int from 0 to 4096.
    """
    import keras
    from keras import layers

    if (not isinstance(filters, tuple) or not 1 <= len(filters) <= 4
            or not all(isinstance(f, int) and not isinstance(f, bool) and f > 0
                       for f in filters)):
        raise ValueError(f"filters must be a tuple of 1 to 4 positive ints, got {filters!r}.")
    if (not isinstance(kernel_size, int) or isinstance(kernel_size, bool)
            or kernel_size not in (1, 3, 5, 7)):
        raise ValueError(f"kernel_size must be an odd int from 1 to 7, got {kernel_size!r}.")
    if not isinstance(dropout, bool):
        raise TypeError(f"dropout must be a bool, got {type(dropout).__name__}.")
    first = (kernel_size, 1) if first_layer is None else first_layer
    if (not isinstance(first, tuple) or len(first) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in first)
            or not (1 <= first[0] <= 11 and 1 <= first[1] <= 4)):
        raise ValueError(f"first_layer must be (kernel size 1..11, stride 1..4), "
                         f"got {first_layer!r}.")
    side = (INPUT_SHAPE[0] - first[0]) // first[1] + 1 - (len(filters) - 1) * (kernel_size - 1)
    if side < 2:
        raise ValueError(f"first_layer {first_layer!r} leaves {side}x{side} maps for the "
                         f"pool after {len(filters)} convolutions; at least 2x2 is needed.")
    if not isinstance(dense, int) or isinstance(dense, bool) or not 0 <= dense <= 4096:
        raise ValueError(f"dense must be an int from 0 (no hidden layer) to 4096, got {dense!r}.")
    name = "keras_example_cnn"
    if (filters, kernel_size) != ((32, 64), 3):
        name += "_" + "_".join(str(f) for f in filters) + f"_k{kernel_size}"
    if first != (kernel_size, 1):
        name += f"_conv1_{first[0]}x{first[0]}_stride{first[1]}"
    if dense != 128:
        name += f"_dense{dense}" if dense else "_no_dense"
    if not dropout:
        name += "_no_dropout"
    # Made in the model's order (see _convolutions_and_pool): the defaults give the same
    # starting weights for a seed as the network always had.
    return keras.Sequential([
        *_convolutions_and_pool(filters, kernel_size, first_stride=first[1],
                                first_kernel=first[0]),
        *([layers.Dropout(0.25, name="dropout1")] if dropout else []),
        layers.Flatten(name="flatten"),
        *([layers.Dense(dense, activation="relu", name="dense1")] if dense else []),
        *([layers.Dropout(0.5, name="dropout2")] if dropout and dense else []),
        layers.Dense(NUM_CLASSES, activation="softmax", name="predictions"),
    ], name=name)


def keras_mlp():
    """The Keras MNIST multilayer perceptron, the baseline the source compares with.

    The source compares its CNN with a multilayer perceptron from its own
    earlier post, whose layers it does not list; this is the MLP of the Keras
    examples of the time (``mnist_mlp.py``): Flatten (784), Dense 512 relu,
    Dropout 0.2, Dense 512 relu, Dropout 0.2, Dense 10 softmax: 669,706
    parameters. Train with RMSprop (learning rate 0.001), batch 128.

    Returns
    -------
    keras.Sequential
        Uncompiled, input (None, 28, 28, 1), output softmax probabilities (None, 10).
    """
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input(shape=INPUT_SHAPE, name="image"),
        layers.Flatten(name="flatten"),
        layers.Dense(512, activation="relu", name="dense1"),
        layers.Dropout(0.2, name="dropout1"),
        layers.Dense(512, activation="relu", name="dense2"),
        layers.Dropout(0.2, name="dropout2"),
        layers.Dense(NUM_CLASSES, activation="softmax", name="predictions"),
    ], name="keras_mlp")


def gap_cnn(late_filters: tuple[int, ...] = (64, 64, 64), cam_head: bool = False):
    """The global-average-pooling CNN of the "CNN-GAP for MNIST" note, and its variants.

    Conv 8, conv 8 (3x3, 'same', relu), max-pool 2x2, conv 64 three times (3x3,
    'same', relu), global average pooling, dense 10 softmax: no dense hidden
    layer, so class activation maps can be read off the last convolution
    (Lin et al. 2013; Zhou et al. 2016). 79,842 parameters. Train with
    Adam(1e-3).

    Parameters
    ----------
    late_filters : tuple of int, default (64, 64, 64)
        Channels of the convolutions after the pool, ``conv3``, ``conv4``, ...:
        one to four (chapter 8 removes and widens them, after Zeiler & Fergus
        2014, section 5.1).
    cam_head : bool, default False
        End as SqueezeNet does (Iandola et al. 2016, as MathWorks' CAM example
        notes): a 1x1 convolution ``class_maps`` with one ReLU channel per class,
        global average pooling, and a Softmax layer, with no dense layer. Each
        class score is then the mean of its own map.

    Returns
    -------
    keras.Sequential
        Uncompiled, input (None, 28, 28, 1), output softmax probabilities (None, 10);
        named ``gap_cnn`` with the defaults. :func:`at_input_size` gives the same
        network for larger pictures.

    Raises
    ------
    TypeError, ValueError
        For late filters that are not 1 to 4 positive ints, or a cam_head that is
        not a bool.
    """
    import keras
    from keras import layers

    if (not isinstance(late_filters, tuple) or not 1 <= len(late_filters) <= 4
            or not all(isinstance(f, int) and not isinstance(f, bool) and f > 0
                       for f in late_filters)):
        raise ValueError(f"late_filters must be a tuple of 1 to 4 positive ints, "
                         f"got {late_filters!r}.")
    if not isinstance(cam_head, bool):
        raise TypeError(f"cam_head must be a bool, got {type(cam_head).__name__}.")
    name = "gap_cnn"
    if late_filters != (64, 64, 64):
        name += "_" + "_".join(str(f) for f in late_filters)
    # Every layer made once, in the model's order (see _convolutions_and_pool).
    return keras.Sequential([
        keras.Input(shape=INPUT_SHAPE, name="image"),
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool"),
        *(layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv{i}")
          for i, f in enumerate(late_filters, start=3)),
        *([layers.Conv2D(NUM_CLASSES, 1, activation="relu", name="class_maps")]
          if cam_head else []),
        layers.GlobalAveragePooling2D(name="gap"),
        layers.Softmax(name="predictions") if cam_head else
        layers.Dense(NUM_CLASSES, activation="softmax", name="predictions"),
    ], name=name + ("_cam_head" if cam_head else ""))


def sakai2019_cnn():
    """The CNN of Table 1 of Sakai & Takenaka (JSAI 2019), whose learning they watch.

    Conv2D 32 3x3 relu (26x26x32), Conv2D 64 3x3 relu (24x24x64), MaxPooling
    2x2 (12x12x64), Flatten (9216), Dense 128, Dense 10, softmax. The paper
    uses ReLU in the convolutions only and a sigmoid in the fully connected
    part (section 3): its fix differentiates "the value, before the sigmoid, of
    the units that feed the softmax layer", so the ten output units ``scores``
    have a sigmoid and a separate Softmax layer follows; ``dense1`` is a
    sigmoid layer too. Dropout (rate 0.5) acts on the fully connected part
    only, after ``dense1``. 1,199,882 parameters.

    Returns
    -------
    keras.Sequential
        Uncompiled, input (None, 28, 28, 1), output softmax probabilities (None, 10).
    """
    import keras
    from keras import layers

    return keras.Sequential([
        *_convolutions_and_pool(),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="sigmoid", name="dense1"),
        layers.Dropout(0.5, name="dropout"),
        layers.Dense(NUM_CLASSES, activation="sigmoid", name="scores"),
        layers.Softmax(name="predictions"),
    ], name="sakai2019_cnn")


def multiply_adds(model) -> dict[str, int]:
    """Multiply-adds of one image's forward pass, per layer with weights.

    A convolution does ``H_out * W_out * C_out`` dot products of ``k * k * C_in``
    terms (eq. (1.4)); a dense layer ``n_in * n_out``. Biases, activations and
    pooling are left out: they cost a few per output, not hundreds.

    Parameters
    ----------
    model : keras.Model
        Built, with Conv2D and Dense layers (others are skipped).

    Returns
    -------
    dict of str to int
        Layer name to its multiply-adds, in the order of ``model.layers``.

    Raises
    ------
    TypeError
        If ``model`` is not a built keras Model.
    """
    import keras

    if not isinstance(model, keras.Model) or not model.built:
        raise TypeError(f"model must be a built keras Model, got {type(model).__name__}.")
    work = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, channels = layer.output.shape[1:]
            work[layer.name] = int(height * width * channels * np.prod(layer.kernel.shape[:3]))
        elif isinstance(layer, keras.layers.Dense):
            work[layer.name] = int(np.prod(layer.kernel.shape))
    return work


def global_pooling_index(model) -> int:
    """Where the model's first global pooling layer is.

    Raises
    ------
    ValueError
        If something below it fixes the picture's size (a Flatten, a Reshape, a
        Dense layer on the maps), or there is none.
    """
    import keras

    pooling = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)
    for index, layer in enumerate(model.layers):
        if isinstance(layer, pooling):
            return index
        if isinstance(layer, (keras.layers.Flatten, keras.layers.Reshape, keras.layers.Dense)):
            raise ValueError(
                f"model must be convolutional up to a global pooling layer to take another "
                f"input size, but model {model.name!r} has {type(layer).__name__} layer "
                f"{layer.name!r} before any: its dense part is wired to one size.")
    raise ValueError(f"model must have a global pooling layer to take another input size; "
                     f"model {model.name!r} has none.")


def at_input_size(model, size: int):
    """A copy of a global-pooling network that takes ``size`` x ``size`` pictures.

    Convolutions and pooling slide over whatever size they are given, and global
    pooling averages whatever map it gets: the trained weights fit a larger
    input unchanged (Lin et al. 2013). The last maps grow with the input, so the
    class activation maps become finer: 14, 21 and 28 cells a side for
    :func:`gap_cnn` at 28, 42 and 56 pixels.

    Parameters
    ----------
    model : keras.Sequential
        Convolutional up to a global pooling layer (:func:`gap_cnn`). Not changed.
    size : int
        The new input's side, at least 1 and large enough for the model's pooling.

    Returns
    -------
    keras.Sequential
        The same layers (same names and settings) on an input of shape
        (size, size, C), named ``<model's name>_<size>``, holding copies of
        ``model``'s weights. Uncompiled.

    Raises
    ------
    TypeError
        For a model that is not a keras Sequential model, or a size that is not an int.
    ValueError
        For a model with a Flatten, Reshape or Dense layer before its global
        pooling (or without one), or a size too small for its layers.
    """
    import random

    import keras

    from cnnlab.checks import check_int, check_model

    model = check_model(model)
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"model must be a keras.Sequential model, got "
                        f"{type(model).__name__}.")
    size = check_int("size", size, 1)
    global_pooling_index(model)
    channels = model.inputs[0].shape[-1]
    state = random.getstate()      # new layers draw unseeded seeds from Python's generator
    try:
        copy = keras.Sequential(
            [keras.Input((size, size, channels), name=model.layers[0].input.name),
             *(type(layer).from_config(layer.get_config()) for layer in model.layers)],
            name=f"{model.name}_{size}")
    except ValueError as error:
        raise ValueError(f"size {size} is too small for model {model.name!r}: {error}") from error
    finally:
        random.setstate(state)
    if any(0 in tuple(layer.output.shape[1:3]) for layer in copy.layers
           if len(layer.output.shape) == 4):
        raise ValueError(f"size {size} is too small for model {model.name!r}: a layer's maps "
                         f"would have no pixels left.")
    copy.set_weights(model.get_weights())
    return copy
