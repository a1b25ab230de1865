"""A classroom on one machine: a real JupyterHub and N simulated students running a chapter.

`make classroom N=6` runs this. It starts JupyterHub (with deploy/jupyterhub_config.py and the
test's layer deploy/classroom_config.py) and configurable-http-proxy on localhost. A
"lecturer" service adds the students; each student logs in through the Hub's API with the
class password, starts a server, opens the chapter (their own copy, placed in their home by
the hub) and runs its code cells one after another over the kernel's websocket, all through
the hub's proxy with the student's own token: what a room of students pressing Shift-Enter
does. Meanwhile /proc is sampled for each student's kernel and for everything the hub started.

The report: per student, the time to a running server, the chapter's time, the kernel's peak
RSS and the failures (a failed start, a cell that raised, a time-out); then the total time,
the peak memory of all kernels together and of the whole hub, and how busy the machine was
(with the share other processes took). Servers and hub are stopped at the end, also after a
failure or Ctrl-C. A benchmark, not a test: it is not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect
from tqdm import tqdm

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
# Where deploy/jupyterhub_config.py puts each student's copy of the chapters.
NOTEBOOK_FOLDER = "cnnlab"
PROXY = DEPLOY / ".node" / "node_modules" / ".bin" / "configurable-http-proxy"
SAMPLE_EVERY_S = 0.5
HUB_START_TIMEOUT_S = 120
SERVER_START_TIMEOUT_S = 300
STOP_TIMEOUT_S = 30
GB = 1e9


# --- Pure helpers (tested in tests/test_classroom.py) -----------------------------------


def student_names(count: int) -> list[str]:
    """Return the simulated students' user names, ``student01`` ... (sortable as text).

    Parameters
    ----------
    count : int
        How many students, at least 1.

    Returns
    -------
    list of str
    """
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, got {type(count).__name__} {count!r}.")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}.")
    width = max(2, len(str(count)))
    return [f"student{i:0{width}d}" for i in range(1, count + 1)]


def code_cells(notebook: dict) -> list[str]:
    """Return the source of each code cell of a notebook (nbformat 4 JSON), in order.

    Parameters
    ----------
    notebook : dict
        The notebook as parsed JSON, with a ``cells`` list.

    Returns
    -------
    list of str
        Empty cells are left out: a front end sends nothing for them either.
    """
    if not isinstance(notebook, dict):
        raise TypeError(f"notebook must be a dict (parsed JSON), got {type(notebook).__name__}.")
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise ValueError(f"notebook must have a 'cells' list, got {type(cells).__name__}.")
    sources = []
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if source.strip():
            sources.append(source)
    return sources


def rss_bytes(status: str) -> int:
    """Return the resident set size from the text of ``/proc/<pid>/status``, in bytes.

    Parameters
    ----------
    status : str
        The file's text. A process without memory (a kernel thread, a zombie) has no
        ``VmRSS`` line: 0.

    Returns
    -------
    int
    """
    if not isinstance(status, str):
        raise TypeError(f"status must be a str, got {type(status).__name__}.")
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            fields = line.split()
            if len(fields) != 3 or fields[2] != "kB" or not fields[1].isdigit():
                raise ValueError(f"status has a malformed VmRSS line: {line!r}.")
            return int(fields[1]) * 1024
    return 0


def stat_fields(stat: str) -> tuple[int, int, int]:
    """Return (parent pid, CPU ticks used, start time in ticks) from ``/proc/<pid>/stat``.

    Parameters
    ----------
    stat : str
        The file's text. The command name, in parentheses, may itself hold spaces and
        parentheses, so fields are counted from the last ``)``.

    Returns
    -------
    tuple of int
        ``ppid``, ``utime + stime`` and ``starttime`` (which, with the pid, names a process
        even after its pid is reused).
    """
    if not isinstance(stat, str):
        raise TypeError(f"stat must be a str, got {type(stat).__name__}.")
    fields = stat[stat.rfind(")") + 1:].split()
    # After the name: state(0) ppid(1) ... utime(11) stime(12) ... starttime(19).
    if ")" not in stat or len(fields) < 20:
        raise ValueError(f"stat is not a /proc/<pid>/stat line: {stat[:80]!r}.")
    try:
        return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19])
    except ValueError:
        raise ValueError(f"stat has non-numeric fields: {stat[:80]!r}.") from None


def descendants(parents: dict[int, int], root: int) -> set[int]:
    """Return ``root`` and every process below it, given each process's parent.

    Parameters
    ----------
    parents : dict of int to int
        pid -> parent pid, for the processes alive now.
    root : int
        The pid whose tree is wanted; absent from ``parents``, the tree is empty.

    Returns
    -------
    set of int
    """
    if not isinstance(parents, dict):
        raise TypeError(f"parents must be a dict of pid to parent pid, got "
                        f"{type(parents).__name__}.")
    if isinstance(root, bool) or not isinstance(root, int):
        raise TypeError(f"root must be an int pid, got {type(root).__name__} {root!r}.")
    if root not in parents:
        return set()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return tree


def kernel_pid(cmdlines: dict[int, str], kernel_id: str) -> int | None:
    """Return the pid of the kernel process with this Jupyter kernel id, or None.

    Parameters
    ----------
    cmdlines : dict of int to str
        pid -> command line. A Jupyter server starts each kernel with its connection file
        ``kernel-<kernel id>.json`` on the command line.
    kernel_id : str
        The id the server's REST API gave the kernel.

    Returns
    -------
    int or None
        The lowest such pid (the kernel, not a process it started with the same arguments).
    """
    if not isinstance(cmdlines, dict):
        raise TypeError(f"cmdlines must be a dict of pid to command line, got "
                        f"{type(cmdlines).__name__}.")
    if not isinstance(kernel_id, str) or not kernel_id:
        raise ValueError(f"kernel_id must be a non-empty str, got {kernel_id!r}.")
    found = [pid for pid, cmd in cmdlines.items() if f"kernel-{kernel_id}.json" in cmd]
    return min(found) if found else None


def cpu_ticks(proc_stat: str) -> tuple[int, int]:
    """Return (busy, total) CPU ticks of all cores from the text of ``/proc/stat``.

    Parameters
    ----------
    proc_stat : str
        The file's text; its first ``cpu`` line sums all cores. Idle and iowait are idle.

    Returns
    -------
    tuple of int
    """
    if not isinstance(proc_stat, str):
        raise TypeError(f"proc_stat must be a str, got {type(proc_stat).__name__}.")
    for line in proc_stat.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            if len(fields) < 6 or not all(f.isdigit() for f in fields[1:]):
                raise ValueError(f"proc_stat has a malformed cpu line: {line!r}.")
            # user nice system idle iowait irq softirq steal [guest guest_nice: inside user]
            ticks = [int(f) for f in fields[1:9]]
            total = sum(ticks)
            return total - ticks[3] - ticks[4], total
    raise ValueError("proc_stat has no 'cpu' line.")


@dataclass
class Student:
    """One simulated student's run: times in seconds, memory in bytes."""

    name: str
    ready_s: float | None = None
    chapter_s: float | None = None
    cells_run: int = 0
    peak_kernel_rss: int = 0
    failures: list[str] = field(default_factory=list)


