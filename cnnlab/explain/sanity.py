"""Sanity checks for explanations: the cascading model-parameter randomization test.

Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim (2018), "Sanity checks for
saliency maps" (NeurIPS), the model parameter randomization test in its
cascading version: re-initialise the weights of the trained network layer by
layer, from the top (output) layer down to the first, and after each step
compare the explanation with the one of the trained network. A method whose
maps stay the same while the weights that produced the prediction are
destroyed explains the image (an edge detector would do as well), not the model.

Re-initialisation follows the paper: each layer's weights are drawn anew from
the distribution they were initialised from before training, i.e. by the
layer's own initializers (``kernel_initializer``, ``bias_initializer``, ...),
seeded from ``seed`` and the layer's position so that the same seed gives the
same copies. Biases thus go back to what a fresh layer has (zeros by default).

The comparison is the Spearman rank correlation between maps, with or without
absolute values (the paper reports both; it matters for signed maps such as
gradients, not for Grad-CAM's non-negative ones).

The given model is never changed: every step is a clone with the trained weights
copied in and the top ``k`` weighted layers replaced.

The paper's second test, data randomization, trains the same architecture on
training digits whose labels are permuted (:func:`shuffled_labels`): a network
that can only memorize. Maps that look the same for it as for the trained
network do not depend on what the labels taught.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np

from cnnlab.checks import check_int, check_labels, check_model
from cnnlab.explain.cam import positive_share


def _weighted(model) -> list:
    """The model's layers with weights, top (output) first; checked as every model is."""
    model = check_model(model)
    return [layer for layer in reversed(model.layers) if layer.weights]


def randomized_layers(model) -> list[str]:
    """Names of the layers with weights, from the top (output) down: the cascade's order.

    Parameters
    ----------
    model : keras.Model
        A built model. Not changed.

    Returns
    -------
    list of str
        Layers without weights (pooling, dropout, flatten) are left out; empty
        for a model with no weights.

    Raises
    ------
    TypeError
        If ``model`` is not a keras.Model.
    """
    return [layer.name for layer in _weighted(model)]


def _seed_for(seed: int, position: int, index: int) -> int:
    """A seed for weight ``index`` of the layer at ``position``, derived from ``seed``."""
    state = np.random.SeedSequence([seed, position, index]).generate_state(1)[0]
    return int(state) & 0x7FFFFFFF


def _fresh_weights(layer, seed: int, position: int) -> list[np.ndarray]:
    """New values for each of the layer's weights, drawn by its own (seeded) initializers."""
    import keras

    fresh = []
    for index, variable in enumerate(layer.weights):
        initializer = getattr(layer, f"{variable.name}_initializer", None)
        if not isinstance(initializer, keras.initializers.Initializer):
            raise ValueError(
                f"model must have Keras initializers for its weights (to re-initialise them), "
                f"but weight {variable.name!r} of layer {layer.name!r} "
                f"({type(layer).__name__}) has {type(initializer).__name__} "
                f"as {variable.name}_initializer."
            )
        config = initializer.get_config()
        if "seed" in config:  # random initializers; constant ones (zeros, ones) have no seed
            initializer = type(initializer).from_config(
                {**config, "seed": _seed_for(seed, position, index)})
        values = initializer(tuple(variable.shape), dtype=variable.dtype)
        fresh.append(np.asarray(keras.ops.convert_to_numpy(values)))
    return fresh


def _clone(model, weights: list[np.ndarray]):
    """A copy of ``model`` with ``weights``; Python's global random state is left as it was."""
    import keras

    state = random.getstate()  # building the clone draws unseeded layer seeds from it
    try:
        copy = keras.models.clone_model(model)
    finally:
        random.setstate(state)
    copy.set_weights(weights)
    return copy


