"""Measure time and memory: of one call, of each chapter, of each explainer (``make bench``).

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

import numpy as np

from cnnlab.checks import check_int

# The classroom's budgets besides a chapter's (ChapterCost): a control answers within
# 100 ms (p95), and Grad-CAM over the test set adds at most 0.5 GB.
EXPLORER_BUDGET_MS = 100
GRAD_CAM_BUDGET_BYTES = 0.5 * 2**30


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


# -- make bench: what each chapter and each explainer costs -------------------------------

# A classroom node runs 40 kernels: each chapter must fit this budget on 2 cores.
CHAPTER_SECONDS = 180
CHAPTER_BYTES = 1.5 * 2**30
# Appended to a chapter run: the kernel's own peak resident memory, in kB. VmHWM
# belongs to the kernel's program; ru_maxrss would also count the pages of the
# process that started it, which a new process shares until it runs its program.
_PEAK_RSS_CELL = """\
try:
    with open("/proc/self/status") as _status:
        print(next(line.split()[1] for line in _status if line.startswith("VmHWM:")))
except OSError:  # not Linux: ru_maxrss, in bytes on macOS and kB elsewhere
    import resource as _resource, sys as _sys
    _peak = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss
    print(_peak // 1024 if _sys.platform == "darwin" else _peak)"""


@dataclass(frozen=True)
class ChapterCost:
    """What one chapter costs, run top to bottom in a fresh kernel.

    Attributes
    ----------
    path : str
    seconds : float
        Wall-clock time of the run, kernel start included.
    peak_bytes : int
        The kernel's peak resident set size.
    """

    path: str
    seconds: float
    peak_bytes: int

    @property
    def within_budget(self) -> bool:
        """At most 3 minutes and 1.5 GB."""
        return self.seconds <= CHAPTER_SECONDS and self.peak_bytes <= CHAPTER_BYTES


def chapter_cost(path: str, timeout: int = 900) -> ChapterCost:
    """Run a chapter notebook in a fresh kernel (not in place) and measure it.

    The kernel inherits this process's environment, so set
    ``TF_ENABLE_ONEDNN_OPTS`` or thread counts before calling.

    Parameters
    ----------
    path : str
        A notebook; its cells run with the notebook's folder as working directory.
    timeout : int, default 900
        Seconds allowed per cell.

    Returns
    -------
    ChapterCost
    """
    import os

    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(_PEAK_RSS_CELL))
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(path) or "."}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs).split()
    return ChapterCost(path, seconds, int(printed[-1]) * 1024)


def _best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    fn()  # the first call traces and builds; readers pay it once
    return min(measure(fn, trace_memory=False).seconds for _ in range(repeat))


