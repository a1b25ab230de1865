"""Chapter 4's explorer: any layer's feature map for any digit."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, digit_control
from cnnlab.plotting import show_image


def feature_map_explorer(model, images: np.ndarray, labels: np.ndarray,
                         layers: Sequence[str] = ("conv1", "conv2", "pool"),
                         static_digits: Sequence[int] = (0, 3, 11, 1),
                         static_channels: Sequence[int] = tuple(range(8))) -> Explorer:
    """Chapter 4's explorer: a digit, a layer and a channel; the feature map beside the input.

    Parameters
    ----------
    model : keras.Model
        A trained model with the named layers.
    images, labels
        As :func:`pooling_explorer`.
    layers : sequence of str
        Layers offered (convolution or pooling outputs).
    static_digits, static_channels : sequence of int
        Positions offered on the static site; live, every digit and every
        channel of the layer can be chosen.

    Returns
    -------
    Explorer

    Raises
    ------
    ValueError
        For bad images, labels or static indices, or an unknown layer.
    """
    from cnnlab.features import _layer, feature_maps

    labels = check_digits(images, labels, static_digits)
    widths = {name: int(_layer(model, name).output.shape[-1]) for name in layers}
    most = max(widths.values())

    def render(digit, layer, channel):
        if channel >= widths[layer]:
            raise ValueError(f"{layer} has {widths[layer]} channels (0..{widths[layer] - 1}); "
                             f"channel {channel} does not exist.")
        fmap = feature_maps(model, [layer], images[digit:digit + 1])[layer][0, ..., channel]
        fig, axes = plt.subplots(1, 2, figsize=(6.2, 3.0))
        show_image(images[digit], ax=axes[0], vmin=0, vmax=1,
                   title=f"test digit {digit} (label {labels[digit]})")
        show_image(fmap, ax=axes[1], cmap="magma", colorbar=True,
                   title=f"{layer}, channel {channel}: {fmap.shape[0]}x{fmap.shape[1]}")
        fig.tight_layout()
        return fig

    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("layer", list(layers)),
         Control("channel", list(static_channels), live=range(most))],
        title="Feature maps of the trained network",
    )
