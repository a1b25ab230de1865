"""Input checks shared by the package: one wording for one mistake everywhere.

Each check raises ``TypeError`` or ``ValueError`` with a message that names the
argument, what was expected and what arrived, and returns the checked value.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np

# What check_layer's ``kind`` admits, and the words for the message.
_KINDS = {
    "any": ("a layer", "layers"),
    "conv": ("a Conv2D layer", "Conv2D layers"),
    "spatial": ("a Conv2D or pooling layer (one with feature maps)",
                "Conv2D and pooling layers"),
    "conv_or_input": ("a Conv2D layer or the input", "input and Conv2D layers"),
}


def check_int(name: str, value: object, minimum: int) -> int:
    """An int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def check_number(name: str, value: object, low: float | None = None,
                 high: float | None = None) -> float:
    """A real number (not a bool), finite, in [low, high] where given, as a float.

    Raises
    ------
    TypeError
        For a non-number (a bool, a string, an array, None).
    ValueError
        For NaN, an infinite value or one outside [low, high].
    """
    if isinstance(value, bool) or not isinstance(value, (Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = (f"in [{low:g}, {high:g}]" if low is not None and high is not None
                  else f"at least {low:g}" if low is not None else f"at most {high:g}")
        raise ValueError(f"{name} must be {bounds}, got {value:g}.")
    return value


def check_model(model: Any, name: str = "model"):
    """A built ``keras.Model`` with one defined input.

    Raises
    ------
    TypeError
        For anything but a keras model (None, a name, a layer).
    ValueError
        For a model that has not been built (a Sequential model without
        ``keras.Input``, never called) or one with several inputs.
    """
    import keras

    if not isinstance(model, keras.Model):
        hint = (f" (load a recorded one with cnnlab.zoo.load({model!r}))"
                if isinstance(model, str) else "")
        raise TypeError(f"{name} must be a keras.Model, got {type(model).__name__}{hint}.")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not model.built or not inputs:
        raise ValueError(f"{name} {model.name!r} has not been built: start it with "
                         "keras.Input(shape=...) or call it on a batch first.")
    if len(inputs) != 1:
        raise ValueError(f"{name} must have one input, got {len(inputs)}.")
    return model


def check_classifier(model: Any) -> int:
    """A built classifier: one output of class scores, shape (N, K); returns K (num_classes).

    Raises
    ------
    TypeError, ValueError
        As :func:`cnnlab.checks.check_model`, and for a model with another output.
    """
    model = check_model(model)
    outputs = getattr(model, "outputs", None) or []
    shape = tuple(outputs[0].shape) if len(outputs) == 1 else None
    if shape is None or len(shape) != 2 or shape[-1] is None:
        got = f"shape {shape}" if shape is not None else f"{len(outputs)} outputs"
        raise ValueError(f"model {model.name!r} must have one output of class scores, shape "
                         f"(N, num_classes), got {got}.")
    return int(shape[-1])


def check_layer(model: Any, layer: Any, kind: str = "any"):
    """The layer of ``model`` named (or given) by ``layer``, of the ``kind`` asked for.

    Parameters
    ----------
    model : keras.Model
    layer : str or keras layer
    kind : {'any', 'conv', 'spatial', 'conv_or_input'}, default 'any'
        'conv': a Conv2D layer; 'spatial': a Conv2D or a pooling layer;
        'conv_or_input': a Conv2D layer or the model's input layer.

    Returns
    -------
    keras layer

    Raises
    ------
    TypeError
        For a model that is not a keras model, or a layer that is neither a
        name nor a keras layer.
    ValueError
        For an unknown layer, one of another model, or one of another kind;
        the message lists the layers of the kind asked for.
    """
    import keras

    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}.")
    model = check_model(model)
    wanted, plural = _KINDS[kind]
    conv = (keras.layers.Conv2D,)
    pools = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
    fits = {"any": lambda found: True,
            "conv": lambda found: isinstance(found, conv),
            "spatial": lambda found: isinstance(found, conv + pools),
            "conv_or_input": lambda found: isinstance(found, conv + (keras.layers.InputLayer,))}
    candidates = [found.name for found in model.layers if fits[kind](found)]
    if kind == "conv_or_input" and not any(
            isinstance(found, keras.layers.InputLayer) for found in model.layers):
        candidates.insert(0, model.inputs[0].name)   # a Sequential model hides its input layer
    if isinstance(layer, keras.layers.Layer):
        if layer not in model.layers:
            raise ValueError(f"layer {layer.name!r} is not a layer of model {model.name!r}; "
                             f"its {plural} are {candidates}.")
        found = layer
    elif isinstance(layer, str):
        names = [found.name for found in model.layers]
        if layer in names:
            found = model.get_layer(layer)
        elif kind == "conv_or_input" and layer == model.inputs[0].name:
            return None   # the input itself (pixel-space methods)
        else:
            raise ValueError(f"unknown layer {layer!r}: the {plural} of model "
                             f"{model.name!r} are {candidates}.")
    else:
        raise TypeError(f"layer must be a layer name (str) or a keras layer, got "
                        f"{type(layer).__name__} {layer!r}.")
    if not fits[kind](found):
        raise ValueError(f"layer must be {wanted}, got {found.name!r} "
                         f"({type(found).__name__}); the {plural} of model {model.name!r} "
                         f"are {candidates}.")
    if isinstance(found, keras.layers.InputLayer):
        return None
    return found


def check_layers(model: Any, layers: Any, kind: str = "any") -> list:
    """A non-empty list of layers, each checked by :func:`check_layer`.

    Raises
    ------
    TypeError
        For a single name or layer where a list is expected (a string would
        otherwise be read one character at a time).
    ValueError
        For an empty list, or as :func:`check_layer`.
    """
    import keras

    if isinstance(layers, (str, keras.layers.Layer)) or not isinstance(layers, (list, tuple)):
        raise TypeError(f"layers must be a list of layer names or layers, got "
                        f"{type(layers).__name__} {layers!r} (for one layer: [{layers!r}]).")
    if not layers:
        raise ValueError("layers is empty: name at least one layer.")
    return [check_layer(model, layer, kind) for layer in layers]


def check_images(images: Any, name: str = "images", unit_range: bool = False) -> np.ndarray:
    """A float array of shape (N, H, W, C) with finite values.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
    name : str
        The argument's name, for the message.
    unit_range : bool, default False
        Also require values in [0, 1] (images as the book loads them) and N >= 1.

    Returns
    -------
    ndarray
        ``images`` itself.

    Raises
    ------
    TypeError
        If ``images`` is not a float numpy array.
    ValueError
        For another number of axes, NaN or infinite values, and with
        ``unit_range`` an empty batch or values outside [0, 1].
    """
    if not isinstance(images, np.ndarray):
        hint = " (convert a tensor with .numpy())" if hasattr(images, "numpy") else ""
        raise TypeError(f"{name} must be a numpy array, got {type(images).__name__}{hint}.")
    if images.ndim != 4:
        raise ValueError(f"{name} must have shape (N, H, W, C) (4 axes), got shape {images.shape}.")
    if not np.issubdtype(images.dtype, np.floating):
        hint = " (pixels 0-255: divide by 255)" if images.dtype == np.uint8 else ""
        raise TypeError(f"{name} must be a float array, got dtype {images.dtype}{hint}.")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} must be finite, got NaN or infinite values.")
    if unit_range:
        if images.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {images.shape}).")
        low, high = float(images.min()), float(images.max())
        if low < 0 or high > 1:
            raise ValueError(f"{name} must have values in [0, 1], got [{low:g}, {high:g}].")
    return images


