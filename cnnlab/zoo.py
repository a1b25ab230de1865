"""Recorded runs: every training whose numbers the book quotes, with its recipe and result.

A training's numbers depend on the machine that ran it: the CPU's instruction
set, oneDNN and thread scheduling change the last bits of every sum, and a
training amplifies them. So a chapter never quotes a training it runs itself.
Each training that a chapter quotes is a recorded run here: a :class:`Recipe`
(architecture, training set, optimizer, epochs, seed, and what to record
after every epoch) in :data:`RECIPES`, and what :func:`reproduce` stored in
``cnnlab/weights``:

- ``<name>.json``: the record (recipe, per-epoch history, the test figures
  of the stored model, time, versions);
- ``<name>.epochs.npz``: per-epoch arrays (each test digit's prediction, or
  what the recipe's monitor kept);
- ``<name>.weights.npz``: the final weights as float16, for runs that keep
  them (the test figures are measured with these rounded weights).

``make reproduce`` runs every entry (``python -m cnnlab.zoo``); :func:`load`
returns a stored model in well under a second, :func:`record` what its
training recorded, and one test checks every entry against the figures the
book states (:attr:`Recipe.claims`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from cnnlab import models

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class Recipe:
    """How a recorded run is trained, what it keeps, and what the book states of it.

    Attributes
    ----------
    name : str
    build : callable
        Returns the uncompiled model (see :mod:`cnnlab.models`).
    optimizer : callable
        Returns a fresh Keras optimizer.
    epochs, batch_size, seed : int
    source : str
        Where the recipe comes from, in a sentence.
    validation_split : float, default 0.0
        Held out from the end of the training set, as Keras does.
    training_set : callable, optional
        ``training_set(x_train, y_train) -> (images, labels)`` from MNIST's
        60,000 training digits; all of them by default.
    images_per_epoch : int, optional
        A fresh random draw of this many training images every epoch.
    follow_test_set : bool, default False
        Record every test digit's predicted class and probability after
        every epoch.
    monitor : callable, optional
        ``monitor(x_test, y_test)`` returns an object that is called with the
        model after every epoch and whose ``finish(items)`` turns the list of
        what it returned into what is stored: arrays go to
        ``<name>.epochs.npz``, a 'history' dict joins the per-epoch history,
        an 'eight_bit' list names uint8 arrays that hold values in [0, 1] as
        k/255, anything else goes to the JSON record.
    keep_weights : bool, default True
        Store the final weights.
    evaluate : callable, optional
        ``evaluate(model, x_test, y_test) -> dict`` of test figures; the
        zoo's :func:`evaluate` (loss, accuracy, macro F1) by default.
    claims : tuple of (figure, low, high)
        What the book states of the run: ``low <= record['test'][figure] <= high``.
    """

    name: str
    build: Callable
    optimizer: Callable
    epochs: int
    batch_size: int
    seed: int
    source: str
    validation_split: float = 0.0
    training_set: Callable | None = None
    images_per_epoch: int | None = None
    follow_test_set: bool = False
    monitor: Callable | None = None
    keep_weights: bool = True
    evaluate: Callable | None = None
    claims: tuple[tuple[str, float, float], ...] = ()


def _adadelta():
    import keras

    # tf.keras (TF 1.14 / 2.0 on) and Keras 3 default Adadelta to learning_rate=0.001;
    # the source's Keras used 1.0.
    return keras.optimizers.Adadelta(learning_rate=1.0)


def _adam():
    import keras

    return keras.optimizers.Adam(learning_rate=1e-3)


def _rmsprop():
    import keras

    return keras.optimizers.RMSprop(learning_rate=1e-3)


# The monitors, training sets and evaluations below import their modules when a run
# needs them, so that importing the zoo stays cheap.

def _first_10000(x_train, y_train):
    return x_train[:10_000], y_train[:10_000]


def _weight_snapshots(x_test, y_test):
    from cnnlab.training import WeightSnapshots

    return WeightSnapshots(kept=("conv1", "conv2", "predictions"), initial=True)


def _biased_set(x_train, y_train):
    from cnnlab.biased_mnist import biased_training_set

    return biased_training_set(x_train, y_train)


def _plain_set(x_train, y_train):
    from cnnlab.biased_mnist import plain_training_set

    return plain_training_set(x_train, y_train)


def _background_figures(model, x_test, y_test):
    from cnnlab.biased_mnist import background_figures

    return background_figures(model, x_test, y_test)


def _marked_set(x_train, y_train):
    from cnnlab.biased_mnist import marked_training_set

    return marked_training_set(x_train, y_train)


def _randomly_marked_set(x_train, y_train):
    from cnnlab.biased_mnist import marked_training_set

    return marked_training_set(x_train, y_train, random_marks=True)


def _mark_figures(model, x_test, y_test):
    from cnnlab.biased_mnist import mark_figures

    return mark_figures(model, x_test, y_test)


def _background_and_mark_figures(model, x_test, y_test):
    # The control of both traps: how a network that saw neither cue fares with each.
    return {**_background_figures(model, x_test, y_test), **_mark_figures(model, x_test, y_test)}


def _watch_learning(x_test, y_test):
    from cnnlab.learning_process import GradCamWatch

    return GradCamWatch(x_test, y_test)


def _watch_saturation(x_test, y_test):
    from cnnlab.learning_process import SaturationWatch

    return SaturationWatch(x_test, y_test)


def _first_10000_shuffled(x_train, y_train):
    from cnnlab.explain.sanity import shuffled_labels

    return x_train[:10_000], shuffled_labels(y_train[:10_000], seed=0)


def _fit_and_test_figures(model, x_test, y_test):
    """The test figures, and the accuracy on the shuffled labels the model was trained on."""
    from cnnlab.data import load_mnist

    (x_train, y_train), _ = load_mnist()
    return {**evaluate(model, x_test, y_test),
            "fit_accuracy": evaluate(model, *_first_10000_shuffled(x_train, y_train))["accuracy"]}


_BIASED_SOURCE = ("chapter 6's biased-background trap after MathWorks' CAM example: the "
                  "note's GAP network, Adam 1e-3, batch 128, 6 epochs, on the first 12,000 "
                  "training digits")
_MARKED_SOURCE = ("chapter 6's class-mark trap after MathWorks' CAM example: the note's GAP "
                  "network, Adam 1e-3, batch 128, 6 epochs, on the first 12,000 training "
                  "digits, each with a 4x4 white mark in one of ten border places")


def _marked(name: str, seed: int) -> Recipe:
    """The class-mark trap trained from seed ``seed`` (several seeds give the spread)."""
    return Recipe(name, models.gap_cnn, _adam, epochs=6, batch_size=128, seed=seed,
                  training_set=_marked_set, evaluate=_mark_figures,
                  claims=(("accuracy_own_mark", 0.95, 1.0), ("accuracy_plain", 0.0, 0.8),
                          ("follows_mark", 0.15, 1.0)),
                  source=_MARKED_SOURCE + f" that gives the class away; seed {seed}")

_KERAS_EXAMPLE_SOURCE = ("the Keras MNIST example as the 'CNN with Keras' post runs it: "
                         "Adadelta (learning rate 1.0), batch 128, 20 epochs, validation "
                         "split 0.1")


def _first_12000(x_train, y_train):
    return x_train[:12_000], y_train[:12_000]


# Chapter 3's experiments on the Keras example CNN: its recipe on the first 12,000
# training digits (a fifth of the full run's cost, and over-fitting shows sooner),
# three seeds with and without dropout, and one design choice changed at a time
# (two seeds, 5 epochs; the dropout runs' epoch 5 is the baseline).
_VARIANTS = {"": {}, "_no_dropout": dict(dropout=False), "_16_32": dict(filters=(16, 32)),
             "_32": dict(filters=(32,)), "_32_64_64": dict(filters=(32, 64, 64)),
             "_k5": dict(kernel_size=5)}


def _small_data(variant: str, seed: int) -> Recipe:
    change = ", ".join(f"{k}={v}" for k, v in _VARIANTS[variant].items()) or "as it is"
    epochs = 20 if variant in ("", "_no_dropout") else 5
    return Recipe(f"keras_example_cnn_12k{variant}" + ("" if seed == 0 else f"_seed{seed}"),
                  partial(models.keras_example_cnn, **_VARIANTS[variant]), _adadelta,
                  epochs=epochs, batch_size=128, validation_split=0.1, seed=seed,
                  training_set=_first_12000, follow_test_set=True, keep_weights=False,
                  claims=(("accuracy", 0.97 if epochs == 20 else 0.95, 1.0),),
                  source=f"chapter 3's experiments: the Keras example CNN ({change}) on the "
                         f"first 12,000 training digits, Adadelta (learning rate 1.0), batch "
                         f"128, {epochs} epochs, validation split 0.1, seed {seed}")


def _fit_figures(model, x_test, y_test):
    """The test figures, and loss and accuracy on the 10,800 digits the run trained on."""
    from cnnlab.data import load_mnist

    (x_train, y_train), _ = load_mnist()
    fit = evaluate(model, x_train[:10_800], y_train[:10_800])
    return {**evaluate(model, x_test, y_test), "train_loss": fit["loss"],
            "train_accuracy": fit["accuracy"]}


# Chapter 8's ablations after Zeiler & Fergus (2014): the first layer narrowed
# (section 4.1), hidden layers removed and convolutions widened (section 5.1), and a
# class-map head (MathWorks' CAM example), each on chapter 3's 12,000 digits, 5 epochs,
# validation split 0.1, with the train-test gap measured on the digits trained on.
ABLATIONS: dict[str, tuple[Callable, dict, Callable]] = {
    "keras_example_cnn": (models.keras_example_cnn, {
        "": {}, "_conv1_7x7_stride4": dict(first_layer=(7, 4)),
        "_conv1_5x5_stride2": dict(first_layer=(5, 2)), "_no_dense": dict(dense=0),
        "_no_conv2": dict(filters=(32,)), "_no_conv2_no_dense": dict(filters=(32,), dense=0),
        "_wide": dict(filters=(48, 96)), "_wide_dense512": dict(filters=(48, 96), dense=512)},
        _adadelta),
    "gap_cnn": (models.gap_cnn, {
        "": {}, "_no_conv3_conv4": dict(late_filters=(64,)),
        "_wide": dict(late_filters=(96, 96, 96)), "_cam_head": dict(cam_head=True)}, _adam),
}
# Runs whose pictures chapter 8 shows keep their weights; three seeds where it draws
# conclusions from the first layer.
_PICTURED = ("keras_example_cnn_conv1_7x7_stride4", "keras_example_cnn_conv1_5x5_stride2",
             "gap_cnn", "gap_cnn_cam_head")
_THREE_SEEDS = ("keras_example_cnn", "keras_example_cnn_conv1_7x7_stride4",
                "keras_example_cnn_conv1_5x5_stride2")
_OPTIMIZERS = {_adadelta: "Adadelta (learning rate 1.0)", _adam: "Adam 1e-3"}
# What chapter 8 says of each variant's test accuracy (five epochs are short for the GAP
# CNN, whose full recipe takes 30 epochs of 60,000 digits to reach 0.990).
_ABLATION_CLAIMS = {
    "keras_example_cnn": (0.96, 1.0), "keras_example_cnn_conv1_7x7_stride4": (0.94, 0.975),
    "keras_example_cnn_conv1_5x5_stride2": (0.965, 1.0),
    "keras_example_cnn_no_dense": (0.96, 1.0),
    "keras_example_cnn_no_conv2": (0.94, 0.975),
    "keras_example_cnn_no_conv2_no_dense": (0.93, 0.97),
    "keras_example_cnn_wide": (0.96, 1.0), "keras_example_cnn_wide_dense512": (0.96, 1.0),
    "gap_cnn": (0.85, 0.95), "gap_cnn_no_conv3_conv4": (0.4, 0.7), "gap_cnn_wide": (0.85, 0.95),
    "gap_cnn_cam_head": (0.85, 0.95)}


def _ablation(family: str, variant: str, seed: int) -> Recipe:
    build, variants, optimizer = ABLATIONS[family]
    change = ", ".join(f"{k}={v}" for k, v in variants[variant].items()) or "as it is"
    key = family + variant
    return Recipe(f"{family}_ablation{variant}_seed{seed}", partial(build, **variants[variant]),
                  optimizer,
                  epochs=5, batch_size=128, validation_split=0.1, seed=seed,
                  training_set=_first_12000, evaluate=_fit_figures,
                  keep_weights=key in _PICTURED, claims=(("accuracy", *_ABLATION_CLAIMS[key]),),
                  source=f"chapter 8's ablations: {build.__name__} ({change}) on the first "
                         f"12,000 training digits, {_OPTIMIZERS[optimizer]}, batch 128, "
                         f"5 epochs, validation split 0.1, seed {seed}")


def _adam_at(learning_rate: float):
    import keras

    return keras.optimizers.Adam(learning_rate=learning_rate)


def _learning_rate_watch(learning_rate: float) -> Recipe:
    """sakai2019_learning's first 20 epochs at another learning rate (chapter 8)."""
    rate = f"{learning_rate:.0e}".replace("e-0", "e-")          # 1e-4, not 0.0001
    return Recipe(f"sakai2019_learning_lr{rate}", models.sakai2019_cnn,
                  partial(_adam_at, learning_rate), epochs=20, batch_size=100, seed=0,
                  images_per_epoch=10_000, monitor=_watch_learning, keep_weights=False,
                  claims=(("accuracy", 0.95, 0.98),),
                  source=f"sakai2019_learning with Adam at learning rate {rate} "
                         f"instead of 1e-3, for 20 epochs: chapter 8's tuning by watching "
                         f"the maps, as the paper proposes")


