"""Binder's files: ``start`` names the MNIST folder that ``postBuild`` fills at build time.

repo2docker runs ``postBuild`` once, when it builds the image, and ``start``
before every session; both run here with a stand-in for the conda environment
that repo2docker names in ``NB_PYTHON_PREFIX``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRINT_DATA_DIR = [sys.executable, "-c", "import os; print(os.environ['CNNLAB_DATA_DIR'])"]


def _start(env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "start"), *command], capture_output=True, text=True,
                          env=env, check=False, cwd=ROOT)


def test_start_points_sessions_at_the_image_copy_and_runs_the_command(tmp_path):
    env = {**os.environ, "NB_PYTHON_PREFIX": str(tmp_path)}
    env.pop("CNNLAB_DATA_DIR", None)
    result = _start(env, *PRINT_DATA_DIR)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "share" / "cnnlab")
    # exec "$@": the command's exit status is start's.
    assert _start(env, sys.executable, "-c", "raise SystemExit(3)").returncode == 3


def test_start_needs_repo2dockers_prefix():
    env = {key: value for key, value in os.environ.items() if key != "NB_PYTHON_PREFIX"}
    result = _start(env, *PRINT_DATA_DIR)
    assert result.returncode != 0
    assert "repo2docker sets NB_PYTHON_PREFIX" in result.stderr


@pytest.mark.parametrize("script", ["start", "postBuild"])
def test_binder_scripts_are_executable_and_stop_on_errors(script):
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} must be executable (repo2docker runs it)"
    text = path.read_text()
    assert text.startswith("#!/bin/bash\n")
    if script == "postBuild":  # repo2docker does not stop a build on a failed command
        assert "\nset -euo pipefail\n" in text
        assert "\n./start python -m cnnlab.data\n" in text
    else:
        assert text.rstrip().endswith('exec "$@"')  # repo2docker's rule for start
