"""Chapter 5's occlusion explorer: slide a gray, black or white patch over a digit."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from cnnlab.checks import check_classifier, check_layer
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_min_size, digit_control
from cnnlab.explorers.sheet import Sheet

# The most probable label is written in each cell when the grid is this small or smaller.
WRITTEN_CELLS = 12


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
        Controls: digit, patch (px), stride (2-4), occluder (a name of
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

    @lru_cache(maxsize=64)  # live, a reader may visit thousands of digits: bound it
    def maps(digit, patch, stride, occluder):
        """The three maps of one digit and setting, computed once (one batched pass)."""
        result = occlusion(model, images[digit:digit + 1], labels[digit:digit + 1],
                           patch=patch, stride=stride, value=OCCLUDERS[occluder], layer=layer)
        size = result.image_size
        return (upsample(result.probability, size, patch, stride)[0],
                upsample(result.activation, size, patch, stride)[0],
                result.predicted[0], int(result.channel[0]))

    sheet = Sheet((12, 3.0), ncols=4, left=0.01, right=0.99, bottom=0.03, top=0.88,
                  wspace=0.3)
    digit_panel = sheet.picture(sheet.axes[0, 0])
    # The occluder drawn in its own gray level, with an outline that shows on black.
    square = sheet.box(sheet.axes[0, 0], fill=True, edgecolor="tab:orange")
    probability_panel = sheet.picture(sheet.axes[0, 1], cmap="viridis", colorbar=True)
    activation_panel = sheet.picture(sheet.axes[0, 2], cmap="magma", colorbar=True)
    written = [False]       # whether the label grid is small enough to carry its values
    label_panel = sheet.picture(sheet.axes[0, 3], cmap="tab10", vmin=-0.5,
                                vmax=num_classes - 0.5,
                                values=lambda v: f"{v:.0f}" if written[0] else "")
    label_panel.title.set_text("most probable label (patch corner)")

    def render(digit, patch, stride, occluder):
        probability, activation, predicted, channel = maps(digit, patch, stride, occluder)
        label = labels[digit]
        digit_panel.show(images[digit],
                         title=f"digit (label {label}), {occluder} {patch}x{patch}")
        square.set_bounds(-0.5, -0.5, patch, patch)
        square.set_facecolor(str(OCCLUDERS[occluder]))
        probability_panel.show(probability, title=f"p(class {label}) with the patch here")
        # Cells no patch position covers are NaN (drawn blank): the scale is the rest's.
        activation_panel.show(activation, vmin=float(np.nanmin(activation)),
                              vmax=float(np.nanmax(activation)),
                              title=f"{layer} map {channel}: total activation")
        written[0] = predicted.shape[1] <= WRITTEN_CELLS
        label_panel.show(predicted)
        return sheet

    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("patch", patches, label="patch (px)", live=list(range(3, 15))),
         # From 2: at stride 1 a move costs one forward pass per pixel (400-676 occluded
         # copies), several times the 100 ms a control may take on two cores.
         Control("stride", [2, 3], live=[2, 3, 4]),
         Control("occluder", list(OCCLUDERS), default="gray")],
        title="Occlusion: hide part of a digit",
    )
