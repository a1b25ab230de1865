"""The front end of class-score explainers: what CAM, Grad-CAM and occlusion share.

A class-score method explains the score y^c of one class c of a classifier by
the feature maps A of one layer (or by the pixels). Every such method does the
same five steps first, and they live here, once:

1. check the model, the images, the layer and ``class_index``
   (:func:`check_arguments`, with the wordings of :mod:`cnnlab.checks`);
2. find the classifier head: the last Dense layer, possibly followed by a
   Softmax layer (:func:`classifier_head`);
3. a sub-model from the input to the chosen layer's maps A, and one from A to
   the head's input h, cached per model and layer;
4. the score: the logit x^c = h . W[:, c] + b_c, or softmax(x)_c, or
   sigmoid(x^c) (:func:`class_score`);
5. one batched gradient tape, compiled as a ``tf.function`` with a fixed input
   signature, that watches A only: the layers below A run outside the tape,
   so it records nothing for them (:func:`reduce_gradients`).

A method is then one small function of (A, dy^c/dA): Grad-CAM's channel
weights, for instance (:mod:`cnnlab.explain.gradcam`). A pixel-space method
(gradient times input, integrated gradients) takes the layer to be the input.

The model is never changed: the score is computed from the head's input with
the head's own weights, which the compiled functions read, not copy.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnnlab.checks import check_class_index, check_int, check_layer, check_model, check_model_images
from cnnlab.features import compiled_outputs, in_batches

SCORES = ("logit", "softmax", "sigmoid")

# Per model: sub-models and compiled tapes, by layer name (None: the input) and method.
# Building them per call would make TensorFlow trace again every time.
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Arguments:
    """The checked arguments of a class-score method.

    Attributes
    ----------
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    layer : keras layer or None
        The layer whose maps explain the score; None for the input (pixels).
    class_index : ndarray, shape (N,), int64
    head : keras.layers.Dense
        The classifier: its outputs are the class scores.
    """

    images: np.ndarray
    layer: Any
    class_index: np.ndarray
    head: Any


def classifier_head(model):
    """The model's classifier: its last Dense layer, possibly followed by a Softmax layer.

    Parameters
    ----------
    model : keras.Model
        With one input and one output.

    Returns
    -------
    keras.layers.Dense

    Raises
    ------
    TypeError, ValueError
        For a model that is not a built keras model, one with several outputs
        (which output would be explained?), or one that does not end in a
        Dense layer (possibly followed by a Softmax layer).
    """
    import keras

    model = check_model(model)
    if len(model.outputs) != 1:
        raise ValueError(f"model must have one output (the class scores), got "
                         f"{len(model.outputs)}: explain a sub-model with the output you mean.")
    last = model.layers[-1]
    # A separate softmax layer may follow the classifier (Sakai & Takenaka's network).
    if isinstance(last, keras.layers.Softmax) and len(model.layers) > 1:
        last = model.layers[-2]
    if not isinstance(last, keras.layers.Dense):
        raise ValueError(f"the model's last layer must be a Dense layer (the classifier), "
                         f"possibly followed by a Softmax layer; got {last.name!r} "
                         f"({type(last).__name__}).")
    return last


def check_arguments(model, images: Any, layer: Any, class_index: Any,
                    kind: str = "conv_or_input") -> Arguments:
    """Check what every class-score method is given, in one place.

    Parameters
    ----------
    model : keras.Model
    images : ndarray, shape (N, H, W, C), float in [0, 1]
    layer : str, keras layer or None
        Checked with :func:`cnnlab.checks.check_layer` and ``kind``; None
        (when the method allows it) passes as None.
    class_index : int or array of int, shape (N,)
    kind : str, default 'conv_or_input'
        What the method accepts as layer (see :func:`cnnlab.checks.check_layer`).

    Returns
    -------
    Arguments

    Raises
    ------
    TypeError, ValueError
        One message per mistake, naming the argument.
    """
    head = classifier_head(model)
    images = check_model_images(model, images)
    if layer is not None:
        layer = check_layer(model, layer, kind)
    class_index = check_class_index(class_index, len(images), head.units)
    return Arguments(images, layer, class_index, head)


def class_score(logits, class_index, score: str):
    """y^c of each image: the logit x^c itself, softmax(x)_c or sigmoid(x^c).

    Parameters
    ----------
    logits : tf.Tensor, shape (N, num_classes)
        The head's pre-activation outputs x.
    class_index : tf.Tensor, shape (N,), int
    score : {'logit', 'softmax', 'sigmoid'}

    Returns
    -------
    tf.Tensor, shape (N,)
    """
    import tensorflow as tf

    outputs = {"logit": lambda: logits, "softmax": lambda: tf.nn.softmax(logits),
               "sigmoid": lambda: tf.sigmoid(logits)}[score]()
    return tf.gather(outputs, class_index, axis=1, batch_dims=1)


def check_score(score: Any) -> str:
    """One of :data:`SCORES`; ValueError otherwise."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {', '.join(map(repr, SCORES))}, got {score!r}.")
    return score


def _parts(model, layer, head) -> dict:
    """The cached sub-models: input -> A, and A -> the head's input h."""
    import keras

    cache = _CACHE.setdefault(model, {})
    key = None if layer is None else layer.name
    if ("parts", key) not in cache:
        if layer is None:
            below, above = None, keras.Model(model.inputs, head.input)
        else:
            # Keras 3 cuts a functional graph at any tensor: A becomes the input of `above`.
            below = keras.Model(model.inputs, layer.output)
            above = keras.Model([layer.output], head.input)
        cache[("parts", key)] = {"below": below, "above": above}
    return cache[("parts", key)]


