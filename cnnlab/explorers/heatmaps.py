"""Chapters 6 and 7's explorers: class activation maps, Grad-CAM, and learning watched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from cnnlab.checks import check_classifier, check_images, check_int, check_layers, check_number
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, digit_control
from cnnlab.explorers.sheet import Sheet
from cnnlab.plotting import heatmap_margin, heatmap_overlay

# What learning_explorer reads from a learning run's record (zoo.record("sakai2019_adadelta")).
RECORD_KEYS = ("maps", "map_max", "sigmoid")


def _top3(probabilities: np.ndarray) -> str:
    top = np.argsort(probabilities)[::-1][:3]
    return ", ".join(f"{index}: {probabilities[index]:.2f}" for index in top)


def _uploaded_digit(upload) -> tuple[np.ndarray, str]:
    """The reader's own picture from an ipywidgets FileUpload value, as MNIST.

    Raises
    ------
    ValueError
        When nothing has been uploaded yet, or the file is no picture of a digit.
    """
    from cnnlab.own_digit import to_mnist

    if not upload:
        raise ValueError("no picture uploaded yet: choose one with the 'Your digit' button "
                         "(any size, dark on light or light on dark).")
    item = upload[-1]
    return to_mnist(bytes(item["content"])), str(item.get("name", "your picture"))


# The picture control of cam_explorer: a test digit, a prepared "own" digit, or an upload.
TEST_DIGIT, UPLOAD = "test digit", "your upload"


def cam_explorer(model, images: np.ndarray, labels: np.ndarray,
                 static_digits: Sequence[int] = (0, 1, 2, 3, 4, 7),
                 own_pictures: Mapping[str, np.ndarray] | None = None) -> Explorer:
    """A picture and a class: the class activation map over the digit.

    The picture is a test digit (the digit slider picks it), one of the
    prepared "own" digits (a test digit redrawn off-centre, thick, thin or
    turned, then prepared like an upload: :func:`cnnlab.own_digit.prepared_digits`),
    or, live, a picture of your own digit from the upload button (any size; it
    is prepared as MNIST digits were, see :func:`cnnlab.own_digit.to_mnist`).
    Choosing the picture is a control like the others, and live, moving the
    digit slider switches it to 'test digit' and an upload to 'your upload':
    an upload never takes the digit slider away.

    Parameters
    ----------
    model : keras.Model
        A global-average-pooling network (:func:`cnnlab.models.gap_cnn`).
    images : ndarray, shape (N, 28, 28, 1), float in [0, 1]
        Of the model's input shape.
    labels : ndarray, shape (N,), int in 0..num_classes-1
    static_digits : sequence of int
        The digits offered on the site (every class each), at least one.
    own_pictures : mapping of str to ndarray of shape (H, W, 1), optional
        Prepared "own" digits offered in the picture menu (on the site too), by
        name, e.g. ``prepared_digits(images[k])``; none if omitted.

    Returns
    -------
    Explorer
        Three panels: the picture with the top-3 predictions, the overlay of
        the chosen class's map (MathWorks' CAMshow, evidence against the class
        left uncoloured: :func:`cnnlab.plotting.heatmap_overlay`), and the raw
        map M_c with its values, whose mean plus the class bias is the class score.

    Raises
    ------
    TypeError, ValueError
        When called: for a model that is not a built classifier or does not
        end in global average pooling and a Dense layer, bad images (see
        :func:`cnnlab.checks.check_model_images`), labels, static digits or
        own pictures.
    """
    import ipywidgets as widgets

    from cnnlab.explain.cam import class_activation_maps

    num_classes = check_classifier(model)
    images, labels = check_digits(images, labels, static_digits, model=model,
                                  num_classes=num_classes)
    class_activation_maps(model, images[:1])  # refuse a non-GAP model now, not at a slide
    own_pictures = _check_own_pictures({} if own_pictures is None else own_pictures,
                                       images.shape[1:])
    cache: dict = {}

    def evidence(key, image):
        """Probabilities and every class's map of one picture, computed once per picture."""
        if key is None or key not in cache:
            batch = image[None].astype(np.float32)
            found = (np.asarray(model(batch, training=False))[0],
                     class_activation_maps(model, batch)[0])
            if key is None:
                return found
            if len(cache) >= 64:  # live, a reader may visit thousands of digits: bound it
                cache.clear()
            cache[key] = found
        return cache[key]

    sheet = Sheet((9, 3.6), ncols=3, left=0.02, right=0.95, bottom=0.03, top=0.8, wspace=0.15)
    picture_panel = sheet.picture(sheet.axes[0, 0])
    overlay = sheet.picture(sheet.axes[0, 1])
    raw = sheet.picture(sheet.axes[0, 2], cmap="RdBu_r", colorbar=True)

    def render(picture, digit, class_index, upload=()):
        if picture == TEST_DIGIT:
            key, image = ("digit", digit), images[digit]
            name = f"test digit {digit} (label {labels[digit]})"
        elif picture == UPLOAD:
            (image, name), key = _uploaded_digit(upload), None
        else:
            key, image, name = picture, own_pictures[picture], f"own digit: {picture}"
        p, heatmaps = evidence(key, image)
        heatmap = heatmaps[class_index]
        top = float(np.abs(heatmap).max()) or 1.0
        picture_panel.show(image, title=f"{name}\ntop 3: {_top3(p)}")
        overlay.show(heatmap_overlay(image, heatmap),
                     title=f"CAM of class {class_index} (p = {p[class_index]:.2f})")
        raw.show(heatmap, title=f"M_{class_index} (raw)", vmin=-top, vmax=top)
        return sheet

    upload = widgets.FileUpload(accept="image/*", multiple=False,
                                description="Your digit")
    offered = (TEST_DIGIT, *own_pictures)
    return Explorer(
        render,
        # The digit first: a reader moving the controls in order sees each one act (the
        # digit slider does nothing once a prepared or uploaded picture is chosen).
        [digit_control(static_digits, images.shape[0]),
         Control("picture", offered, live=(*offered, UPLOAD)),
         Control("class_index", list(range(num_classes)), label="class")],
        title="Class activation maps: where is the evidence for each class?",
        live_extra={"upload": upload}, static_extra={"upload": ()},
        # Touching the digit slider or uploading shows what was touched.
        links={"digit": {"picture": TEST_DIGIT}, "upload": {"picture": UPLOAD}},
    )


