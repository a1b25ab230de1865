"""Chapter 3's explorers: a digit's probabilities; predictions epoch by epoch."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.checks import check_classifier, check_labels
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, digit_control
from cnnlab.plotting import show_image


def probability_explorer(model, images: np.ndarray, labels: np.ndarray,
                         static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 3's explorer: a test digit and the trained network's probabilities.

    Parameters
    ----------
    model : keras.Model
        Outputs softmax probabilities (N, num_classes).
    images : ndarray, shape (N, H, W, 1), float in [0, 1]
        Of the model's input shape.
    labels : ndarray, shape (N,), int in 0..num_classes-1
    static_digits : sequence of int
        Indices offered on the static site (at least one).

    Returns
    -------
    Explorer
        The digit beside a bar chart of its ten probabilities (true class green,
        a wrong prediction red).

    Raises
    ------
    TypeError, ValueError
        When called: for a model that is not a built classifier, bad images
        (see :func:`cnnlab.checks.check_model_images`), labels or static digits.
    """
    from cnnlab.plotting import show_probabilities

    num_classes = check_classifier(model)
    images, labels = check_digits(images, labels, static_digits, model=model,
                                  num_classes=num_classes)

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
        [digit_control(static_digits, images.shape[0])],
        title="What does the network say?",
    )


def epoch_explorer(predicted: np.ndarray, confidence: np.ndarray, images: np.ndarray,
                   labels: np.ndarray) -> Explorer:
    """Chapter 3's epoch slider: predictions on fixed digits after each epoch.

    Parameters
    ----------
    predicted : ndarray, shape (E, P), int in 0..9
        The class predicted for each of P digits after each of E epochs (as
        :func:`cnnlab.zoo.record` stores it), E at least 1.
    confidence : ndarray, shape (E, P), float in [0, 1]
        The probability of that class.
    images : ndarray, shape (P, H, W, 1), float in [0, 1]
    labels : ndarray, shape (P,), int in 0..9

    Returns
    -------
    Explorer
        One slider (the epoch); a grid of the digits titled with the true and
        the predicted class and its probability, wrong ones in red.

    Raises
    ------
    TypeError, ValueError
        When called: for images or labels as :func:`pooling_explorer`, shapes
        that do not match, no epoch, predictions that are not ints in 0..9, or
        confidences that are not numbers in [0, 1].
    """
    images, labels = check_digits(images, labels)
    predicted, confidence = np.asarray(predicted), np.asarray(confidence)
    if predicted.ndim != 2 or predicted.shape != confidence.shape \
            or predicted.shape[1] != len(images):
        raise ValueError(
            f"predicted and confidence must both have shape (epochs, {len(images)}), got "
            f"{predicted.shape} and {confidence.shape}."
        )
    if predicted.shape[0] == 0:
        raise ValueError("predicted and confidence hold no epoch (shape "
                         f"{predicted.shape}).")
    check_labels(predicted.ravel(), predicted.size, "predicted")
    if confidence.dtype.kind not in "fiu":
        raise TypeError(f"confidence must be numbers, got dtype {confidence.dtype}.")
    if not np.all(np.isfinite(confidence)) or confidence.min() < 0 or confidence.max() > 1:
        raise ValueError(f"confidence must be probabilities in [0, 1], got values in "
                         f"[{confidence.min():g}, {confidence.max():g}].")
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
            ax.set_title(f"{labels[k]}→{guess[k]} ({p[k]:.2f})", fontsize=9,
                         color="black" if guess[k] == labels[k] else "tab:red")
        wrong = int((guess != labels).sum())
        fig.suptitle(f"after epoch {epoch}: {wrong} of {len(labels)} wrong "
                     "(true → predicted (probability))", fontsize=10)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        return fig

    return Explorer(render, [Control("epoch", list(range(1, predicted.shape[0] + 1)))],
                    title="Predictions on fixed test digits, epoch by epoch")
