"""Two digits in one picture (chapter 8).

MathWorks' example "Investigate network predictions using class activation
mapping" shows a coffee cup that the network calls a buckle: "too many objects
overlap in the picture", and the map sits on a watch strap, not on the cup.
On MNIST the same question is asked with two digits drawn over each other
(:func:`overlay_digits`), the second one fainter or smaller: which one does the
network name (:func:`follows`), and where does the map of the named class lie
(:func:`attribution_split`)? A second "digit" that is the same ink scattered at
random (:func:`scrambled`) is the control: ink without a shape.
"""

from __future__ import annotations

import numpy as np

from cnnlab.checks import check_images, check_int, check_labels, check_model, check_number
from cnnlab.explain.cam import positive_share

# The four parts of a picture of two digits, for attribution_split.
PARTS = ("first", "second", "both", "background")


def overlay_digits(first: np.ndarray, second: np.ndarray, brightness: float = 1.0,
                   scale: float = 1.0, threshold: float = 0.5
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two digits drawn over each other: ``first``, and ``second`` dimmed and rescaled.

    ``second`` is scaled about the image centre by ``scale``
    (:func:`cnnlab.transforms.scale_images`; 1 leaves it as it is), multiplied
    by ``brightness``, and the two are combined by the pixelwise maximum:
    ink over ink, as two pens on one sheet. A sum would leave [0, 1] where the
    strokes cross, and clipping it back would make a crossing as bright as a
    lone stroke anyway; the maximum keeps every pixel a pixel of one of the two
    digits, so that the picture stays an MNIST-like image.

    Parameters
    ----------
    first, second : ndarray, shape (N, H, W, C), float in [0, 1]
        The same shape.
    brightness : float, default 1.0
        In (0, 1]: the second digit's strokes are at most this bright.
    scale : float, default 1.0
        In [0.25, 2]: the second digit's size relative to the first's.
    threshold : float, default 0.5
        In [0, 1): a pixel belongs to a digit's strokes when it is brighter than
        this (on any channel) before dimming, so that a faint digit keeps the
        place of its strokes.

    Returns
    -------
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    first_mask, second_mask : ndarray, shape (N, H, W), bool
        Each digit's own strokes (the second one after scaling).

    Raises
    ------
    TypeError, ValueError
        For images that are not float (N, H, W, C) arrays in [0, 1] or that
        differ in shape, or a brightness, scale or threshold out of range.
    """
    from cnnlab.transforms import scale_images

    first = check_images(first, "first", unit_range=True)
    second = check_images(second, "second", unit_range=True)
    if first.shape != second.shape:
        raise ValueError(f"first and second must have the same shape, got {first.shape} and "
                         f"{second.shape}.")
    brightness = check_number("brightness", brightness)
    if not 0 < brightness <= 1:           # 0 would leave no second digit to see
        raise ValueError(f"brightness must be in (0, 1], got {brightness:g}.")
    scale = check_number("scale", scale, 0.25, 2.0)
    threshold = check_number("threshold", threshold)
    if not 0 <= threshold < 1:            # 1 would leave no pixel brighter, no strokes
        raise ValueError(f"threshold must be in [0, 1), got {threshold:g}.")
    first = first.astype(np.float32)
    second = scale_images(second, scale)            # scale 1 gives the digit back exactly
    images = np.maximum(first, np.float32(brightness) * second)
    return images, first.max(axis=-1) > threshold, second.max(axis=-1) > threshold


def scrambled(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each image's pixels in a random order: the same ink, no shape (the control).

    A permutation keeps every pixel value, so the ink's total and its histogram
    stay those of the digit; only the strokes are gone.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, C), float in [0, 1]
    seed : int, default 0
        Non-negative; the same seed gives the same orders.

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        Each image permuted over its H x W positions (channels move together).

    Raises
    ------
    TypeError, ValueError
        For bad images or a bad seed.
    """
    images = check_images(images, unit_range=True)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    n, height, width, channels = images.shape
    flat = images.reshape(n, height * width, channels)
    order = rng.permuted(np.broadcast_to(np.arange(height * width), (n, height * width)), axis=1)
    return np.take_along_axis(flat, order[..., None], axis=1).reshape(images.shape).astype(
        np.float32)


def digit_pairs(labels: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random pairs of digits of different classes, by index.

    Parameters
    ----------
    labels : ndarray, shape (N,), int in 0..9
        With at least two classes.
    n : int
        At most N: the first digits are drawn without replacement.
    seed : int, default 0
        Non-negative; the same seed gives the same pairs.

    Returns
    -------
    first, second : ndarray, shape (n,), int64
        Indices into ``labels`` with ``labels[first] != labels[second]``; each
        second digit is drawn uniformly among those of another class.

    Raises
    ------
    TypeError, ValueError
        For bad labels (or a single class), an n outside 1..N, or a bad seed.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}.")
    labels = check_labels(labels, len(labels))
    n = check_int("n", n, 1)
    if n > len(labels):
        raise ValueError(f"n must be at most the number of labels, {len(labels)}, got {n}.")
    if len(np.unique(labels)) < 2:
        raise ValueError("labels must hold at least two classes to pair different digits.")
    rng = np.random.default_rng(check_int("seed", seed, 0))
    first = rng.choice(len(labels), n, replace=False)
    second = rng.integers(0, len(labels), n)
    while (same := labels[first] == labels[second]).any():   # redraw the pairs of one class
        second[same] = rng.integers(0, len(labels), int(same.sum()))
    return first.astype(np.int64), second.astype(np.int64)


def attribution_split(heatmaps: np.ndarray, first_mask: np.ndarray,
                      second_mask: np.ndarray) -> dict[str, np.ndarray]:
    """How each map's positive evidence divides between two digits' strokes.

    The picture is cut into four disjoint parts: the strokes of the first digit
    only, of the second only, of both (where they cross: neither digit's alone,
    so counted apart), and the background. Each part's share is
    :func:`cnnlab.explain.cam.positive_share`; the four add up to 1. A map coarser
    than the masks (a 14x14 map of a 28x28 picture) gives each of its cells the
    fraction of its pixels that lie in each part, so the parts still add up.

    A map spread evenly would give each part its share of the area: the
    baseline (pass a constant map).

    Parameters
    ----------
    heatmaps : ndarray, shape (N, h, w), numeric, finite
        Raw maps (CAM, Grad-CAM) of one class per image; only positive values count.
    first_mask, second_mask : ndarray, shape (N, H, W), bool
        The digits' strokes (:func:`overlay_digits`); H and W multiples of h and w.

    Returns
    -------
    dict of str to ndarray, shape (N,), float64
        The keys of :data:`PARTS`: 'first', 'second', 'both', 'background'; NaN
        for a map without positive values.

    Raises
    ------
    TypeError
        For non-numeric maps or masks that are not boolean.
    ValueError
        For maps that are not (N, h, w) or not finite, masks of different shapes
        or of another N, or a mask size that is not a multiple of the map's.
    """
    heatmaps = np.asarray(heatmaps)
    if heatmaps.dtype.kind not in "biuf":
        raise TypeError(f"heatmaps must be numbers, got dtype {heatmaps.dtype}.")
    if heatmaps.ndim != 3:
        raise ValueError(f"heatmaps must have shape (N, h, w), got {heatmaps.shape}.")
    masks = []
    for name, mask in (("first_mask", first_mask), ("second_mask", second_mask)):
        mask = np.asarray(mask)
        if mask.dtype != bool:
            raise TypeError(f"{name} must be boolean, got dtype {mask.dtype}.")
        if mask.ndim != 3 or mask.shape[0] != heatmaps.shape[0]:
            raise ValueError(f"{name} must have shape ({heatmaps.shape[0]}, H, W), one mask "
                             f"per map, got {mask.shape}.")
        masks.append(mask)
    first_mask, second_mask = masks
    if first_mask.shape != second_mask.shape:
        raise ValueError(f"first_mask and second_mask must have the same shape, got "
                         f"{first_mask.shape} and {second_mask.shape}.")
    n, height, width = first_mask.shape
    h, w = heatmaps.shape[1:]
    if h == 0 or w == 0 or height % h or width % w:
        raise ValueError(f"the masks' size must be a multiple of the maps', got masks "
                         f"{height}x{width} and maps {h}x{w}.")
    parts = {"first": first_mask & ~second_mask, "second": second_mask & ~first_mask,
             "both": first_mask & second_mask, "background": ~(first_mask | second_mask)}
    # Each map cell's fraction of pixels in the part: the cells' weights add up to 1.
    return {name: positive_share(
        heatmaps, part.reshape(n, h, height // h, w, width // w).mean(axis=(2, 4)))
        for name, part in parts.items()}


def _predicted(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """The model's predicted class of each image (one compiled pass, no data pipeline)."""
    from cnnlab.features import compiled_outputs, in_batches

    function = compiled_outputs(model, ("output",), lambda: [model.outputs[0]])
    return in_batches(function, images, batch_size)[0].argmax(axis=1)


def _check_pair(model, first, second, labels_first, labels_second, brightness, scale):
    """The overlaid images, masks and checked labels of :func:`follows` and friends."""
    from cnnlab.checks import check_model_images

    model = check_model(model)
    images, first_mask, second_mask = overlay_digits(first, second, brightness, scale)
    images = check_model_images(model, images)
    labels_first = check_labels(labels_first, len(images), "labels_first")
    labels_second = check_labels(labels_second, len(images), "labels_second")
    if (labels_first == labels_second).any():
        raise ValueError(f"labels_first and labels_second must differ in every pair, but "
                         f"{int((labels_first == labels_second).sum())} pairs share a class.")
    return images, first_mask, second_mask, labels_first, labels_second


def follows(model, first: np.ndarray, second: np.ndarray, labels_first: np.ndarray,
            labels_second: np.ndarray, brightness: float = 1.0, scale: float = 1.0,
            batch_size: int = 128) -> dict[str, float]:
    """Which digit of each overlaid pair the model names: the first, the second, or neither.

    Parameters
    ----------
    model : keras.Model
        A classifier of the pictures' shape. Not changed.
    first, second, brightness, scale
        As :func:`overlay_digits`.
    labels_first, labels_second : ndarray, shape (N,), int in 0..9
        The digits' classes, different in every pair (:func:`digit_pairs`).
    batch_size : int, default 128

    Returns
    -------
    dict of str to float
        'first', 'second', 'other': the fractions of pairs predicted as the
        first digit's class, the second's, or another; they add up to 1.

    Raises
    ------
    TypeError, ValueError
        As :func:`overlay_digits`, for a bad model or images of another size,
        bad labels or a pair whose labels are equal.
    """
    images, _, _, labels_first, labels_second = _check_pair(
        model, first, second, labels_first, labels_second, brightness, scale)
    return _fractions(_predicted(model, images, batch_size), labels_first, labels_second)


def _fractions(predicted, labels_first, labels_second) -> dict[str, float]:
    """The fractions of predictions that name the first digit, the second, or another."""
    return {"first": float((predicted == labels_first).mean()),
            "second": float((predicted == labels_second).mean()),
            "other": float(((predicted != labels_first) & (predicted != labels_second)).mean())}


def overlap_figures(model, first: np.ndarray, second: np.ndarray, labels_first: np.ndarray,
                    labels_second: np.ndarray, layer,
                    methods: tuple[str, ...] = ("cam", "grad_cam"),
                    brightness: float = 1.0, scale: float = 1.0,
                    batch_size: int = 128) -> dict[str, float]:
    """:func:`follows`, and where the maps of the predicted class lie, on average.

    On a global-average-pooling network, Grad-CAM from the logit at the layer
    CAM uses is ReLU(CAM) / (h w) (Grad-CAM generalises CAM; Selvaraju et al.
    2017), so the two give the same shares there; Grad-CAM on an earlier layer
    is where they can differ.

    Parameters
    ----------
    model, first, second, labels_first, labels_second, brightness, scale, batch_size
        As :func:`follows`.
    layer : str or keras layer
        The layer the maps are computed on (for CAM, the one feeding the pooling).
    methods : tuple of str, default ('cam', 'grad_cam')
        Keys of :data:`cnnlab.explain.methods.METHODS`, each explaining the
        predicted class of each picture.

    Returns
    -------
    dict of str to float
        'first', 'second', 'other' as :func:`follows`; for each method and each
        part of :data:`PARTS`, '<method>_<part>': the mean over the pictures of
        the part's share of the map's positive evidence (:func:`attribution_split`;
        pictures whose map has none are left out, and '<method>_empty' is their
        fraction); '<method>_named' and '<method>_unnamed': over the pictures
        predicted as one of their two digits, the mean share on the strokes of
        the digit named and on those of the other one (crossings excluded);
        and 'area_<part>': the shares a map spread evenly would give ('area_named'
        and 'area_unnamed' over the same pictures as '<method>_named').

    Raises
    ------
    TypeError, ValueError
        As :func:`follows`, for unknown methods and as the methods raise (a
        layer the method cannot use).
    """
    from cnnlab.explain.methods import METHODS

    if (not isinstance(methods, tuple) or not methods
            or not all(isinstance(m, str) and m in METHODS for m in methods)):
        raise ValueError(f"methods must be a non-empty tuple of names from {sorted(METHODS)}, "
                         f"got {methods!r}.")
    images, first_mask, second_mask, labels_first, labels_second = _check_pair(
        model, first, second, labels_first, labels_second, brightness, scale)
    predicted = _predicted(model, images, check_int("batch_size", batch_size, 1))
    figures = _fractions(predicted, labels_first, labels_second)
    for method in methods:
        heatmaps = METHODS[method](model, images, layer, predicted, batch_size=batch_size)
        shares = attribution_split(heatmaps, first_mask, second_mask)
        figures[f"{method}_empty"] = float(np.isnan(shares["first"]).mean())
        named = predicted == labels_first
        shares["named"] = np.where(named, shares["first"], shares["second"])
        shares["unnamed"] = np.where(named, shares["second"], shares["first"])
        for part in (*PARTS, "named", "unnamed"):
            # 'named' and 'unnamed' only where the prediction is one of the two digits.
            values = (shares[part] if part in PARTS
                      else shares[part][named | (predicted == labels_second)])
            values = values[~np.isnan(values)]
            figures[f"{method}_{part}"] = float(values.mean()) if len(values) else float("nan")
    evenly = attribution_split(np.ones((len(images), 1, 1)), first_mask, second_mask)
    figures.update({f"area_{part}": float(evenly[part].mean()) for part in PARTS})
    # The same for the named and the other digit: how much of the picture each covers,
    # the share a map that knew nothing would give them.
    named = predicted == labels_first
    either = named | (predicted == labels_second)
    for part, chosen in (("named", np.where(named, evenly["first"], evenly["second"])),
                         ("unnamed", np.where(named, evenly["second"], evenly["first"]))):
        figures[f"area_{part}"] = float(chosen[either].mean()) if either.any() else float("nan")
    return figures
