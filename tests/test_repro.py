"""Tests for cnnlab.repro: one seed reproduces Python, numpy and Keras randomness."""

import os
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlab import repro

# set_seed writes environment variables and switches on op determinism: undo both.
pytestmark = pytest.mark.usefixtures("restore_global_state")


def _draws():
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    return {
        "numpy": np.random.rand(5),  # noqa: NPY002 (the global state set_seed seeds)
        "python": [random.random() for _ in range(5)],
        "keras": keras.ops.convert_to_numpy(keras.random.normal((5,))),
        "dense": layer.get_weights()[0],
        "tf": tf.random.uniform((5,)).numpy(),
    }


def test_same_seed_reproduces_every_source():
    repro.set_seed(3)
    first = _draws()
    repro.set_seed(3)
    again = _draws()
    for source in first:
        np.testing.assert_array_equal(again[source], first[source], err_msg=source)


def test_other_seed_changes_every_source():
    repro.set_seed(3)
    first = _draws()
    repro.set_seed(4)
    other = _draws()
    for source in first:
        assert not np.array_equal(other[source], first[source]), source


def test_returned_generator_is_seeded():
    draw = repro.set_seed(3).random(4)
    np.testing.assert_array_equal(repro.set_seed(3).random(4), draw)
    np.testing.assert_array_equal(np.random.default_rng(3).random(4), draw)
    assert not np.array_equal(repro.set_seed(4).random(4), draw)
    assert isinstance(repro.set_seed(0), np.random.Generator)


def test_set_seed_configures_determinism():
    repro.set_seed(7)
    assert os.environ["PYTHONHASHSEED"] == "7"
    assert os.environ["TF_DETERMINISTIC_OPS"] == "1"
    from tensorflow.python.framework import config as tf_config

    assert tf_config.is_op_determinism_enabled()


@pytest.mark.parametrize("seed", [0, 2**32 - 1, np.int64(5), np.uint32(9)],
                         ids=["zero", "largest", "np-int64", "np-uint32"])
def test_set_seed_accepts_the_whole_range(seed):
    draw = repro.set_seed(seed).integers(0, 2**31, 3)
    np.testing.assert_array_equal(np.random.default_rng(int(seed)).integers(0, 2**31, 3), draw)
    assert os.environ["PYTHONHASHSEED"] == str(int(seed))


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (-1, ValueError, r"seed must be in \[0, 2\*\*32\), got -1"),
        (2**32, ValueError, r"seed must be in \[0, 2\*\*32\), got 4294967296"),
        (1.5, TypeError, r"seed must be an int, got float"),
        (True, TypeError, r"seed must be an int, got bool"),
        ("3", TypeError, r"seed must be an int, got str"),
        (None, TypeError, r"seed must be an int, got NoneType"),
    ],
    ids=["negative", "too-large", "float", "bool", "str", "none"],
)
def test_set_seed_rejects_bad_input(seed, error, match):
    with pytest.raises(error, match=match):
        repro.set_seed(seed)
    assert "PYTHONHASHSEED" not in os.environ