def report(students: list[Student], cells: int, summary: dict[str, float]) -> str:
    """Return the classroom's report as text: one row per student, then the totals.

    Parameters
    ----------
    students : list of Student
    cells : int
        Code cells in the chapter, for the "cells run" column.
    summary : dict of str to float
        ``total_s``, ``kernels_peak``, ``hub_peak`` (bytes), ``cpu_busy``,
        ``cpu_others`` (fractions of all cores), ``load_before``, ``load_after``,
        ``cores``, ``mem_available_min`` (bytes).

    Returns
    -------
    str
    """
    if not isinstance(students, list) or not all(isinstance(s, Student) for s in students):
        raise TypeError("students must be a list of Student.")
    if not students:
        raise ValueError("students must not be empty.")
    needed = ("total_s", "kernels_peak", "hub_peak", "cpu_busy", "cpu_others",
              "load_before", "load_after", "cores", "mem_available_min")
    missing = [key for key in needed if key not in summary]
    if missing:
        raise ValueError(f"summary lacks {', '.join(missing)}.")

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} s"

    lines = [f"{'student':<12}{'server up':>10}{'chapter':>10}{'cells':>8}"
             f"{'peak kernel RSS':>17}  failures"]
    for s in students:
        lines.append(f"{s.name:<12}{seconds(s.ready_s):>10}{seconds(s.chapter_s):>10}"
                     f"{f'{s.cells_run}/{cells}':>8}{s.peak_kernel_rss / GB:>14.2f} GB  "
                     f"{'; '.join(s.failures) or 'none'}")
    chapters = [s.chapter_s for s in students if s.chapter_s is not None]
    failed = sum(1 for s in students if s.failures)
    lines += [
        "",
        f"total: {summary['total_s']:.0f} s for {len(students)} student"
        + ("s" if len(students) > 1 else "")
        + (f" (chapter {min(chapters):.0f}-{max(chapters):.0f} s)" if chapters else ""),
        f"failures: {failed} of {len(students)} students",
        f"kernels' peak RSS: largest {max(s.peak_kernel_rss for s in students) / GB:.2f} GB, "
        f"sum of each student's peak {sum(s.peak_kernel_rss for s in students) / GB:.2f} GB, "
        f"all kernels at once {summary['kernels_peak'] / GB:.2f} GB",
        f"everything the hub started (hub, proxy, servers, kernels) at once: "
        f"{summary['hub_peak'] / GB:.2f} GB; least memory available "
        f"{summary['mem_available_min'] / GB:.1f} GB",
        f"machine: {summary['cores']:.0f} cores, {summary['cpu_busy']:.0%} busy during the "
        f"run, of which {summary['cpu_others']:.0%} by processes outside the classroom; "
        f"load average {summary['load_before']:.1f} before, {summary['load_after']:.1f} after",
    ]
    return "\n".join(lines)