def cascading_randomization(model, seed: int = 0) -> Iterator[tuple[str, object]]:
    """Copies of the model with more and more of its layers re-initialised, from the top down.

    Adebayo et al. (2018), "Sanity checks for saliency maps", the cascading
    model parameter randomization: step ``k`` re-initialises the ``k`` topmost layers
    with weights, cumulatively (the layers randomized at step ``k - 1`` keep the
    same random values). Each layer's weights are drawn by its own initializers.

    Parameters
    ----------
    model : keras.Model
        A Sequential or functional model (one :func:`keras.models.clone_model`
        can copy) with trained weights. Never changed.
    seed : int, default 0
        Non-negative. The same seed gives the same copies.

    Returns
    -------
    iterator of (str, keras.Model)
        One pair per layer of :func:`randomized_layers`, in that order: the
        layer just re-initialised and a new, uncompiled copy of ``model`` whose
        top ``k`` weighted layers are re-initialised and whose others hold the
        trained weights (bit for bit). The trained weights and the random ones
        are taken when this is called; the copies are made as the iterator runs.

    Raises
    ------
    TypeError
        If ``model`` is not a keras.Model or ``seed`` not an int.
    ValueError
        For a negative seed, a model without weighted layers, or a weight
        without a Keras initializer (``<name>_initializer``) on its layer.
    """
    layers = _weighted(model)
    if not layers:
        raise ValueError(
            f"model must have layers with weights to randomize, but model {model.name!r} has "
            f"none (is it built?); its layers are {[layer.name for layer in model.layers]}."
        )
    seed = check_int("seed", seed, 0)
    trained = model.get_weights()
    positions = {id(layer): position for position, layer in enumerate(model.layers)}
    fresh = [(layer.name, _fresh_weights(layer, seed, positions[id(layer)]))
             for layer in layers]
    first = _clone(model, trained)  # a model clone_model cannot copy fails here, not later

    def cascade(copy):
        done = []
        for name, weights in fresh:
            done.append((name, weights))
            copy = copy if copy is not None else _clone(model, trained)
            for randomized, values in done:
                copy.get_layer(randomized).set_weights(values)
            yield name, copy
            copy = None

    return cascade(first)