def _few_examples(target: str, per_class: int, seed: int, x_train, y_train):
    """The few training examples of a transfer target (MNIST's are not used)."""
    from cnnlab.transfer import few_per_class, target_set

    images, labels = target_set(target)
    train, _ = few_per_class(labels, per_class, seed)
    return images[train], labels[train]


def _few_examples_test(target: str, per_class: int, seed: int, model, x_test, y_test):
    """The test figures on the target's test images of the same draw (not MNIST's)."""
    from cnnlab.transfer import few_per_class, target_set

    images, labels = target_set(target)
    _, test = few_per_class(labels, per_class, seed)
    return evaluate(model, images[test], labels[test])


# Chapter 8's control for feature transfer: the Keras example CNN trained from scratch
# on the same few examples per class that the transferred features get.
SCRATCH_PER_CLASS = (1, 3, 10, 30)
_SCRATCH_CLAIMS = {("small_digits", 1): (0.5, 0.8), ("small_digits", 3): (0.6, 0.95),
                   ("small_digits", 10): (0.8, 0.97), ("small_digits", 30): (0.9, 1.0),
                   ("animal_shapes", 1): (0.1, 0.4), ("animal_shapes", 3): (0.25, 0.5),
                   ("animal_shapes", 10): (0.4, 0.7), ("animal_shapes", 30): (0.6, 0.8)}


