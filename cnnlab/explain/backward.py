"""Plumbing shared by the backward projections: deconvnet, gradient, guided backpropagation.

The layers from the input up to a chosen convolution are turned into a list of
stages (linear convolution, ReLU, max-pool, identity). One explicit forward pass
runs them on a batch and records what the way down needs: the input of every
ReLU and the switches of every max-pool. One backward loop then carries a
signal from the chosen layer down to the pixels. The methods differ only in how
the signal passes a ReLU, a rule the caller plugs in (Springenberg et al. 2015,
Figure 1); max-pools and convolutions are passed the same way by all of them.

The model is only read: its kernels are copied into tensors, nothing is set on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# What passes a ReLU on the way down: rule(signal going down, forward input of the ReLU).
ReluRule = Callable[[object, object], object]


@dataclass(frozen=True)
class _Stage:
    """One step of the forward chain; ``kind`` is 'conv', 'relu', 'pool' or 'identity'."""

    kind: str
    name: str
    kernel: object = None  # tf.Tensor (kh, kw, C_in, C_out) for 'conv'
    bias: object = None  # tf.Tensor (C_out,) or None; used going up only
    strides: tuple = (1, 1)
    padding: str = "VALID"
    pool_size: tuple = (2, 2)


def _relu_kind(activation) -> str:
    """'relu', 'linear' or 'other' for a Keras activation function."""
    import keras

    if activation is keras.activations.relu:
        return "relu"
    if activation is None or activation is keras.activations.linear:
        return "linear"
    return "other"


def _is_relu_layer(layer) -> bool:
    """A separate layer computing max(x, 0) exactly (ReLU with defaults, Activation('relu'))."""
    import keras

    if isinstance(layer, keras.layers.ReLU):
        return (layer.max_value is None and float(layer.negative_slope) == 0.0
                and float(layer.threshold) == 0.0)
    return isinstance(layer, keras.layers.Activation) and _relu_kind(layer.activation) == "relu"


def _identity_types() -> tuple:
    """Layers that do nothing at inference (the projections run the model in inference mode)."""
    import keras

    names = ("Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout",
             "ActivityRegularization")
    return tuple(getattr(keras.layers, name) for name in names if hasattr(keras.layers, name))


def _unsupported(layer, method: str, top: str, why: str = "") -> ValueError:
    return ValueError(
        f"{method} works through Conv2D (relu or linear), ReLU, MaxPooling2D and Dropout "
        f"layers below {top!r}; got layer {layer.name!r} of type {type(layer).__name__}{why}."
    )


def _conv_stages(layer, method: str, top: str) -> list[_Stage]:
    import tensorflow as tf

    if layer.data_format != "channels_last":
        raise _unsupported(layer, method, top, " with data_format channels_first")
    if tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
        # TensorFlow's CPU transposed convolution has no dilation; groups are out of scope.
        raise _unsupported(layer, method, top, " with dilation or groups")
    kind = _relu_kind(layer.activation)
    if kind == "other":
        name = getattr(layer.activation, "__name__", repr(layer.activation))
        raise _unsupported(layer, method, top, f" with activation {name!r} (not relu or linear)")
    stages = [_Stage(
        "conv", layer.name,
        kernel=tf.cast(tf.convert_to_tensor(layer.kernel), tf.float32),
        bias=tf.cast(tf.convert_to_tensor(layer.bias), tf.float32) if layer.use_bias else None,
        strides=tuple(layer.strides), padding=layer.padding.upper(),
    )]
    if kind == "relu":
        stages.append(_Stage("relu", layer.name))
    return stages


def build_stages(model, conv, method: str) -> list[_Stage]:
    """The stages from the model's input up to the post-ReLU output of ``conv``.

    The chain ends at ``conv``'s output if it applies relu itself, else at the
    ReLU layer right after it when there is one (else at its linear output).
    Raises ValueError for a model that is not a chain of supported layers.
    """
    import keras

    inputs = model.inputs  # check_layer has checked that there is one
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    end = layers.index(conv)
    if _relu_kind(conv.activation) == "linear" and end + 1 < len(layers) \
            and _is_relu_layer(layers[end + 1]):
        end += 1
    stages: list[_Stage] = []
    expected = inputs[0]
    for layer in layers[:end + 1]:
        if layer.input is not expected:
            raise ValueError(
                f"{method} needs a chain of layers (each fed by the one before), but layer "
                f"{layer.name!r} of model {model.name!r} is not fed by the layer before it."
            )
        expected = layer.output
        if isinstance(layer, keras.layers.Conv2D):
            stages += _conv_stages(layer, method, conv.name)
        elif _is_relu_layer(layer):
            stages.append(_Stage("relu", layer.name))
        elif isinstance(layer, keras.layers.Activation) \
                and _relu_kind(layer.activation) == "linear":
            stages.append(_Stage("identity", layer.name))
        elif isinstance(layer, keras.layers.MaxPooling2D):
            if layer.data_format != "channels_last":
                raise _unsupported(layer, method, conv.name, " with data_format channels_first")
            stages.append(_Stage("pool", layer.name, pool_size=tuple(layer.pool_size),
                                 strides=tuple(layer.strides), padding=layer.padding.upper()))
        elif isinstance(layer, _identity_types()):
            stages.append(_Stage("identity", layer.name))
        else:
            raise _unsupported(layer, method, conv.name)
    return stages


def forward(stages: list[_Stage], images) -> tuple[object, list]:
    """Run the stages on a batch; return the top activation and one record per stage.

    Records: the input shape for 'conv' (the size to project back to), the
    pre-activation input for 'relu' (the forward mask), ``(switches, input
    shape)`` for 'pool' (switches: the flat index of each window's maximum).
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(images, dtype=tf.float32)
    records: list = []
    for stage in stages:
        if stage.kind == "conv":
            records.append(tf.shape(x))
            x = tf.nn.conv2d(x, stage.kernel, stage.strides, stage.padding)
            if stage.bias is not None:
                x = tf.nn.bias_add(x, stage.bias)
        elif stage.kind == "relu":
            records.append(x)
            x = tf.nn.relu(x)
        elif stage.kind == "pool":
            # include_batch_in_index: one flat index into the whole (N, H, W, C) input.
            # On ties the first maximum in the window wins, as in TensorFlow's MaxPoolGrad.
            pooled, switches = tf.nn.max_pool_with_argmax(
                x, stage.pool_size, stage.strides, stage.padding, include_batch_in_index=True)
            records.append((switches, tf.shape(x)))
            x = pooled
        else:
            records.append(None)
    return x, records


def unpool(signal, switches, input_shape):
    """Put each value of ``signal`` at its window's switch, zeros elsewhere.

    Zeiler & Fergus 2014, section 2.1 (unpooling). Where windows overlap and
    share a maximum, the values add up, as the gradient of max-pooling does.
    """
    import tensorflow as tf

    size = tf.reduce_prod(tf.cast(input_shape, tf.int64))
    flat = tf.scatter_nd(tf.reshape(switches, (-1, 1)), tf.reshape(signal, (-1,)),
                         tf.reshape(size, (1,)))
    return tf.reshape(flat, input_shape)


def backward(stages: list[_Stage], records: list, signal, relu_rule: ReluRule):
    """Carry ``signal`` from the top of the stages down to the input.

    At a ReLU: ``relu_rule(signal, forward input)``. At a max-pool: unpooling
    with the recorded switches. At a convolution: the transposed convolution
    with the same kernel, strides and padding (no bias), the transpose of the
    convolution's linear map.
    """
    import tensorflow as tf

    for stage, record in zip(reversed(stages), reversed(records), strict=True):
        if stage.kind == "conv":
            signal = tf.nn.conv2d_transpose(signal, stage.kernel, record, stage.strides,
                                            stage.padding)
        elif stage.kind == "relu":
            signal = relu_rule(signal, record)
        elif stage.kind == "pool":
            signal = unpool(signal, *record)
    return signal


def in_batches(n: int, batch_size: int):
    """Slices covering range(n) in order, ``batch_size`` at a time."""
    return [slice(start, min(start + batch_size, n)) for start in range(0, n, batch_size)]


def as_numpy(tensors: list) -> np.ndarray:
    """Concatenate per-batch tensors (at least one) into one float32 array."""
    return np.concatenate([np.asarray(t, dtype=np.float32) for t in tensors], axis=0)
