"""The chapters' explorers: a render function and its controls, per chapter.

Each function here returns a :class:`cnnlab.widgets.Explorer`; the chapter
displays it, and the reader gets sliders live in a kernel or precomputed on
the site. Computing stays in the computing modules; this module only draws.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from cnnlab import reference
from cnnlab.plotting import show_image
from cnnlab.widgets import Control, Explorer

CUSTOM = "custom (type below)"


def parse_kernel(text: str) -> np.ndarray:
    """Read a 3x3 kernel typed as three rows: ``"0 1 0; 1 -4 1; 0 1 0"``.

    Parameters
    ----------
    text : str
        Rows separated by ``;`` or new lines, entries by spaces or commas.

    Returns
    -------
    ndarray, shape (3, 3), float32

    Raises
    ------
    TypeError
        If ``text`` is not a string.
    ValueError
        If it does not hold 3 rows of 3 finite numbers.
    """
    if not isinstance(text, str):
        raise TypeError(f"kernel text must be a string, got {type(text).__name__}.")
    rows = [r for r in text.replace("\n", ";").split(";") if r.strip()]
    try:
        values = [[float(v) for v in r.replace(",", " ").split()] for r in rows]
    except ValueError:
        raise ValueError(f"kernel entries must be numbers, got {text!r}.") from None
    if len(values) != 3 or any(len(r) != 3 for r in values):
        raise ValueError(
            f"a kernel needs 3 rows of 3 numbers, like '0 1 0; 1 -4 1; 0 1 0'; got {text!r}."
        )
    kernel = np.array(values)
    # Checked before the cast: float32 turns 1e39 into inf (with a warning).
    if not np.all(np.isfinite(kernel)) or np.abs(kernel).max() > np.finfo(np.float32).max:
        raise ValueError(f"kernel entries must be finite float32 numbers, got {text!r}.")
    return kernel.astype(np.float32)


def convolution_explorer(images: np.ndarray, labels: np.ndarray,
                         static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 1's explorer: a digit, a kernel, stride and padding.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float32 in [0, 1]
        The digits to choose from (the test set).
    labels : ndarray, shape (N,), int
    static_digits : sequence of int
        Indices offered on the static site; live, every index can be chosen.

    Returns
    -------
    Explorer
        Three panels: the (padded) input, the kernel with its values, the output
        with its shape.

    Raises
    ------
    ValueError
        If ``images`` is not (N, H, W, 1), ``labels`` does not match, or a static
        index is out of range.
    """
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(
            f"images must be an array of shape (N, H, W, 1), got "
            f"{getattr(images, 'shape', type(images).__name__)}."
        )
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}.")
    bad = [i for i in static_digits if not 0 <= i < images.shape[0]]
    if bad:
        raise ValueError(f"static_digits {bad} out of range for {images.shape[0]} images.")
    kernels = reference.classic_kernels()
    names = ["edge", "sobel x", "sobel y", "blur", "gaussian blur", "sharpen", "identity"]

    def render(digit, kernel, stride, padding, typed):
        h = parse_kernel(typed) if kernel == CUSTOM else kernels[kernel]
        x = images[digit:digit + 1]
        out = reference.conv2d(x, h[:, :, None, None], stride=stride, padding=padding)[0, ..., 0]
        shown = reference.pad_images(x, h.shape, stride, padding)[0, ..., 0]
        fig, axes = plt.subplots(1, 3, figsize=(8, 2.9),
                                 gridspec_kw={"width_ratios": [1, 0.8, 1.2]})
        show_image(shown, ax=axes[0], vmin=0, vmax=1,
                   title=f"input {x.shape[1]}x{x.shape[2]} (label {labels[digit]})")
        if shown.shape != x.shape[1:3]:
            top = (shown.shape[0] - x.shape[1]) // 2
            left = (shown.shape[1] - x.shape[2]) // 2
            axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), x.shape[2], x.shape[1],
                                        fill=False, edgecolor="tab:orange", lw=1))
            axes[0].set_title(
                f"padded to {shown.shape[0]}x{shown.shape[1]} (label {labels[digit]})",
                fontsize=10)
        show_image(h, ax=axes[1], cmap="RdBu_r", vmin=-np.abs(h).max(),
                   vmax=np.abs(h).max(), values=True, title=f"kernel: {kernel.split(' (')[0]}")
        m = float(np.abs(out).max()) or 1.0
        show_image(out, ax=axes[2], cmap="RdBu_r", vmin=-m, vmax=m, colorbar=True,
                   title=f"output {out.shape[0]}x{out.shape[1]} (stride {stride}, {padding})")
        fig.tight_layout()
        return fig

    import ipywidgets as w

    typed = w.Text(value="0 1 0; 1 -4 1; 0 1 0", description="your kernel",
                   placeholder="3 rows of 3 numbers, rows separated by ;")
    return Explorer(
        render,
        [Control("digit", list(static_digits), label="test digit",
                 live=range(images.shape[0])),
         Control("kernel", names, live=[*names, CUSTOM]),
         Control("stride", [1, 2], live=[1, 2, 3]),
         Control("padding", ["valid", "same"])],
        title="Convolve a digit",
        live_extra={"typed": typed},
        static_extra={"typed": ""},
    )


def _check_digits(images, labels, static_digits):
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[-1] != 1:
        raise ValueError(
            f"images must be an array of shape (N, H, W, 1), got "
            f"{getattr(images, 'shape', type(images).__name__)}."
        )
    labels = np.asarray(labels)
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}.")
    bad = [i for i in static_digits if not 0 <= i < images.shape[0]]
    if bad:
        raise ValueError(f"static_digits {bad} out of range for {images.shape[0]} images.")
    return labels


