"""Training with a per-epoch record, and the measures the chapters report.

:func:`train` compiles and fits a classifier, and after every epoch records
Keras' history (loss, accuracy, their validation versions), the time the epoch
took and, optionally, the predicted probabilities of a fixed set of "probe"
digits, so that a chapter can show how predictions change epoch by epoch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from cnnlab.checks import check_images, check_int, check_labels


@dataclass
class TrainingRun:
    """What a training recorded, epoch by epoch.

    Attributes
    ----------
    history : dict of str to list of float
        Keras' history: 'loss', 'accuracy' and, with a validation split,
        'val_loss', 'val_accuracy'; one value per epoch.
    epoch_seconds : list of float
        Wall-clock time of each epoch.
    probe_probabilities : ndarray, shape (epochs, P, 10), or None
        Predicted probabilities of the probe images after each epoch.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    probe_probabilities: np.ndarray | None = None


def train(model, images: np.ndarray, labels: np.ndarray, *, optimizer, epochs: int,
          batch_size: int, validation_split: float = 0.0, probe: np.ndarray | None = None,
          verbose: int = 2) -> TrainingRun:
    """Compile ``model`` for 10-class classification and fit it, recording each epoch.

    The loss is the cross-entropy of the softmax output (the source's
    ``categorical_crossentropy``, with integer labels); the metric is accuracy.
    Seed first (:func:`cnnlab.repro.set_seed`) for a repeatable run.

    Parameters
    ----------
    model : keras.Model
        Outputs softmax probabilities, shape (N, 10).
    images : ndarray, shape (N, 28, 28, 1), float32 in [0, 1]
    labels : ndarray, shape (N,), int in 0..9
    optimizer : keras.optimizers.Optimizer
    epochs : int
        At least 1.
    batch_size : int
        At least 1.
    validation_split : float, default 0.0
        Fraction in [0, 1) held out, from the end of the data, as Keras does.
    probe : ndarray, shape (P, 28, 28, 1), optional
        Images whose predicted probabilities are recorded after every epoch.
    verbose : int, default 2
        Keras' progress: 2 prints one line per epoch, 0 nothing.

    Returns
    -------
    TrainingRun

    Raises
    ------
    TypeError, ValueError
        For bad images, labels, probe, epochs, batch size or validation split.
    """
    import keras

    images = check_images(images, unit_range=True)
    labels = check_labels(labels, images.shape[0])
    epochs = check_int("epochs", epochs, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    if isinstance(validation_split, bool) or not isinstance(
            validation_split, (int, float, np.integer, np.floating)):
        raise TypeError(f"validation_split must be a number, got {validation_split!r}.")
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}.")
    validation_split = float(validation_split)
    if probe is not None:
        probe = check_images(probe, "probe", unit_range=True)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"optimizer must be a keras Optimizer, got {type(optimizer).__name__}.")

    run = TrainingRun()
    probes: list[np.ndarray] = []

    class _Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            run.epoch_seconds.append(time.perf_counter() - self.start)
            if probe is not None:
                probes.append(self.model.predict(probe, verbose=0))

    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    fitted = model.fit(images, labels, batch_size=batch_size, epochs=epochs,
                       validation_split=validation_split, verbose=verbose,
                       callbacks=[_Record()])
    run.history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
    if probe is not None:
        run.probe_probabilities = np.stack(probes)
    return run


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray,
                     num_classes: int = 10) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Parameters
    ----------
    labels, predicted : ndarray, shape (N,), int in 0..num_classes-1

    Returns
    -------
    ndarray, shape (num_classes, num_classes), int64
        Row ``i``, column ``j``: how many digits of class ``i`` were predicted as ``j``.

    Raises
    ------
    TypeError, ValueError
        For non-integer arrays, different lengths or values out of range.
    """
    num_classes = check_int("num_classes", num_classes, 1)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}.")
    labels = check_labels(labels, labels.shape[0], "labels", num_classes)
    predicted = check_labels(predicted, labels.shape[0], "predicted", num_classes)
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-averaged F1 score: the mean over classes of 2PR / (P + R).

    Parameters
    ----------
    labels, predicted : ndarray, shape (N,), int in 0..9

    Returns
    -------
    float
        In [0, 1]. A class never predicted and never present counts as F1 = 0.
    """
    matrix = confusion_matrix(labels, predicted)
    true_pos = np.diag(matrix).astype(float)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)  # (TP+FP) + (TP+FN)
    f1 = np.divide(2 * true_pos, denominator, out=np.zeros(10), where=denominator > 0)
    return float(f1.mean())
