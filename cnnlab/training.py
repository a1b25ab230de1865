"""Training with a per-epoch record, and the measures the chapters report.

:func:`train` compiles and fits a classifier, and after every epoch records
Keras' history (loss, accuracy, their validation versions), the time the epoch
took and, optionally, the predicted probabilities of a fixed set of "probe"
digits, so that a chapter can show how predictions change epoch by epoch.
Weights kept after every epoch are keyed by layer and variable
(:func:`weights_by_path`); :func:`kernel_similarity` measures how far each
layer's kernel still had to go and :func:`distance_covered` how much of the
way from its initial kernel it has come (Zeiler & Fergus 2014, Fig. 4).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from cnnlab.checks import (
    check_images,
    check_int,
    check_labels,
    check_layer,
    check_model_images,
    check_number,
)


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
    weights : list of dict of str to ndarray
        The weights after each epoch, when asked for (``keep_weights``): one
        dict per epoch, keyed by layer and variable as :func:`weights_by_path`
        keys them ('conv1/kernel', 'conv1/bias', ...).
    monitored : list, or None
        What ``monitor`` returned after each epoch, one item per epoch.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)
    probe_probabilities: np.ndarray | None = None
    weights: list[dict[str, np.ndarray]] = field(default_factory=list)
    monitored: list | None = None


def train(model, images: np.ndarray, labels: np.ndarray, *, optimizer, epochs: int,
          batch_size: int, validation_split: float = 0.0, probe: np.ndarray | None = None,
          keep_weights: bool = False, images_per_epoch: int | None = None, seed: int = 0,
          monitor: Callable | None = None, on_epoch: Callable | None = None,
          verbose: int = 2) -> TrainingRun:
    """Compile ``model`` for 10-class classification and fit it, recording each epoch.

    The loss is the cross-entropy of the softmax output (the source's
    ``categorical_crossentropy``, with integer labels); the metric is accuracy.
    Seed first (:func:`cnnlab.runtime.set_seed`) for a repeatable run.

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
    keep_weights : bool, default False
        Keep a copy of the weights after every epoch, keyed by path (snapshots,
        for watching features evolve, e.g. with :func:`kernel_similarity`; a
        copy of the model's size per epoch).
    images_per_epoch : int, optional
        Train each epoch on this many training images drawn at random, without
        replacement, afresh every epoch (Sakai & Takenaka 2019: 10,000 of the
        60,000); all of them every epoch if omitted.
    seed : int, default 0
        Seeds the draw of ``images_per_epoch``.
    monitor : callable, optional
        ``monitor(model)`` is called after every epoch; what it returns (say a
        dict of arrays) is kept in ``TrainingRun.monitored``. A monitor with a
        ``begin`` method also gets ``monitor.begin(model)`` once before the
        first update (to see the initial weights).
    on_epoch : callable, optional
        ``on_epoch(epoch, logs)`` is called after every epoch, once it is
        recorded, with the epoch's number (1-based) and Keras' figures for it
        (a dict: 'loss', 'accuracy', ...): for a caller's own progress report.
    verbose : int, default 2
        Keras' progress: 2 prints one line per epoch, 0 nothing.

    Returns
    -------
    TrainingRun

    Raises
    ------
    TypeError, ValueError
        For bad images, labels, probe, epochs, batch size, validation split,
        images per epoch (more than the training images), seed, monitor or
        on_epoch.
    """
    import keras

    images = check_model_images(model, images)
    labels = check_labels(labels, images.shape[0])
    epochs = check_int("epochs", epochs, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    validation_split = check_number("validation_split", validation_split)
    if not 0 <= validation_split < 1:   # 1 would leave nothing to train on
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split:g}.")
    if probe is not None:
        probe = check_images(probe, "probe", unit_range=True)
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"optimizer must be a keras Optimizer, got {type(optimizer).__name__}.")
    if monitor is not None and not callable(monitor):
        raise TypeError(f"monitor must be callable, got {type(monitor).__name__}.")
    if on_epoch is not None and not callable(on_epoch):
        raise TypeError(f"on_epoch must be callable, got {type(on_epoch).__name__}.")
    # Keras keeps the first floor(N * (1 - split)) images for training.
    n_train = int(math.floor(images.shape[0] * (1.0 - validation_split)))
    if images_per_epoch is not None:
        images_per_epoch = check_int("images_per_epoch", images_per_epoch, 1)
        if images_per_epoch > n_train:
            raise ValueError(f"images_per_epoch must be at most the {n_train} training "
                             f"images, got {images_per_epoch}.")
    seed = check_int("seed", seed, 0)

    run = TrainingRun()
    probes: list[np.ndarray] = []
    monitored: list = []

    class _Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if monitor is not None and hasattr(monitor, "begin"):
                monitor.begin(self.model)

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            run.epoch_seconds.append(time.perf_counter() - self.start)
            if probe is not None:
                probes.append(self.model.predict(probe, verbose=0))
            if keep_weights:
                run.weights.append(weights_by_path(self.model))
            if monitor is not None:
                monitored.append(monitor(self.model))
            if on_epoch is not None:
                on_epoch(epoch + 1, dict(logs or {}))

    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    if images_per_epoch is None:
        fitted = model.fit(images, labels, batch_size=batch_size, epochs=epochs,
                           validation_split=validation_split, verbose=verbose,
                           callbacks=[_Record()])
    else:
        # Held out as Keras does (the end of the data), then a fresh draw per epoch.
        held_out = (images[n_train:], labels[n_train:]) if n_train < len(images) else None
        batches = _RandomSubsets(images[:n_train], labels[:n_train], images_per_epoch,
                                 batch_size, seed)
        fitted = model.fit(batches, epochs=epochs, validation_data=held_out,
                           verbose=verbose, callbacks=[_Record()])
    run.history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
    if probe is not None:
        run.probe_probabilities = np.stack(probes)
    if monitor is not None:
        run.monitored = monitored
    return run


def weights_by_path(model) -> dict[str, np.ndarray]:
    """A copy of the model's weights, keyed by layer and variable: 'conv1/kernel'.

    The keys are the variables' paths without the model's own name in front,
    as :mod:`cnnlab.zoo` stores weights, so that a snapshot names what it holds
    instead of a position in ``model.get_weights()``.

    Parameters
    ----------
    model : keras.Model

    Returns
    -------
    dict of str to ndarray
        In the order of ``model.weights``; the arrays are copies.
    """
    # A Sequential model's variables are created inside its name scope
    # ('keras_example_cnn/conv1/kernel'); those of layers first called outside the
    # model, as in the functional API, are not ('conv1/kernel').
    prefix = f"{model.name}/"
    return {(v.path[len(prefix):] if v.path.startswith(prefix) else v.path): np.array(v.numpy())
            for v in model.weights}


def kernel_similarity(snapshots: Sequence[dict[str, np.ndarray]]) -> tuple[np.ndarray, list[str]]:
    """Each layer's kernel after every epoch against its kernel after the last (cosine).

    Zeiler & Fergus (2014, Fig. 4) watch features form during training: the
    lower layers settle within a few epochs, the upper ones later. The cosine
    similarity ``<w_e, w_E> / (|w_e| |w_E|)`` of a layer's kernel after epoch
    ``e`` to its kernel after the last epoch ``E`` says how far it still had
    to go (1: already there).

    Parameters
    ----------
    snapshots : sequence of dict of str to ndarray
        The weights after each epoch, keyed as :func:`weights_by_path` keys
        them: :attr:`TrainingRun.weights`, or what :class:`WeightSnapshots`
        kept. Every layer with a '<layer>/kernel' in the last one is measured.

    Returns
    -------
    similarity : ndarray, shape (epochs, layers), float32
        In [-1, 1]; the last row is 1 (NaN for a kernel that is all zero).
    layers : list of str
        The layers of the columns, in the order of the weights.

    Raises
    ------
    ValueError
        For no snapshots, or a layer whose kernel is missing from one of them
        or changes shape.
    """
    if not snapshots:
        raise ValueError("snapshots is empty: no epoch was recorded.")
    layers = _kernel_layers(snapshots)
    similarity = np.empty((len(snapshots), len(layers)), dtype=np.float32)
    for j, layer in enumerate(layers):
        kernels = _kernels(snapshots, layer)
        final = kernels[-1]
        for e, kernel in enumerate(kernels):
            with np.errstate(invalid="ignore", divide="ignore"):
                similarity[e, j] = kernel @ final / (np.linalg.norm(kernel)
                                                     * np.linalg.norm(final))
    return similarity, layers


def _kernel_layers(snapshots) -> list[str]:
    """The layers with a '<layer>/kernel' in the last snapshot, in their order."""
    return [key[:-len("/kernel")] for key in snapshots[-1] if key.endswith("/kernel")]


def _kernels(snapshots, layer: str) -> list[np.ndarray]:
    """The layer's kernel in every snapshot, flattened, in float64 (no overflow in products).

    Raises ValueError for a snapshot that lacks it or holds it in another shape.
    """
    key = f"{layer}/kernel"
    shape = np.shape(snapshots[-1][key])
    for e, snapshot in enumerate(snapshots):
        if key not in snapshot or np.shape(snapshot[key]) != shape:
            raise ValueError(f"snapshots[{e}] lacks {key!r} as the last snapshot has it, "
                             f"shape {shape}.")
    return [np.asarray(snapshot[key], np.float64).ravel() for snapshot in snapshots]


class WeightSnapshots:
    """A monitor for :func:`train`: each layer's kernel against where it ends up (cosine).

    Called with the model after every epoch, this keeps a copy of its weights
    (:func:`weights_by_path`); :meth:`finish` gives, for each layer with a
    kernel, :func:`kernel_similarity` after every epoch, and float16
    snapshots of the ``kept`` layers' weights (small layers, so that a
    recorded run can rebuild them epoch by epoch).

    With ``initial=True`` it also sees the weights before the first update
    (:func:`train` calls :meth:`begin`): :meth:`finish` then adds the
    baseline, 'initial_similarity' (the cosine of the initial kernels to the
    final ones), 'distance_covered' (:func:`distance_covered`, from the
    initial weights on) and the initial weights of the ``kept`` layers under
    'initial/<layer>/<variable>'.

    Parameters
    ----------
    kept : sequence of str, default ()
        Layers whose weights are kept for every epoch.
    initial : bool, default False
        Also record the initial weights (a baseline for the similarities).
    """

    def __init__(self, kept: tuple[str, ...] | list[str] = (), initial: bool = False):
        self.kept = tuple(kept)
        self.initial = bool(initial)
        self.initial_weights: dict[str, np.ndarray] | None = None

    def begin(self, model) -> None:
        """Keep the weights before training, when asked for (``initial=True``)."""
        if self.initial:
            self.initial_weights = weights_by_path(model)

    def __call__(self, model) -> dict[str, np.ndarray]:
        missing = sorted(set(self.kept) - {each.name for each in model.layers})
        if missing:
            raise ValueError(f"kept names layers that model {model.name!r} lacks: {missing}.")
        return weights_by_path(model)

    def finish(self, items: list[dict[str, np.ndarray]]) -> dict:
        """'similarity' (epochs, layers) float32, 'similarity_layers', the snapshots."""
        if not items:
            raise ValueError("items is empty: the monitor was never called (no epoch ran).")
        similarity, layers = kernel_similarity(items)
        kept = {key: np.stack([item[key] for item in items]).astype(np.float16)
                for key in items[-1] if key.split("/")[0] in self.kept}
        if not self.initial:
            return {"similarity": similarity, "similarity_layers": layers, **kept}
        if self.initial_weights is None:
            raise ValueError("initial=True but begin(model) was never called before training.")
        start = self.initial_weights
        initial = {f"initial/{key}": start[key].astype(np.float16) for key in kept}
        return {"similarity": similarity, "similarity_layers": layers, **kept,
                "initial_similarity": kernel_similarity([start, *items])[0][0],
                "distance_covered": distance_covered([start, *items])[0], **initial}


def distance_covered(snapshots: Sequence[dict[str, np.ndarray]]) -> tuple[np.ndarray, list[str]]:
    """How much of the way from the first kernel to the last each snapshot has come.

    ``1 - |w_E - w_e| / |w_E - w_0|`` for each layer's kernel after epoch
    ``e``, with ``w_0`` the first snapshot (the initial weights) and ``w_E``
    the last: 0 at the start, 1 at the end. Unlike the cosine of
    :func:`kernel_similarity`, which starts near 1 for a wide layer whose
    random initial kernel already points close to its final one, this
    measure starts at 0 for every layer, so it can show whether some layers
    settle earlier than others (Zeiler & Fergus 2014, Fig. 4: the lower
    layers first). It can be negative while a kernel moves away first.

    Parameters
    ----------
    snapshots : sequence of dict of str to ndarray
        At least two, keyed as :func:`weights_by_path` keys them, the first
        taken before training. Every layer with a '<layer>/kernel' in the
        last one is measured.

    Returns
    -------
    covered : ndarray, shape (len(snapshots), layers), float32
        First row 0, last row 1 (NaN for a kernel that did not move).
    layers : list of str
        The layers of the columns, in the order of the weights.

    Raises
    ------
    ValueError
        For fewer than two snapshots, or a layer whose kernel is missing from
        one of them or changes shape.
    """
    if len(snapshots) < 2:
        raise ValueError(f"snapshots must hold at least two (the initial weights and one "
                         f"epoch), got {len(snapshots)}.")
    layers = _kernel_layers(snapshots)
    covered = np.empty((len(snapshots), len(layers)), dtype=np.float32)
    for j, layer in enumerate(layers):
        kernels = _kernels(snapshots, layer)
        final = kernels[-1]
        whole = np.linalg.norm(final - kernels[0])
        for e, kernel in enumerate(kernels):
            with np.errstate(invalid="ignore", divide="ignore"):
                covered[e, j] = 1.0 - np.linalg.norm(final - kernel) / whole
    return covered, layers


def _RandomSubsets(images, labels, per_epoch, batch_size, seed):
    """A Keras dataset that shows ``per_epoch`` images drawn afresh every epoch."""
    import keras

    class RandomSubsets(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.on_epoch_end()

        def __len__(self):
            return -(-per_epoch // batch_size)

        def __getitem__(self, index):
            picked = self.order[index * batch_size:(index + 1) * batch_size]
            return images[picked], labels[picked]

        def on_epoch_end(self):
            self.order = self.rng.choice(len(images), per_epoch, replace=False)

    return RandomSubsets()


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


# The training images' standardised features are held as float16 up to this size
# (conv2 of the Keras example CNN, 2,000 digits: 141 MiB).
_PROBE_CACHE_BYTES = 256 * 2**20
# Rows of features turned into float32 at a time when the Gram matrices are built.
_PROBE_BLOCK = 100


def linear_probe(model, train_images: np.ndarray, train_labels: np.ndarray,
                 test_images: np.ndarray, test_labels: np.ndarray, layer=None, *,
                 ridges: Sequence[float] = (1e-2, 1e-1, 1.0, 10.0, 100.0),
                 batch_size: int = 100) -> float:
    """Accuracy of a linear classifier fitted to one layer's frozen features.

    Zeiler & Fergus (2014, section 5.3) fit a linear classifier to the features
    of each layer of a fixed network to see how well each layer's
    representation separates the classes. Here the classifier is ridge
    regression on one-hot targets (a least-squares linear classifier), solved
    in closed form: no epochs and no random start, so the same features always
    give the same accuracy. The features are flattened and standardised with
    the training images' mean and deviation. The solution goes through the
    N x N Gram matrix of the training features (the dual form), so a layer with
    36,864 features costs little more than the 784 pixels, and no classifier
    model is built. The ridge is chosen among ``ridges`` by the closed-form
    leave-one-out accuracy on the training images, never by the test images.

    Parameters
    ----------
    model : keras.Model
        The fixed network; not changed.
    train_images, test_images : ndarray, shape (N, H, W, C) and (M, H, W, C), float32 in [0, 1]
    train_labels, test_labels : ndarray, shape (N,) and (M,), int in 0..9
    layer : str or keras layer, optional
        Whose output the classifier reads (in inference mode: dropout off);
        the pixels themselves when omitted.
    ridges : sequence of float, default (0.01, 0.1, 1, 10, 100)
        Candidate ridges, relative to the mean squared norm of a standardised
        feature vector divided by the number of features (that is, to 1).
    batch_size : int, default 100
        Images whose features are computed at a time (conv2's of 100 digits:
        29 MB in float64).

    Returns
    -------
    float
        Accuracy on the test images.

    Raises
    ------
    ValueError, TypeError
        For bad or mismatched images or labels, an unknown layer, ridges that
        are not positive numbers, a bad batch size, or training features too
        large to hold (more than 256 MiB as float16: use fewer images).
    """
    from cnnlab.features import feature_maps

    train_images = check_model_images(model, train_images, "train_images")
    test_images = check_model_images(model, test_images, "test_images")
    train_labels = check_labels(train_labels, len(train_images), "train_labels")
    test_labels = check_labels(test_labels, len(test_images), "test_labels")
    batch_size = check_int("batch_size", batch_size, 1)
    ridges = _check_ridges(ridges)
    if layer is not None:
        layer = check_layer(model, layer)

    def features(images):
        if layer is not None:
            images = next(iter(feature_maps(model, [layer], images).values()))
        return images.reshape(len(images), -1).astype(np.float64)

    n = len(train_images)
    size = features(train_images[:1]).shape[1]
    if n * size * 2 > _PROBE_CACHE_BYTES:
        raise ValueError(f"the features of {n} training images take {n * size * 2 / 2**20:.0f} "
                         f"MiB as float16, more than {_PROBE_CACHE_BYTES // 2**20} MiB: use "
                         f"fewer training images.")
    # Pass 1: mean and deviation, summed in float64. Pass 2: the standardised cache.
    total = squares = 0.0
    for start in range(0, n, batch_size):
        chunk = features(train_images[start:start + batch_size])
        total, squares = total + chunk.sum(axis=0), squares + (chunk * chunk).sum(axis=0)
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean * mean, 0.0)) + 1e-6

    def standardised(images):
        return ((features(images) - mean) / std).astype(np.float32)

    cached = np.concatenate([standardised(train_images[i:i + batch_size]).astype(np.float16)
                             for i in range(0, n, batch_size)])
    dual = _ridge_fit(cached, train_labels, ridges)
    predicted = [_ridge_predict(standardised(test_images[start:start + batch_size]), cached, dual)
                 for start in range(0, len(test_images), batch_size)]
    return float((np.concatenate(predicted) == test_labels).mean())


def _ridge_fit(cached: np.ndarray, labels: np.ndarray, ridges: list[float]) -> np.ndarray:
    """The dual coefficients (n, 10) of ridge regression on one-hot targets, the ridge
    chosen by closed-form leave-one-out accuracy; ``cached``: standardised features."""
    n, size = cached.shape
    # The Gram matrix, divided by the number of features so that its diagonal is about 1.
    gram = np.empty((n, n))
    for i in range(0, n, _PROBE_BLOCK):
        rows = cached[i:i + _PROBE_BLOCK].astype(np.float32)
        for j in range(0, i + _PROBE_BLOCK, _PROBE_BLOCK):
            block = rows @ cached[j:j + _PROBE_BLOCK].astype(np.float32).T / size
            gram[i:i + _PROBE_BLOCK, j:j + _PROBE_BLOCK] = block
            gram[j:j + _PROBE_BLOCK, i:i + _PROBE_BLOCK] = block.T
    eigenvalues, vectors = np.linalg.eigh(gram)
    del gram
    eigenvalues = np.maximum(eigenvalues, 0.0)
    targets = np.eye(10)[labels] - 0.1            # centred one-hot targets
    projected = vectors.T @ targets
    best = None
    for ridge in sorted(ridges, reverse=True):          # a tie keeps the larger ridge
        shrink = eigenvalues / (eigenvalues + ridge)
        fitted = vectors @ (shrink[:, None] * projected)
        leverage = np.einsum("ij,j,ij->i", vectors, shrink, vectors)
        # Leave-one-out predictions of ridge regression, in closed form.
        left_out = (fitted - leverage[:, None] * targets) / (1 - leverage)[:, None]
        accuracy = float((left_out.argmax(axis=1) == labels).mean())
        if best is None or accuracy > best[0]:
            best = (accuracy, ridge)
    return vectors @ (projected / (eigenvalues + best[1])[:, None])


def _ridge_predict(rows: np.ndarray, cached: np.ndarray, dual: np.ndarray) -> np.ndarray:
    kernel = np.concatenate([rows @ cached[j:j + _PROBE_BLOCK].astype(np.float32).T
                             for j in range(0, len(cached), _PROBE_BLOCK)], axis=1)
    return (kernel / cached.shape[1] @ dual).argmax(axis=1)


def linear_classifier_accuracy(train_features: np.ndarray, train_labels: np.ndarray,
                               test_features: np.ndarray, test_labels: np.ndarray, *,
                               ridges: Sequence[float] = (1e-2, 1e-1, 1.0, 10.0, 100.0)
                               ) -> float:
    """Accuracy of the linear classifier of :func:`linear_probe`, on features already computed.

    The same classifier (ridge regression on one-hot targets, closed form, the
    ridge chosen by leave-one-out accuracy on the training features), for
    features a caller computes once and reuses: chapter 8 fits it to many small
    draws of training examples (Zeiler & Fergus 2014, section 5.2).

    Parameters
    ----------
    train_features, test_features : ndarray, shape (N, ...) and (M, ...), finite
        Flattened per example; standardised with the training features' mean and
        deviation.
    train_labels, test_labels : ndarray, shape (N,) and (M,), int in 0..9
    ridges : sequence of float, default (0.01, 0.1, 1, 10, 100)

    Returns
    -------
    float
        Accuracy on the test features.

    Raises
    ------
    TypeError, ValueError
        For features that are not finite numeric arrays of matching sizes, bad
        labels or ridges.
    """
    train_features = _check_features("train_features", train_features).astype(np.float64)
    test_features = _check_features("test_features", test_features)
    if train_features.shape[1] != test_features.shape[1]:
        raise ValueError(f"test_features must have {train_features.shape[1]} features per "
                         f"example, as train_features do; got {test_features.shape[1]}.")
    train_labels = check_labels(train_labels, len(train_features), "train_labels")
    test_labels = check_labels(test_labels, len(test_features), "test_labels")
    ridges = _check_ridges(ridges)
    mean = train_features.mean(axis=0)
    std = train_features.std(axis=0) + 1e-6
    cached = ((train_features - mean) / std).astype(np.float16)
    dual = _ridge_fit(cached, train_labels, ridges)
    # The test features in float32, as linear_probe standardises them: many at a time.
    rows = (test_features.astype(np.float32, copy=False) - mean.astype(np.float32)) \
        / std.astype(np.float32)
    return float((_ridge_predict(rows, cached, dual) == test_labels).mean())


def _check_features(name: str, features) -> np.ndarray:
    if not isinstance(features, np.ndarray) or not np.issubdtype(features.dtype, np.number):
        raise TypeError(f"{name} must be a numeric numpy array, got {type(features).__name__}.")
    if features.ndim < 2 or len(features) == 0:
        raise ValueError(f"{name} must have shape (N, ...) with N >= 1, got {features.shape}.")
    if not np.isfinite(features).all():
        raise ValueError(f"{name} must be finite.")
    return features.reshape(len(features), -1)


def _check_ridges(ridges) -> list[float]:
    if isinstance(ridges, (str, bytes)) or not isinstance(ridges, Sequence) or not ridges:
        raise TypeError(f"ridges must be a non-empty sequence of numbers, got {ridges!r}.")
    ridges = [check_number(f"ridges[{i}]", r) for i, r in enumerate(ridges)]
    if min(ridges) <= 0:
        raise ValueError(f"ridges must be positive, got {ridges}.")
    return ridges
