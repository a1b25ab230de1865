"""Chapter 2's explorers: pool a digit; shift it and watch a feature map."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from cnnlab import reference
from cnnlab.checks import check_layer
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_min_size, digit_control
from cnnlab.explorers.sheet import Sheet


def pooling_explorer(images: np.ndarray, labels: np.ndarray,
                     static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 2's explorer: a digit, a window and a stride; max and average pooled.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float in [0, 1], H and W at least 3
    labels : ndarray, shape (N,), int in 0..9
    static_digits : sequence of int
        Indices offered on the static site (at least one); live, every index
        can be chosen.

    Returns
    -------
    Explorer
        Three panels: the digit, its max-pooled and its average-pooled map, with shapes.

    Raises
    ------
    TypeError, ValueError
        When called: as :func:`cnnlab.explorers.convolution_explorer` (images
        of at least 3x3 pixels, the largest static window).
    """
    images, labels = check_digits(images, labels, static_digits)
    check_min_size(images, 3, "the 3x3 window")

    sheet = Sheet((8, 2.9), 1, 3, left=0.02, right=0.98, bottom=0.03, top=0.87, wspace=0.15)
    digit_panel = sheet.picture(sheet.axes[0, 0])
    pooled_panels = [sheet.picture(ax) for ax in sheet.axes[0, 1:]]

    def render(digit, window, stride):
        x = images[digit:digit + 1]
        digit_panel.show(x[0], title=f"input {x.shape[1]}x{x.shape[2]} (label {labels[digit]})")
        for panel, name, pool in ((pooled_panels[0], "max", reference.max_pool2d),
                                  (pooled_panels[1], "average", reference.avg_pool2d)):
            out = pool(x, window, stride)[0]
            panel.show(out, title=f"{name} {window}x{window}, stride {stride}: "
                                  f"{out.shape[0]}x{out.shape[1]}")
        return sheet

    sheet.png()                         # the fixed parts, drawn once now
    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("window", [2, 3], live=[2, 3, 4, 5]),
         Control("stride", [1, 2, 3], live=[1, 2, 3, 4])],
        title="Pool a digit",
    )


def shift_explorer(model, images: np.ndarray, labels: np.ndarray, layer="conv2",
                   static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 2's shift experiment for one digit: a conv layer's map before and
    after shifting the digit, without and with pooling after the layer.

    Parameters
    ----------
    model : keras.Model
        A trained model with a convolution layer named ``layer``.
    images : ndarray, shape (N, H, W, 1), float in [0, 1]
        Of the model's input shape.
    labels, static_digits
        As :func:`pooling_explorer`.
    layer : str or keras Conv2D layer, default 'conv2'

    Returns
    -------
    Explorer
        Controls: digit, shift (0-3 pixels right), pooling ('max 2x2', 'average 2x2').
        Rows: the layer's channel that stands out most from its background, then
        the pooled map; columns: the
        original digit, the shifted digit, their difference, with the relative change.

    Raises
    ------
    TypeError, ValueError
        When called: for a model that is not a built keras model, images or
        labels as :func:`pooling_explorer` (and of the model's input shape),
        a layer that is not one of the model's Conv2D layers, or bad static digits.
    """

    from cnnlab.features import feature_maps, relative_change, shift_images

    images, labels = check_digits(images, labels, static_digits, model=model)
    layer = check_layer(model, layer, "conv").name
    pools = {"max 2x2": reference.max_pool2d, "average 2x2": reference.avg_pool2d}

    shifts = list(range(8))             # the live positions of the shift control
    # The layer's maps of a digit at every shift in one pass, kept per digit: a shift
    # or pooling move is free.
    @lru_cache(maxsize=64)  # live, a reader may visit thousands of digits: bound it
    def shifted_maps(digit):
        """The digit at every shift (0 first) and the layer's maps of them."""
        x = images[digit:digit + 1]
        batch = np.concatenate([shift_images(x, dx=s) for s in shifts])
        return batch, feature_maps(model, [layer], batch)[layer]

    sheet = Sheet((8.4, 4.4), 2, 4, left=0.02, right=0.98, bottom=0.02, top=0.93,
                  wspace=0.12, hspace=0.14)
    digit_panels = [sheet.picture(ax) for ax in sheet.axes[:, 0]]
    map_panels = [sheet.picture(ax) for ax in sheet.axes[:, 1]]
    moved_panels = [sheet.picture(ax) for ax in sheet.axes[:, 2]]
    difference_panels = [sheet.picture(ax, "RdBu_r") for ax in sheet.axes[:, 3]]

    def render(digit, shift, pooling):
        batch, all_maps = shifted_maps(digit)
        x, moved = batch[:1], batch[shift:shift + 1]
        maps = all_maps[[0, shift]]
        # The channel that lights up most above its own background (its median),
        # so the strokes show bright on dark.
        first = maps[0]
        channel = int((first.max(axis=(0, 1)) - np.median(first, axis=(0, 1))).argmax())
        rows = [maps[..., channel:channel + 1], pools[pooling](maps)[..., channel:channel + 1]]
        names = [f"{layer}, channel {channel}", f"after {pooling} pooling"]
        digit_panels[0].show(x[0], title=f"digit (label {labels[digit]})")
        digit_panels[1].show(moved[0], title=f"shifted {shift} px right")
        for r, (row, name) in enumerate(zip(rows, names, strict=True)):
            top = float(row.max()) or 1.0
            change = relative_change(row[:1], row[1:])[0]
            map_panels[r].show(row[0], vmin=0, vmax=top, title=name)
            moved_panels[r].show(row[1], vmin=0, vmax=top, title="... of the shifted digit")
            difference_panels[r].show(row[1] - row[0], vmin=-top, vmax=top,
                                      title=f"difference: {change:.2f}")
        return sheet

    sheet.png()                         # the fixed parts, drawn once now
    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("shift", [0, 1, 2, 3], label="shift (px)", live=shifts),
         Control("pooling", list(pools))],
        title="Shift a digit: does the feature map notice?",
    )
