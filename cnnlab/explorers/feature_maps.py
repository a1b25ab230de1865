"""Chapter 4's explorer: any layer's feature map for any digit."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from cnnlab.checks import check_layers
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_indices, digit_control
from cnnlab.explorers.sheet import Sheet


def feature_map_explorer(model, images: np.ndarray, labels: np.ndarray,
                         layers: Sequence = ("conv1", "conv2", "pool"),
                         static_digits: Sequence[int] = (0, 3, 11, 1),
                         static_channels: Sequence[int] = tuple(range(8))) -> Explorer:
    """Chapter 4's explorer: a digit, a layer and a channel; the feature map beside the input.

    Parameters
    ----------
    model : keras.Model
        A trained model with the named layers.
    images : ndarray, shape (N, H, W, 1), float in [0, 1]
        Of the model's input shape.
    labels
        As :func:`cnnlab.explorers.pooling_explorer`.
    layers : sequence of str or keras layers
        Layers offered: Conv2D or pooling layers (those with feature maps).
    static_digits, static_channels : sequence of int
        Positions offered on the static site (at least one each; every static
        channel must exist in every layer offered); live, every digit and every
        channel of the layer can be chosen.

    Returns
    -------
    Explorer

    Raises
    ------
    TypeError, ValueError
        When called: for a model that is not a built keras model, bad images
        (see :func:`cnnlab.checks.check_model_images`), labels or static
        digits, layers that are not a list of the model's Conv2D or pooling
        layers, or a static channel that a layer does not have.
    """
    from cnnlab.features import feature_maps

    images, labels = check_digits(images, labels, static_digits, model=model)
    picked = check_layers(model, layers, "spatial")
    widths = {found.name: int(found.output.shape[-1]) for found in picked}
    fewest = min(widths, key=widths.get)
    check_indices("static_channels", static_channels, widths[fewest],
                  f"channels in layer {fewest!r}")
    most = max(widths.values())
    # Every offered layer's maps of a digit in one pass, kept per digit: a layer or
    # channel move is free.
    layer_names = [found.name for found in picked]
    @lru_cache(maxsize=64)  # live, a reader may visit thousands of digits: bound it
    def maps(digit):
        found = feature_maps(model, layer_names, images[digit:digit + 1])
        return {name: out[0] for name, out in found.items()}

    sheet = Sheet((6.2, 3.0), ncols=2, left=0.02, right=0.86, bottom=0.03, top=0.88,
                  wspace=0.1)
    digit_panel = sheet.picture(sheet.axes[0, 0])
    map_panel = sheet.picture(sheet.axes[0, 1], cmap="magma", colorbar=True)

    def render(digit, layer, channel):
        if channel >= widths[layer]:
            raise ValueError(f"{layer} has {widths[layer]} channels (0..{widths[layer] - 1}); "
                             f"channel {channel} does not exist.")
        fmap = maps(digit)[layer][..., channel]
        digit_panel.show(images[digit], title=f"test digit {digit} (label {labels[digit]})")
        # Maps come after a ReLU: 0 is the bottom of the scale. An all-zero map is
        # drawn black on a 0..1 scale and says so, not as a flat middle colour.
        top = float(fmap.max())
        empty = " (all zero)" if top <= 0 else ""
        map_panel.show(fmap, vmin=min(0.0, float(fmap.min())), vmax=top if top > 0 else 1.0,
                       title=f"{layer}, channel {channel}: "
                             f"{fmap.shape[0]}x{fmap.shape[1]}{empty}")
        return sheet

    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("layer", [found.name for found in picked]),
         Control("channel", list(static_channels), live=range(most))],
        title="Feature maps of the trained network",
    )
