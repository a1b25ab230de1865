"""How fast the chapters' explorers answer a control (``make bench``).

A reader moves one control at a time, mostly by one step of a slider. Each
move here sets one control of the live widget, as the browser does, and times
the kernel's work until the new picture is in the widget (computing, drawing,
encoding); the browser adds the round trip, which the JupyterLab test in
``tests/test_lab.py`` measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from cnnlab.checks import check_int
from cnnlab.explorers.base import Explorer


def update_latency(explorer: Explorer, moves: int = 40, seed: int = 0,
                   cached: bool = False) -> np.ndarray:
    """Milliseconds per control change of an explorer's live widget.

    Parameters
    ----------
    explorer : Explorer
    moves : int, default 40
        How many changes: each picks one control at random and moves a slider
        one step (back from either end) or a menu to another entry, over the
        live positions.
    seed : int, default 0
    cached : bool, default False
        Keep the widget's cache of pictures already shown. By default it is
        emptied before each move, so that every move draws its picture (a
        position seen before would otherwise cost nothing); what an explorer
        computes per digit or layer stays cached, as it does for a reader.

    Returns
    -------
    ndarray, shape (M,), float
        Wall-clock time of each change that showed a picture, in ms (M at most
        ``moves``). A move the explorer refuses (a live position that needs
        the reader's input first, like an upload; a channel the layer lacks)
        is not counted: its error line answers at once. The widget's first
        picture (drawn when it is made) is not counted either.

    Raises
    ------
    TypeError
        For an explorer that is not an :class:`Explorer`, or a non-bool ``cached``.
    ValueError
        For moves below 1 or a negative seed.
    """
    if not isinstance(explorer, Explorer):
        raise TypeError(f"explorer must be an Explorer, got {type(explorer).__name__}.")
    moves = check_int("moves", moves, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    if not isinstance(cached, bool):
        raise TypeError(f"cached must be True or False, got {type(cached).__name__}.")
    box = explorer.widget()
    message = [child for child in box.children if type(child).__name__ == "HTML"][-1]
    times = []
    for _ in range(moves):
        control = explorer.controls[rng.integers(len(explorer.controls))]
        widget = explorer.inputs[control.name]
        options = list(control.live or control.values)
        here = options.index(widget.value)
        if control._kind == "slider" and len(options) > 1:
            step = 1 if rng.random() < 0.5 else -1
            there = here + step if 0 <= here + step < len(options) else here - step
        else:
            there = (here + 1 + rng.integers(max(len(options) - 1, 1))) % len(options)
        if not cached:
            explorer.clear_pictures()
        start = time.perf_counter()
        widget.value = options[there]           # observers run now: the picture is made
        elapsed = 1e3 * (time.perf_counter() - start)
        if not message.value:
            times.append(elapsed)
    return np.array(times)


def chapter_explorers() -> list[tuple[str, Callable[[], Explorer]]]:
    """Every chapter's explorers, made as the chapters make them (name, factory).

    Returns
    -------
    list of (str, callable)
        The factories load MNIST and the zoo's models when called.
    """
    from cnnlab import explorers as ex
    from cnnlab import zoo
    from cnnlab.data import load_mnist
    from cnnlab.own_digit import prepared_digits

    def test_set():
        return load_mnist()[1]

    def epochs():
        x, y = test_set()
        record = zoo.record("keras_example_cnn")
        picked = np.arange(16)
        return ex.epoch_explorer(record["epoch_predicted"][:, picked],
                                 record["epoch_confidence"][:, picked], x[picked], y[picked])

    def learning():
        x, _ = test_set()
        record = zoo.record("sakai2019_learning")
        return ex.learning_explorer(record, x[record["digits"]], faint=0)

    def cam():
        x, y = test_set()
        return ex.cam_explorer(zoo.load("gap_cnn"), x, y, own_pictures=prepared_digits(x[0]))

    keras_cnn = "keras_example_cnn"
    return [
        ("ch1 slide the window", lambda: ex.sliding_window_explorer(*test_set())),
        ("ch1 convolve a digit", lambda: ex.convolution_explorer(*test_set())),
        ("ch2 pool a digit", lambda: ex.pooling_explorer(*test_set())),
        ("ch2 shift a digit", lambda: ex.shift_explorer(zoo.load(keras_cnn), *test_set())),
        ("ch3 probabilities", lambda: ex.probability_explorer(zoo.load(keras_cnn),
                                                              *test_set())),
        ("ch3 epoch by epoch", epochs),
        ("ch4 feature maps", lambda: ex.feature_map_explorer(zoo.load(keras_cnn), *test_set())),
        ("ch5 occlusion", lambda: ex.occlusion_explorer(zoo.load(keras_cnn), *test_set())),
        ("ch6 CAM", cam),
        ("ch7 learning process", learning),
        ("ch7 Grad-CAM", lambda: ex.gradcam_explorer(zoo.load(keras_cnn), *test_set(),
                                                      ["conv1", "conv2"])),
        # Its controls (a pre-drawn digit, how much of it is drawn); a pen stroke on the
        # canvas is answered by the same render, at most once per DrawingPad.interval.
        ("ch8 draw a digit", lambda: ex.drawing_explorer(zoo.load("gap_cnn"))),
    ]
