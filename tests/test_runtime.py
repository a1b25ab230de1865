"""Tests for cnnlab.runtime: one seed reproduces every source of randomness; TensorFlow
starts without writing to standard error."""

import logging
import os
import platform
import random
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlab.runtime import quiet_tensorflow, set_seed


def _start(code):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env["TF_ENABLE_ONEDNN_OPTS"] = "1"       # the default on x86-64 Linux, which logs
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300, check=True)


@pytest.mark.skipif(sys.platform != "linux" or platform.machine() != "x86_64",
                    reason="oneDNN's start-up line is Linux x86-64's")
def test_tensorflow_starts_quietly_and_loudly_without_it():
    loud = _start("import tensorflow")
    quiet = _start("from cnnlab.runtime import quiet_tensorflow\n"
                   "quiet_tensorflow()\n"
                   "import tensorflow as tf\n"
                   "print(tf.constant(2.0).numpy() * 3)\n"
                   "import sys; print('still writes', file=sys.stderr)")
    assert "oneDNN custom operations are on" in loud.stderr     # what is kept out
    assert quiet.stdout.strip() == "6.0"
    assert quiet.stderr.strip() == "still writes"               # stderr is given back


# With op determinism on, as set_seed sets it, model.predict makes tf.data log a C++
# line (TF 2.21): "E0000 ... NodeDef mentions attribute use_unbounded_threadpool ...".
_PREDICT = """
import keras
import numpy as np
from cnnlab.runtime import set_seed
set_seed(0)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.predict(np.zeros((2, 3), np.float32), verbose=0)
"""


def _without_variables(level):
    """Python as a hub, Binder or Colab kernel runs it: none of the Makefile's variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TF_") and k != "PYTHONHASHSEED"}
    if level is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = level
    return env


@pytest.mark.parametrize("level", [None, "", "0"], ids=["unset", "empty", "0"])
def test_predicting_leaves_standard_error_empty_whatever_level_was_set(level):
    quiet = subprocess.run(
        [sys.executable, "-c", "from cnnlab.runtime import quiet_tensorflow\n"
                               "quiet_tensorflow()\n" + _PREDICT],
        env=_without_variables(level), capture_output=True, text=True, timeout=300,
        check=True)
    assert quiet.stderr == ""


def test_the_predict_line_shows_when_tensorflow_started_first():
    # What the level keeps out still happens, and a reader who starts TensorFlow first
    # (to read its C++ log) still gets it: quiet_tensorflow then changes nothing.
    loud = subprocess.run(
        [sys.executable, "-c", "import tensorflow\n"
                               "from cnnlab.runtime import quiet_tensorflow\n"
                               "quiet_tensorflow()\n" + _PREDICT],
        env=_without_variables("0"), capture_output=True, text=True, timeout=300,
        check=True)
    assert "use_unbounded_threadpool" in loud.stderr, \
        "tf.data no longer logs this: the note on it in cnnlab/runtime.py can go"


class _Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"os.{name} used: standard error must be left alone")


def test_a_second_call_leaves_standard_error_alone(monkeypatch):
    import tensorflow  # noqa: F401  (started, as after a first call)

    from cnnlab import runtime

    monkeypatch.setattr(runtime, "os", _Untouchable())
    assert quiet_tensorflow() is None


class _Kept(logging.Handler):
    """Keeps the messages that reach it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def tensorflow_messages():
    """What reaches TensorFlow's logger from here on."""
    logger, kept = logging.getLogger("tensorflow"), _Kept()
    logger.addHandler(kept)
    yield kept.messages
    logger.removeHandler(kept)


def test_the_retracing_warning_is_dropped_and_other_warnings_kept(tensorflow_messages):
    from cnnlab import runtime

    quiet_tensorflow()
    quiet_tensorflow()          # a second call adds no second filter
    logger = logging.getLogger("tensorflow")
    assert logger.filters.count(runtime._NO_RETRACING_WARNING) == 1
    logger.warning("%d out of the last %d calls to %s triggered tf.function retracing. "
                   "Tracing is expensive.", 5, 5, "<function f at 0x1>")
    logger.warning("something else went wrong")
    assert tensorflow_messages == ["something else went wrong"]


