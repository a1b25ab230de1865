"""Chapters 6 and 7's explorers: class activation maps, Grad-CAM, and learning watched."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, digit_control
from cnnlab.plotting import show_heatmap, show_image

CLASSES = list(range(10))


def _top3(probabilities: np.ndarray) -> str:
    top = np.argsort(probabilities)[::-1][:3]
    return ", ".join(f"{c}: {probabilities[c]:.2f}" for c in top)


def _margin(model, layer: str) -> int:
    """How far in from the image's edge the layer's unit (0, 0) is centred (stride 1 only).

    A 'valid' convolution's map is smaller than the image; drawn over it, it
    must start at the centre of its first unit's receptive field, not at the
    edge. Strided (pooled) maps are stretched over the whole image.
    """
    from cnnlab.receptive import receptive_field

    field = receptive_field(model, layer)
    if field.stride != (1, 1):
        return 0
    return max(0, field.offset[0] + (field.size[0] - 1) // 2)


def _uploaded_digit(upload) -> tuple[np.ndarray, str] | None:
    """The reader's own picture from an ipywidgets FileUpload value, as MNIST; None if none."""
    from cnnlab.own_digit import to_mnist

    if not upload:
        return None
    item = upload[-1]
    return to_mnist(bytes(item["content"])), str(item.get("name", "your picture"))


def cam_explorer(model, images: np.ndarray, labels: np.ndarray,
                 static_digits: Sequence[int] = (0, 1, 2, 3, 4, 7)) -> Explorer:
    """A digit and a class: the class activation map over the digit.

    Live, an upload button takes a picture of your own digit (any size; it is
    prepared as MNIST digits were, see :func:`cnnlab.own_digit.to_mnist`), and
    a file that is not a picture of a digit gets a message.

    Parameters
    ----------
    model : keras.Model
        A global-average-pooling network (:func:`cnnlab.models.gap_cnn`).
    images : ndarray, shape (N, 28, 28, 1)
    labels : ndarray, shape (N,)
    static_digits : sequence of int
        The digits offered on the site (all ten classes each).

    Returns
    -------
    Explorer
        Three panels: the digit with the top-3 predictions, the overlay of the
        chosen class's map (MathWorks' CAMshow), and the raw map M_c with its
        values, whose mean plus the class bias is the class score.
    """
    import ipywidgets as widgets

    from cnnlab.explain.cam import class_activation_maps

    class_activation_maps(model, images[:1])  # refuse a non-GAP model now, not at a slide
    labels = check_digits(images, labels, static_digits)

    def render(digit, class_index, upload=()):
        own = _uploaded_digit(upload)
        image, name = own if own else (images[digit], f"test digit {digit} "
                                                      f"(label {labels[digit]})")
        batch = image[None].astype(np.float32)
        p = model.predict(batch, verbose=0)[0]
        cam = class_activation_maps(model, batch, class_index)[0]
        fig, axes = plt.subplots(1, 3, figsize=(9, 3.6))
        show_image(image, ax=axes[0], vmin=0, vmax=1, title=f"{name}\ntop 3: {_top3(p)}")
        show_heatmap(image, cam, ax=axes[1],
                     title=f"CAM of class {class_index} (p = {p[class_index]:.2f})")
        show_image(cam, ax=axes[2], cmap="RdBu_r", vmin=-np.abs(cam).max(),
                   vmax=np.abs(cam).max(), colorbar=True, title=f"M_{class_index} (raw)")
        fig.tight_layout()
        return fig

    upload = widgets.FileUpload(accept="image/*", multiple=False,
                                description="Your digit")
    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("class_index", CLASSES, label="class")],
        title="Class activation maps: where is the evidence for each class?",
        live_extra={"upload": upload}, static_extra={"upload": ()},
    )


