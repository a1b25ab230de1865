"""Figures for the book: images, grids of images, kernels, receptive-field boxes, curves,
heatmap overlays.

Every function draws into the Axes it is given (``ax=None`` makes a new
figure) and returns the Axes, so figures compose and tests can look inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from cnnlab.checks import check_int, check_number
from cnnlab.learning_process import empty_maps


def _as_2d(image: np.ndarray, name: str = "image") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(
            f"{name} must have shape (H, W) or (H, W, 1), got shape {image.shape}."
        )
    if not np.issubdtype(image.dtype, np.number):
        raise TypeError(f"{name} must be numeric, got dtype {image.dtype}.")
    return image


def text_colors(rgba: np.ndarray) -> np.ndarray:
    """Black on light cells and white on dark ones, whatever the colormap.

    Parameters
    ----------
    rgba : ndarray, shape (..., 3) or (..., 4), floats in [0, 1]
        The cells' colours.

    Returns
    -------
    ndarray of str, shape (...)
        'black' where the luma (0.299 R + 0.587 G + 0.114 B) is above 0.5, else 'white'.
    """
    luma = np.asarray(rgba)[..., :3] @ np.array([0.299, 0.587, 0.114])
    return np.where(luma > 0.5, "black", "white")


def show_image(image: np.ndarray, ax: Axes | None = None, title: str | None = None,
               cmap: str = "gray", vmin: float | None = None, vmax: float | None = None,
               colorbar: bool = False,
               values: bool | Callable[[float], str] = False) -> Axes:
    """Draw one single-channel image (a digit, a kernel, a feature map).

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 1)
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    title : str, optional
    cmap : str, default 'gray'
    vmin, vmax : float, optional
        Colour limits; by default the image's own minimum and maximum.
    colorbar : bool, default False
        Add a colour bar beside the image.
    values : bool or callable, default False
        Write each pixel's value in its cell (for kernels and tiny images):
        ``True`` with two significant digits, a callable ``value -> str`` to
        choose the wording (say, a fixed number of decimals).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError, TypeError
        If ``image`` is not a 2-D (or single-channel 3-D) numeric array.
    """
    image = _as_2d(image)
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    shown = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    if values:
        text = values if callable(values) else (lambda v: f"{v:.2g}")
        colors = text_colors(shown.cmap(shown.norm(image)))
        for (i, j), v in np.ndenumerate(image):
            ax.text(j, i, text(v), ha="center", va="center", fontsize=9, color=colors[i, j])
    if colorbar:
        ax.figure.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    if title is not None:
        ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def show_images(images: np.ndarray | Sequence[np.ndarray], ncols: int = 8,
                titles: Sequence[str] | None = None, cmap: str = "gray",
                normalize: str = "each", size: float = 1.2,
                axes: np.ndarray | None = None,
                row_labels: Sequence[str] | None = None) -> np.ndarray:
    """Draw images in a grid, as the source's ``plt.subplot`` loops do.

    Parameters
    ----------
    images : array_like, shape (N, H, W) or (N, H, W, 1), or a sequence of 2-D arrays
    ncols : int, default 8
        Images per row.
    titles : sequence of str, optional
        One title per image.
    cmap : str, default 'gray'
    normalize : {'each', 'all'}, default 'each'
        'each' stretches every image to its own min..max (the source's
        ``(p - p.min()) / (p.max() - p.min())``); 'all' uses one scale for the grid,
        so that brightness can be compared across images.
    size : float, default 1.2
        Inches per image.
    axes : ndarray of Axes, optional
        Draw into these (at least N of them); a new figure if omitted.
    row_labels : sequence of str, optional
        One label per row, written left of the row (what the row shows: a
        layer, a channel), so that a grid reads without its caption.

    Returns
    -------
    ndarray of matplotlib.axes.Axes, shape (rows, ncols)

    Raises
    ------
    TypeError
        For an ``ncols`` that is not an int.
    ValueError
        For an empty stack, ``ncols`` below 1, a wrong number of titles or row
        labels, or an unknown ``normalize``.
    """
    images = [_as_2d(im, "each image") for im in images]
    if not images:
        raise ValueError("images is empty: nothing to draw.")
    ncols = check_int("ncols", ncols, 1)
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images.")
    if normalize not in ("each", "all"):
        raise ValueError(f"normalize must be 'each' or 'all', got {normalize!r}.")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(f"row_labels has {len(row_labels)} entries for {nrows} rows.")
    if axes is None:
        _, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                               squeeze=False)
    axes = np.atleast_2d(np.asarray(axes))
    flat = axes.ravel()
    if flat.size < len(images):
        raise ValueError(f"axes has {flat.size} Axes for {len(images)} images.")
    vmin = vmax = None
    if normalize == "all":
        vmin = min(float(im.min()) for im in images)
        vmax = max(float(im.max()) for im in images)
    for k, ax in enumerate(flat):
        if k < len(images):
            show_image(images[k], ax=ax, cmap=cmap, vmin=vmin, vmax=vmax,
                       title=None if titles is None else titles[k])
        else:
            ax.axis("off")
    for row, label in enumerate(row_labels or []):
        axes[row, 0].set_ylabel(label, fontsize=9)
    return axes


def show_boxes(image: np.ndarray, boxes: np.ndarray, labels: Sequence[str] | None = None,
               ax: Axes | None = None, title: str | None = None,
               colors: Sequence[str] | None = None) -> Axes:
    """Draw an image with rectangles over it: the receptive fields of some units.

    Parameters
    ----------
    image : array_like, shape (H, W) or (H, W, 1)
    boxes : array_like of int, shape (K, 4)
        (top, left, bottom, right) in pixels, bottom and right excluded, as
        :func:`cnnlab.receptive.unit_patch` and ``TopK.boxes`` give them. A
        box may hang over the border; the picture shows the image only.
    labels : sequence of str, optional
        One per box, shown in a legend beside the image.
    ax : matplotlib Axes, optional
    title : str, optional
    colors : sequence of matplotlib colours, optional
        One per box; by default the tab10 colours in order.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        For a bad image, boxes that are not integers of shape (K, 4) with
        bottom > top and right > left, or a wrong number of labels or colours.
    """
    from matplotlib.patches import Rectangle

    image = _as_2d(image)
    boxes = np.asarray(boxes)
    if not np.issubdtype(boxes.dtype, np.integer):
        raise TypeError(f"boxes must be integers, got dtype {boxes.dtype}.")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must have shape (K, 4), (top, left, bottom, right) per box, "
                         f"got shape {boxes.shape}.")
    if (boxes[:, 2] <= boxes[:, 0]).any() or (boxes[:, 3] <= boxes[:, 1]).any():
        raise ValueError("boxes must have bottom > top and right > left, got "
                         f"{boxes.tolist()}.")
    for name, given in (("labels", labels), ("colors", colors)):
        if given is not None and len(given) != len(boxes):
            raise ValueError(f"{name} has {len(given)} entries for {len(boxes)} boxes.")
    ax = show_image(image, ax=ax, title=title)
    colors = colors or [plt.get_cmap("tab10")(k % 10) for k in range(len(boxes))]
    for k, (top, left, bottom, right) in enumerate(boxes.tolist()):
        # Pixel (i, j) covers [j - 0.5, j + 0.5]: the box's edges lie between pixels.
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False,
                               edgecolor=colors[k], linewidth=1.8,
                               label=None if labels is None else labels[k]))
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    if labels is not None:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8, frameon=False)
    return ax


def plot_history(history: dict, keys: Sequence[str] = ("loss", "val_loss"),
                 ax: Axes | None = None, title: str | None = None) -> Axes:
    """Learning curves: one line per history key against the epoch (1, 2, ...).

    Parameters
    ----------
    history : dict of str to sequence of float
        As Keras' ``History.history`` or :class:`cnnlab.training.TrainingRun.history`.
    keys : sequence of str, default ('loss', 'val_loss')
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        If a key is not in ``history`` (the message lists the keys there are).
    """
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"history has no {missing}; it has {sorted(history)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for key in keys:
        values = list(history[key])
        ax.plot(range(1, len(values) + 1), values, marker=".", label=key)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.legend()
    ax.grid(alpha=0.3)
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax


def plot_confusion(matrix: np.ndarray, ax: Axes | None = None,
                   title: str | None = None) -> Axes:
    """A confusion matrix with its counts; the diagonal is left out of the colours.

    Parameters
    ----------
    matrix : ndarray, shape (K, K), int
        Row: true class; column: predicted class.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``matrix`` is not square.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (K, K), got shape {matrix.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 4.6))
    errors = matrix.astype(float)
    np.fill_diagonal(errors, np.nan)  # the correct answers would swamp the errors' colours
    ax.imshow(errors, cmap="Reds")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="black" if i != j else "tab:blue")
    k = matrix.shape[0]
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax


