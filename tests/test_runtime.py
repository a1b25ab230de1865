"""Tests for cnnlab.runtime: TensorFlow starts without writing to standard error."""

import os
import platform
import subprocess
import sys

import pytest

from cnnlab.runtime import quiet_tensorflow


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


class _Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"os.{name} used: standard error must be left alone")


def test_a_second_call_leaves_standard_error_alone(monkeypatch):
    import tensorflow  # noqa: F401  (started, as after a first call)

    from cnnlab import runtime

    monkeypatch.setattr(runtime, "os", _Untouchable())
    assert quiet_tensorflow() is None