def _check_own_pictures(own_pictures, shape) -> dict[str, np.ndarray]:
    """A mapping of new names to (H, W, 1) float pictures in [0, 1] of the images' shape."""
    if not isinstance(own_pictures, Mapping):
        raise TypeError(f"own_pictures must be a mapping of names to pictures, got "
                        f"{type(own_pictures).__name__}.")
    checked = {}
    for name, picture in own_pictures.items():
        if not isinstance(name, str) or name in (TEST_DIGIT, UPLOAD):
            raise ValueError(f"own_pictures' names must be strings other than {TEST_DIGIT!r} "
                             f"and {UPLOAD!r}, got {name!r}.")
        picture = check_images(np.asarray(picture)[None], f"own_pictures[{name!r}]",
                               unit_range=True)[0]
        if picture.shape != tuple(shape):
            raise ValueError(f"own_pictures[{name!r}] must have shape {tuple(shape)}, got "
                             f"{picture.shape}.")
        checked[name] = picture
    return checked


def gradcam_explorer(model, images: np.ndarray, labels: np.ndarray, layers: Sequence,
                     static_digits: Sequence[int] = (0, 1, 2, 3),
                     weighting: str = "grad_cam") -> Explorer:
    """A layer, a digit and a class: Grad-CAM from the logit and from the softmax (eq. 7.4).

    Parameters
    ----------
    model : keras.Model
        A classifier whose last layer is Dense (softmax).
    images, labels, static_digits
        As :func:`cam_explorer`.
    layers : sequence of str or keras Conv2D layers
        The convolution layers offered (a list, even for one layer).
    weighting : str, default 'grad_cam'
        Any key of :data:`cnnlab.explain.gradcam.CHANNEL_WEIGHTS`, e.g.
        'grad_cam++': a variant added there is offered here too.

    Returns
    -------
    Explorer
        The digit with the top-3 predictions, and the two overlays (eq. 7.4's
        logit, the usual softmax probability), each titled with its raw maximum.

    Raises
    ------
    TypeError, ValueError
        When called: for a model that is not a built classifier ending in a
        Dense layer, bad images (see :func:`cnnlab.checks.check_model_images`),
        labels or static digits, or layers that are not a list of the model's
        Conv2D layers, or an unknown weighting.
    """
    from cnnlab.explain.gradcam import CHANNEL_WEIGHTS, grad_cam

    if weighting not in CHANNEL_WEIGHTS:
        raise ValueError(f"weighting must be one of {sorted(CHANNEL_WEIGHTS)}, got "
                         f"{weighting!r}.")
    num_classes = check_classifier(model)
    images, labels = check_digits(images, labels, static_digits, model=model,
                                  num_classes=num_classes)
    layers = [found.name for found in check_layers(model, layers, "conv")]
    for name in layers:  # a model grad_cam cannot explain fails here, with its own message
        grad_cam(model, images[:1], name, 0, weighting=weighting)
    margins = {name: heatmap_margin(model, name) for name in layers}
    @lru_cache(maxsize=256)  # live, a reader may visit thousands of digits: bound it
    def evidence(layer, digit, class_index):
        """Probabilities and both maps, computed once per layer, digit and class.

        One digit at a time, as a reader's single digit: a batch of the ten classes
        would be faster, but its float sums differ in the last bits, and whether a
        saturated softmax's map is exactly empty (eq. 7.4) must not depend on that.
        """
        batch = images[digit:digit + 1]
        return np.asarray(model(batch, training=False))[0], {
            score: grad_cam(model, batch, layer, class_index, score=score,
                            weighting=weighting)[0] for score in ("logit", "softmax")}

    sheet = Sheet((9, 3.6), ncols=3, left=0.02, right=0.98, bottom=0.03, top=0.8, wspace=0.1)
    digit_panel = sheet.picture(sheet.axes[0, 0])
    overlays = [sheet.picture(ax) for ax in sheet.axes[0, 1:]]

    def render(layer, digit, class_index):
        p, maps = evidence(layer, digit, class_index)
        digit_panel.show(images[digit], title=f"test digit {digit} (label {labels[digit]})\n"
                                              f"top 3: {_top3(p)}")
        for panel, score in zip(overlays, ("logit", "softmax"), strict=True):
            heatmap = maps[score]
            panel.show(heatmap_overlay(images[digit], heatmap, margin=margins[layer]),
                       title=f"{layer}, class {class_index}, from the {score}\n"
                             f"max {heatmap.max():.2g}" + (" (empty)" if heatmap.max() == 0
                                                           else ""))
        return sheet

    return Explorer(
        render,
        [Control("layer", layers), digit_control(static_digits, images.shape[0]),
         Control("class_index", list(range(num_classes)), label="class")],
        title=("Grad-CAM" if weighting == "grad_cam" else weighting)
        + " on any convolution layer",
    )