def probability_colors(probabilities: np.ndarray, label: int | None = None) -> list[str]:
    """The bars' colours of :func:`show_probabilities`: the true class green, a wrong
    prediction red (the prediction blue without a label), the others light gray.

    Parameters
    ----------
    probabilities : array_like, shape (K,)
    label : int, optional

    Returns
    -------
    list of str, length K
    """
    predicted = int(np.argmax(probabilities))
    colors = ["lightgray"] * len(probabilities)
    if label is None:
        colors[predicted] = "tab:blue"
    else:
        colors[predicted] = "tab:red"
        colors[label] = "tab:green"
    return colors


def show_probabilities(probabilities: np.ndarray, label: int | None = None,
                       ax: Axes | None = None, title: str | None = None) -> Axes:
    """Bar chart of one image's predicted class probabilities.

    Parameters
    ----------
    probabilities : array_like, shape (K,)
    label : int, optional
        The true class, drawn in green (the prediction, if wrong, in red).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``probabilities`` is not one-dimensional.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.ndim != 1:
        raise ValueError(f"probabilities must be 1-D (K,), got shape {probabilities.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 2.6))
    ax.bar(range(len(probabilities)), probabilities,
           color=probability_colors(probabilities, label))
    ax.set_xticks(range(len(probabilities)))
    ax.set_ylim(0, 1)
    ax.set_xlabel("class")
    ax.set_ylabel("probability")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax


# How heatmap_overlay stretches a map to [0, 1]: negatives cut to 0 first, or CAMshow's.
OVERLAY_SCALES = ("positive", "min-max")


def heatmap_overlay(image: np.ndarray, heatmap: np.ndarray, threshold: float = 0.2,
                    margin: int = 0, scale: str = "positive") -> np.ndarray:
    """A heatmap laid over its image, as MathWorks' class activation mapping example draws it.

    The image is turned to gray and darkened (halved); the map is resized to
    the image (bilinear), normalised to [0, 1], cut to 0 below ``threshold``,
    coloured with a jet colormap that fades to black at 0, added, and the sum
    normalised to [0, 1] (the example's ``CAMshow``).

    ``CAMshow`` normalises from the map's minimum to its maximum. That suits a
    map that is never negative (Grad-CAM's, after its ReLU), but a class
    activation map is signed (eq. 6.3): stretched from its most negative value,
    the zero of "no evidence" lands mid-scale and is painted as if it were
    evidence. So by default (``scale='positive'``) negative values are set to 0
    first, as Grad-CAM's ReLU does, and only evidence *for* the class is
    coloured; a map that is never negative is drawn exactly as ``CAMshow``
    draws it. ``scale='min-max'`` is ``CAMshow`` itself, for any map.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 1), values in [0, 1]
    heatmap : ndarray, shape (h, w)
        A class activation or Grad-CAM map, any scale.
    threshold : float, default 0.2
        Normalised map values below this are not drawn, in [0, 1).
    margin : int, default 0
        Pixels along each edge of the image that the map does not reach. A
        map of 'valid' convolutions with stride 1 is smaller than the image
        and its unit (0, 0) sits over pixel (margin, margin): 1 for conv1 and
        2 for conv2 of the Keras example CNN ((28 - h) / 2). The map is then
        resized to the inner (H - 2 margin, W - 2 margin) pixels only.
    scale : {'positive', 'min-max'}, default 'positive'
        'positive': negative values count as 0 (no evidence) before the map is
        normalised; 'min-max': MathWorks' ``CAMshow``, from the map's minimum,
        whatever its sign.

    Returns
    -------
    ndarray, shape (H, W, 3), float32 in [0, 1]
        RGB picture.

    Raises
    ------
    ValueError, TypeError
        For a non-2-D image or map, values that are not finite, a threshold
        outside [0, 1), a margin that is not an int that leaves pixels inside,
        or an unknown scale.
    """
    from PIL import Image

    if not isinstance(scale, str):
        raise TypeError(f"scale must be a str, one of {OVERLAY_SCALES}, got "
                        f"{type(scale).__name__}.")
    if scale not in OVERLAY_SCALES:
        raise ValueError(f"scale must be one of {OVERLAY_SCALES}, got {scale!r}.")

    image = _as_2d(image).astype(np.float32)
    heatmap = _as_2d(heatmap, "heatmap").astype(np.float32)
    if not (np.isfinite(image).all() and np.isfinite(heatmap).all()):
        raise ValueError("image and heatmap must be finite, got NaN or infinite values.")
    threshold = check_number("threshold", threshold)
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold:g}.")
    height, width = image.shape
    margin = check_int("margin", margin, 0)
    if 2 * margin >= min(height, width):
        raise ValueError(f"margin must be in [0, {(min(height, width) - 1) // 2}] for a "
                         f"{height}x{width} image, got {margin}.")
    inner = np.asarray(Image.fromarray(heatmap, mode="F").resize(
        (width - 2 * margin, height - 2 * margin), Image.Resampling.BILINEAR), dtype=np.float32)
    resized = np.zeros((height, width), np.float32)
    if scale == "positive":
        inner = np.maximum(inner, 0)  # a ReLU: below 0 is evidence against, not weak evidence
    resized[margin:height - margin, margin:width - margin] = _unit(inner)
    resized[resized < threshold] = 0
    # jet(255) scaled by a ramp: weak evidence is dark, strong evidence bright red.
    colours = plt.get_cmap("jet")(resized)[..., :3] * resized[..., None]
    return _unit(image[..., None] / 2 + colours).astype(np.float32)


def _unit(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def show_heatmap(image: np.ndarray, heatmap: np.ndarray, ax: Axes | None = None,
                 title: str | None = None, threshold: float = 0.2, margin: int = 0,
                 scale: str = "positive") -> Axes:
    """Draw :func:`heatmap_overlay` of ``image`` and ``heatmap``.

    Parameters
    ----------
    image, heatmap, threshold, margin, scale
        As :func:`heatmap_overlay`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError, TypeError
        As :func:`heatmap_overlay`.
    """
    picture = heatmap_overlay(image, heatmap, threshold, margin, scale)
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(picture, interpolation="nearest")
    if title is not None:
        ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def heatmap_margin(model, layer) -> int:
    """The ``margin`` that puts each unit of ``layer``'s map over the pixels it sees.

    A stride-1 'valid' convolution's map is smaller than the image: its unit
    (0, 0) sees the receptive field whose top-left corner is ``offset`` and
    whose side is ``size`` (:func:`cnnlab.receptive.receptive_field`), and is
    centred ``offset + (size - 1) // 2`` pixels in from the image's edge: 1
    for conv1 and 2 for conv2 of the Keras example CNN. A 'same' map covers
    the whole image (0), and a strided (pooled) map is stretched over it (0).

    Parameters
    ----------
    model : keras.Model
    layer : str or keras layer
        A Conv2D or pooling layer of ``model``.

    Returns
    -------
    int
        For :func:`heatmap_overlay` and :func:`show_heatmap`.

    Raises
    ------
    TypeError, ValueError
        As :func:`cnnlab.receptive.receptive_field` (an unknown layer, one
        without feature maps), and for a field whose rows and columns would
        need different margins.
    """
    from cnnlab.receptive import receptive_field

    field = receptive_field(model, layer)
    if field.stride != (1, 1):
        return 0
    rows, cols = (max(0, offset + (size - 1) // 2)
                  for offset, size in zip(field.offset, field.size, strict=True))
    if rows != cols:
        raise ValueError(f"layer's map needs a margin of {rows} rows and {cols} columns; "
                         f"heatmap_overlay takes one margin for both.")
    return rows


def show_learning_maps(record: dict, images: np.ndarray, score: str, epochs: Sequence[int],
                       faint: float = 1e-6, axes: np.ndarray | None = None,
                       title: str | None = None) -> np.ndarray:
    """The watched digits' Grad-CAM maps during training: a row per epoch, a column per class.

    Sakai & Takenaka (2019, Figs. 6 and 7) draw the map of one test digit of
    each class after each epoch, from the score after the output's sigmoid
    (the usual way) and from the value before it (their eq. 4, our eq. 7.4).
    Each map is laid over its digit (:func:`show_heatmap`), its units over the
    pixels they see, and a map whose raw peak is at most ``faint`` is marked
    'faint' ('empty' when it is exactly 0): eq. (7.3) would stretch such a
    map's rounding noise to full colour.

    Parameters
    ----------
    record : dict
        ``zoo.record("sakai2019_learning")``: its 'maps' (scores, E, K, h, w)
        in [0, 1], 'map_max' (scores, E, K) and 'scores' are read.
    images : ndarray, shape (K, H, W) or (K, H, W, 1)
        The watched digits, one per class (``x_test[record['digits']]``).
    score : str
        One of ``record['scores']``: 'sigmoid' (the usual way) or 'logit' (eq. 7.4).
    epochs : sequence of int
        The epochs drawn, one row each, in 1..E.
    faint : float, default 1e-6
        See :func:`cnnlab.learning_process.empty_maps`.
    axes : ndarray of Axes, len(epochs) x K of them, optional
        Where to draw, row by row; a new figure (laid out tightly) if omitted.
    title : str, optional
        The figure's title.

    Returns
    -------
    ndarray of matplotlib.axes.Axes, shape (len(epochs), K)

    Raises
    ------
    TypeError, ValueError
        For a record without those arrays, an unknown score, images that are
        not one per class or are smaller than the maps, epochs outside 1..E,
        a negative faint, or axes of another shape.
    """
    if not isinstance(record, dict):
        raise TypeError(f"record must be a dict (zoo.record('sakai2019_learning')), got "
                        f"{type(record).__name__}.")
    missing = [key for key in ("maps", "map_max", "scores") if key not in record]
    if missing:
        raise ValueError(f"record lacks {missing}: pass zoo.record('sakai2019_learning').")
    heatmaps, peaks = np.asarray(record["maps"]), np.asarray(record["map_max"])
    scores = list(record["scores"])
    if score not in scores:
        raise ValueError(f"score must be one of {scores}, got {score!r}.")
    _, last_epoch, num_classes, height, width = heatmaps.shape
    images = [_as_2d(image, "each image") for image in images]
    if len(images) != num_classes:
        raise ValueError(f"images must hold the {num_classes} watched digits, one per class, "
                         f"got {len(images)}.")
    if images[0].shape[0] < height or images[0].shape[1] < width:
        raise ValueError(f"images ({images[0].shape[0]}x{images[0].shape[1]}) are smaller "
                         f"than the record's maps ({height}x{width}).")
    epochs = [check_int(f"epochs[{row}]", epoch, 1) for row, epoch in enumerate(epochs)]
    if not epochs or max(epochs) > last_epoch:
        raise ValueError(f"epochs must be a non-empty list in 1..{last_epoch}, got {epochs}.")
    faint = check_number("faint", faint, 0)
    k = scores.index(score)
    weak = empty_maps(peaks[k], faint)
    # The record keeps no model, but its layer is a stride-1 'valid' convolution
    # (learning_process.LAYER): its map is the digit less the receptive field's
    # overhang, (size - 1) / 2 pixels on each side, which is what heatmap_margin gives.
    margin = (images[0].shape[0] - height) // 2
    created = axes is None
    if created:
        _, axes = plt.subplots(len(epochs), num_classes,
                               figsize=(0.9 * num_classes, 0.96 * len(epochs)), squeeze=False)
    axes = np.asarray(axes)
    if axes.size != len(epochs) * num_classes:
        raise ValueError(f"axes must hold {len(epochs)} x {num_classes} Axes (epochs x "
                         f"classes), got shape {axes.shape}.")
    axes = axes.reshape(len(epochs), num_classes)   # plt.subplots squeezes a single row
    for row, epoch in enumerate(epochs):
        for c in range(num_classes):
            ax = axes[row, c]
            show_heatmap(images[c], heatmaps[k, epoch - 1, c], ax=ax, margin=margin)
            if weak[epoch - 1, c]:
                ax.text(images[c].shape[1] // 2, images[c].shape[0] // 2,   # the centre
                        "empty" if peaks[k, epoch - 1, c] == 0 else "faint", color="red",
                        ha="center", va="center", fontsize=9, fontweight="bold")
            if c == 0:
                ax.set_ylabel(f"epoch {epoch}", fontsize=9)
            if row == 0:
                ax.set_title(f"{c}", fontsize=10)
    figure = axes[0, 0].figure
    if title is not None:
        figure.suptitle(title, fontsize=11)
    if created:
        figure.tight_layout()
    return axes


def plot_runs(groups: dict[str, Sequence[Sequence[float]]], ax: Axes | None = None,
              title: str | None = None, ylabel: str | None = None) -> Axes:
    """Curves of several runs against the epoch, one colour per group of runs.

    For a setting trained from several seeds: each run is a thin line, so the
    spread between seeds shows beside the difference between settings.

    Parameters
    ----------
    groups : dict of str to sequence of sequences of float
        A group's name (the legend) to its runs, each a value per epoch (1, 2, ...).
    ax : matplotlib Axes, optional
    title, ylabel : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        If ``groups`` is not a non-empty dict, or a group holds no run, or a run
        holds no finite number.
    """
    if not isinstance(groups, dict) or not groups:
        raise TypeError(f"groups must be a non-empty dict of name to runs, got {groups!r:.60}.")
    curves = {}
    for name, runs in groups.items():
        runs = [np.asarray(run, dtype=float) for run in runs]
        if not runs or any(run.ndim != 1 or run.size == 0 or not np.isfinite(run).all()
                           for run in runs):
            raise ValueError(f"group {name!r} must hold runs of finite numbers, one per epoch.")
        curves[name] = runs
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for g, (name, runs) in enumerate(curves.items()):
        color = colors[g % len(colors)]
        for k, run in enumerate(runs):
            ax.plot(range(1, run.size + 1), run, color=color, lw=1.2, alpha=0.8, marker=".",
                    markersize=3, label=(f"{name} ({len(runs)} runs)" if len(runs) > 1 else name)
                    if k == 0 else None)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax


def plot_spread(points: dict[str, tuple[float, Sequence[float]]], ax: Axes | None = None,
                xlabel: str | None = None, ylabel: str | None = None,
                log_x: bool = False) -> Axes:
    """One point per setting at its mean over seeds, with a bar from the lowest to the highest.

    Parameters
    ----------
    points : dict of str to (float, sequence of float)
        A setting's name (the legend) to its x position (a cost, say) and its
        values, one per seed.
    ax : matplotlib Axes, optional
    xlabel, ylabel : str, optional
    log_x : bool, default False
        A logarithmic x axis (costs that span orders of magnitude).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError, ValueError
        If ``points`` is not a non-empty dict, or a setting's x or values are not
        finite numbers (x positive on a logarithmic axis).
    """
    if not isinstance(points, dict) or not points:
        raise TypeError(f"points must be a non-empty dict of name to (x, values), got "
                        f"{points!r:.60}.")
    checked = {}
    for name, entry in points.items():
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise ValueError(f"point {name!r} must be a pair (x, values), got {entry!r:.60}.")
        x, values = check_number(f"x of {name!r}", entry[0]), np.asarray(entry[1], dtype=float)
        if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all():
            raise ValueError(f"values of {name!r} must be finite numbers, one per seed.")
        if log_x and x <= 0:
            raise ValueError(f"x of {name!r} must be positive on a logarithmic axis, got {x}.")
        checked[name] = (x, values)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6))
    for name, (x, values) in checked.items():
        mean = values.mean()
        ax.errorbar(x, mean, yerr=[[mean - values.min()], [values.max() - mean]], marker="o",
                    capsize=4, label=f"{name} ({values.size} seeds)" if values.size > 1 else name)
    if log_x:
        ax.set_xscale("log")
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_invariance(curves, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Invariance curves: each layer's feature distance and p(true class) against the amount.

    Zeiler & Fergus (2014, section 4, figure 5) in one panel: for each layer the
    mean relative distance between the feature vectors of the original and the
    transformed images (solid), and the mean probability of the true class
    (black, dashed), each shaded from the 25th to the 75th percentile over images.

    Parameters
    ----------
    curves : cnnlab.invariance.InvarianceCurves
        From :func:`cnnlab.invariance.invariance_curves`.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    TypeError
        If ``curves`` is not an ``InvarianceCurves``.
    """
    from cnnlab.invariance import AMOUNT_LABELS, InvarianceCurves

    if not isinstance(curves, InvarianceCurves):
        raise TypeError(f"curves must be an InvarianceCurves (from "
                        f"cnnlab.invariance.invariance_curves), got {type(curves).__name__}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.4))
    x = curves.amounts
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    distance, spread = curves.distance, curves.spread
    for k, name in enumerate(curves.layers):
        color = colors[k % len(colors)]
        ax.plot(x, distance[name], color=color, marker=".", label=f"{name}: distance")
        ax.fill_between(x, spread[name][:, 0], spread[name][:, 1], color=color, alpha=0.2,
                        lw=0)
    ax.plot(x, curves.p_true, color="black", ls="--", marker=".", label="p(true class)")
    ax.fill_between(x, curves.p_true_spread[:, 0], curves.p_true_spread[:, 1], color="gray",
                    alpha=0.2, lw=0)
    ax.set_xlabel(AMOUNT_LABELS[curves.transform])
    ax.set_ylabel("relative distance; probability")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax
