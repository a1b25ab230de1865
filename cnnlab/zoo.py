"""Trained reference models: their recipes, stored weights, and how to check them.

A full training takes tens of minutes on a laptop CPU, too long for every run
of a notebook. Each reference model therefore has a :class:`Recipe` (the
architecture, optimizer, epochs and seed of its source) and weights produced
by this module's :func:`reproduce` (``make reproduce``), stored in
``cnnlab/weights`` as float16 (half the size; the accuracy recorded beside
them is measured with the stored, rounded weights). :func:`load` returns a
model in well under a second; :func:`record` returns what the training
recorded (learning curves, test metrics, time, and every test digit's
prediction after every epoch).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab import models

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class Recipe:
    """How a reference model is trained.

    Attributes
    ----------
    name : str
    build : callable
        Returns the uncompiled model (see :mod:`cnnlab.models`).
    optimizer : callable
        Returns a fresh Keras optimizer.
    epochs, batch_size : int
    validation_split : float
        Held out from the end of the 60,000 training images, as Keras does.
    seed : int
    min_test_accuracy : float
        What the model must reach on the 10,000 test digits (the book states it).
    source : str
        Where the recipe comes from.
    """

    name: str
    build: Callable
    optimizer: Callable
    epochs: int
    batch_size: int
    validation_split: float
    seed: int
    min_test_accuracy: float
    source: str


def _adadelta():
    import keras

    # Keras 3's Adadelta defaults to learning_rate=0.001; the source's Keras used 1.0.
    return keras.optimizers.Adadelta(learning_rate=1.0)


def _adam():
    import keras

    return keras.optimizers.Adam(learning_rate=1e-3)


RECIPES: dict[str, Recipe] = {
    "keras_example_cnn": Recipe(
        "keras_example_cnn", models.keras_example_cnn, _adadelta, epochs=20, batch_size=128,
        validation_split=0.1, seed=0, min_test_accuracy=0.991,
        source="the Keras MNIST example as the 'CNN with Keras' post runs it: Adadelta "
               "(learning rate 1.0), batch 128, 20 epochs, validation split 0.1"),
    "gap_cnn": Recipe(
        "gap_cnn", models.gap_cnn, _adam, epochs=30, batch_size=128, validation_split=0.1,
        seed=0, min_test_accuracy=0.990,
        source="the 'CNN-GAP for MNIST' note: Adam 1e-3, 30 epochs (batch size and "
               "validation split are ours)"),
}


def _recipe(name: str) -> Recipe:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}; the zoo has {sorted(RECIPES)}.")
    return RECIPES[name]


def _paths(name: str, directory: Path) -> tuple[Path, Path, Path]:
    return (directory / f"{name}.weights.npz", directory / f"{name}.json",
            directory / f"{name}.epochs.npz")


def load(name: str, directory: str | Path | None = None):
    """A trained reference model, ready to predict.

    Parameters
    ----------
    name : {'keras_example_cnn', 'gap_cnn'}
    directory : path, optional
        Where the weights are; the package's own by default.

    Returns
    -------
    keras.Model
        Compiled with the loss and metric it was trained with (no optimizer
        state), so ``evaluate`` works.

    Raises
    ------
    ValueError
        For an unknown name.
    FileNotFoundError
        If the weights are missing (run ``make reproduce``).
    """
    recipe = _recipe(name)
    weights_file, _, _ = _paths(name, Path(directory) if directory else WEIGHTS_DIR)
    if not weights_file.is_file():
        raise FileNotFoundError(
            f"no weights for {name!r} at {weights_file}: run 'make reproduce' to train them."
        )
    model = recipe.build()
    with np.load(weights_file, allow_pickle=False) as stored:
        for variable in model.weights:
            key = variable.path.split("/", 1)[1]  # 'conv1/kernel', without the model's name
            variable.assign(stored[key].astype(np.float32))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def record(name: str, directory: str | Path | None = None) -> dict:
    """What the reference training recorded.

    Returns
    -------
    dict
        'recipe' (text), 'history' (per-epoch loss, accuracy, val_loss,
        val_accuracy, and test_accuracy on the 10,000 test digits),
        'epoch_seconds', 'test' (loss, accuracy, macro_f1 of the stored
        weights), 'seconds' (the whole reproduction), 'versions', and two arrays
        of shape (epochs, 10000): 'epoch_predicted' (the class predicted for
        each test digit after each epoch, uint8) and 'epoch_confidence' (its
        probability, float32, stored to 1/255).

    Raises
    ------
    ValueError
        For an unknown name.
    FileNotFoundError
        If the record is missing (run ``make reproduce``).
    """
    _recipe(name)
    _, record_file, epochs_file = _paths(name, Path(directory) if directory else WEIGHTS_DIR)
    if not record_file.is_file() or not epochs_file.is_file():
        raise FileNotFoundError(f"no record for {name!r} at {record_file}: run 'make reproduce'.")
    result = json.loads(record_file.read_text())
    with np.load(epochs_file, allow_pickle=False) as epochs:
        result["epoch_predicted"] = epochs["predicted"]
        result["epoch_confidence"] = epochs["confidence"].astype(np.float32) / 255
    return result


def evaluate(model, images: np.ndarray, labels: np.ndarray) -> dict:
    """Test loss, accuracy and macro F1 of a classifier.

    Returns
    -------
    dict
        'loss' (mean cross-entropy), 'accuracy', 'macro_f1'.
    """
    from cnnlab.training import macro_f1

    probabilities = model.predict(images, batch_size=1000, verbose=0)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    predicted = probabilities.argmax(axis=1)
    return {"loss": float(-np.log(picked).mean()),
            "accuracy": float((predicted == labels).mean()),
            "macro_f1": macro_f1(labels, predicted)}


def reproduce(name: str, directory: str | Path | None = None, verbose: int = 2) -> dict:
    """Train a reference model from scratch by its recipe and store it.

    Shows Keras' progress (one line per epoch with ``verbose=2``). The weights
    are rounded to float16, set back, and the stored model is evaluated on the
    10,000 test digits.

    Returns
    -------
    dict
        The record written beside the weights (see :func:`record`; without
        the per-epoch arrays, which go to their own file).
    """
    import keras
    import tensorflow as tf

    from cnnlab.data import load_mnist
    from cnnlab.repro import set_seed
    from cnnlab.training import train

    recipe = _recipe(name)
    directory = Path(directory) if directory else WEIGHTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    set_seed(recipe.seed)
    start = time.perf_counter()
    model = recipe.build()
    # Every test digit is a probe: the chapters pick the interesting ones afterwards.
    run = train(model, x_train, y_train, optimizer=recipe.optimizer(), epochs=recipe.epochs,
                batch_size=recipe.batch_size, validation_split=recipe.validation_split,
                probe=x_test, verbose=verbose)
    seconds = time.perf_counter() - start
    predicted = run.probe_probabilities.argmax(axis=2).astype(np.uint8)
    confidence = np.rint(run.probe_probabilities.max(axis=2) * 255).astype(np.uint8)
    run.history["test_accuracy"] = [float(a) for a in (predicted == y_test).mean(axis=1)]
    stored = {v.path.split("/", 1)[1]: v.numpy().astype(np.float16) for v in model.weights}
    for variable in model.weights:
        variable.assign(stored[variable.path.split("/", 1)[1]].astype(np.float32))
    test = evaluate(model, x_test, y_test)
    weights_file, record_file, epochs_file = _paths(name, directory)
    np.savez_compressed(weights_file, **stored)
    np.savez_compressed(epochs_file, predicted=predicted, confidence=confidence)
    result = {
        "recipe": recipe.source, "epochs": recipe.epochs, "batch_size": recipe.batch_size,
        "validation_split": recipe.validation_split, "seed": recipe.seed,
        "history": run.history, "epoch_seconds": run.epoch_seconds, "test": test,
        "seconds": seconds,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
    }
    record_file.write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnlab.zoo [names...]``: reproduce the named models (all by default)."""
    names = (argv if argv is not None else sys.argv[1:]) or list(RECIPES)
    for name in names:
        recipe = _recipe(name)
        print(f"Training {name}: {recipe.source}.", flush=True)
        result = reproduce(name)
        print(f"{name}: test accuracy {result['test']['accuracy']:.4f}, macro F1 "
              f"{result['test']['macro_f1']:.4f}, {result['seconds'] / 60:.1f} min.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