def learning_explorer(record: dict, images: np.ndarray,
                      static_epochs: Sequence[int] = (1, 2, 3, 5, 10, 20, 30, 50, 70, 100),
                      faint: float = 1e-6) -> Explorer:
    """Epoch and class sliders over the recorded learning process, both ways.

    Parameters
    ----------
    record : dict
        A learning run's record, ``zoo.record("sakai2019_adadelta")`` or
        ``zoo.record("sakai2019_learning")``: its 'maps' (2, E, K, h, w),
        'map_max' (2, E, K) and 'sigmoid' (E, K, K) are read.
    images : ndarray, shape (K, H, W, 1), float in [0, 1]
        The watched digits, one per class (``x_test[record['digits']]``).
    static_epochs : sequence of int
        The epochs offered on the site (every epoch live), from 1 on; those
        beyond the record are dropped.
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
    TypeError, ValueError
        When called: for a record that is not such a dict, images that are not
        the record's watched digits (a float array of shape (K, H, W, 1) in
        [0, 1]), static epochs that are not ints from 1 on, or a negative faint.
    """
    from cnnlab.learning_process import empty_maps

    heatmaps, peaks, scores = _check_record(record)
    epochs, num_classes = heatmaps.shape[1:3]
    images = check_images(images, unit_range=True)
    if images.shape[0] != num_classes or images.shape[-1] != 1:
        raise ValueError(f"images must hold the {num_classes} watched digits, got "
                         f"{images.shape[0]} of shape {images.shape[1:]}: one gray digit "
                         f"per class, shape ({num_classes}, H, W, 1).")
    if images.shape[1] < heatmaps.shape[3] or images.shape[2] < heatmaps.shape[4]:
        raise ValueError(f"images ({images.shape[1]}x{images.shape[2]}) are smaller than "
                         f"the record's maps ({heatmaps.shape[3]}x{heatmaps.shape[4]}).")
    if isinstance(static_epochs, (str, bytes)) or not isinstance(static_epochs,
                                                                  (Sequence, np.ndarray)):
        raise TypeError(f"static_epochs must be a sequence of ints, got "
                        f"{type(static_epochs).__name__} {static_epochs!r}.")
    for k, epoch in enumerate(static_epochs):
        check_int(f"static_epochs[{k}]", epoch, 1)
    faint = check_number("faint", faint, 0)
    static = [e for e in static_epochs if 1 <= e <= epochs] or [epochs]
    weak = empty_maps(peaks, faint)
    # Maps of stride-1 'valid' convolutions sit (H - h) / 2 pixels in from each edge.
    margin = (images.shape[1] - heatmaps.shape[3]) // 2

    sheet = Sheet((8.4, 3.5), ncols=3, left=0.02, right=0.98, bottom=0.03, top=0.8,
                  wspace=0.1)
    digit_panel = sheet.picture(sheet.axes[0, 0])
    overlays = [sheet.picture(ax) for ax in sheet.axes[0, 1:]]

    def render(epoch, class_index):
        e = epoch - 1
        image = images[class_index]
        digit_panel.show(image, title=f"digit {class_index}, epoch {epoch}\n"
                                      f"y = {scores[e, class_index, class_index]:.7f}")
        for k, (panel, name) in enumerate(zip(overlays, ("sigmoid score y (usual)",
                                                         "value x before it (eq. 7.4)"),
                                              strict=True)):
            peak = peaks[k, e, class_index]
            mark = "EMPTY" if peak == 0 else "FAINT, " if weak[k, e, class_index] else ""
            panel.show(heatmap_overlay(image, heatmaps[k, e, class_index], margin=margin),
                       title=f"from the {name}\n" + (mark if peak == 0
                                                     else f"{mark}max {peak:.2g}"))
        return sheet

    return Explorer(
        render,
        [Control("epoch", static, live=range(1, epochs + 1)),
         Control("class_index", list(range(num_classes)), label="class")],
        title="Grad-CAM epoch by epoch: the usual way and eq. 7.4",
    )