def check_model_images(model: Any, images: Any, name: str = "images") -> np.ndarray:
    """Images the model can take: :func:`check_images` with ``unit_range``, of its input shape.

    Returns
    -------
    ndarray, float32
        ``images``, as float32 (not copied when it is float32 already).

    Raises
    ------
    TypeError, ValueError
        As :func:`check_model` and :func:`check_images`, and for images whose
        height, width or channels differ from the model's input.
    """
    model = check_model(model)
    images = check_images(images, name, unit_range=True)
    expected = tuple(model.inputs[0].shape[1:])
    if len(expected) != 3 or any(e is not None and e != g for e, g in
                                  zip(expected, images.shape[1:], strict=True)):
        shape = ", ".join("?" if e is None else str(e) for e in expected)
        raise ValueError(f"{name} must have shape (N, {shape}) for model {model.name!r}, "
                         f"got {images.shape}.")
    return images.astype(np.float32, copy=False)


def check_labels(labels: Any, n: int, name: str = "labels", num_classes: int = 10) -> np.ndarray:
    """Integer class labels in 0..num_classes-1, one per image, as int64.

    Raises
    ------
    TypeError, ValueError
        For non-integer labels, a length other than ``n`` or values out of range.
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{name} must be integers, got dtype {labels.dtype}.")
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one per image, got {labels.shape}.")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must be in 0..{num_classes - 1}, got [{labels.min()}, {labels.max()}]."
        )
    return labels.astype(np.int64)


def check_class_index(class_index: Any, n: int, num_classes: int) -> np.ndarray:
    """A class per image: an int for all ``n`` images, or ``n`` ints, in 0..num_classes-1.

    Returns
    -------
    ndarray, shape (n,), int

    Raises
    ------
    TypeError, ValueError
        For non-integers, a wrong length or values out of range.
    """
    if np.ndim(class_index) == 0:
        index = check_int("class_index", class_index, 0)
        if index >= num_classes:
            raise ValueError(f"class_index must be in 0..{num_classes - 1}, got {index}.")
        class_index = np.full(n, index)
    elif not isinstance(class_index, (np.ndarray, list, tuple)):
        raise TypeError(f"class_index must be an int or a numpy array of ints, got "
                        f"{type(class_index).__name__}.")
    class_index = np.asarray(class_index)
    if not np.issubdtype(class_index.dtype, np.integer):
        raise TypeError(f"class_index must be integers, got dtype {class_index.dtype}.")
    if class_index.shape != (n,):
        raise ValueError(f"class_index must be an int or have shape ({n},), got "
                         f"shape {class_index.shape}.")
    if n and (class_index.min() < 0 or class_index.max() >= num_classes):
        raise ValueError(f"class_index must be in 0..{num_classes - 1}, got "
                         f"[{class_index.min()}, {class_index.max()}].")
    return class_index.astype(np.int64)  # TensorFlow gathers with int32/int64 only