def gradcam_explorer(model, images: np.ndarray, labels: np.ndarray, layers: Sequence[str],
                     static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """A layer, a digit and a class: Grad-CAM from the logit and from the softmax (eq. 7.4).

    Parameters
    ----------
    model : keras.Model
        A classifier whose last layer is Dense (softmax).
    images, labels, static_digits
        As :func:`cam_explorer`.
    layers : sequence of str
        The convolution layers offered.

    Returns
    -------
    Explorer
        The digit with the top-3 predictions, and the two overlays (eq. 7.4's
        logit, the usual softmax probability), each titled with its raw maximum.

    Raises
    ------
    ValueError
        For an unknown or non-convolution layer, or bad images, labels or
        static digits.
    """
    from cnnlab.explain.gradcam import grad_cam

    labels = check_digits(images, labels, static_digits)
    layers = [str(name) for name in layers]
    for name in layers:  # an unknown layer fails here, with grad_cam's own message
        grad_cam(model, images[:1], name, 0)
    margins = {name: _margin(model, name) for name in layers}

    def render(layer, digit, class_index):
        batch = images[digit:digit + 1]
        p = model.predict(batch, verbose=0)[0]
        fig, axes = plt.subplots(1, 3, figsize=(9, 3.6))
        show_image(batch[0], ax=axes[0], vmin=0, vmax=1,
                   title=f"test digit {digit} (label {labels[digit]})\ntop 3: {_top3(p)}")
        for ax, score in zip(axes[1:], ("logit", "softmax"), strict=True):
            heat = grad_cam(model, batch, layer, class_index, score=score)[0]
            show_heatmap(batch[0], heat, ax=ax, margin=margins[layer],
                         title=f"{layer}, class {class_index}, from the {score}\n"
                               f"max {heat.max():.2g}" + (" (empty)" if heat.max() == 0 else ""))
        fig.tight_layout()
        return fig

    return Explorer(
        render,
        [Control("layer", layers), digit_control(static_digits, images.shape[0]),
         Control("class_index", CLASSES, label="class")],
        title="Grad-CAM on any convolution layer",
    )


def learning_explorer(record: dict, images: np.ndarray,
                      static_epochs: Sequence[int] = (1, 2, 3, 5, 10, 20, 30, 50, 70, 100),
                      faint: float = 1e-6) -> Explorer:
    """Epoch and class sliders over the recorded learning process, both ways.

    Parameters
    ----------
    record : dict
        ``zoo.record("sakai2019_learning")``.
    images : ndarray, shape (10, 28, 28, 1)
        The watched digits, one per class (``x_test[record['digits']]``).
    static_epochs : sequence of int
        The epochs offered on the site (every epoch live); those beyond the
        record are dropped.
    faint : float, default 1e-6
        A map whose raw peak is at most this is marked FAINT (EMPTY at 0);
        see :func:`cnnlab.learning_process.empty_maps`.

    Returns
    -------
    Explorer
        The digit with its score, the map from the score after the sigmoid
        (the usual way) and the map from the value before it (eq. 7.4); the
        maps of the watched digits, drawn over the pixels their units see.

    Raises
    ------
    ValueError
        If ``images`` are not the record's watched digits.
    """
    from cnnlab.learning_process import empty_maps

    maps, peaks, scores = record["maps"], record["map_max"], record["sigmoid"]
    epochs = maps.shape[1]
    if not isinstance(images, np.ndarray) or images.ndim != 4:
        raise ValueError(f"images must be an array of shape (N, H, W, 1), got "
                         f"{getattr(images, 'shape', type(images).__name__)}.")
    if images.shape[0] != maps.shape[2]:
        raise ValueError(f"images must hold the {maps.shape[2]} watched digits, got "
                         f"{images.shape[0]}.")
    static = [e for e in static_epochs if 1 <= e <= epochs] or [epochs]
    weak = empty_maps(peaks, faint)
    # Maps of stride-1 'valid' convolutions sit (H - h) / 2 pixels in from each edge.
    margin = (images.shape[1] - maps.shape[3]) // 2

    def render(epoch, class_index):
        e = epoch - 1
        fig, axes = plt.subplots(1, 3, figsize=(8.4, 3.5))
        show_image(images[class_index], ax=axes[0], vmin=0, vmax=1,
                   title=f"digit {class_index}, epoch {epoch}\n"
                         f"y = {scores[e, class_index, class_index]:.7f}")
        for k, (ax, name) in enumerate(zip(axes[1:], ("sigmoid score y (usual)",
                                                      "value x before it (eq. 7.4)"),
                                           strict=True)):
            peak = peaks[k, e, class_index]
            mark = "EMPTY" if peak == 0 else "FAINT, " if weak[k, e, class_index] else ""
            show_heatmap(images[class_index], maps[k, e, class_index], ax=ax, margin=margin,
                         title=f"from the {name}\n" + (mark if peak == 0
                                                       else f"{mark}max {peak:.2g}"))
        fig.tight_layout()
        return fig

    return Explorer(
        render,
        [Control("epoch", static, live=range(1, epochs + 1)),
         Control("class_index", CLASSES, label="class")],
        title="Grad-CAM epoch by epoch: the usual way and eq. 7.4",
    )
