"""The learning process watched with Grad-CAM (Sakai & Takenaka, JSAI 2019).

The paper trains its Table 1 network (:func:`cnnlab.models.sakai2019_cnn`) on
10,000 training digits drawn at random for every epoch, batch 100, dropout 0.5
in the fully connected part, and after every epoch draws the Grad-CAM map of
one test digit of each class twice: from the class score y^c after the output
units' sigmoid (the usual way, its eqs. 1-3) and from the value x^c before it
(its fix, eq. 4). The usual maps go empty once the score saturates at 1.

That training takes minutes, too long for a notebook run, so
:func:`reproduce` (``make reproduce``) runs it once and stores what a chapter
needs (the maps of every epoch, both ways; the probabilities of the watched
digits; the test accuracy), and :func:`record` reads it back in milliseconds.
The maps are stored normalised by eq. (7.3) to 8 bits, with each raw map's
minimum and maximum in float32, so an empty map (maximum exactly 0, or below
any threshold you choose) is still told apart exactly.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from cnnlab.zoo import WEIGHTS_DIR

NAME = "sakai2019_learning"
LAYER = "conv2"  # the last convolution, as Grad-CAM uses it
# The usual way differentiates the score y^c after the output units' sigmoid;
# the fix of eq. 4 differentiates the value x^c before it.
SCORES = ("sigmoid", "logit")
RECIPE = {
    "epochs": 100, "batch_size": 100, "images_per_epoch": 10_000, "seed": 0,
    "optimizer": "Adam, learning rate 1e-3 (the paper does not name one)",
    "source": "Sakai & Takenaka (JSAI 2019), section 4: the Table 1 network, batch 100, "
              "dropout 0.5 in the fully connected part only, 10,000 random training "
              "images per epoch, 100 epochs",
}


def watched_digits(labels: np.ndarray) -> np.ndarray:
    """The first test digit of each class, 0 to 9: the digits whose maps are watched.

    Parameters
    ----------
    labels : ndarray, shape (N,), int in 0..9
        Every class must occur.

    Returns
    -------
    ndarray, shape (10,), int64
        Index of the first digit of class c, for c = 0..9.

    Raises
    ------
    ValueError
        If a class is missing, or for bad labels.
    """
    from cnnlab.checks import check_labels

    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}.")
    labels = check_labels(labels, labels.shape[0])
    missing = sorted(set(range(10)) - set(labels.tolist()))
    if missing:
        raise ValueError(f"labels must contain every class 0..9; missing {missing}.")
    return np.array([int(np.argmax(labels == c)) for c in range(10)], dtype=np.int64)


def _paths(directory: Path) -> tuple[Path, Path]:
    return directory / f"{NAME}.npz", directory / f"{NAME}.json"


def reproduce(directory: str | Path | None = None, epochs: int | None = None,
              verbose: int = 2) -> dict:
    """Run the paper's training and store the maps of every epoch.

    Parameters
    ----------
    directory : path, optional
        Where to write; the package's own ``weights`` folder by default.
    epochs : int, optional
        The recipe's 100 by default (fewer for a quick look).
    verbose : int, default 2
        Keras' progress, one line per epoch.

    Returns
    -------
    dict
        The JSON part of the record (see :func:`record`).

    Raises
    ------
    TypeError, ValueError
        For ``epochs`` that is not a positive int.
    """
    import keras
    import tensorflow as tf

    from cnnlab import models
    from cnnlab.checks import check_int
    from cnnlab.data import load_mnist
    from cnnlab.explain.gradcam import grad_cam, normalize_heatmaps
    from cnnlab.repro import set_seed
    from cnnlab.training import train

    epochs = RECIPE["epochs"] if epochs is None else check_int("epochs", epochs, 1)
    directory = Path(directory) if directory else WEIGHTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = load_mnist()
    digits = watched_digits(y_test)
    watched, classes = x_test[digits], y_test[digits]

    def monitor(model):
        probabilities = model.predict(x_test, batch_size=1000, verbose=0)
        scores = keras.Model(model.inputs[0], model.get_layer("scores").output)
        return {"maps": np.stack([grad_cam(model, watched, LAYER, classes, score=s)
                                  for s in SCORES]),
                "probabilities": probabilities[digits],
                "sigmoid": keras.ops.convert_to_numpy(scores(watched, training=False)),
                "test_accuracy": float((probabilities.argmax(axis=1) == y_test).mean())}

    set_seed(RECIPE["seed"])
    start = time.perf_counter()
    run = train(models.sakai2019_cnn(), x_train, y_train,
                optimizer=keras.optimizers.Adam(learning_rate=1e-3), epochs=epochs,
                batch_size=RECIPE["batch_size"], images_per_epoch=RECIPE["images_per_epoch"],
                seed=RECIPE["seed"], monitor=monitor, verbose=verbose)
    seconds = time.perf_counter() - start
    maps = np.stack([m["maps"] for m in run.monitored], axis=1)  # (score, epoch, class, h, w)
    low, high = maps.min(axis=(-2, -1)), maps.max(axis=(-2, -1))
    flat = maps.reshape(-1, *maps.shape[-2:])
    scaled = np.rint(normalize_heatmaps(flat) * 255).astype(np.uint8).reshape(maps.shape)
    npz, meta = _paths(directory)
    np.savez_compressed(
        npz, digits=digits, maps=scaled, map_min=low.astype(np.float32),
        map_max=high.astype(np.float32),
        probabilities=np.stack([m["probabilities"] for m in run.monitored]).astype(np.float32),
        sigmoid=np.stack([m["sigmoid"] for m in run.monitored]).astype(np.float32))
    result = {
        "recipe": {**RECIPE, "epochs": epochs}, "layer": LAYER, "scores": list(SCORES),
        "history": {**run.history,
                    "test_accuracy": [m["test_accuracy"] for m in run.monitored]},
        "epoch_seconds": run.epoch_seconds, "seconds": seconds,
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
    }
    meta.write_text(json.dumps(result, indent=1))
    return result


def record(directory: str | Path | None = None) -> dict:
    """The stored learning process.

    Parameters
    ----------
    directory : path, optional
        Where :func:`reproduce` wrote it; the package's ``weights`` folder by default.

    Returns
    -------
    dict
        The JSON part ('recipe', 'layer', 'scores', 'history' with per-epoch
        'loss', 'accuracy' and 'test_accuracy', 'epoch_seconds', 'seconds',
        'versions') and the arrays:

        - 'digits', shape (10,): test indices of the watched digits, one per class;
        - 'maps', shape (2, epochs, 10, h, w), float32 in [0, 1]: the Grad-CAM
          maps normalised by eq. (7.3), first from the score after the sigmoid
          (the usual way), then from the value before it (eq. 7.4); an empty
          map is all zero;
        - 'map_max', shape (2, epochs, 10), float32: each raw map's maximum
          (0 for an empty map); 'map_min' likewise;
        - 'probabilities', shape (epochs, 10, 10): the watched digits' outputs
          (after the softmax layer);
        - 'sigmoid', shape (epochs, 10, 10): their scores y after the output
          units' sigmoid, before the softmax layer.

    Raises
    ------
    FileNotFoundError
        If the record is missing (run ``make reproduce``).
    """
    npz, meta = _paths(Path(directory) if directory else WEIGHTS_DIR)
    if not npz.is_file() or not meta.is_file():
        raise FileNotFoundError(f"no learning-process record at {npz}: run 'make reproduce'.")
    result = json.loads(meta.read_text())
    with np.load(npz, allow_pickle=False) as stored:
        result.update({key: stored[key] for key in stored.files})
    result["maps"] = result["maps"].astype(np.float32) / 255
    return result


def empty_maps(map_max: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Which Grad-CAM maps are empty: nothing above ``threshold`` after the ReLU.

    Parameters
    ----------
    map_max : ndarray
        The largest value of each raw map (``record()['map_max']``, or
        ``grad_cam(...).max(axis=(1, 2))``).
    threshold : float, default 0.0
        A map whose largest value is at most this is empty. 0 asks for maps
        that are exactly zero: eq. (7.3) cannot even be applied to them.

    Returns
    -------
    ndarray of bool, the shape of ``map_max``

    Raises
    ------
    ValueError
        For a negative or non-finite threshold, or NaN in ``map_max``.
    """
    map_max = np.asarray(map_max)
    if map_max.dtype.kind not in "fiu":
        raise TypeError(f"map_max must be numeric, got dtype {map_max.dtype}.")
    if np.isnan(map_max).any():
        raise ValueError("map_max must not contain NaN.")
    if not isinstance(threshold, (int, float, np.integer, np.floating)):
        raise TypeError(f"threshold must be a number, got {type(threshold).__name__}.")
    if isinstance(threshold, bool) or not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite number >= 0, got {threshold!r}.")
    return map_max <= threshold


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnlab.learning [epochs]``: run and store the learning process."""
    args = argv if argv is not None else sys.argv[1:]
    if args and not args[0].isdigit():
        print(f"usage: python -m cnnlab.learning [epochs]; epochs must be a positive "
              f"integer, got {args[0]!r}.", file=sys.stderr)
        return 2
    epochs = int(args[0]) if args else None
    print(f"Training {NAME}: {RECIPE['source']}; {RECIPE['optimizer']}.", flush=True)
    result = reproduce(epochs=epochs)
    print(f"{NAME}: final test accuracy {result['history']['test_accuracy'][-1]:.4f}, "
          f"{result['seconds'] / 60:.1f} min.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
