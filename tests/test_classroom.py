"""The pure helpers of deploy/classroom.py (`make classroom`); no hub is started here."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
# deploy/ is not a package: load the script by path (registered, as dataclasses need).
_spec = importlib.util.spec_from_file_location("classroom", REPO / "deploy" / "classroom.py")
classroom = sys.modules.setdefault("classroom", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(classroom)

# A /proc/<pid>/stat line whose command name holds a space and a parenthesis.
STAT = ("4242 (python (x) y) S 17 4242 4242 0 -1 4194304 1000 0 0 0 "
        "250 31 0 0 20 0 9 0 123456 1000000 300 18446744073709551615 0 0 0 0")


@pytest.mark.parametrize(("count", "expected"), [
    (1, ["student01"]),
    (3, ["student01", "student02", "student03"]),
    (100, None),
])
def test_student_names(count, expected):
    names = classroom.student_names(count)
    assert len(names) == len(set(names)) == count
    assert names == sorted(names)
    if expected is not None:
        assert names == expected
    else:
        assert names[0] == "student001" and names[-1] == "student100"


@pytest.mark.parametrize(("count", "error", "match"), [
    (0, ValueError, "count must be at least 1, got 0"),
    (-2, ValueError, "at least 1"),
    (2.0, TypeError, "count must be an int, got float"),
    (True, TypeError, "count must be an int, got bool"),
    ("6", TypeError, "got str"),
])
def test_student_names_bad_input(count, error, match):
    with pytest.raises(error, match=match):
        classroom.student_names(count)


def test_code_cells_matches_nbformat_on_the_chapter():
    path = REPO / "notebooks" / "01_convolution.ipynb"
    expected = [c.source for c in nbformat.read(path, as_version=4).cells
                if c.cell_type == "code" and c.source.strip()]
    assert classroom.code_cells(json.loads(path.read_text())) == expected
    assert len(expected) > 10


def test_code_cells_joins_lines_and_skips_empty_and_text_cells():
    notebook = {"cells": [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": ["a = 1\n", "b = 2"]},
        {"cell_type": "code", "source": "  \n"},
        {"cell_type": "raw", "source": "x"},
        {"cell_type": "code", "source": "print(a)"},
    ]}
    assert classroom.code_cells(notebook) == ["a = 1\nb = 2", "print(a)"]


@pytest.mark.parametrize(("notebook", "error", "match"), [
    ([], TypeError, "notebook must be a dict"),
    ("{}", TypeError, "notebook must be a dict"),
    ({}, ValueError, "must have a 'cells' list, got NoneType"),
    ({"cells": {}}, ValueError, "got dict"),
])
def test_code_cells_bad_input(notebook, error, match):
    with pytest.raises(error, match=match):
        classroom.code_cells(notebook)


def test_rss_bytes_agrees_with_ps_for_this_process():
    status = Path(f"/proc/{os.getpid()}/status").read_text()
    # ps reports RSS in KiB; the two reads are moments apart, so allow a little drift.
    ps = int(subprocess.run(["ps", "-o", "rss=", "-p", str(os.getpid())],
                            capture_output=True, text=True, check=True).stdout)
    assert abs(classroom.rss_bytes(status) - ps * 1024) < 16 * 2**20


@pytest.mark.parametrize(("status", "expected"), [
    ("Name:\tpython\nVmRSS:\t   2048 kB\nThreads:\t3\n", 2048 * 1024),
    ("Name:\tkthreadd\nThreads:\t1\n", 0),
    ("", 0),
])
def test_rss_bytes(status, expected):
    assert classroom.rss_bytes(status) == expected


@pytest.mark.parametrize(("status", "error", "match"), [
    (b"VmRSS: 1 kB", TypeError, "status must be a str, got bytes"),
    ("VmRSS:\t12 MB\n", ValueError, "malformed VmRSS line"),
    ("VmRSS:\n", ValueError, "malformed VmRSS line"),
])
def test_rss_bytes_bad_input(status, error, match):
    with pytest.raises(error, match=match):
        classroom.rss_bytes(status)


def test_stat_fields_counts_from_the_last_parenthesis():
    assert classroom.stat_fields(STAT) == (17, 250 + 31, 123456)


def test_stat_fields_of_this_process():
    ppid, ticks, start = classroom.stat_fields(Path(f"/proc/{os.getpid()}/stat").read_text())
    assert ppid == os.getppid()
    assert ticks >= 0 and start > 0


@pytest.mark.parametrize(("stat", "error", "match"), [
    (None, TypeError, "stat must be a str, got NoneType"),
    ("4242 python S 17", ValueError, "not a /proc/<pid>/stat line"),
    ("4242 (python) S 17", ValueError, "not a /proc/<pid>/stat line"),
    (STAT.replace(" 250 ", " x "), ValueError, "non-numeric"),
])
def test_stat_fields_bad_input(stat, error, match):
    with pytest.raises(error, match=match):
        classroom.stat_fields(stat)


@pytest.mark.parametrize(("root", "expected"), [
    (1, {1, 10, 11, 20, 21, 30}),
    (10, {10, 20, 21, 30}),
    (21, {21, 30}),
    (11, {11}),
    (99, set()),
])
def test_descendants(root, expected):
    parents = {1: 0, 10: 1, 11: 1, 20: 10, 21: 10, 30: 21, 40: 5}
    assert classroom.descendants(parents, root) == expected


def test_descendants_of_a_real_child():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        parents = {}
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                parents[int(entry)] = classroom.stat_fields(
                    Path(f"/proc/{entry}/stat").read_text())[0]
            except (FileNotFoundError, ProcessLookupError):  # ended meanwhile
                continue
        assert child.pid in classroom.descendants(parents, os.getpid())
        assert os.getpid() not in classroom.descendants(parents, child.pid)
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize(("parents", "root", "error", "match"), [
    ([(1, 0)], 1, TypeError, "parents must be a dict"),
    ({1: 0}, "1", TypeError, "root must be an int pid, got str"),
    ({1: 0}, True, TypeError, "root must be an int pid, got bool"),
])
def test_descendants_bad_input(parents, root, error, match):
    with pytest.raises(error, match=match):
        classroom.descendants(parents, root)


@pytest.mark.parametrize(("kernel_id", "expected"), [
    ("abc-1", 300),
    ("abc", None),  # a prefix of another kernel's id is not that kernel
    ("def-2", None),
])
def test_kernel_pid(kernel_id, expected):
    cmdlines = {
        100: "python -m jupyterhub",
        300: "python -m ipykernel_launcher -f /run/jupyter/kernel-abc-1.json",
        301: "python -m ipykernel_launcher -f /run/jupyter/kernel-abc-1.json",
        400: "python -m ipykernel_launcher -f /run/jupyter/kernel-abc-10.json",
    }
    assert classroom.kernel_pid(cmdlines, kernel_id) == expected


@pytest.mark.parametrize(("cmdlines", "kernel_id", "error", "match"), [
    ([], "k", TypeError, "cmdlines must be a dict"),
    ({}, "", ValueError, "kernel_id must be a non-empty str, got ''"),
    ({}, None, ValueError, "kernel_id must be a non-empty str, got None"),
])
def test_kernel_pid_bad_input(cmdlines, kernel_id, error, match):
    with pytest.raises(error, match=match):
        classroom.kernel_pid(cmdlines, kernel_id)


def test_cpu_ticks():
    text = "cpu  100 5 20 800 30 1 2 3 7 0\ncpu0 50 2 10 400 15 0 1 1 0 0\nintr 1\n"
    # guest (7) is already inside user: not added again; idle and iowait are idle.
    assert classroom.cpu_ticks(text) == (100 + 5 + 20 + 1 + 2 + 3, 961)


def test_cpu_ticks_of_this_machine_grow():
    before = classroom.cpu_ticks(Path("/proc/stat").read_text())
    sum(i * i for i in range(2_000_000))
    after = classroom.cpu_ticks(Path("/proc/stat").read_text())
    assert after[0] > before[0] and after[1] > before[1]
    assert 0 <= before[0] <= before[1]


@pytest.mark.parametrize(("text", "error", "match"), [
    (b"cpu 1 2 3 4 5", TypeError, "proc_stat must be a str, got bytes"),
    ("intr 1\n", ValueError, "no 'cpu' line"),
    ("cpu 1 2 x 4 5 6\n", ValueError, "malformed cpu line"),
    ("cpu 1 2\n", ValueError, "malformed cpu line"),
])
def test_cpu_ticks_bad_input(text, error, match):
    with pytest.raises(error, match=match):
        classroom.cpu_ticks(text)


SUMMARY = {"total_s": 321.4, "kernels_peak": 7.5e9, "hub_peak": 8.2e9, "cpu_busy": 0.97,
           "cpu_others": 0.1, "load_before": 0.5, "load_after": 6.0, "cores": 2,
           "mem_available_min": 12.3e9}


def test_report():
    students = [
        classroom.Student("student01", ready_s=12.2, chapter_s=250.6, cells_run=27,
                          peak_kernel_rss=1.31e9),
        classroom.Student("student02", ready_s=13.0, chapter_s=40.0, cells_run=5,
                          peak_kernel_rss=1.0e9, failures=["cell 5: NameError: x"]),
        classroom.Student("student03", failures=["no server after 300 s"]),
    ]
    text = classroom.report(students, 27, SUMMARY)
    rows = text.splitlines()
    assert rows[1].split() == ["student01", "12", "s", "251", "s", "27/27", "1.31", "GB", "none"]
    assert rows[2].endswith("cell 5: NameError: x") and "5/27" in rows[2]
    assert rows[3].split()[:4] == ["student03", "-", "-", "0/27"]
    assert "total: 321 s for 3 students (chapter 40-251 s)" in text
    assert "failures: 2 of 3 students" in text
    assert ("largest 1.31 GB, sum of each student's peak 2.31 GB, "
            "all kernels at once 7.50 GB") in text
    assert "2 cores, 97% busy" in text and "10% by processes outside" in text


@pytest.mark.parametrize(("students", "summary", "error", "match"), [
    ([], SUMMARY, ValueError, "students must not be empty"),
    (["student01"], SUMMARY, TypeError, "list of Student"),
    ([classroom.Student("a")], {"total_s": 1.0}, ValueError, "summary lacks kernels_peak"),
])
def test_report_bad_input(students, summary, error, match):
    with pytest.raises(error, match=match):
        classroom.report(students, 1, summary)
