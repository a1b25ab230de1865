"""Shared setup: quiet TensorFlow, headless matplotlib, figures closed after every test,
and the tiny models that the unit tests explain (one place, built once per session)."""

import os
import shutil

import matplotlib
import numpy as np
import pytest

# The tests directory is on the import path (pytest puts a root conftest's folder there).
from tiny_models import tiny_dense_cnn, tiny_gap_cnn, tiny_sigmoid_softmax_cnn

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")   # the book's default (README)
os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every pyplot figure a test leaves open."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def restore_global_state(monkeypatch):
    """Undo what set_seed does to the process: environment variables, op determinism."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    monkeypatch.delenv("TF_DETERMINISTIC_OPS", raising=False)
    from tensorflow.python.framework import config as tf_config

    was_deterministic = tf_config.is_op_determinism_enabled()
    yield
    if not was_deterministic:
        tf_config.disable_op_determinism()


@pytest.fixture(scope="session")
def gap_model():
    """:func:`tiny_gap_cnn`, shared: the explainers never change the model they are given."""
    return tiny_gap_cnn()


@pytest.fixture(scope="session")
def dense_model():
    """:func:`tiny_dense_cnn`, shared."""
    return tiny_dense_cnn()


@pytest.fixture(scope="session")
def sigmoid_softmax_model():
    """:func:`tiny_sigmoid_softmax_cnn`, shared."""
    return tiny_sigmoid_softmax_cnn()


@pytest.fixture
def rng():
    """A seeded numpy Generator for tiny synthetic inputs."""
    return np.random.default_rng(12345)


CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright.

    A missing browser is a skip that says what to install, except under CI
    (``CI=true``), where it fails: CI must check the site.
    """
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        message = ("Debian's chromium is not installed, so the site was not checked in a "
                   "browser: install it with 'apt-get install chromium' (make test does this "
                   "when run as root).")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
