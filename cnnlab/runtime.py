"""TensorFlow's run-time settings: seeds and determinism, a quiet start.

Seeds: stored notebook outputs are the book's record, and strict validation
re-runs every chapter and compares. That needs every source of randomness
seeded and TensorFlow's kernels made deterministic (some CPU kernels
otherwise sum in an order that depends on thread scheduling): :func:`set_seed`.

A quiet start:

TensorFlow 2.21 writes C++ log lines to the process's standard error while it
starts, before its own log level (``TF_CPP_MIN_LOG_LEVEL``) applies: with
oneDNN on, as on every x86-64 Linux machine by default, "oneDNN custom
operations are on ...". A Jupyter kernel forwards that stream into the page,
so the line would sit under a chapter's first cell, on the website too, with
a time stamp that differs from run to run. Each chapter therefore starts
TensorFlow through :func:`quiet_tensorflow` first.

TensorFlow reads that level once, as it starts, and a level below 3 lets
C++ lines through for as long as the kernel runs. ``model.predict`` with op
determinism on (:func:`set_seed`) sets one off: tf.data rewrites Keras'
parallel map into a sequential one for determinism, keeps an attribute that
the sequential op lacks, and logs "E0000 ... NodeDef mentions attribute
use_unbounded_threadpool which is not in the op definition" (TF 2.21),
harmless and no fault of the chapter's (chapter 7 would show it three
times). A kernel's environment may hold a lower level, and an empty value
counts as 0, so :func:`quiet_tensorflow` raises the level to 3 whatever was
set before. TensorFlow's errors still arrive as Python exceptions carrying its
message.

It also keeps one Python warning out: "N out of the last M calls to
<function TensorFlowTrainer.make_predict_function.<locals>.one_step_on_data_distributed
at 0x...> triggered tf.function retracing". ``model.predict`` compiles one
function per model, and TensorFlow counts the traces of all of them together
(they share their code), so a chapter that predicts with several models (the
snapshots of a training, a model and its randomised copies, the sub-models
that read out a layer) is warned about "creating @tf.function repeatedly in a
loop": the traces are needed, one per model, and the warning is no fault of
the chapter's, but it would land in the page with an address that differs
from run to run. Other TensorFlow warnings still show.
"""

from __future__ import annotations

import logging
import os
import sys

import numpy as np

from cnnlab.checks import check_int


class _NoRetracingWarning(logging.Filter):
    """Drops tf.function's retracing warning from the 'tensorflow' logger, nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


_NO_RETRACING_WARNING = _NoRetracingWarning()


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up log lines kept out of the output.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` to 3 (only fatal errors) when it is unset,
    empty or lower (see the module's notes), and imports TensorFlow while the
    process's standard error (file descriptor 2, which C++ writes to) points
    at the null device. Python's own exceptions are not affected: a failed
    import still raises. Once TensorFlow is imported, calling this again
    imports and sets nothing; so to see TensorFlow's C++ log lines, import
    TensorFlow before calling this.

    Also drops TensorFlow's "triggered tf.function retracing" warning, which
    predicting with several models sets off (see the module's notes); its
    other warnings still show.
    """
    # logging.getLogger gives TensorFlow's own logger whether or not it has started;
    # addFilter adds the filter once, however often this is called.
    logging.getLogger("tensorflow").addFilter(_NO_RETRACING_WARNING)
    if "tensorflow" in sys.modules:
        return
    # Raised, not only defaulted: a level set lower before, or set empty (which counts as
    # 0), would let tf.data's determinism rewrite log into the chapters' pages.
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "")
    if not (level.isdigit() and int(level) >= 3):
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def set_seed(seed: int = 0) -> np.random.Generator:
    """Seed Python, numpy and TensorFlow, and make TensorFlow ops deterministic.

    Parameters
    ----------
    seed : int, default 0
        Non-negative seed, below 2**32.

    Returns
    -------
    numpy.random.Generator
        A generator seeded with ``seed``, for the caller's own sampling.

    Raises
    ------
    TypeError
        If ``seed`` is not an int.
    ValueError
        If ``seed`` is negative or not below 2**32.
    """
    seed = check_int("seed", seed, 0)
    if seed >= 2**32:   # numpy's legacy global seed takes 32 bits
        raise ValueError(f"seed must be below 2**32, got {seed}.")
    # Read by TensorFlow when it starts, for processes that import it later.
    os.environ["PYTHONHASHSEED"] = str(seed)
    os.environ["TF_DETERMINISTIC_OPS"] = "1"
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # Python's random, numpy's global seed, TF's
    tf.config.experimental.enable_op_determinism()
    return np.random.default_rng(seed)