# --- /proc sampling -----------------------------------------------------------------------


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None  # the process ended between listing and reading


class Sampler(threading.Thread):
    """Sample /proc for the hub's process tree and the students' kernels until stopped."""

    def __init__(self, hub_pid: int) -> None:
        super().__init__(daemon=True)
        self.hub_pid = hub_pid
        self.kernels: dict[str, str] = {}  # student -> kernel id
        self.kernel_pids: dict[str, int] = {}
        self.peak_kernel: dict[str, int] = {}
        self.kernels_peak = 0
        self.hub_peak = 0
        self.mem_available_min = float("inf")
        self.tree: dict[int, int] = {}  # pid -> start time, for every process the hub started
        self.cpu_start: dict[int, int] = {}  # pid -> CPU ticks when first seen
        self.cpu_last: dict[int, int] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()

    def watch(self, student: str, kernel_id: str) -> None:
        with self.lock:
            self.kernels[student] = kernel_id

    def sample(self) -> None:
        parents, stats, statuses = {}, {}, {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (text := _read(f"/proc/{entry}/stat")) is not None:
                ppid, ticks, start = stat_fields(text)
                parents[int(entry)], stats[int(entry)] = ppid, (ticks, start)
        tree = descendants(parents, self.hub_pid)
        for pid in tree:
            statuses[pid] = rss_bytes(_read(f"/proc/{pid}/status") or "")
        with self.lock:
            for pid in tree:
                ticks, start = stats[pid]
                self.tree[pid] = start
                self.cpu_start.setdefault(pid, ticks)
                self.cpu_last[pid] = ticks
            self.hub_peak = max(self.hub_peak, sum(statuses.values()))
            missing = {s: k for s, k in self.kernels.items() if s not in self.kernel_pids}
            if missing:
                cmdlines = {pid: (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ")
                            for pid in tree}
                for student, kernel_id in missing.items():
                    if (pid := kernel_pid(cmdlines, kernel_id)) is not None:
                        self.kernel_pids[student] = pid
            at_once = 0
            for student, pid in self.kernel_pids.items():
                rss = sum(statuses.get(p, 0) for p in descendants(parents, pid))
                self.peak_kernel[student] = max(self.peak_kernel.get(student, 0), rss)
                at_once += rss
            self.kernels_peak = max(self.kernels_peak, at_once)
        for line in (_read("/proc/meminfo") or "").splitlines():
            if line.startswith("MemAvailable:"):
                self.mem_available_min = min(self.mem_available_min, int(line.split()[1]) * 1024)

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY_S):
            self.sample()

    def cpu_ticks_used(self) -> int:
        """CPU ticks the hub's tree used since sampling began."""
        with self.lock:
            return sum(self.cpu_last[pid] - self.cpu_start[pid] for pid in self.cpu_last)


# --- The hub --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """JupyterHub in a process group of its own, its state in a temporary folder."""

    def __init__(self, data_dir: Path) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="cnnlab-classroom-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(32)
        self.password = secrets.token_urlsafe(12)
        self.log_path = self.state / "jupyterhub.log"
        env = dict(os.environ,
                   CNNLAB_CLASSROOM_DIR=str(self.state),
                   CNNLAB_CLASSROOM_PORT=str(self.port),
                   CNNLAB_CLASSROOM_HUB_PORT=str(_free_port()),
                   CNNLAB_CLASSROOM_PROXY_PORT=str(_free_port()),
                   CNNLAB_CLASSROOM_TOKEN=self.token,
                   CNNLAB_CLASSROOM_PASSWORD=self.password,
                   CNNLAB_DATA_DIR=str(data_dir))
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(DEPLOY / "classroom_config.py")],
                cwd=self.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, tree: dict[int, int]) -> None:
        """Stop the hub (which stops its servers and proxy), then anything left of ``tree``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Servers run in sessions of their own; kill those the hub left, by pid and start
        # time (a pid reused since is someone else's).
        for pid, start in tree.items():
            text = _read(f"/proc/{pid}/stat")
            if text is not None and stat_fields(text)[2] == start:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class HubAPI:
    """Minimal JSON client of the hub and of the servers behind its proxy."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = AsyncHTTPClient()

    async def call(self, method: str, path: str, token: str | None = None,
                   body: object = None, timeout: float = 60) -> object:
        headers = {"Authorization": f"token {token}"} if token else {}
        request = HTTPRequest(
            self.base_url + path, method=method, headers=headers,
            body=None if body is None and method != "POST" else json.dumps(body or {}),
            request_timeout=timeout)
        response = await self.http.fetch(request)
        return json.loads(response.body) if response.body else None