def _check_record(record) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The maps, their peaks and the sigmoid scores of a learning record, checked."""
    if not isinstance(record, dict):
        raise TypeError(f"record must be a dict (zoo.record('sakai2019_learning')), got "
                        f"{type(record).__name__}.")
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        raise ValueError(f"record lacks {missing}: pass zoo.record('sakai2019_learning').")
    heatmaps, peaks, scores = (np.asarray(record[key]) for key in RECORD_KEYS)
    for key, array in zip(RECORD_KEYS, (heatmaps, peaks, scores), strict=True):
        if array.dtype.kind not in "fiu":
            raise TypeError(f"record[{key!r}] must be numbers, got dtype {array.dtype}.")
    if heatmaps.ndim != 5 or heatmaps.shape[0] != 2 or 0 in heatmaps.shape:
        raise ValueError(f"record['maps'] must have shape (2, epochs, classes, h, w), got "
                         f"{heatmaps.shape}.")
    _, epochs, num_classes = heatmaps.shape[:3]
    if peaks.shape != heatmaps.shape[:3] or scores.shape != (epochs, num_classes, num_classes):
        raise ValueError(f"record['map_max'] must have shape {heatmaps.shape[:3]} and "
                         f"record['sigmoid'] shape {(epochs, num_classes, num_classes)}, got "
                         f"{peaks.shape} and {scores.shape}.")
    return heatmaps, peaks, scores