def _from_scratch(target: str, per_class: int, seed: int) -> Recipe:
    return Recipe(f"keras_example_cnn_scratch_{target}_{per_class}_per_class_seed{seed}",
                  models.keras_example_cnn, _adadelta, epochs=100, batch_size=32, seed=seed,
                  training_set=partial(_few_examples, target, per_class, seed),
                  evaluate=partial(_few_examples_test, target, per_class, seed),
                  keep_weights=False, claims=(("accuracy", *_SCRATCH_CLAIMS[target, per_class]),),
                  source=f"chapter 8's transfer control: the Keras example CNN trained from "
                         f"scratch on {per_class} {target.replace('_', ' ')} per class (draw "
                         f"{seed} of cnnlab.transfer.few_per_class), Adadelta (learning rate "
                         f"1.0), batch 32, 100 epochs, seed {seed}")


RECIPES: dict[str, Recipe] = {r.name: r for r in [
    Recipe("keras_example_cnn", models.keras_example_cnn, _adadelta, epochs=20,
           batch_size=128, validation_split=0.1, seed=0, follow_test_set=True,
           claims=(("accuracy", 0.991, 1.0),), source=_KERAS_EXAMPLE_SOURCE),
    *(_small_data(variant, seed) for variant in _VARIANTS
      for seed in ((0, 1, 2) if variant in ("", "_no_dropout") else (0, 1))),
    Recipe("gap_cnn", models.gap_cnn, _adam, epochs=30, batch_size=128, validation_split=0.1,
           seed=0, follow_test_set=True,
           claims=(("accuracy", 0.990, 1.0), ("macro_f1", 0.990, 1.0)),
           source="the 'CNN-GAP for MNIST' note: Adam 1e-3, 30 epochs (batch size and "
                  "validation split are ours)"),
    Recipe("keras_example_cnn_5_epochs", models.keras_example_cnn, _adadelta, epochs=5,
           batch_size=128, seed=0, training_set=_first_10000, monitor=_weight_snapshots,
           claims=(("accuracy", 0.95, 1.0),),
           source="chapter 5's short run of the Keras example CNN: Adadelta (learning rate "
                  "1.0), batch 128, 5 epochs on the first 10,000 training digits, the "
                  "weights kept after every epoch"),
    Recipe("gap_cnn_biased", models.gap_cnn, _adam, epochs=6, batch_size=128, seed=0,
           training_set=_biased_set, evaluate=_background_figures,
           claims=(("accuracy_plain", 0.0, 0.5), ("accuracy_own_background", 0.95, 1.0),
                   ("follows_background", 0.5, 1.0)),
           source=_BIASED_SOURCE + ", each on a gray background that gives its class away"),
    Recipe("gap_cnn_plain", models.gap_cnn, _adam, epochs=6, batch_size=128, seed=0,
           training_set=_plain_set, evaluate=_background_and_mark_figures,
           claims=(("accuracy_plain", 0.85, 1.0),),
           source=_BIASED_SOURCE + ", on their own black background (the control)"),
    _marked("gap_cnn_marked", 0),
    _marked("gap_cnn_marked_seed1", 1),
    _marked("gap_cnn_marked_seed2", 2),
    Recipe("gap_cnn_remarked", models.gap_cnn, _adam, epochs=6, batch_size=128, seed=0,
           training_set=_randomly_marked_set, evaluate=_mark_figures,
           claims=(("accuracy_plain", 0.85, 1.0), ("follows_mark", 0.0, 0.2)),
           source=_MARKED_SOURCE + " drawn at random, so that it tells nothing (the remedy: "
                                   "data without the bias)"),
    *(Recipe("keras_mlp" + ("" if seed == 0 else f"_seed{seed}"), models.keras_mlp, _rmsprop,
             epochs=20, batch_size=128, validation_split=0.1, seed=seed,
             keep_weights=seed == 0, claims=(("accuracy", 0.975, 1.0),),
             source=f"chapter 3's baseline, the Keras example MLP (mnist_mlp.py): RMSprop "
                    f"(learning rate 0.001), batch 128, 20 epochs, validation split 0.1, "
                    f"seed {seed}") for seed in (0, 1, 2)),
    Recipe("sakai2019_learning", models.sakai2019_cnn, _adam, epochs=100, batch_size=100,
           seed=0, images_per_epoch=10_000, monitor=_watch_learning, keep_weights=False,
           claims=(("accuracy", 0.99, 1.0),),
           source="Sakai & Takenaka (JSAI 2019), section 4: the Table 1 network, batch 100, "
                  "dropout 0.5 in the fully connected part only, 10,000 random training "
                  "images per epoch, 100 epochs; Adam 1e-3 (the paper names no optimizer); "
                  "the watched digits' Grad-CAM maps after every epoch"),
    Recipe("sakai2019_adadelta", models.sakai2019_cnn, _adadelta, epochs=100, batch_size=100,
           seed=0, images_per_epoch=10_000, monitor=_watch_saturation, keep_weights=False,
           claims=(("accuracy", 0.98, 1.0),),
           source="sakai2019_learning with the optimizer of the Keras example of the paper's "
                  "time, Adadelta (learning rate 1.0), instead of Adam 1e-3; the watched "
                  "digits' Grad-CAM maps and logits after every epoch, and the first 1,000 "
                  "test digits' logits and map peaks after 16 of the epochs"),
    Recipe("keras_example_cnn_shuffled_labels", models.keras_example_cnn, _adam, epochs=80,
           batch_size=128, seed=0, training_set=_first_10000_shuffled,
           evaluate=_fit_and_test_figures,
           claims=(("fit_accuracy", 0.9, 1.0), ("accuracy", 0.0, 0.2)),
           source="the data randomization test of Adebayo et al. (2018): the Keras example "
                  "CNN trained on the first 10,000 training digits with their labels randomly "
                  "permuted (seed 0), Adam 1e-3, batch 128, 80 epochs"),
    *(_ablation(family, variant, seed) for family, (_, variants, _) in ABLATIONS.items()
      for variant in variants for seed in ((0, 1, 2) if family + variant in _THREE_SEEDS
                                           else (0, 1))),
    *(_learning_rate_watch(rate) for rate in (1e-4, 1e-2)),
    *(_from_scratch(target, per_class, seed) for target in ("small_digits", "animal_shapes")
      for per_class in SCRATCH_PER_CLASS for seed in (0, 1, 2)),
]}