async def _wait_for_hub(api: HubAPI, hub: Hub) -> None:
    deadline = time.monotonic() + HUB_START_TIMEOUT_S
    while True:
        if hub.proc.poll() is not None:
            raise RuntimeError(f"JupyterHub exited ({hub.proc.returncode}):\n{hub.log_tail()}")
        try:
            await api.call("GET", "/hub/api/", timeout=5)
            return
        except (HTTPClientError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterHub did not answer in {HUB_START_TIMEOUT_S} s:\n"
                                   f"{hub.log_tail()}") from None
            await asyncio.sleep(1)


# --- A student ----------------------------------------------------------------------------


def _message(msg_type: str, content: dict, session: str, channel: str = "shell") -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session,
                       "username": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": content, "channel": channel,
            "buffers": []}


def _parse(frame: str | bytes) -> dict:
    if isinstance(frame, bytes):  # a message with binary buffers (widgets' data)
        from jupyter_server.services.kernels.connection.base import deserialize_binary_message
        return deserialize_binary_message(frame)
    return json.loads(frame)


async def _run_cell(ws, session: str, code: str) -> str | None:
    """Run one cell; return None, or the error it raised as 'Name: value'."""
    request = _message("execute_request", {"code": code, "silent": False, "store_history": True,
                                           "user_expressions": {}, "allow_stdin": False,
                                           "stop_on_error": True}, session)
    msg_id = request["header"]["msg_id"]
    await ws.write_message(json.dumps(request))
    reply, idle = None, False
    while reply is None or not idle:
        frame = await ws.read_message()
        if frame is None:
            raise ConnectionError("the kernel's websocket closed")
        msg = _parse(frame)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["channel"] == "shell" and msg["msg_type"] == "execute_reply":
            reply = msg["content"]
        elif (msg["channel"] == "iopub" and msg["msg_type"] == "status"
              and msg["content"]["execution_state"] == "idle"):
            idle = True
    if reply.get("status") != "ok":
        return f"{reply.get('ename', 'error')}: {reply.get('evalue', reply.get('status'))}"
    return None


