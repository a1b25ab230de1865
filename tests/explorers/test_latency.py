"""Tests for cnnlab.explorers.latency: timing an explorer's live controls."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.latency import update_latency


def _explorer(calls):
    def render(n, word):
        calls.append((n, word))
        fig = plt.figure(figsize=(1, 0.5))
        fig.text(0.1, 0.3, f"{n}{word}")
        return fig

    return Explorer(render, [Control("n", [1, 2], live=range(5)), Control("word", ["a", "b"])],
                    title="t")


def test_update_latency_moves_one_control_a_step_at_a_time():
    calls = []
    times = update_latency(_explorer(calls), moves=30, seed=3)
    assert times.shape == (30,) and (times > 0).all()
    first, moves = calls[0], calls[1:]
    assert first == (1, "a") and len(moves) == 30            # every move drew its picture
    for before, after in zip(calls, moves, strict=False):
        changed = [a != b for a, b in zip(before, after, strict=True)]
        assert sum(changed) == 1                                 # one control per move
        if changed[0]:
            assert abs(after[0] - before[0]) == 1                # a slider moves one step
    assert len({n for n, _ in calls}) >= 3 and {w for _, w in calls} == {"a", "b"}


def test_update_latency_does_not_count_refused_moves():
    def render(n, word):
        if n >= 3:
            raise ValueError("needs your input first")
        fig = plt.figure(figsize=(1, 0.5))
        fig.text(0.1, 0.3, f"{n}{word}")
        return fig

    explorer = Explorer(render, [Control("n", [1, 2], live=range(5)),
                                 Control("word", ["a", "b"])], title="t")
    times = update_latency(explorer, moves=40, seed=0)
    assert 0 < len(times) < 40


def test_update_latency_cached_reuses_pictures_seen_before():
    calls = []
    update_latency(_explorer(calls), moves=30, seed=3, cached=True)
    assert len(calls) == len(set(calls)) < 31


@pytest.mark.parametrize(
    ("explorer", "kwargs", "error", "match"),
    [("not an explorer", {}, TypeError, r"explorer must be an Explorer, got str"),
     (None, {"moves": 0}, ValueError, r"moves"),
     (None, {"moves": 2.5}, TypeError, r"moves"),
     (None, {"seed": -1}, ValueError, r"seed"),
     (None, {"cached": "no"}, TypeError, r"cached must be True or False, got str")],
    ids=["not-explorer", "no-moves", "float-moves", "negative-seed", "cached-str"])
def test_update_latency_rejects_bad_input(explorer, kwargs, error, match):
    with pytest.raises(error, match=match):
        update_latency(_explorer([]) if explorer is None else explorer, **kwargs)


def test_chapter_explorers_names_every_chapter():
    from cnnlab.explorers.latency import chapter_explorers

    names = [name for name, _ in chapter_explorers()]
    assert sorted({name[:3] for name in names}) == [f"ch{k}" for k in range(1, 9)]
    assert np.all([callable(make) for _, make in chapter_explorers()])
