"""Measure the time and the extra memory of one call.

The chapters print what their code costs; these numbers are measured in the
same run as the figures they are compared with (the machine is shared, so
only ratios measured together mean much).
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measurement:
    """What one call cost.

    Attributes
    ----------
    result : object
        What the call returned.
    seconds : float
        Wall-clock time of the call.
    peak_bytes : int or None
        Peak of the memory allocated during the call and traced by Python's
        ``tracemalloc`` (numpy's arrays are traced; TensorFlow's buffers are
        not), or None when not traced.
    """

    result: Any
    seconds: float
    peak_bytes: int | None


def measure(fn: Callable[..., Any], *args: Any, trace_memory: bool = True,
            **kwargs: Any) -> Measurement:
    """Call ``fn(*args, **kwargs)`` once and measure its time and peak memory.

    Parameters
    ----------
    fn : callable
    *args, **kwargs
        Passed to ``fn``.
    trace_memory : bool, default True
        Trace allocations (slows pure-Python code down a little; turn it off to
        time a loop).

    Returns
    -------
    Measurement

    Raises
    ------
    TypeError
        If ``fn`` is not callable.
    RuntimeError
        If memory tracing is already running (nested measurements would mix).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}.")
    if trace_memory and tracemalloc.is_tracing():
        raise RuntimeError("tracemalloc is already tracing; measurements cannot nest.")
    if trace_memory:
        tracemalloc.start()
    start = time.perf_counter()
    try:
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
    finally:
        if trace_memory:
            tracemalloc.stop()
    return Measurement(result=result, seconds=seconds, peak_bytes=peak)