def _recipe(name: str) -> Recipe:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    if name not in RECIPES:
        raise ValueError(f"unknown run {name!r}; the zoo has {sorted(RECIPES)}.")
    return RECIPES[name]


def _directory(directory: str | Path | None) -> Path:
    if directory is None:
        return WEIGHTS_DIR
    if not isinstance(directory, (str, Path)):
        raise TypeError(f"directory must be a path (str or Path) or None, got "
                        f"{type(directory).__name__} {directory!r}.")
    if str(directory) == "":   # Path('') is '.', the working directory
        raise ValueError("directory must be a non-empty path or None, got ''.")
    return Path(directory)


def _paths(name: str, directory: Path) -> tuple[Path, Path, Path]:
    return (directory / f"{name}.weights.npz", directory / f"{name}.json",
            directory / f"{name}.epochs.npz")


def _arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an .npz file, refusing pickled objects (a pickle runs code)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {key: stored[key] for key in stored.files}
    except ValueError as error:
        if "allow_pickle" in str(error):   # never retried with it: a pickle can run code
            raise ValueError(f"{path} holds pickled Python objects, which a recorded run never "
                             f"has; it is refused because loading a pickle can run code. "
                             f"Re-create it with 'make reproduce'.") from None
        raise


def load(name: str, directory: str | Path | None = None, epoch: int | None = None):
    """A trained model of the zoo, ready to predict.

    Parameters
    ----------
    name : str
        A key of :data:`RECIPES` whose run keeps its weights.
    directory : path, optional
        Where the weights are; the package's own by default.
    epoch : int, optional
        For a run that keeps per-epoch snapshots of some layers: those layers
        as they were after this epoch (1-based; 0: before training, for a run
        that keeps its initial weights too), the others at their final
        values. The final model by default.

    Returns
    -------
    keras.Model
        Compiled with the loss and metric it was trained with (no optimizer
        state), so ``evaluate`` works.

    Raises
    ------
    TypeError, ValueError
        For a bad name or directory, a run that keeps no weights, an epoch the
        run has no snapshot of, or a file holding pickled objects.
    FileNotFoundError
        If the weights are missing (run ``make reproduce``).
    """
    from cnnlab.checks import check_int

    recipe = _recipe(name)
    if not recipe.keep_weights:
        raise ValueError(f"the run {name!r} keeps no weights, only what it recorded: "
                         f"use zoo.record({name!r}).")
    weights_file, _, epochs_file = _paths(name, _directory(directory))
    if not weights_file.is_file():
        raise FileNotFoundError(
            f"no weights for {name!r} at {weights_file}: run 'make reproduce' to train them."
        )
    stored = _arrays(weights_file)
    if epoch is not None:
        epoch = check_int("epoch", epoch, 0)
        arrays = _arrays(epochs_file) if epochs_file.is_file() else {}
        snapshots = {k: v for k, v in arrays.items() if k in stored}
        if not snapshots:
            raise ValueError(f"the run {name!r} keeps no per-epoch weights; use epoch=None.")
        count = len(next(iter(snapshots.values())))
        first = 0 if all(f"initial/{k}" in arrays for k in snapshots) else 1
        if not first <= epoch <= count:
            raise ValueError(f"epoch must be in {first}..{count} for {name!r}, got {epoch}.")
        stored.update({k: arrays[f"initial/{k}"] if epoch == 0 else v[epoch - 1]
                       for k, v in snapshots.items()})
    from cnnlab.training import weights_by_path

    model = recipe.build()
    for key, variable in zip(weights_by_path(model), model.weights, strict=True):
        variable.assign(stored[key].astype(np.float32))          # key: 'conv1/kernel'
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def record(name: str, directory: str | Path | None = None) -> dict:
    """What a recorded run stored.

    Returns
    -------
    dict
        The JSON record: 'name', 'recipe' (text), 'epochs', 'batch_size',
        'validation_split', 'seed', 'images_per_epoch', 'history' (per-epoch
        loss, accuracy, and what else was recorded, e.g. val_loss or
        test_accuracy), 'epoch_seconds', 'test' (the figures of the stored
        model on the 10,000 test digits), 'claims', 'seconds', 'versions',
        and what the recipe's monitor recorded; then the per-epoch arrays,
        values stored as k/255 returned as float32. A run that follows the
        test set has 'epoch_predicted' (epochs, 10000) uint8 and
        'epoch_confidence' (epochs, 10000) float32, stored to 1/255.

    Raises
    ------
    TypeError, ValueError
        For a bad name or directory, or a file holding pickled objects.
    FileNotFoundError
        If the record is missing (run ``make reproduce``).
    """
    _recipe(name)
    _, record_file, epochs_file = _paths(name, _directory(directory))
    if not record_file.is_file() or not epochs_file.is_file():
        raise FileNotFoundError(f"no record for {name!r} at {record_file}: run 'make reproduce'.")
    result = json.loads(record_file.read_text())
    arrays = _arrays(epochs_file)
    for key in result.get("eight_bit", []):
        arrays[key] = arrays[key].astype(np.float32) / 255
    renamed = {"predicted": "epoch_predicted", "confidence": "epoch_confidence"}
    result.update({renamed.get(key, key): value for key, value in arrays.items()})
    return result


