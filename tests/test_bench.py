"""Tests for cnnlab.bench: measure returns the result, the time and the traced peak memory."""

import time
import tracemalloc

import numpy as np
import pytest

from cnnlab import bench

EIGHT_MB = 8 * 2**20


def _allocate(n_bytes, fill=1.0):
    block = np.full(n_bytes // 8, fill)
    return float(block.sum())


def test_measure_returns_result_time_and_peak():
    m = bench.measure(_allocate, EIGHT_MB, fill=2.0)
    assert isinstance(m, bench.Measurement)
    assert m.result == 2.0 * EIGHT_MB // 8
    assert m.seconds > 0
    assert m.peak_bytes >= EIGHT_MB
    assert not tracemalloc.is_tracing()


def test_measure_peak_grows_with_allocation():
    small = bench.measure(_allocate, 2**16).peak_bytes
    large = bench.measure(_allocate, 4 * EIGHT_MB).peak_bytes
    assert small < EIGHT_MB
    assert large >= 4 * EIGHT_MB


def test_measure_times_the_call():
    m = bench.measure(time.sleep, 0.05, trace_memory=False)
    assert m.result is None
    assert 0.05 <= m.seconds < 5.0


def test_measure_without_tracing():
    m = bench.measure(_allocate, EIGHT_MB, trace_memory=False)
    assert m.peak_bytes is None
    assert m.result == EIGHT_MB // 8
    assert m.seconds > 0
    assert not tracemalloc.is_tracing()


def test_untraced_measurement_may_nest_inside_a_traced_one():
    outer = bench.measure(lambda: bench.measure(_allocate, EIGHT_MB, trace_memory=False))
    assert outer.result.peak_bytes is None
    assert outer.peak_bytes >= EIGHT_MB


@pytest.mark.parametrize("trace_memory", [True, False])
def test_measure_stops_tracing_when_the_function_raises(trace_memory):
    def fails():
        np.ones(2**20)
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        bench.measure(fails, trace_memory=trace_memory)
    assert not tracemalloc.is_tracing()
    assert bench.measure(_allocate, 64).peak_bytes is not None


def test_measure_refuses_when_someone_else_traces():
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeError, match=r"tracemalloc is already tracing"):
            bench.measure(_allocate, 64)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def _nested():
    return bench.measure(_allocate, 64)


@pytest.mark.parametrize(
    ("fn", "error", "match"),
    [
        (None, TypeError, r"fn must be callable, got NoneType"),
        (42, TypeError, r"fn must be callable, got int"),
        ("np.ones", TypeError, r"fn must be callable, got str"),
        (_nested, RuntimeError, r"measurements cannot nest"),
    ],
    ids=["none", "int", "str", "nested"],
)
def test_measure_rejects_bad_input(fn, error, match):
    with pytest.raises(error, match=match):
        bench.measure(fn)
    assert not tracemalloc.is_tracing()


# -- the chapters' and explainers' costs (make bench) ---------------------------------------


def _notebook(tmp_path, source):
    import nbformat

    path = tmp_path / "chapter.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return str(path)


def test_chapter_cost_sees_the_kernels_peak_memory_and_time(tmp_path):
    small = bench.chapter_cost(_notebook(tmp_path, "x = 1"))
    # 700 MiB written (so resident), then freed: the peak remembers it. A bare kernel
    # peaks far below that (about 110 MiB here).
    big = bench.chapter_cost(_notebook(
        tmp_path, "import numpy as np, time\nb = np.ones(700 * 2**20 // 8)\ndel b\n"
                  "time.sleep(0.5)"))
    assert big.peak_bytes >= 700 * 2**20 > 500 * 2**20 > small.peak_bytes
    assert big.seconds >= 0.5 and small.seconds > 0
    assert small.within_budget
    assert not bench.ChapterCost("x", 181.0, 1).within_budget
    assert not bench.ChapterCost("x", 1.0, int(1.6 * 2**30)).within_budget


def test_a_failing_chapter_fails_the_measurement(tmp_path):
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        bench.chapter_cost(_notebook(tmp_path, "1 / 0"))


def test_explainer_throughput_compares_with_plain_passes():
    rows = bench.explainer_throughput(n=50, repeat=1)
    names = [row[0] for row in rows]
    assert names[:2] == ["forward pass (keras_example_cnn)",
                         "forward + backward (keras_example_cnn)"]
    assert {"Grad-CAM (conv2)", "CAM (gap_cnn, conv5)", "deconvnet (conv2, channel 17)"} <= set(
        names)
    for name, rate, baseline, ratio in rows:
        assert rate > 0 and ratio > 0, name
        assert baseline.startswith("forward"), name
    assert "Grad-CAM++ (conv2)" in names


def test_grad_cam_on_the_whole_test_set_stays_within_half_a_gigabyte():
    # The heatmaps themselves are 10,000 x 24 x 24 float32 = 23 MB; batches of 128 keep
    # the rest small. Before batching, this call grew the process by 6 GB.
    extra, result = bench.grad_cam_peak_memory(10_000)
    assert result == 10_000 * 24 * 24 * 4
    assert extra < 0.5 * 2**30


def test_grad_cam_peak_memory_refuses_a_bad_count():
    with pytest.raises(ValueError, match=r"^n must be at least 1, got 0"):
        bench.grad_cam_peak_memory(0)