# A new model each time, as a training's snapshots or a model's randomised copies are.
# In a fresh process: TensorFlow gives this warning at most twice per process.
_SEVERAL_MODELS = """
import keras
import numpy as np
for _ in range(8):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.predict(np.zeros((2, 3), np.float32), verbose=0)
"""


def test_predicting_with_several_models_warns_only_without_the_filter():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")

    def output(code):
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=300, check=True)
        return done.stdout + done.stderr

    loud = output(_SEVERAL_MODELS)
    quiet = output("from cnnlab.runtime import quiet_tensorflow\nquiet_tensorflow()\n"
                   + _SEVERAL_MODELS)
    assert "triggered tf.function retracing" in loud, "what the filter is for no longer happens"
    assert "triggered tf.function retracing" not in quiet
    assert "WARNING" not in quiet


# set_seed writes environment variables and switches on op determinism: each test
# that calls it undoes both (restore_global_state).
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


@pytest.mark.usefixtures("restore_global_state")
def test_same_seed_reproduces_every_source():
    set_seed(3)
    first = _draws()
    set_seed(3)
    again = _draws()
    for source in first:
        np.testing.assert_array_equal(again[source], first[source], err_msg=source)


@pytest.mark.usefixtures("restore_global_state")
def test_other_seed_changes_every_source():
    set_seed(3)
    first = _draws()
    set_seed(4)
    other = _draws()
    for source in first:
        assert not np.array_equal(other[source], first[source]), source


@pytest.mark.usefixtures("restore_global_state")
def test_returned_generator_is_seeded():
    draw = set_seed(3).random(4)
    np.testing.assert_array_equal(set_seed(3).random(4), draw)
    np.testing.assert_array_equal(np.random.default_rng(3).random(4), draw)
    assert not np.array_equal(set_seed(4).random(4), draw)
    assert isinstance(set_seed(0), np.random.Generator)


@pytest.mark.usefixtures("restore_global_state")
def test_set_seed_configures_determinism():
    set_seed(7)
    assert os.environ["PYTHONHASHSEED"] == "7"
    assert os.environ["TF_DETERMINISTIC_OPS"] == "1"
    from tensorflow.python.framework import config as tf_config

    assert tf_config.is_op_determinism_enabled()


@pytest.mark.parametrize("seed", [0, 2**32 - 1, np.int64(5), np.uint32(9)],
                         ids=["zero", "largest", "np-int64", "np-uint32"])
@pytest.mark.usefixtures("restore_global_state")
def test_set_seed_accepts_the_whole_range(seed):
    draw = set_seed(seed).integers(0, 2**31, 3)
    np.testing.assert_array_equal(np.random.default_rng(int(seed)).integers(0, 2**31, 3), draw)
    assert os.environ["PYTHONHASHSEED"] == str(int(seed))


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (-1, ValueError, r"^seed must be at least 0, got -1"),
        (2**32, ValueError, r"^seed must be below 2\*\*32, got 4294967296"),
        (1.5, TypeError, r"seed must be an int, got float"),
        (True, TypeError, r"seed must be an int, got bool"),
        ("3", TypeError, r"seed must be an int, got str"),
        (None, TypeError, r"seed must be an int, got NoneType"),
    ],
    ids=["negative", "too-large", "float", "bool", "str", "none"],
)
@pytest.mark.usefixtures("restore_global_state")   # PYTHONHASHSEED unset (make sets it)
def test_set_seed_rejects_bad_input(seed, error, match):
    with pytest.raises(error, match=match):
        set_seed(seed)
    assert "PYTHONHASHSEED" not in os.environ
