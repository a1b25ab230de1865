"""Every class-score heatmap method by name, with one signature.

``METHODS[name](model, images, layer, class_index, batch_size=128)`` returns
heatmaps of shape (N, h, w), float32, larger where the method finds more
evidence for class ``class_index``: at the layer's resolution (CAM, Grad-CAM),
the patch grid's (occlusion) or the pixels' (integrated gradients, whose
layer is None). The explorers offer these methods and the
contract tests check every one of them, so a new method appears in both when
it is added here. A new Grad-CAM variant is one channel-weighting function
and one entry in :data:`cnnlab.explain.gradcam.CHANNEL_WEIGHTS`; it joins
this table by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from cnnlab.explain.cam import class_activation_maps
from cnnlab.explain.gradcam import CHANNEL_WEIGHTS, grad_cam
from cnnlab.explain.integrated_gradients import integrated_gradients
from cnnlab.explain.occlusion import occlusion


def cam(model, images: np.ndarray, layer, class_index: int | np.ndarray,
        batch_size: int = 128) -> np.ndarray:
    """CAM (Zhou et al. 2016, eq. 6.3) in the shared signature.

    ``layer`` must be None or the layer that CAM is defined on, the one
    feeding the global average pooling: CAM has no other choice of layer.
    Raises as :func:`cnnlab.explain.cam.class_activation_maps`, and ValueError
    for another layer.
    """
    from cnnlab.checks import check_layer
    from cnnlab.explain.cam import cam_layer

    own = cam_layer(model)
    if layer is not None and check_layer(model, layer) is not own:
        name = getattr(layer, "name", layer)
        raise ValueError(f"layer must be {own.name!r} for CAM (the layer feeding the global "
                         f"average pooling) or None, got {name!r}.")
    return class_activation_maps(model, images, class_index, batch_size)


def occlusion_drop(model, images: np.ndarray, layer, class_index: int | np.ndarray,
                   batch_size: int = 256) -> np.ndarray:
    """Occlusion (Zeiler & Fergus 2014, section 4.2) in the shared signature.

    The heatmap is the drop of the class output when a 7 x 7 gray patch hides
    each position (stride 2): baseline minus occluded, larger where hiding
    hurts. ``layer`` (optional) is checked and its strongest map recorded, as
    in :func:`cnnlab.explain.occlusion.occlusion`.
    """
    result = occlusion(model, images, class_index, layer=layer, batch_size=batch_size)
    return (result.baseline_probability[:, None, None] - result.probability).astype(np.float32)


def pixel_attributions(model, images: np.ndarray, layer, class_index: int | np.ndarray,
                       batch_size: int = 128) -> np.ndarray:
    """Integrated gradients (Sundararajan et al. 2017) in the shared signature.

    A pixel-space method: ``layer`` must be None or the model's input. The
    heatmap is the attribution summed over the channels, black baseline,
    32 steps, from the logit.
    """
    from cnnlab.checks import check_layer

    if layer is not None and check_layer(model, layer, "conv_or_input") is not None:
        raise ValueError(f"layer must be None or the input for integrated gradients (a "
                         f"pixel-space method), got {getattr(layer, 'name', layer)!r}.")
    return integrated_gradients(model, images, class_index, batch_size=batch_size).sum(axis=-1)


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "cam": cam,
    **{name: partial(grad_cam, weighting=name) for name in CHANNEL_WEIGHTS},
    "occlusion": occlusion_drop,
    "integrated_gradients": pixel_attributions,
}
