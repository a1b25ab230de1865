"""Chapter 5's occlusion explorer: slide a gray, black or white patch over a digit."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.checks import check_classifier, check_layer
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_min_size, digit_control
from cnnlab.plotting import show_image


def occlusion_explorer(model, images: np.ndarray, labels: np.ndarray, layer="conv2",
                       static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """A digit, a patch size, a stride and an occluder; the occlusion maps of the true class.

    Parameters
    ----------
    model : keras.Model
        A trained classifier (one output of shape (N, num_classes)) with a
        convolution layer named ``layer``.
    images : ndarray, shape (N, H, W, 1), float in [0, 1]
        Of the model's input shape, H and W at least 9 (the largest static patch).
    labels : ndarray, shape (N,), int in 0..num_classes-1
    layer : str or keras Conv2D layer, default 'conv2'
        Whose strongest feature map is also recorded.
    static_digits : sequence of int
        Indices offered on the static site (at least one).

    Returns
    -------
    Explorer
        Controls: digit, patch (px), stride, occluder (a name of
        :data:`cnnlab.explain.occlusion.OCCLUDERS`: gray, black or white).
        Four panels: the digit, the probability of its class with the patch
        centred on each pixel (averaged over the patch positions covering it),
        the total activation of the layer's strongest feature map, and the most
        probable label at each patch position (Zeiler & Fergus 2014, Fig. 6 (e)).

    Raises
    ------
    TypeError, ValueError
        When called: for a model that is not a built classifier, bad images
        (see :func:`cnnlab.checks.check_model_images`), labels or static
        digits, or a layer that is not one of the model's Conv2D layers.
    """
    from cnnlab.explain.occlusion import OCCLUDERS, occlusion, upsample

    num_classes = check_classifier(model)
    images, labels = check_digits(images, labels, static_digits, model=model,
                                  num_classes=num_classes)
    layer = check_layer(model, layer, "conv").name
    patches = [5, 9]           # static frames: digits x 2 patches x 2 strides x 3 occluders
    check_min_size(images, max(patches), f"the {max(patches)}x{max(patches)} patch")

    def render(digit, patch, stride, occluder):
        value = OCCLUDERS[occluder]
        result = occlusion(model, images[digit:digit + 1], labels[digit:digit + 1],
                           patch=patch, stride=stride, value=value, layer=layer)
        size = result.image_size
        probability = upsample(result.probability, size, patch, stride)[0]
        activation = upsample(result.activation, size, patch, stride)[0]
        fig, axes = plt.subplots(1, 4, figsize=(12, 3.0))
        show_image(images[digit], ax=axes[0], vmin=0, vmax=1,
                   title=f"digit (label {labels[digit]}), {occluder} {patch}x{patch}")
        # The occluder drawn in its own gray level, with an outline that shows on black.
        axes[0].add_patch(plt.Rectangle((-0.5, -0.5), patch, patch, fill=True,
                                        facecolor=str(value), edgecolor="tab:orange"))
        show_image(probability, ax=axes[1], cmap="viridis", vmin=0, vmax=1, colorbar=True,
                   title=f"p(class {labels[digit]}) with the patch here")
        show_image(activation, ax=axes[2], cmap="magma", colorbar=True,
                   title=f"{layer} map {result.channel[0]}: total activation")
        show_image(result.predicted[0], ax=axes[3], cmap="tab10", vmin=-0.5,
                   vmax=num_classes - 0.5, values=result.predicted.shape[1] <= 12,
                   title="most probable label (patch corner)")
        fig.tight_layout()
        return fig

    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("patch", patches, label="patch (px)", live=list(range(3, 15))),
         Control("stride", [1, 3], live=[1, 2, 3, 4]),
         Control("occluder", list(OCCLUDERS), default="gray")],
        title="Occlusion: hide part of a digit",
    )
