"""Chapter 2's explorers: pool a digit; shift it and watch a feature map."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab import reference
from cnnlab.checks import check_layer
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_min_size, digit_control
from cnnlab.plotting import show_image


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

    def render(digit, window, stride):
        x = images[digit:digit + 1]
        fig, axes = plt.subplots(1, 3, figsize=(8, 2.9))
        show_image(x[0], ax=axes[0], vmin=0, vmax=1,
                   title=f"input {x.shape[1]}x{x.shape[2]} (label {labels[digit]})")
        for ax, name, pool in ((axes[1], "max", reference.max_pool2d),
                               (axes[2], "average", reference.avg_pool2d)):
            out = pool(x, window, stride)[0]
            show_image(out, ax=ax, vmin=0, vmax=1,
                       title=f"{name} {window}x{window}, stride {stride}: "
                             f"{out.shape[0]}x{out.shape[1]}")
        fig.tight_layout()
        return fig

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

    def render(digit, shift, pooling):
        x = images[digit:digit + 1]
        moved = shift_images(x, dx=shift)
        maps = feature_maps(model, [layer], np.concatenate([x, moved]))[layer]
        # The channel that lights up most above its own background (its median),
        # so the strokes show bright on dark.
        first = maps[0]
        channel = int((first.max(axis=(0, 1)) - np.median(first, axis=(0, 1))).argmax())
        rows = [maps[..., channel:channel + 1], pools[pooling](maps)[..., channel:channel + 1]]
        names = [f"{layer}, channel {channel}", f"after {pooling} pooling"]
        fig, axes = plt.subplots(2, 4, figsize=(8.4, 4.4))
        show_image(x[0], ax=axes[0, 0], vmin=0, vmax=1, title=f"digit (label {labels[digit]})")
        show_image(moved[0], ax=axes[1, 0], vmin=0, vmax=1, title=f"shifted {shift} px right")
        for r, (row, name) in enumerate(zip(rows, names, strict=True)):
            top = float(row.max()) or 1.0
            change = relative_change(row[:1], row[1:])[0]
            show_image(row[0], ax=axes[r, 1], vmin=0, vmax=top, title=name)
            show_image(row[1], ax=axes[r, 2], vmin=0, vmax=top, title="... of the shifted digit")
            show_image(row[1] - row[0], ax=axes[r, 3], cmap="RdBu_r", vmin=-top, vmax=top,
                       title=f"difference: {change:.2f}")
        fig.tight_layout()
        return fig

    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("shift", [0, 1, 2, 3], label="shift (px)", live=list(range(8))),
         Control("pooling", list(pools))],
        title="Shift a digit: does the feature map notice?",
    )