def explainer_throughput(n: int = 1000, repeat: int = 3) -> list[tuple[str, float, str, float]]:
    """Images per second of each explainer, against plain passes of the same model.

    Measured in one run on the first ``n`` test digits with the zoo's
    models: Grad-CAM and the deconvnet on the Keras example CNN (conv2), CAM
    on the GAP CNN, occlusion (7x7 patch, stride 2) on the Keras example CNN.
    The baselines are one compiled forward pass (``predict``) and one
    compiled forward and backward pass (the gradient of every image's top
    score with respect to its pixels).

    Returns
    -------
    list of (name, images per second, baseline name, ratio of times)
        The ratio is the explainer's time over the baseline's for the same
        images: how many plain passes one explanation costs.
    """
    import tensorflow as tf

    from cnnlab import zoo
    from cnnlab.data import load_mnist
    from cnnlab.explain.cam import class_activation_maps
    from cnnlab.explain.gradcam import grad_cam
    from cnnlab.explain.occlusion import occlusion, patch_corners
    from cnnlab.explain.projections import deconvnet

    (_, _), (x_test, y_test) = load_mnist()
    images, labels = x_test[:n], y_test[:n]
    rows = []
    for name in ("keras_example_cnn", "gap_cnn"):
        model = zoo.load(name)

        @tf.function(reduce_retracing=True)
        def forward_backward(x, model=model):
            with tf.GradientTape() as tape:
                tape.watch(x)
                top = tf.reduce_max(model(x, training=False), axis=1)
            return tape.gradient(top, x)

        forward = _best_of(lambda m=model: m.predict(images, batch_size=n, verbose=0), repeat)
        both = _best_of(lambda f=forward_backward: f(tf.constant(images)), repeat)
        rows.append((f"forward pass ({name})", n / forward, "forward", 1.0))
        rows.append((f"forward + backward ({name})", n / both, "forward", both / forward))
        if name == "gap_cnn":
            cam = _best_of(lambda m=model: class_activation_maps(m, images, labels), repeat)
            rows.append(("CAM (gap_cnn, conv5)", n / cam, "forward", cam / forward))
            continue
        gradcam = _best_of(lambda m=model: grad_cam(m, images, "conv2", labels), repeat)
        rows.append(("Grad-CAM (conv2)", n / gradcam, "forward", gradcam / forward))
        plus = _best_of(lambda m=model: grad_cam(m, images, "conv2", labels,
                                                 weighting="grad_cam++"), repeat)
        rows.append(("Grad-CAM++ (conv2)", n / plus, "forward", plus / forward))
        deconv = _best_of(lambda m=model: deconvnet(m, images, "conv2", 17), repeat)
        rows.append(("deconvnet (conv2, channel 17)", n / deconv, "forward + backward",
                     deconv / both))
        few = max(1, n // 50)  # every patch position is a forward pass
        copies = few * len(patch_corners(28, 7, 2)) ** 2
        occ = _best_of(lambda m=model, k=few: occlusion(m, images[:k], labels[:k]), repeat)
        rows.append((f"occlusion (7x7, stride 2: {copies // few} copies per digit)",
                     few / occ, "forward, per copy", occ / (forward * copies / n)))
    return rows


# Run in a fresh process: Grad-CAM's peak resident memory over a warmed-up start.
_GRAD_CAM_MEMORY = """
from cnnlab.runtime import quiet_tensorflow
quiet_tensorflow()
from cnnlab import zoo
from cnnlab.data import load_mnist
from cnnlab.explain.gradcam import grad_cam
(_, _), (x_test, y_test) = load_mnist()
images, labels = x_test[:{n}], y_test[:{n}]
model = zoo.load("keras_example_cnn")
grad_cam(model, images[:256], "conv2", labels[:256])     # compiled, buffers allocated


def peak():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


before = peak()
heatmaps = grad_cam(model, images, "conv2", labels)
print(peak() - before, heatmaps.nbytes // 1024)
"""


def grad_cam_peak_memory(n: int = 10_000) -> tuple[int, int]:
    """Grad-CAM's peak extra resident memory on ``n`` test digits, measured in a new process.

    The process loads MNIST and the Keras example CNN, runs Grad-CAM once on
    256 digits (so that TensorFlow's compiled function and its buffers exist),
    then on the first ``n`` test digits (conv2, batches of 128), and reports
    how far the peak resident set (VmHWM, Linux) rose during that call.

    Returns
    -------
    (peak extra bytes, bytes of the heatmaps returned)

    Raises
    ------
    RuntimeError
        If the process fails (its standard error is in the message).
    """
    import subprocess
    import sys

    n = check_int("n", n, 1)
    done = subprocess.run([sys.executable, "-c", _GRAD_CAM_MEMORY.format(n=n)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the Grad-CAM memory run failed:\n{done.stderr[-2000:]}")
    extra, result = (int(value) * 1024 for value in done.stdout.split()[-2:])
    return extra, result


def main(argv: list[str] | None = None) -> int:
    """``python -m cnnlab.bench [notebooks...]``: the chapters' and explainers' costs.

    Prints a table of each chapter's wall time and the kernel's peak memory
    against the classroom budget, the explainers' throughput, each explorer's
    time per control move (:func:`cnnlab.explorers.latency.update_latency`)
    and Grad-CAM's memory on 10,000 digits. Set ``TF_ENABLE_ONEDNN_OPTS`` to
    compare oneDNN on and off. Returns 1 when anything is over its budget.
    """
    import glob
    import os
    import sys

    paths = (argv if argv is not None else sys.argv[1:]) or sorted(
        glob.glob("notebooks/*.ipynb"))
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(TensorFlow's default)")
    print(f"oneDNN: TF_ENABLE_ONEDNN_OPTS={onednn}; {os.cpu_count()} CPUs", flush=True)
    print(f"{'chapter':40s} {'time':>8s} {'peak RSS':>10s}  budget (3 min, 1.5 GB)", flush=True)
    over = 0
    for path in paths:
        cost = chapter_cost(path)
        over += not cost.within_budget
        print(f"{os.path.basename(path):40s} {cost.seconds:7.0f}s {cost.peak_bytes / 2**30:8.2f}GB"
              f"  {'ok' if cost.within_budget else 'OVER'}", flush=True)
    from cnnlab.runtime import quiet_tensorflow

    quiet_tensorflow()
    print(f"\n{'explainer (1,000 test digits)':52s} {'images/s':>9s}  cost in plain passes",
          flush=True)
    for name, rate, baseline, ratio in explainer_throughput():
        print(f"{name:52s} {rate:9,.0f}  {ratio:5.2f} x {baseline}", flush=True)
    from cnnlab.explorers.latency import chapter_explorers, update_latency

    print(f"\n{'explorer: ms per control move (40 moves)':44s} {'p50':>6s} {'p95':>6s}"
          f" {'max':>6s}  budget (p95 100 ms)", flush=True)
    for name, make in chapter_explorers():
        times = update_latency(make())
        p50, p95 = np.percentile(times, [50, 95])
        over += p95 > EXPLORER_BUDGET_MS
        print(f"{name:44s} {p50:6.0f} {p95:6.0f} {times.max():6.0f}  "
              f"{'ok' if p95 <= EXPLORER_BUDGET_MS else 'OVER'}", flush=True)
    extra, result = grad_cam_peak_memory()
    print(f"\nGrad-CAM on 10,000 test digits: peak memory +{extra / 2**30:.2f} GB "
          f"(limit 0.5 GB) for {result / 2**20:.0f} MB of heatmaps", flush=True)
    over += extra > GRAD_CAM_BUDGET_BYTES
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