async def run_student(student: Student, api: HubAPI, hub: Hub, notebook: str,
                      sampler: Sampler, progress: tqdm, cell_timeout: float) -> None:
    """Log in, start a server, run the chapter cell by cell; record times and failures."""
    start = time.monotonic()
    name = student.name
    try:
        login = await api.call("POST", f"/hub/api/users/{name}/tokens", body={
            "auth": {"username": name, "password": hub.password},
            "note": "classroom load test"})
        token = login["token"]
        await api.call("POST", f"/hub/api/users/{name}/server", token=token)
        deadline = start + SERVER_START_TIMEOUT_S
        while True:
            model = await api.call("GET", f"/hub/api/users/{name}", token=token)
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                break
            if not server or not server.get("pending"):
                raise RuntimeError("the server stopped while starting (see the hub's log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no server after {SERVER_START_TIMEOUT_S} s")
            await asyncio.sleep(1)
        student.ready_s = time.monotonic() - start
        base = f"/user/{name}/api"
        path = f"{NOTEBOOK_FOLDER}/{notebook}"
        model = await api.call("GET", f"{base}/contents/{path}?content=1", token=token)
        cells = code_cells(model["content"])
        session = await api.call("POST", f"{base}/sessions", token=token, body={
            "path": path, "name": notebook, "type": "notebook", "kernel": {"name": "python3"}})
        kernel_id = session["kernel"]["id"]
        sampler.watch(name, kernel_id)
        ws_url = api.base_url.replace("http", "ws", 1) + (
            f"{base}/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}")
        ws = await websocket_connect(HTTPRequest(ws_url, headers={
            "Authorization": f"token {token}"}), max_message_size=1 << 30)
        try:
            chapter_start = time.monotonic()
            for number, code in enumerate(cells, 1):
                try:
                    error = await asyncio.wait_for(_run_cell(ws, kernel_id, code),
                                                   cell_timeout)
                except TimeoutError:
                    error = f"ran longer than {cell_timeout:g} s"
                else:
                    student.cells_run += 1
                    progress.update(1)
                if error is not None:  # as in a notebook run: stop at the first error
                    student.failures.append(f"cell {number}: {error}"[:200])
                    break
            else:
                student.chapter_s = time.monotonic() - chapter_start
        finally:
            ws.close()
    except (HTTPClientError, OSError, RuntimeError, KeyError, ValueError) as exc:
        student.failures.append(f"{type(exc).__name__}: {exc}"[:200])


