"""How much a network's features and its output change when the input is shifted,
turned or scaled: Zeiler & Fergus's invariance curves (2014, section 4, figure 5).

Zeiler & Fergus move five example images by a range of amounts and plot, for
each amount, the Euclidean distance between the feature vector of the original
and of the transformed image at layer 1 and layer 7, and the probability of the
true class. Small changes of the input change the first layer a lot and the
top layers much less; the output is robust to shifts and scaling, not to
rotation (except for objects with rotational symmetry).

:func:`invariance_curves` does the same for many digits at once, with the
distance divided by the length of the original's feature vector, so that
layers of different size and scale can share one axis. Feature vectors come
from :func:`cnnlab.features.feature_maps` (one compiled forward pass for all
layers and the output).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from cnnlab.checks import (
    check_classifier,
    check_int,
    check_labels,
    check_layers,
    check_model_images,
    check_number,
)
from cnnlab.features import feature_maps, relative_change, shift_images
from cnnlab.transforms import MAX_FACTOR, MIN_FACTOR, rotate_images, scale_images

TRANSFORMS = ("shift", "rotation", "scale")
# What an amount is, for the axis of a plot.
AMOUNT_LABELS = {"shift": "horizontal shift (pixels)", "rotation": "rotation (degrees)",
                 "scale": "scale factor"}
# Upper bound on the feature maps held for one chunk of images (originals and
# one transformed copy), in bytes: conv1 of the Keras example is 87 kB a digit.
_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class InvarianceCurves:
    """Per image and per amount: how far each layer's features moved, and the output.

    Attributes
    ----------
    transform : {'shift', 'rotation', 'scale'}
    amounts : ndarray, shape (A,), float
        Pixels to the right, degrees counter-clockwise, or scale factors.
    layers : tuple of str
    per_image_distance : dict of str to ndarray, shape (A, N)
        ``||f(T x) - f(x)|| / ||f(x)||`` for each layer's flattened output
        ``f``; NaN for an image whose original feature vector is all zeros.
    per_image_p_true : ndarray, shape (A, N)
        The probability the model gives the true class of the transformed image.
    per_image_correct : ndarray, shape (A, N), bool
        Whether the model's most probable class is the true one.

    The summaries over images (``distance``, ``spread``, ``p_true``,
    ``p_true_spread``, ``accuracy``) are properties; the distance's leave out
    the NaN of images with an all-zero original vector.
    """

    transform: str
    amounts: np.ndarray
    layers: tuple
    per_image_distance: dict
    per_image_p_true: np.ndarray
    per_image_correct: np.ndarray

    @property
    def distance(self) -> dict[str, np.ndarray]:
        """Layer name -> the mean relative distance over images, shape (A,)."""
        return {name: _quiet(np.nanmean, values, axis=1)
                for name, values in self.per_image_distance.items()}

    @property
    def spread(self) -> dict[str, np.ndarray]:
        """Layer name -> the 25th and 75th percentiles over images, shape (A, 2)."""
        return {name: _quiet(np.nanpercentile, values, [25, 75], axis=1).T
                for name, values in self.per_image_distance.items()}

    @property
    def p_true(self) -> np.ndarray:
        """The mean probability of the true class over images, shape (A,)."""
        return self.per_image_p_true.mean(axis=1)

    @property
    def p_true_spread(self) -> np.ndarray:
        """The 25th and 75th percentiles of the true class's probability, shape (A, 2)."""
        return np.percentile(self.per_image_p_true, [25, 75], axis=1).T

    @property
    def accuracy(self) -> np.ndarray:
        """The share of images classified correctly, shape (A,)."""
        return self.per_image_correct.mean(axis=1)