def evaluate(model, images: np.ndarray, labels: np.ndarray, batch_size: int = 128) -> dict:
    """Test loss, accuracy and macro F1 of a classifier.

    Parameters
    ----------
    model : keras.Model
        Outputs class probabilities, shape (N, num_classes).
    images : ndarray, shape (N, H, W, C), float32 in [0, 1]
    labels : ndarray, shape (N,), int
    batch_size : int, default 128

    Returns
    -------
    dict
        'loss' (mean cross-entropy), 'accuracy', 'macro_f1'.

    Raises
    ------
    TypeError, ValueError
        For anything but a built keras model; images not float, empty, outside [0, 1],
        not finite or not of the model's input shape; labels that do not match them.
    """
    from cnnlab.checks import check_int, check_labels, check_model_images
    from cnnlab.training import macro_f1

    images = check_model_images(model, images)
    labels = check_labels(labels, images.shape[0])
    batch_size = check_int("batch_size", batch_size, 1)
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    predicted = probabilities.argmax(axis=1)
    return {"loss": float(-np.log(picked).mean()),
            "accuracy": float((predicted == labels).mean()),
            "macro_f1": macro_f1(labels, predicted)}


def reproduce(name: str, directory: str | Path | None = None, verbose: int = 2,
              on_epoch: Callable | None = None) -> dict:
    """Run a recipe from scratch and store what it records.

    Shows Keras' progress (one line per epoch with ``verbose=2``), and calls
    ``on_epoch(epoch, logs)`` after every epoch when given (see
    :func:`cnnlab.training.train`). Kept weights are rounded to float16, set
    back, and the stored model is evaluated on the 10,000 test digits.

    Returns
    -------
    dict
        The JSON record written (see :func:`record`; without the per-epoch
        arrays, which go to their own file).
    """
    import keras
    import tensorflow as tf

    from cnnlab.data import load_mnist
    from cnnlab.runtime import set_seed
    from cnnlab.training import train, weights_by_path

    recipe = _recipe(name)
    directory = _directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    images, labels = (recipe.training_set(x_train, y_train) if recipe.training_set
                      else (x_train, y_train))
    set_seed(recipe.seed)
    start = time.perf_counter()
    model = recipe.build()
    monitor = recipe.monitor(x_test, y_test) if recipe.monitor else None
    run = train(model, images, labels, optimizer=recipe.optimizer(), epochs=recipe.epochs,
                batch_size=recipe.batch_size, validation_split=recipe.validation_split,
                images_per_epoch=recipe.images_per_epoch, seed=recipe.seed,
                probe=x_test if recipe.follow_test_set else None, monitor=monitor,
                on_epoch=on_epoch, verbose=verbose)
    seconds = time.perf_counter() - start
    arrays: dict[str, np.ndarray] = {}
    extra: dict = {"eight_bit": []}
    if recipe.follow_test_set:
        predicted = run.probe_probabilities.argmax(axis=2).astype(np.uint8)
        arrays["predicted"] = predicted
        arrays["confidence"] = np.rint(run.probe_probabilities.max(axis=2) * 255).astype(np.uint8)
        extra["eight_bit"].append("confidence")
        run.history["test_accuracy"] = [float(a) for a in (predicted == y_test).mean(axis=1)]
    if monitor is not None:
        for key, value in monitor.finish(run.monitored).items():
            if isinstance(value, np.ndarray):
                arrays[key] = value
            elif key == "history":
                run.history.update(value)
            elif key == "eight_bit":
                extra["eight_bit"] += list(value)
            else:
                extra[key] = value
    weights_file, record_file, epochs_file = _paths(name, directory)
    if recipe.keep_weights:
        stored = {key: value.astype(np.float16)
                  for key, value in weights_by_path(model).items()}
        for key, variable in zip(stored, model.weights, strict=True):
            variable.assign(stored[key].astype(np.float32))
        np.savez_compressed(weights_file, **stored)
    test = (recipe.evaluate or evaluate)(model, x_test, y_test)
    np.savez_compressed(epochs_file, **arrays)
    result = {
        "name": name, "recipe": recipe.source, "epochs": recipe.epochs,
        "batch_size": recipe.batch_size, "validation_split": recipe.validation_split,
        "seed": recipe.seed, "images_per_epoch": recipe.images_per_epoch,
        "history": run.history, "epoch_seconds": run.epoch_seconds, "test": test,
        "claims": [list(c) for c in recipe.claims], "seconds": seconds,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
        **extra,
    }
    record_file.write_text(json.dumps(result, indent=1))
    return result