async def classroom(names: list[str], notebook: str, data_dir: Path,
                    cell_timeout: float, keep: bool) -> list[Student]:
    """Start a hub, run every student at once, print the report, stop everything."""
    cells = code_cells(json.loads((REPO / "notebooks" / notebook).read_text()))
    students = [Student(name) for name in names]
    load_before = os.getloadavg()[0]
    hub = Hub(data_dir)
    sampler = Sampler(hub.proc.pid)
    sampler.start()
    api = HubAPI(hub.url)
    try:
        print(f"Starting JupyterHub on {hub.url} (state and log in {hub.state})", flush=True)
        await _wait_for_hub(api, hub)
        # The lecturer adds the class (the hub knows a user only once added or logged in).
        await api.call("POST", "/hub/api/users", token=hub.token, body={"usernames": names})
        print(f"{len(names)} student(s) log in, start their servers and run {notebook} "
              f"({len(cells)} code cells) at once", flush=True)
        busy0, total0 = cpu_ticks(_read("/proc/stat") or "")
        tree0 = sampler.cpu_ticks_used()
        start = time.monotonic()
        with tqdm(total=len(names) * len(cells), unit="cell", desc="classroom",
                  dynamic_ncols=True) as progress:
            await asyncio.gather(*(run_student(s, api, hub, notebook, sampler, progress,
                                               cell_timeout) for s in students))
        total_s = time.monotonic() - start
        sampler.sample()
        busy1, total1 = cpu_ticks(_read("/proc/stat") or "")
        # /proc/stat counts all cores' ticks; a process's ticks are in the same unit.
        classroom_ticks = sampler.cpu_ticks_used() - tree0
        for s in students:
            s.peak_kernel_rss = sampler.peak_kernel.get(s.name, 0)
        summary = {
            "total_s": total_s,
            "kernels_peak": sampler.kernels_peak,
            "hub_peak": sampler.hub_peak,
            "cpu_busy": (busy1 - busy0) / max(1, total1 - total0),
            "cpu_others": max(0, busy1 - busy0 - classroom_ticks) / max(1, total1 - total0),
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
            "cores": os.cpu_count() or 1,
            "mem_available_min": sampler.mem_available_min,
        }
        print()
        print(report(students, len(cells), summary), flush=True)
        if any(s.failures for s in students):
            print(f"\nThe hub's log ends with:\n{hub.log_tail()}")
        return students
    finally:
        print("Stopping the servers and the hub...", flush=True)
        # Errors are expected (a server not running, a hub already gone): stopping the hub
        # below covers those.
        await asyncio.gather(*(api.call("DELETE", f"/hub/api/users/{s.name}/server",
                                        token=hub.token, timeout=STOP_TIMEOUT_S)
                               for s in students), return_exceptions=True)
        sampler.done.set()
        sampler.join()
        hub.stop(sampler.tree)
        if keep:
            print(f"Kept the hub's state and log in {hub.state}")
        else:
            shutil.rmtree(hub.state, ignore_errors=True)


def _default_data_dir() -> Path:
    # The cache that `make data` fills.
    from cnnlab.data import cache_dir
    return cache_dir()


def main(argv: list[str] | None = None) -> int:
    """Run the classroom from the command line; return the exit status (1 on any failure)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", "-n", type=int, default=6,
                        help="simulated students (default 6, for 2 cores)")
    parser.add_argument("--notebook", default="01_convolution.ipynb",
                        help="the chapter, a notebook of notebooks/ (default %(default)s)")
    parser.add_argument("--cell-timeout", type=float, default=600,
                        help="seconds one cell may run (default %(default)s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the hub's state folder and log")
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error(f"--students must be at least 1, got {args.students}")
    notebook = Path(args.notebook).name
    if not (REPO / "notebooks" / notebook).is_file():
        parser.error(f"--notebook: no notebooks/{notebook}")
    if not PROXY.exists() and shutil.which("configurable-http-proxy") is None:
        parser.error(f"configurable-http-proxy not found: `make classroom` installs it "
                     f"({PROXY.relative_to(REPO)})")
    data_dir = _default_data_dir()
    # One verified MNIST for the whole class; a student's kernel never downloads it.
    from cnnlab.data import load_mnist_raw
    load_mnist_raw(data_dir)

    async def run() -> list[Student]:
        # SIGTERM (a closed terminal, a CI time-out) stops the run the way Ctrl-C does:
        # by cancelling it, so that the servers and the hub are stopped on the way out.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM,
                                                      asyncio.current_task().cancel)
        return await classroom(student_names(args.students), notebook, data_dir,
                               args.cell_timeout, args.keep)

    try:
        students = asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("Interrupted; the servers and the hub are stopped.", file=sys.stderr)
        return 130
    return 1 if any(s.failures for s in students) else 0


if __name__ == "__main__":
    raise SystemExit(main())
