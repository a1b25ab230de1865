"""Figures for the book: images, grids of images, kernels.

Every function draws into the Axes it is given (``ax=None`` makes a new
figure) and returns the Axes, so figures compose and tests can look inside.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes


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


def show_image(image: np.ndarray, ax: Axes | None = None, title: str | None = None,
               cmap: str = "gray", vmin: float | None = None, vmax: float | None = None,
               colorbar: bool = False, values: bool = False) -> Axes:
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
    values : bool, default False
        Write each pixel's value in its cell (for kernels and tiny images).

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
        # Dark text on light cells and light text on dark ones, whatever the colormap.
        for (i, j), v in np.ndenumerate(image):
            r, g, b, _ = shown.cmap(shown.norm(v))
            light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
            ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=9,
                    color="black" if light else "white")
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
                axes: np.ndarray | None = None) -> np.ndarray:
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

    Returns
    -------
    ndarray of matplotlib.axes.Axes, shape (rows, ncols)

    Raises
    ------
    ValueError
        For an empty stack, ``ncols`` below 1, a wrong number of titles or an
        unknown ``normalize``.
    """
    images = [_as_2d(im, "each image") for im in images]
    if not images:
        raise ValueError("images is empty: nothing to draw.")
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}.")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images.")
    if normalize not in ("each", "all"):
        raise ValueError(f"normalize must be 'each' or 'all', got {normalize!r}.")
    ncols = min(ncols, len(images))
    nrows = -(-len(images) // ncols)
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
    return axes