class _Tape:
    """``(images, class_index) -> reduce(A, dy^c/dA, y^c)`` for one model, layer, score.

    A callable object rather than a closure: TensorFlow counts traces per
    Python code object, so closures compiled for many models (a sanity check
    makes one copy per layer) would be taken for one function retracing, with
    a warning in the page.
    """

    def __init__(self, below, above, head, score: str, reduce: Callable):
        self.below, self.above, self.head = below, above, head
        self.score, self.reduce = score, reduce

    def __call__(self, images, class_index):
        import tensorflow as tf

        # The layers below A run outside the tape: it records A's way up only.
        maps = images if self.below is None else self.below(images, training=False)
        with tf.GradientTape() as tape:
            tape.watch(maps)
            hidden = tf.cast(self.above(maps, training=False), tf.float32)
            # The head's own weights, read at each call: the model is not copied.
            logits = tf.matmul(hidden, tf.cast(self.head.kernel, tf.float32))
            if self.head.use_bias:
                logits = logits + tf.cast(self.head.bias, tf.float32)
            scores = class_score(logits, class_index, self.score)
        grads = tape.gradient(scores, maps)                           # dy^c / dA
        return self.reduce(tf.cast(maps, tf.float32), tf.cast(grads, tf.float32), scores)


def _compiled(model, layer, head, score: str, reduce: Callable):
    """The compiled :class:`_Tape` of a model, layer, score and reduction, cached."""
    import tensorflow as tf

    cache = _CACHE.setdefault(model, {})
    key = ("tape", None if layer is None else layer.name, score, reduce)
    if key not in cache:
        parts = _parts(model, layer, head)
        shape = (None, *model.inputs[0].shape[1:])
        cache[key] = tf.function(
            _Tape(parts["below"], parts["above"], head, score, reduce),
            input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec((None,), tf.int64)])
    return cache[key]


def reduce_gradients(model, arguments: Arguments, reduce: Callable, score: str = "logit",
                     batch_size: int = 128):
    """Run ``reduce(A, dy^c/dA, y^c)`` batch by batch, compiled, and join the results.

    Parameters
    ----------
    model : keras.Model
    arguments : Arguments
        From :func:`check_arguments`.
    reduce : callable
        ``(maps, grads, scores) -> tensor or tuple of tensors``, each with the
        batch as its first axis; TensorFlow ops only (it runs compiled). Pass
        the same function object each time: the compiled tape is cached by it.
    score : {'logit', 'softmax', 'sigmoid'}, default 'logit'
    batch_size : int, default 128
        Images per tape: memory grows with the batch, not with N.

    Returns
    -------
    ndarray or tuple of ndarray, float32
        ``reduce``'s outputs for all N images.

    Raises
    ------
    TypeError, ValueError
        For an unknown score or a bad batch size.
    """
    import tensorflow as tf

    score = check_score(score)
    batch_size = check_int("batch_size", batch_size, 1)
    run = _compiled(model, arguments.layer, arguments.head, score, reduce)
    parts = []
    for start in range(0, len(arguments.images), batch_size):
        out = run(tf.constant(arguments.images[start:start + batch_size]),
                  tf.constant(arguments.class_index[start:start + batch_size]))
        parts.append([np.asarray(t, dtype=np.float32)
                      for t in (out if isinstance(out, tuple) else (out,))])
    joined = tuple(np.concatenate(columns) for columns in zip(*parts, strict=True))
    return joined[0] if len(joined) == 1 else joined


def _maps_and_gradients(maps, grads, scores):
    return maps, grads


def score_gradients(model, images: np.ndarray, layer, class_index: int | np.ndarray,
                    score: str = "logit",
                    batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """The maps A of ``layer`` and the gradient dy^c/dA of the class score, batched.

    Parameters
    ----------
    model : keras.Model
        A classifier ending in a Dense layer, possibly followed by a Softmax layer.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    layer : str, keras Conv2D layer, or None
        None, or the input layer's name, for the gradient with respect to the pixels.
    class_index : int or ndarray of shape (N,)
    score : {'logit', 'softmax', 'sigmoid'}, default 'logit'
    batch_size : int, default 128

    Returns
    -------
    maps, grads : ndarray, shape (N, h, w, K), float32
        For the input: the images and dy^c/dx.

    Raises
    ------
    TypeError, ValueError
        As :func:`check_arguments` and :func:`reduce_gradients`.
    """
    arguments = check_arguments(model, images, layer, class_index)
    return reduce_gradients(model, arguments, _maps_and_gradients, score, batch_size)


def layer_and_head_input(model, arguments: Arguments,
                         batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """The maps A of the checked layer and the head's input h, one forward pass.

    Parameters
    ----------
    model : keras.Model
    arguments : Arguments
        From :func:`check_arguments`, with a layer.
    batch_size : int, default 128

    Returns
    -------
    maps : ndarray, shape (N, h, w, K), float32
    hidden : ndarray, shape (N, F), float32
    """
    batch_size = check_int("batch_size", batch_size, 1)
    function = compiled_outputs(model, ("layer and head input", arguments.layer.name),
                                lambda: [arguments.layer.output, arguments.head.input])
    maps, hidden = in_batches(function, arguments.images, batch_size)
    return np.asarray(maps, np.float32), np.asarray(hidden, np.float32)
