"""Chapter 1's sliding-window explorer: one output pixel of a convolution, term by term.

Equations (1.2)-(1.4) say that an output pixel is the sum of the products of
the filter with the pixels under it. The explorer shows exactly that for one
output position of a small input (a test digit shrunk to 7x7, values rounded
so they can be read): the window on the input, its values, the kernel, the
products, their sum, and the output map with that pixel marked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlab import reference
from cnnlab.checks import check_images, check_int
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_indices, check_min_size
from cnnlab.plotting import show_image

ONE_CHANNEL = "1 channel, 3x3 kernel"
THREE_CHANNELS = "3 channels, 3x3 kernel"
ONE_BY_ONE = "3 channels, 1x1 kernel"

# Integer kernels and simple weights, so that every product can be checked by eye.
_SOBEL_X = reference.classic_kernels()["sobel x"]
_THREE_KERNELS = np.stack([_SOBEL_X, _SOBEL_X.T, reference.classic_kernels()["edge"]], axis=-1)
_THREE_BIAS = 0.5
_ONE_BY_ONE = np.array([1.0, -1.0, 0.5], np.float32).reshape(1, 1, 3)


def small_digits(images: np.ndarray, digits: Sequence[int], factor: int = 4,
                 decimals: int = 1) -> np.ndarray:
    """Test digits shrunk to a few pixels, rounded so that their values can be read.

    Each ``factor`` x ``factor`` block becomes its brightest pixel (max pooling,
    chapter 2), which keeps thin strokes visible; an average would fade them.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float in [0, 1]
    digits : sequence of int
        Indices into ``images``.
    factor : int, default 4
        Block size: 28x28 digits become 7x7.
    decimals : int, default 1
        Decimals kept, so that the numbers shown are the numbers multiplied.

    Returns
    -------
    ndarray, shape (len(digits), H // factor, W // factor, 1), float32

    Raises
    ------
    TypeError, ValueError
        For images that are not gray digits (N, H, W, 1) in [0, 1] of at least
        ``factor`` x ``factor`` pixels, digits that are not a non-empty sequence
        of indices into ``images``, or a factor (at least 1) or decimals (at
        least 0) that are not ints.
    """
    images = check_images(images, unit_range=True)
    if images.shape[-1] != 1:
        raise ValueError(f"images must be gray digits of shape (N, H, W, 1), got shape "
                         f"{images.shape}.")
    check_indices("digits", digits, len(images), "images")
    factor = check_int("factor", factor, 1)
    decimals = check_int("decimals", decimals, 0)
    check_min_size(images, factor, f"blocks of {factor}x{factor}")
    shrunk = reference.max_pool2d(images[list(digits)], factor)
    return np.round(shrunk, decimals).astype(np.float32)


def _number(value: float) -> str:
    """At most two decimals, no trailing zeros, no minus sign on zero."""
    text = f"{float(value) + 0.0:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _bracketed(value: float) -> str:
    """A term of a written sum: negative numbers in brackets, "1 + (-0.5)"."""
    text = _number(value)
    return f"({text})" if text.startswith("-") else text


def _cells(ax, values: np.ndarray, cmap: str, limit: float | None = None,
           numbers: bool = True, title: str = "") -> None:
    """A small grid with its values written in the cells, to two decimals."""
    vmin, vmax = (0, 1) if limit is None else (-limit, limit)
    show_image(values, ax=ax, cmap=cmap, vmin=vmin, vmax=vmax, values=_number if numbers else False)
    ax.set_title(title, fontsize=9)


def _mark(ax, top: int, left: int, height: int, width: int, color: str = "tab:red") -> None:
    if color == "black":            # on a red-blue map: a white halo keeps it visible
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False,
                               edgecolor="white", lw=5))
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), width, height, fill=False,
                           edgecolor=color, lw=2.5))


def sliding_window_explorer(images: np.ndarray, labels: np.ndarray,
                            digits: Sequence[int] = (0, 1, 2), factor: int = 4,
                            decimals: int = 1) -> Explorer:
    """Chapter 1's explorer: one output pixel of a convolution as a sum of products.

    Three cases, chosen by the ``case`` control:

    * ``ONE_CHANNEL``: the first of ``digits``, shrunk, through Sobel x
      (equations (1.1)-(1.2));
    * ``THREE_CHANNELS``: the three digits as the channels of one input,
      through one filter with a 3x3 slice per channel (Sobel x, Sobel y, edge)
      and a bias of 0.5: the products are summed over all channels
      (equation (1.4));
    * ``ONE_BY_ONE``: the same input through a 1x1 filter with weights
      (1, -1, 0.5): a weighted sum of the channels at each pixel.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float in [0, 1]
        The digits to choose from (the test set); ``H // factor`` and
        ``W // factor`` at least 3.
    labels : ndarray, shape (N,), int in 0..9
    digits : sequence of three int, default (0, 1, 2)
        The digits shown: the first alone, all three as channels.
    factor : int, default 4
        Shrinking factor (:func:`small_digits`): 28x28 digits become 7x7.
    decimals : int, default 1
        Decimals kept of the shrunk pixels.

    Returns
    -------
    Explorer
        Controls: case, output row and column (live 0-6; past the output's
        edge the last row or column is shown, and the title says so), stride
        (1, 2), padding ('valid', 'same'). One row of panels per channel: the
        input with the window, the window's values, the kernel (slice), the
        products; on the right, the output map with the pixel marked and the
        sum that gives it.

    Raises
    ------
    TypeError, ValueError
        When called: for images or labels as
        :func:`cnnlab.explorers.convolution_explorer`, digits that are not
        three indices into ``images``, a factor or decimals that are not ints
        (at least 1 and 0), or images that shrink below 3x3.
    """
    images, labels = check_digits(images, labels)
    check_indices("digits", digits, len(images), "images")
    if len(digits) != 3:
        raise ValueError(f"digits must name 3 images (one per channel), got {len(digits)}.")
    factor = check_int("factor", factor, 1)
    decimals = check_int("decimals", decimals, 0)
    check_min_size(images, 3 * factor, f"3x3 kernels after shrinking by {factor}")
    small = small_digits(images, digits, factor, decimals)          # (3, h, w, 1)
    stacked = np.moveaxis(small[..., 0], 0, -1)                      # (h, w, 3): channels
    names = ", ".join(str(labels[d]) for d in digits)
    cases = {
        ONE_CHANNEL: (small[0], _SOBEL_X[..., None], 0.0, f"digit {labels[digits[0]]}",
                      ["Sobel x"]),
        THREE_CHANNELS: (stacked, _THREE_KERNELS, _THREE_BIAS, f"digits {names}",
                         ["Sobel x", "Sobel y", "edge"]),
        ONE_BY_ONE: (stacked, _ONE_BY_ONE, 0.0, f"digits {names}",
                     [f"weight {_number(w)}" for w in _ONE_BY_ONE.ravel()]),
    }
    side = small.shape[1]

    def render(case, row, col, stride, padding):
        image, kernel, bias, what, kernel_names = cases[case]
        kh, kw, channels = kernel.shape
        n_h = reference.conv_output_size(image.shape[0], kh, stride, padding)
        n_w = reference.conv_output_size(image.shape[1], kw, stride, padding)
        r, c = min(row, n_h - 1), min(col, n_w - 1)
        term = reference.window_products(image, kernel, r, c, bias, stride, padding)
        out = reference.conv2d(image[None], kernel[..., None], np.array([bias], np.float32),
                               stride, padding)[0, ..., 0]
        padded = reference.pad_images(image[None], (kh, kw), stride, padding)[0]
        pad_top = (padded.shape[0] - image.shape[0]) // 2

        # A Figure outside pyplot: in a kernel, pyplot keeps every figure it made until
        # the cell ends (to show it), which for the site's frames is ~0.2 GB at once.
        fig = Figure(figsize=(10, 3.3 if channels == 1 else 7.2))
        grid = fig.add_gridspec(channels, 5, width_ratios=[1.15, 0.8, 0.8, 0.8, 1.25],
                                wspace=0.3, hspace=0.45)
        k_max = float(np.abs(kernel).max()) or 1.0
        p_max = float(np.abs(term.products).max()) or 1.0
        for k in range(channels):
            ax = fig.add_subplot(grid[k, 0])
            _cells(ax, padded[..., k], "gray", numbers=False,
                   title=(f"input ch. {k}: " if channels > 1 else "input: ") +
                   (what if channels == 1 else f"digit {labels[digits[k]]}"))
            if padded.shape[:2] != image.shape[:2]:
                _mark(ax, pad_top, pad_top, image.shape[0], image.shape[1], "tab:orange")
            _mark(ax, term.top, term.left, kh, kw)
            _cells(fig.add_subplot(grid[k, 1]), term.window[..., k], "gray",
                   title="window values")
            _cells(fig.add_subplot(grid[k, 2]), kernel[..., k], "RdBu_r", k_max,
                   title=f"kernel: {kernel_names[k]}")
            _cells(fig.add_subplot(grid[k, 3]), term.products[..., k], "RdBu_r", p_max,
                   title=f"products, sum {_number(term.products[..., k].sum())}")
        ax = fig.add_subplot(grid[:, 4])
        o_max = float(np.abs(out).max()) or 1.0
        _cells(ax, out, "RdBu_r", o_max, numbers=False)
        _mark(ax, r, c, 1, 1, "black")
        if channels == 1:
            sums = f"sum of the {kh * kw} products"
        else:                           # equation (1.4): the channels' sums, then the bias
            sums = " + ".join(_bracketed(term.products[..., k].sum()) for k in range(channels))
        if bias:
            sums += f" + b ({_number(bias)})"
        moved = "" if (r, c) == (row, col) else f"\n(row {row}, col {col} are past the edge)"
        how = padding if kh * kw > 1 else "'valid' = 'same'"
        ax.set_title(f"output {n_h}x{n_w}, stride {stride}, {how}\n"
                     f"u[{r}, {c}] = {sums}\n= {_number(term.value)}{moved}", fontsize=9)
        if kh == kw == 1:
            ax.set_xlabel("a 1x1 kernel needs no padding:\n'valid' and 'same' agree",
                          fontsize=9)
        fig.suptitle(f"{case}: input {side}x{side}"
                     + (f", padded to {padded.shape[0]}x{padded.shape[1]} (orange: the image)"
                        if padded.shape[:2] != image.shape[:2] else "")
                     + "; red: the window", fontsize=10)
        return fig

    live = list(range(side))
    return Explorer(
        render,
        [Control("case", list(cases)),
         Control("row", [0, 2], label="output row", live=live),
         Control("col", [1, 2], label="output column", live=live),
         Control("stride", [1, 2]),
         Control("padding", ["valid", "same"])],
        title="Slide the window: one output pixel, term by term",
    )
