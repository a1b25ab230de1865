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

from cnnlab import reference
from cnnlab.checks import check_images, check_int
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_indices, check_min_size
from cnnlab.explorers.sheet import Sheet
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


# Input, window values, kernel, products, output: the output is wide enough for the
# longest line of its title (three channels' sums and the bias, some 200 points).
_WIDTHS = (1.15, 0.8, 0.8, 0.8, 1.7)


class _Layout:
    """One case's sheet: per channel the input, window, kernel and products; the output.

    The layout depends only on the case (the number of channels, the kernel), so each
    case gets one sheet, made with the explorer. The kernel never changes within a
    case: it is drawn once, with the sheet's fixed parts; every picture changes the rest.
    """

    def __init__(self, kernel: np.ndarray, kernel_names: Sequence[str]):
        channels = kernel.shape[2]
        # Room above the output for its title: up to four lines at 9 points.
        if channels == 1:
            sheet = Sheet((10, 3.3), 1, 5, width_ratios=_WIDTHS, left=0.02, right=0.98,
                          bottom=0.03, top=0.64, wspace=0.25)
        else:
            sheet = Sheet((10, 6.4), channels, 5, width_ratios=_WIDTHS, left=0.02,
                          right=0.98, bottom=0.02, top=0.9, wspace=0.25, hspace=0.35)
        grid = sheet.axes[0, 0].get_gridspec()
        for ax in sheet.axes[:, 4]:
            ax.remove()
        out_ax = sheet.figure.add_subplot(grid[:, 4])
        out_ax.set_xticks([])
        out_ax.set_yticks([])
        if kernel.shape[:2] == (1, 1):  # the same for every picture: drawn once
            out_ax.set_xlabel("a 1x1 kernel needs no padding:\n'valid' and 'same' agree",
                              fontsize=9)
        self.sheet = sheet
        self.inputs = [sheet.picture(ax) for ax in sheet.axes[:, 0]]
        self.windows = [sheet.picture(ax, values=_number) for ax in sheet.axes[:, 1]]
        k_max = float(np.abs(kernel).max()) or 1.0
        for k, ax in enumerate(sheet.axes[:, 2]):
            show_image(kernel[..., k], ax=ax, cmap="RdBu_r", vmin=-k_max, vmax=k_max,
                       values=_number)
            ax.set_title(f"kernel: {kernel_names[k]}", fontsize=9)
        self.products = [sheet.picture(ax, "RdBu_r", values=_number)
                         for ax in sheet.axes[:, 3]]
        self.output = sheet.picture(out_ax, "RdBu_r")
        for panel in (*self.inputs, *self.windows, *self.products, self.output):
            panel.title.fontsize = 9
        # The image's place in the padded input (orange) and the window (red); on the
        # red-blue output, a white halo keeps the black mark of the pixel visible.
        self.frames = [sheet.box(ax, edgecolor="tab:orange", lw=2.5) for ax in sheet.axes[:, 0]]
        self.window_boxes = [sheet.box(ax, edgecolor="tab:red", lw=2.5)
                             for ax in sheet.axes[:, 0]]
        self.halo = sheet.box(out_ax, edgecolor="white", lw=5)
        self.mark = sheet.box(out_ax, edgecolor="black", lw=2.5)
        self.headline = sheet.text(None, fontsize=10)


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
    layouts = {case: _Layout(kernel, kernel_names)
               for case, (_, kernel, _, _, kernel_names) in cases.items()}
    # Draw each sheet's fixed parts now: the first move to a case would take several
    # times as long as the others.
    for layout in layouts.values():
        layout.sheet.png()

    def render(case, row, col, stride, padding):
        image, kernel, bias, what, _ = cases[case]
        kh, kw, channels = kernel.shape
        n_h = reference.conv_output_size(image.shape[0], kh, stride, padding)
        n_w = reference.conv_output_size(image.shape[1], kw, stride, padding)
        r, c = min(row, n_h - 1), min(col, n_w - 1)
        term = reference.window_products(image, kernel, r, c, bias, stride, padding)
        out = reference.conv2d(image[None], kernel[..., None], np.array([bias], np.float32),
                               stride, padding)[0, ..., 0]
        padded = reference.pad_images(image[None], (kh, kw), stride, padding)[0]
        pad_top = (padded.shape[0] - image.shape[0]) // 2
        pad_left = (padded.shape[1] - image.shape[1]) // 2
        layout = layouts[case]

        p_max = float(np.abs(term.products).max()) or 1.0
        for k in range(channels):
            layout.inputs[k].show(padded[..., k], vmin=0, vmax=1,
                                  title=(f"input ch. {k}: " if channels > 1 else "input: ")
                                  + (what if channels == 1 else f"digit {labels[digits[k]]}"))
            frame = layout.frames[k]
            frame.set_visible(padded.shape[:2] != image.shape[:2])
            frame.set_bounds(pad_left - 0.5, pad_top - 0.5, image.shape[1], image.shape[0])
            layout.window_boxes[k].set_bounds(term.left - 0.5, term.top - 0.5, kw, kh)
            layout.windows[k].show(term.window[..., k], vmin=0, vmax=1, title="window values")
            layout.products[k].show(term.products[..., k], vmin=-p_max, vmax=p_max,
                                    title=f"products, sum {_number(term.products[..., k].sum())}")
        o_max = float(np.abs(out).max()) or 1.0
        if channels == 1:
            sums = f"sum of the {kh * kw} products"
        else:                           # equation (1.4): the channels' sums, then the bias
            sums = " + ".join(_bracketed(term.products[..., k].sum()) for k in range(channels))
        if bias:
            sums += f" + b ({_number(bias)})"
        moved = "" if (r, c) == (row, col) else f"\n(row {row}, col {col} are past the edge)"
        how = padding if kh * kw > 1 else "'valid' = 'same'"
        layout.output.show(out, vmin=-o_max, vmax=o_max,
                           title=f"output {n_h}x{n_w}, stride {stride}, {how}\n"
                                 f"u[{r}, {c}] = {sums}\n= {_number(term.value)}{moved}")
        for mark in (layout.halo, layout.mark):
            mark.set_bounds(c - 0.5, r - 0.5, 1, 1)
        layout.headline.set_text(
            f"{case}: input {side}x{side}"
            + (f", padded to {padded.shape[0]}x{padded.shape[1]} (orange: the image)"
               if padded.shape[:2] != image.shape[:2] else "")
            + "; red: the window")
        return layout.sheet

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