def unmet_claims(name: str, figures: dict) -> list[str]:
    """The claims of a recipe that ``figures`` (a record's 'test' dict) do not meet.

    Returns
    -------
    list of str
        One sentence per unmet or missing figure; empty when all hold.
    """
    failures = []
    for figure, low, high in _recipe(name).claims:
        value = figures.get(figure)
        if value is None:
            failures.append(f"{name}: no figure {figure!r}")
        elif not low <= value <= high:
            failures.append(f"{name}: {figure} = {value:.4f}, not in [{low}, {high}]")
    return failures


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnlab.zoo [names...]``: reproduce the named runs (all by default).

    One progress bar counts the epochs of all the named runs (with the time
    left), and one line per epoch is written above it.
    """
    from tqdm.auto import tqdm  # a text bar in a terminal, a widget in a notebook

    names = (argv if argv is not None else sys.argv[1:]) or list(RECIPES)
    for name in names:
        if name not in RECIPES:
            print(f"unknown run {name!r}; the zoo has {sorted(RECIPES)}.", file=sys.stderr)
            return 2
    failures = []
    with tqdm(total=sum(RECIPES[name].epochs for name in names), unit="epoch") as bar:

        def say(line: str) -> None:
            bar.write(line)        # above the bar, on standard output
            sys.stdout.flush()     # now, also into a pipe or a log file

        for number, name in enumerate(names, start=1):
            bar.set_description(f"run {number}/{len(names)}")
            say(f"Training {name}: {RECIPES[name].source}.")

            def epoch_done(epoch: int, logs: dict, name: str = name) -> None:
                figures = ", ".join(f"{k} {v:.4f}" for k, v in logs.items())
                say(f"{name} epoch {epoch}/{RECIPES[name].epochs}: {figures}")
                bar.update()

            result = reproduce(name, verbose=0, on_epoch=epoch_done)
            figures = ", ".join(f"{k} {v:.4f}" for k, v in result["test"].items())
            say(f"{name}: {figures}; {result['seconds'] / 60:.1f} min.")
            failures += unmet_claims(name, result["test"])
    for failure in failures:
        print(f"claim not met, the book's text needs a look: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
