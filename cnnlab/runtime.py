"""The kernel's TensorFlow, started without its start-up log lines.

TensorFlow 2.21 writes C++ log lines to the process's standard error while it
starts, before its own log level (``TF_CPP_MIN_LOG_LEVEL``) applies: with
oneDNN on, as on every x86-64 Linux machine by default, "oneDNN custom
operations are on ...". A Jupyter kernel forwards that stream into the page,
so the line would sit under a chapter's first cell, on the website too, with
a time stamp that differs from run to run. Each chapter therefore starts
TensorFlow through :func:`quiet_tensorflow` first.
"""

from __future__ import annotations

import os
import sys


def quiet_tensorflow() -> None:
    """Import TensorFlow with its start-up log lines kept out of the output.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` to 3 (only fatal errors) unless it is set
    already, and imports TensorFlow while the process's standard error (file
    descriptor 2, which C++ writes to) points at the null device. Python's
    own exceptions are not affected: a failed import still raises. Once
    TensorFlow is imported, calling this again does nothing.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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