def _quiet(function, *args, **kwargs) -> np.ndarray:
    """``function`` without numpy's warning for an all-NaN slice (it returns NaN there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(function(*args, **kwargs))


def _check_amounts(transform: object, amounts: object, width: int) -> np.ndarray:
    """The amounts as a float array, each checked for the transform (see invariance_curves)."""
    if not isinstance(transform, str) or transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {list(TRANSFORMS)}, got {transform!r}.")
    if not isinstance(amounts, (list, tuple, np.ndarray)) or np.ndim(amounts) != 1:
        raise TypeError(f"amounts must be a list or 1-D array of numbers, got "
                        f"{type(amounts).__name__} {amounts!r:.60}.")
    if len(amounts) == 0:
        raise ValueError("amounts is empty: give at least one amount.")
    checked = []
    for k, amount in enumerate(amounts):
        name = f"amounts[{k}]"
        if transform == "shift":
            amount = check_int(f"{name} (a shift in whole pixels)", amount, -(width - 1))
            if amount >= width:
                raise ValueError(f"{name} must be smaller than the image width ({width}), "
                                 f"got {amount}.")
        elif transform == "scale":
            amount = check_number(name, amount, MIN_FACTOR, MAX_FACTOR)
        else:
            amount = check_number(name, amount)
        checked.append(float(amount))
    return np.asarray(checked)


def transform_images(images: np.ndarray, transform: str, amount: float) -> np.ndarray:
    """Images shifted right by ``amount`` pixels, turned by ``amount`` degrees, or scaled.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float
    transform : {'shift', 'rotation', 'scale'}
        :func:`cnnlab.features.shift_images` (``dx``, an int),
        :func:`cnnlab.transforms.rotate_images` (counter-clockwise) or
        :func:`cnnlab.transforms.scale_images` (about the centre).
    amount : int or float
        Pixels (an int), degrees, or the factor in [0.1, 10].

    Returns
    -------
    ndarray, shape (N, H, W, C)

    Raises
    ------
    TypeError, ValueError
        For an unknown transform, an amount it does not admit, or bad images.
    """
    if not isinstance(transform, str) or transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {list(TRANSFORMS)}, got {transform!r}.")
    if transform == "shift":
        if isinstance(amount, float) and amount.is_integer():
            amount = int(amount)
        return shift_images(images, dx=amount)
    if transform == "rotation":
        return rotate_images(images, amount)
    return scale_images(images, amount)


def invariance_curves(model, images: np.ndarray, labels: np.ndarray, transform: str,
                      amounts, layers: list, batch_size: int = 128) -> InvarianceCurves:
    """Feature distances and the true class's probability against a shift, rotation or scale.

    Zeiler & Fergus (2014, section 4, figure 5): for each amount ``a``, each
    image ``x`` is transformed (``T_a x``) and each layer's output is flattened
    into a feature vector ``f``. The distance reported is

        d_a(x) = ||f(T_a x) - f(x)|| / ||f(x)||,

    the Euclidean distance that Zeiler & Fergus plot, divided by the length of
    the original's vector so that layers of different sizes compare (0: the
    features did not move; 1: they moved as far as their own length). With it
    come the model's probability for the true class and whether its top class
    is right.

    Parameters
    ----------
    model : keras.Model
        A classifier whose output is class probabilities (softmax), as every
        model of the book. Not changed.
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    labels : ndarray, shape (N,), int
        The true classes.
    transform : {'shift', 'rotation', 'scale'}
        'shift': to the right by whole pixels (:func:`cnnlab.features.shift_images`,
        zero fill); 'rotation': degrees counter-clockwise about the centre
        (:func:`cnnlab.transforms.rotate_images`); 'scale': a factor about the
        centre (:func:`cnnlab.transforms.scale_images`, > 1 enlarges).
    amounts : sequence of numbers, length A
        Ints with ``|a| < W`` for 'shift', any finite degrees, factors in
        [0.1, 10]. Include the identity (0 or 1) to see the curve start at 0.
    layers : list of str or keras layers
        The layers whose feature vectors are compared, e.g. ``['conv1', 'dense1']``.
    batch_size : int, default 128
        Images per forward pass.

    Returns
    -------
    InvarianceCurves
        Per image and amount; its properties give the mean distance per
        layer with its quartiles, the mean probability of the true class and
        the accuracy per amount.

    Raises
    ------
    TypeError, ValueError
        For a model that is not a classifier or does not output probabilities,
        unknown layers, bad images or labels, an unknown transform, amounts it
        does not admit, or a batch size below 1.
    """
    num_classes = check_classifier(model)
    picked = check_layers(model, layers)
    images = check_model_images(model, images)
    labels = check_labels(labels, len(images), num_classes=num_classes)
    amounts = _check_amounts(transform, amounts, images.shape[2])
    batch_size = check_int("batch_size", batch_size, 1)
    names = [layer.name for layer in picked]
    output = model.layers[-1]
    # Originals and one transformed copy of a chunk of images are held at a time.
    per_image = sum(int(np.prod(layer.output.shape[1:])) for layer in picked) * 4 * 2
    chunk = max(1, _CHUNK_BYTES // per_image)

    n, count = len(images), len(amounts)
    distance = {name: np.empty((count, n)) for name in names}
    p_true, correct = np.empty((count, n)), np.empty((count, n), bool)
    for start in range(0, n, chunk):
        part, truth = images[start:start + chunk], labels[start:start + chunk]
        stop = start + len(part)
        before = feature_maps(model, [*picked, output], part, batch_size)
        _check_probabilities(before[output.name])
        for k, amount in enumerate(amounts):
            moved = transform_images(part, transform, amount)
            after = feature_maps(model, [*picked, output], moved, batch_size)
            for name in names:
                distance[name][k, start:stop] = relative_change(before[name], after[name])
            probabilities = after[output.name]
            p_true[k, start:stop] = probabilities[np.arange(len(part)), truth]
            correct[k, start:stop] = probabilities.argmax(axis=1) == truth
    return InvarianceCurves(transform, amounts, tuple(names), distance, p_true, correct)


def _check_probabilities(outputs: np.ndarray) -> None:
    """Raise unless each row is a probability distribution (a softmax output)."""
    if outputs.min() < 0 or not np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("model must output class probabilities (a softmax), but its outputs "
                         f"range over [{outputs.min():.3g}, {outputs.max():.3g}] and their rows "
                         "do not sum to 1.")