def pooling_explorer(images: np.ndarray, labels: np.ndarray,
                     static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 2's explorer: a digit, a window and a stride; max and average pooled.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float32 in [0, 1]
    labels : ndarray, shape (N,), int
    static_digits : sequence of int
        Indices offered on the static site; live, every index can be chosen.

    Returns
    -------
    Explorer
        Three panels: the digit, its max-pooled and its average-pooled map, with shapes.

    Raises
    ------
    ValueError
        As :func:`convolution_explorer`.
    """
    labels = _check_digits(images, labels, static_digits)

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
        [Control("digit", list(static_digits), label="test digit",
                 live=range(images.shape[0])),
         Control("window", [2, 3], live=[2, 3, 4, 5]),
         Control("stride", [1, 2, 3], live=[1, 2, 3, 4])],
        title="Pool a digit",
    )


def shift_explorer(model, images: np.ndarray, labels: np.ndarray, layer: str = "conv2",
                   static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 2's shift experiment for one digit: a conv layer's map before and
    after shifting the digit, without and with pooling after the layer.

    Parameters
    ----------
    model : keras.Model
        A trained model with a convolution layer named ``layer``.
    images, labels, static_digits
        As :func:`pooling_explorer`.
    layer : str, default 'conv2'

    Returns
    -------
    Explorer
        Controls: digit, shift (0-3 pixels right), pooling ('max 2x2', 'average 2x2').
        Rows: the layer's channel that stands out most from its background, then
        the pooled map; columns: the
        original digit, the shifted digit, their difference, with the relative change.
    """
    from cnnlab.features import feature_maps, relative_change, shift_images

    labels = _check_digits(images, labels, static_digits)
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
        [Control("digit", list(static_digits), label="test digit",
                 live=range(images.shape[0])),
         Control("shift", [0, 1, 2, 3], label="shift (px)", live=list(range(8))),
         Control("pooling", list(pools))],
        title="Shift a digit: does the feature map notice?",
    )


def probability_explorer(model, images: np.ndarray, labels: np.ndarray,
                         static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 3's explorer: a test digit and the trained network's probabilities.

    Parameters
    ----------
    model : keras.Model
        Outputs softmax probabilities (N, 10).
    images, labels, static_digits
        As :func:`pooling_explorer`.

    Returns
    -------
    Explorer
        The digit beside a bar chart of its ten probabilities (true class green,
        a wrong prediction red).
    """
    from cnnlab.plotting import show_probabilities

    labels = _check_digits(images, labels, static_digits)

    def render(digit):
        p = model.predict(images[digit:digit + 1], verbose=0)[0]
        fig, axes = plt.subplots(1, 2, figsize=(7, 2.8), gridspec_kw={"width_ratios": [1, 2]})
        show_image(images[digit], ax=axes[0], vmin=0, vmax=1,
                   title=f"test digit {digit} (label {labels[digit]})")
        show_probabilities(p, label=int(labels[digit]), ax=axes[1],
                           title=f"predicted {p.argmax()} with probability {p.max():.3f}")
        fig.tight_layout()
        return fig

    return Explorer(
        render,
        [Control("digit", list(static_digits), label="test digit",
                 live=range(images.shape[0]))],
        title="What does the network say?",
    )


def epoch_explorer(predicted: np.ndarray, confidence: np.ndarray, images: np.ndarray,
                   labels: np.ndarray) -> Explorer:
    """Chapter 3's epoch slider: predictions on fixed digits after each epoch.

    Parameters
    ----------
    predicted : ndarray, shape (E, P), int
        The class predicted for each of P digits after each of E epochs (as
        :func:`cnnlab.zoo.record` stores it).
    confidence : ndarray, shape (E, P), float
        The probability of that class.
    images : ndarray, shape (P, H, W, 1)
    labels : ndarray, shape (P,)

    Returns
    -------
    Explorer
        One slider (the epoch); a grid of the digits titled with the predicted
        class and its probability, wrong ones in red.

    Raises
    ------
    ValueError
        If the shapes do not match.
    """
    predicted, confidence = np.asarray(predicted), np.asarray(confidence)
    if predicted.ndim != 2 or predicted.shape != confidence.shape \
            or predicted.shape[1] != len(images):
        raise ValueError(
            f"predicted and confidence must both have shape (epochs, {len(images)}), got "
            f"{predicted.shape} and {confidence.shape}."
        )
    labels = _check_digits(images, labels, ())
    ncols = 8
    nrows = -(-images.shape[0] // ncols)

    def render(epoch):
        guess, p = predicted[epoch - 1], confidence[epoch - 1]
        fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols, 1.45 * nrows + 0.4),
                                 squeeze=False)
        for k, ax in enumerate(axes.ravel()):
            if k >= images.shape[0]:
                ax.axis("off")
                continue
            show_image(images[k], ax=ax, vmin=0, vmax=1)
            ax.set_title(f"{guess[k]}: {p[k]:.2f}", fontsize=9,
                         color="black" if guess[k] == labels[k] else "tab:red")
        wrong = int((guess != labels).sum())
        fig.suptitle(f"after epoch {epoch}: {wrong} of {len(labels)} wrong", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        return fig

    return Explorer(render, [Control("epoch", list(range(1, predicted.shape[0] + 1)))],
                    title="Predictions on fixed test digits, epoch by epoch")