def _check_maps(name: str, maps) -> np.ndarray:
    maps = np.asarray(maps)
    if maps.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be numeric, got dtype {maps.dtype}.")
    if maps.ndim not in (3, 4):
        raise ValueError(f"{name} must have shape (N, h, w) or (N, H, W, C), got {maps.shape}.")
    if not np.isfinite(maps).all():
        raise ValueError(f"{name} must be finite, got NaN or infinite values.")
    return maps


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..M of each row of ``values`` (N, M), ties given their average rank."""
    n, m = values.shape
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    positions = np.broadcast_to(np.arange(m), (n, m))
    new_group = np.ones((n, m), bool)
    new_group[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    group_end = np.ones((n, m), bool)
    group_end[:, :-1] = new_group[:, 1:]
    # First and last sorted position of each value's group of ties.
    first = np.maximum.accumulate(np.where(new_group, positions, 0), axis=1)
    last = np.minimum.accumulate(np.where(group_end, positions, m - 1)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((n, m))
    np.put_along_axis(ranks, order, (first + last) / 2 + 1, axis=1)
    return ranks


def rank_correlation(a: np.ndarray, b: np.ndarray, absolute: bool = False) -> np.ndarray:
    """Spearman rank correlation between corresponding maps.

    The similarity measure of Adebayo et al. (2018), "Sanity checks for saliency
    maps": the Pearson correlation of the maps' pixel ranks (ties get their
    average rank), 1 for maps that order the pixels alike, -1 for reversed order.

    Parameters
    ----------
    a, b : ndarray, shape (N, h, w) or (N, H, W, C), numeric
        Maps of the same shape (Grad-CAM maps, or projections to pixel space);
        all values of one map are ranked together.
    absolute : bool, default False
        Compare ``abs(a)`` with ``abs(b)``, the paper's "absolute value" variant
        (where a map's sign is not taken to mean anything).

    Returns
    -------
    ndarray, shape (N,), float64
        One coefficient per pair of maps. NaN where either map is constant (all
        zero, for instance an empty Grad-CAM map): it has no order to correlate.

    Raises
    ------
    TypeError
        For non-numeric maps or a non-bool ``absolute``.
    ValueError
        For maps of different shapes, of another number of axes, or with NaN or
        infinite values.
    """
    if not isinstance(absolute, bool | np.bool_):
        raise TypeError(f"absolute must be a bool, got {type(absolute).__name__} {absolute!r}.")
    a, b = _check_maps("a", a), _check_maps("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}.")
    a, b = (maps.reshape(len(maps), -1).astype(np.float64) for maps in (a, b))
    if absolute:
        a, b = np.abs(a), np.abs(b)
    ranks_a, ranks_b = _ranks(a), _ranks(b)
    ranks_a -= ranks_a.mean(axis=1, keepdims=True)
    ranks_b -= ranks_b.mean(axis=1, keepdims=True)
    spread = np.sqrt((ranks_a**2).sum(axis=1) * (ranks_b**2).sum(axis=1))
    covariance = (ranks_a * ranks_b).sum(axis=1)
    return np.divide(covariance, spread, out=np.full(len(a), np.nan), where=spread > 0)


def shuffled_labels(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """The labels in a random order: the data randomization test's training labels.

    Adebayo et al. (2018), "Sanity checks for saliency maps", section 4: the
    same network trained on a random permutation of the labels can only
    memorize them. A permutation keeps each class's count.

    Parameters
    ----------
    labels : ndarray, shape (N,), int in 0..9
    seed : int, default 0
        Non-negative; the same seed gives the same order.

    Returns
    -------
    ndarray, shape (N,), int64
        ``labels`` permuted by ``numpy.random.default_rng(seed).permutation``.

    Raises
    ------
    TypeError, ValueError
        For labels that are not a 1-D array of ints in 0..9, or a bad seed.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}.")
    labels = check_labels(labels, labels.shape[0])
    seed = check_int("seed", seed, 0)
    return np.random.default_rng(seed).permutation(labels).astype(np.int64)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two digits in one image: the middle half of ``left``'s columns, then ``right``'s.

    For the class-discrimination test (Selvaraju et al. 2017, the cat and the
    dog of Sakai & Takenaka's Figs. 1-3) on digits: the map of one digit's
    class should fall on that digit's half. The strokes keep their size; only
    the outer quarters of each image, mostly background on MNIST, are cut.

    Parameters
    ----------
    left, right : ndarray, shape (N, H, W, C), float in [0, 1]
        The same shape; W even.

    Returns
    -------
    ndarray, shape (N, H, W, C), float32
        Columns ``0 .. W/2 - 1`` are ``left[:, :, W/4 : W/4 + W/2]``, the
        others the same columns of ``right``.

    Raises
    ------
    TypeError, ValueError
        For images that are not float arrays of shape (N, H, W, C) in [0, 1],
        shapes that differ, or an odd width.
    """
    from cnnlab.checks import check_images

    left = check_images(left, unit_range=True, name="left")
    right = check_images(right, unit_range=True, name="right")
    if left.shape != right.shape:
        raise ValueError(f"left and right must have the same shape, got {left.shape} and "
                         f"{right.shape}.")
    width = left.shape[2]
    if width % 2:
        raise ValueError(f"images must have an even width, got {width}.")
    start, half = width // 4, width // 2
    return np.concatenate([left[:, :, start:start + half], right[:, :, start:start + half]],
                          axis=2).astype(np.float32)


def share_inside(heatmaps: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The fraction of each (non-negative) map's total that lies inside ``mask``.

    Parameters
    ----------
    heatmaps : ndarray, shape (N, h, w), non-negative
        Grad-CAM maps, say.
    mask : ndarray of bool, shape (h, w) or (N, h, w)

    Returns
    -------
    ndarray, shape (N,), float64
        In [0, 1]; NaN for an empty map (all zero), which lies nowhere.

    Raises
    ------
    TypeError
        For non-numeric maps or a mask that is not boolean.
    ValueError
        For maps of another shape, negative or non-finite values, or a mask
        that does not fit the maps.
    """
    heatmaps = _check_maps("heatmaps", heatmaps)
    if heatmaps.ndim != 3:
        raise ValueError(f"heatmaps must have shape (N, h, w), got {heatmaps.shape}.")
    if (heatmaps < 0).any():
        raise ValueError("heatmaps must be non-negative (maps after the ReLU), got "
                         f"a minimum of {heatmaps.min():.3g}.")
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"mask must be boolean, got dtype {mask.dtype}.")
    if mask.shape not in (heatmaps.shape[1:], heatmaps.shape):
        raise ValueError(f"mask must have shape {heatmaps.shape[1:]} or {heatmaps.shape}, "
                         f"got {mask.shape}.")
    # For maps that are never negative this is CAM's positive share: one computation.
    return positive_share(heatmaps, mask)
