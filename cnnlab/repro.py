"""Reproducibility: one call that makes a notebook give the same numbers again.

Stored notebook outputs are the book's record, and strict validation re-runs
every chapter and compares. That needs every source of randomness seeded and
TensorFlow's kernels made deterministic (some CPU kernels otherwise sum in an
order that depends on thread scheduling).
"""

from __future__ import annotations

import os

import numpy as np


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
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}.")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}.")
    seed = int(seed)
    # Read by TensorFlow when it starts, for processes that import it later.
    os.environ["PYTHONHASHSEED"] = str(seed)
    os.environ["TF_DETERMINISTIC_OPS"] = "1"
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # Python's random, numpy's global seed, TF's
    tf.config.experimental.enable_op_determinism()
    return np.random.default_rng(seed)
