"""Tests for cnnlab.training: train() on a tiny separable problem, and the measures by hand."""

import math
import time

import keras
import numpy as np
import pytest

from cnnlab import runtime, training

N_IMAGES = 200
EPOCHS = 3


# set_seed writes environment variables and switches on op determinism: undo both.
pytestmark = pytest.mark.usefixtures("restore_global_state")


def _tiny_model():
    """Conv -> global average pooling -> 10-way softmax: 20 + 30 weights."""
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(2, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax"),
    ])


def _problem(seed=0, n=N_IMAGES):
    """Images in [0, 1]; class 1 is the brighter half of the batch, class 0 the darker.

    Global average pooling sees the mean brightness, so the tiny model can learn it; the
    labels still use a 10-class softmax (classes 2..9 never occur).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    level = np.where(labels == 1, 0.65, 0.35)[:, None, None, None]
    images = np.clip(level + 0.25 * (rng.random((n, 28, 28, 1)) - 0.5), 0, 1)
    return images.astype(np.float32), labels.astype(np.int64)


def _cross_entropy(probabilities, labels):
    return float(-np.mean(np.log(probabilities[np.arange(len(labels)), labels])))


@pytest.fixture(scope="module")
def trained():
    """One training of the tiny model, shared by the tests that only read it."""
    from tensorflow.python.framework import config as tf_config

    images, labels = _problem()
    probe = images[:4]
    was_deterministic = tf_config.is_op_determinism_enabled()
    with pytest.MonkeyPatch.context() as mp:  # undoes set_seed's environment variables
        mp.delenv("PYTHONHASHSEED", raising=False)
        mp.delenv("TF_DETERMINISTIC_OPS", raising=False)
        runtime.set_seed(0)
        model = _tiny_model()
        start = time.perf_counter()
        run = training.train(model, images, labels, optimizer=keras.optimizers.Adam(1e-2),
                             epochs=EPOCHS, batch_size=16, validation_split=0.2, probe=probe,
                             verbose=0)
        seconds = time.perf_counter() - start
    if not was_deterministic:
        tf_config.disable_op_determinism()
    return {"model": model, "run": run, "images": images, "labels": labels, "probe": probe,
            "seconds": seconds}


def test_train_records_history_per_epoch(trained):
    run = trained["run"]
    assert isinstance(run, training.TrainingRun)
    assert set(run.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in run.history.items():
        assert len(values) == EPOCHS, key
        assert all(type(v) is float and math.isfinite(v) for v in values), key
    for key in ("accuracy", "val_accuracy"):
        assert all(0 <= v <= 1 for v in run.history[key]), key


def test_train_loss_decreases(trained):
    history = trained["run"].history
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_loss"][-1] < history["val_loss"][0]
    # Random guessing among 10 classes costs ln(10) = 2.30; the model beats it.
    assert history["val_loss"][-1] < math.log(10)


def test_validation_numbers_are_those_of_the_last_fifth(trained):
    # Keras holds out the end of the data; after the last epoch, the validation loss and
    # accuracy are those of the final model on these 40 images.
    model, images, labels = trained["model"], trained["images"], trained["labels"]
    held_out = slice(int(N_IMAGES * 0.8), None)
    probabilities = model.predict(images[held_out], verbose=0)
    history = trained["run"].history
    assert history["val_loss"][-1] == pytest.approx(
        _cross_entropy(probabilities, labels[held_out]), abs=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx(
        float(np.mean(probabilities.argmax(axis=1) == labels[held_out])), abs=1e-6)


def test_epoch_seconds(trained):
    seconds = trained["run"].epoch_seconds
    assert len(seconds) == EPOCHS
    assert all(type(s) is float and s > 0 for s in seconds)
    assert sum(seconds) <= trained["seconds"]


def test_probe_probabilities_per_epoch(trained):
    run, model, probe = trained["run"], trained["model"], trained["probe"]
    probabilities = run.probe_probabilities
    assert probabilities.shape == (EPOCHS, 4, 10)
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=2), 1.0, rtol=0, atol=1e-5)
    # The last row is the trained model's prediction; earlier ones differ (it learned).
    np.testing.assert_allclose(probabilities[-1], model.predict(probe, verbose=0), rtol=0,
                               atol=1e-5)
    assert not np.allclose(probabilities[0], probabilities[-1], atol=1e-4)


def test_train_compiles_with_sparse_cross_entropy_and_accuracy(trained):
    model, images, labels = trained["model"], trained["images"], trained["labels"]
    loss, accuracy = model.evaluate(images, labels, verbose=0)
    probabilities = model.predict(images, verbose=0)
    assert loss == pytest.approx(_cross_entropy(probabilities, labels), abs=1e-5)
    assert accuracy == pytest.approx(
        float(np.mean(probabilities.argmax(axis=1) == labels)), abs=1e-6)


def test_train_without_probe_or_validation(rng):
    images, labels = _problem(seed=1, n=48)
    run = training.train(_tiny_model(), images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=2, batch_size=16, verbose=0)
    assert run.probe_probabilities is None
    assert set(run.history) == {"loss", "accuracy"}
    assert [len(v) for v in run.history.values()] == [2, 2]
    assert len(run.epoch_seconds) == 2


def _history_after_seeded_training():
    images, labels = _problem(seed=2, n=96)
    runtime.set_seed(0)
    model = _tiny_model()
    run = training.train(model, images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=2, batch_size=16, validation_split=0.25, probe=images[:3],
                         verbose=0)
    return run, [w.numpy() for w in model.weights]


def test_seeded_training_is_repeatable():
    first, first_weights = _history_after_seeded_training()
    second, second_weights = _history_after_seeded_training()
    assert first.history == second.history
    np.testing.assert_array_equal(first.probe_probabilities, second.probe_probabilities)
    for a, b in zip(first_weights, second_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_accepts_numpy_scalars():
    images, labels = _problem(seed=3, n=40)
    run = training.train(_tiny_model(), images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=np.int64(1), batch_size=np.int32(20),
                         validation_split=np.float32(0.25), verbose=0)
    assert len(run.history["val_loss"]) == 1


_IMAGES, _LABELS = _problem(seed=4, n=20)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"images": (_IMAGES * 255).astype(np.uint8)}, TypeError,
         r"^images must be a float array"),
        ({"images": _IMAGES * 255}, ValueError, r"^images must have values in \[0, 1\]"),
        ({"images": _IMAGES - 0.5}, ValueError, r"^images must have values in \[0, 1\]"),
        ({"images": _IMAGES[..., 0]}, ValueError, r"^images must have shape \(N, H, W, C\)"),
        ({"images": _IMAGES[:0], "labels": _LABELS[:0]}, ValueError, r"^images is empty"),
        ({"labels": _LABELS[:-1]}, ValueError, r"^labels must have shape \(20,\)"),
        ({"labels": _LABELS.astype(float)}, TypeError, r"^labels must be integers"),
        ({"labels": np.where(_LABELS == 1, 10, 0)}, ValueError, r"^labels must be in 0\.\.9"),
        ({"labels": _LABELS - 1}, ValueError, r"^labels must be in 0\.\.9"),
        ({"epochs": 0}, ValueError, r"^epochs must be at least 1"),
        ({"epochs": 2.0}, TypeError, r"^epochs must be an int"),
        ({"batch_size": 0}, ValueError, r"^batch_size must be at least 1"),
        ({"batch_size": True}, TypeError, r"^batch_size must be an int"),
        ({"validation_split": 1.0}, ValueError, r"^validation_split must be in \[0, 1\)"),
        ({"validation_split": -0.1}, ValueError, r"^validation_split must be in \[0, 1\)"),
        ({"validation_split": "0.2"}, TypeError, r"^validation_split must be a number"),
        ({"validation_split": float("nan")}, ValueError, r"^validation_split must be finite"),
        ({"validation_split": True}, TypeError, r"^validation_split must be a number, got bool"),
        ({"optimizer": "adam"}, TypeError, r"^optimizer must be a keras Optimizer, got str"),
        ({"optimizer": None}, TypeError, r"^optimizer must be a keras Optimizer"),
        ({"probe": _IMAGES[0]}, ValueError, r"^probe must have shape \(N, H, W, C\)"),
        ({"probe": _IMAGES[:2] + 1.0}, ValueError, r"^probe must have values in \[0, 1\]"),
        ({"probe": _IMAGES[:2].tolist()}, TypeError, r"^probe must be a numpy array"),
        ({"images_per_epoch": 0}, ValueError, r"^images_per_epoch must be at least 1"),
        ({"images_per_epoch": -5}, ValueError, r"^images_per_epoch must be at least 1"),
        ({"images_per_epoch": 21}, ValueError,
         r"^images_per_epoch must be at most the 20 training images, got 21"),
        ({"images_per_epoch": 16, "validation_split": 0.25}, ValueError,
         r"^images_per_epoch must be at most the 15 training images, got 16"),
        ({"images_per_epoch": 5.0}, TypeError, r"^images_per_epoch must be an int"),
        ({"images_per_epoch": True}, TypeError, r"^images_per_epoch must be an int"),
        ({"images_per_epoch": "5"}, TypeError, r"^images_per_epoch must be an int"),
        ({"monitor": 3}, TypeError, r"^monitor must be callable, got int"),
        ({"monitor": "grad_cam"}, TypeError, r"^monitor must be callable, got str"),
        ({"seed": -1}, ValueError, r"^seed must be at least 0"),
        ({"seed": 1.5}, TypeError, r"^seed must be an int"),
        ({"seed": None, "images_per_epoch": 4}, TypeError, r"^seed must be an int"),
        ({"on_epoch": 3}, TypeError, r"^on_epoch must be callable, got int"),
        ({"on_epoch": "tqdm"}, TypeError, r"^on_epoch must be callable, got str"),
    ],
    ids=["images-uint8", "images-255", "images-negative", "images-3d", "images-empty",
         "labels-short", "labels-float", "labels-10", "labels-minus-1", "epochs-0",
         "epochs-float", "batch-0", "batch-bool", "split-1", "split-negative", "split-str",
         "split-nan", "split-bool", "optimizer-str", "optimizer-none", "probe-3d", "probe-range",
         "probe-list", "per-epoch-0", "per-epoch-negative", "per-epoch-too-many",
         "per-epoch-above-split", "per-epoch-float", "per-epoch-bool", "per-epoch-str",
         "monitor-int", "monitor-str", "seed-negative", "seed-float", "seed-none",
         "on-epoch-int", "on-epoch-str"],
)
def test_train_rejects_bad_input(change, error, match):
    model = _tiny_model()
    args = {"images": _IMAGES, "labels": _LABELS, "optimizer": keras.optimizers.Adam(1e-2),
            "epochs": 1, "batch_size": 4, "validation_split": 0.0, "probe": None,
            "verbose": 0, **change}
    images, labels = args.pop("images"), args.pop("labels")
    with pytest.raises(error, match=match):
        training.train(model, images, labels, **args)
    assert not model.compiled  # refused before compiling


# -- images_per_epoch, seed, monitor ---------------------------------------------------------


def _one_pixel_problem(n):
    """Image i lights pixel i alone, so the kernel row of pixel i moves only when image i is
    trained on: under plain SGD a row whose pixel is 0 in every image of the batch gets a
    gradient of exactly 0."""
    images = np.zeros((n, 28, 28, 1), np.float32)
    images.reshape(n, -1)[np.arange(n), np.arange(n)] = 1
    return images, np.arange(n) % 10


def _pixel_model():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", use_bias=False, kernel_initializer="zeros"),
    ])


def _rows_trained(images_per_epoch=None, seed=0, *, n=100, epochs=3, batch_size=5,
                  validation_split=0.2):
    """Train on the one-pixel problem; which images each epoch trained on, read from the rows
    of the kernel that moved during that epoch."""
    images, labels = _one_pixel_problem(n)
    model, optimizer = _pixel_model(), keras.optimizers.SGD(0.5)
    run = training.train(model, images, labels, optimizer=optimizer, epochs=epochs,
                         batch_size=batch_size, validation_split=validation_split,
                         images_per_epoch=images_per_epoch, seed=seed,
                         monitor=lambda m: m.get_weights()[0].copy(), verbose=0)
    kernels = [np.zeros((28 * 28, 10), np.float32), *run.monitored]
    moved = [set(np.flatnonzero(np.any(after != before, axis=1)).tolist())
             for before, after in zip(kernels[:-1], kernels[1:], strict=True)]
    return {"run": run, "model": model, "moved": moved, "steps": int(optimizer.iterations),
            "images": images, "labels": labels}


@pytest.mark.parametrize(("per_epoch", "batch_size", "steps"), [(20, 5, 4), (22, 5, 5),
                                                                (1, 4, 1), (80, 16, 5)])
def test_images_per_epoch_draws_that_many_distinct_training_images(per_epoch, batch_size,
                                                                  steps):
    got = _rows_trained(per_epoch, batch_size=batch_size)
    # ceil(k / batch) steps an epoch: k slots at most, and k distinct rows moved, so every
    # epoch saw exactly k distinct images, all from the first 80 (the last 20 are held out).
    assert got["steps"] == 3 * steps
    for moved in got["moved"]:
        assert len(moved) == per_epoch
        assert max(moved) < 80
    if 1 < per_epoch < 80:                                  # drawn afresh every epoch
        assert got["moved"][0] != got["moved"][1] != got["moved"][2] != got["moved"][0]


def test_images_per_epoch_omitted_trains_on_every_training_image():
    got = _rows_trained(None, batch_size=8)
    assert got["steps"] == 3 * 10
    assert got["moved"] == [set(range(80))] * 3


def test_images_per_epoch_draws_follow_the_seed():
    first, again, other = (_rows_trained(20, seed=s)["moved"] for s in (7, 7, 8))
    assert first == again
    assert first != other
    union = set().union(*first, *other)
    assert len(union) > 20 and max(union) < 80


def test_images_per_epoch_keeps_the_validation_split():
    got = _rows_trained(30, n=100, validation_split=0.2)
    run, model = got["run"], got["model"]
    assert set(run.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in run.history.values())
    never = set(range(80, 100)) & set().union(*got["moved"])
    assert not never                                        # held-out images never trained on
    held_images, held_labels = got["images"][80:], got["labels"][80:]
    probabilities = model.predict(held_images, verbose=0)
    assert run.history["val_loss"][-1] == pytest.approx(
        _cross_entropy(probabilities, held_labels), abs=1e-5)
    assert run.history["val_accuracy"][-1] == pytest.approx(
        float(np.mean(probabilities.argmax(axis=1) == held_labels)), abs=1e-6)


def test_images_per_epoch_without_validation_may_draw_every_image():
    got = _rows_trained(100, n=100, validation_split=0.0, epochs=1, batch_size=25)
    assert got["moved"] == [set(range(100))]
    assert set(got["run"].history) == {"loss", "accuracy"}


def test_monitor_is_called_after_every_epoch_with_the_model():
    images, labels = _problem(seed=5, n=48)
    model = _tiny_model()
    seen = []

    def monitor(m):
        seen.append(m)
        return {"epoch": len(seen), "kernel": m.layers[0].kernel.numpy().copy()}

    run = training.train(model, images, labels, optimizer=keras.optimizers.Adam(1e-2), epochs=3,
                         batch_size=16, keep_weights=True, monitor=monitor, verbose=0)
    assert len(seen) == 3 and all(m is model for m in seen)
    assert isinstance(run.monitored, list)
    assert [item["epoch"] for item in run.monitored] == [1, 2, 3]
    for item, weights in zip(run.monitored, run.weights, strict=True):
        # after that very epoch
        np.testing.assert_array_equal(item["kernel"], weights[f"{model.layers[0].name}/kernel"])
    np.testing.assert_array_equal(run.monitored[-1]["kernel"], model.layers[0].kernel.numpy())
    assert not np.array_equal(run.monitored[0]["kernel"], run.monitored[-1]["kernel"])


def test_on_epoch_hears_every_epoch_with_the_figures_keras_recorded():
    images, labels = _problem(seed=7, n=40)
    model = _tiny_model()
    heard = []

    def on_epoch(epoch, logs):
        heard.append((epoch, logs, model.layers[0].kernel.numpy().copy()))

    run = training.train(model, images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=3, batch_size=16, validation_split=0.2, keep_weights=True,
                         on_epoch=on_epoch, verbose=0)
    assert [epoch for epoch, _, _ in heard] == [1, 2, 3]
    for e, (_, logs, kernel) in enumerate(heard):
        assert set(logs) == set(run.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        for key, values in run.history.items():
            assert logs[key] == pytest.approx(values[e], rel=1e-6)
        # called after that very epoch, and after the record of it
        np.testing.assert_array_equal(kernel, run.weights[e][f"{model.layers[0].name}/kernel"])
    assert len(run.epoch_seconds) == 3


def test_monitor_omitted_leaves_monitored_none():
    images, labels = _problem(seed=6, n=32)
    run = training.train(_tiny_model(), images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=1, batch_size=16, verbose=0)
    assert run.monitored is None
    nothing = training.train(_tiny_model(), images, labels,
                             optimizer=keras.optimizers.Adam(1e-2), epochs=2, batch_size=16,
                             monitor=lambda m: None, verbose=0)
    assert nothing.monitored == [None, None]


# -- confusion_matrix ---------------------------------------------------------------------


def _brute_force_confusion(labels, predicted, num_classes):
    matrix = [[0] * num_classes for _ in range(num_classes)]
    for i in range(num_classes):
        for j in range(num_classes):
            for true, guess in zip(labels, predicted, strict=True):
                if true == i and guess == j:
                    matrix[i][j] += 1
    return np.array(matrix)


@pytest.mark.parametrize("n", [0, 1, 37, 500])
def test_confusion_matrix_counts_pairs(rng, n):
    labels = rng.integers(0, 10, size=n)
    predicted = np.where(rng.random(n) < 0.6, labels, rng.integers(0, 10, size=n))
    got = training.confusion_matrix(labels, predicted)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, _brute_force_confusion(labels, predicted, 10))
    assert got.sum() == n
    np.testing.assert_array_equal(got.sum(axis=1), np.bincount(labels, minlength=10))
    np.testing.assert_array_equal(got.sum(axis=0), np.bincount(predicted, minlength=10))


def test_confusion_matrix_rows_are_true_classes():
    got = training.confusion_matrix(np.array([3, 3, 3, 7]), np.array([3, 5, 5, 3]))
    expected = np.zeros((10, 10), dtype=np.int64)
    expected[3, 3], expected[3, 5], expected[7, 3] = 1, 2, 1
    np.testing.assert_array_equal(got, expected)


def test_confusion_matrix_accepts_lists_and_int32():
    got = training.confusion_matrix([0, 1, 1], np.array([0, 1, 2], dtype=np.int32))
    np.testing.assert_array_equal(got, _brute_force_confusion([0, 1, 1], [0, 1, 2], 10))


@pytest.mark.parametrize("num_classes", [3, 12])
def test_confusion_matrix_with_other_num_classes(rng, num_classes):
    labels = rng.integers(0, num_classes, size=60)
    predicted = rng.integers(0, num_classes, size=60)
    labels[0] = predicted[1] = num_classes - 1
    got = training.confusion_matrix(labels, predicted, num_classes=num_classes)
    assert got.shape == (num_classes, num_classes)
    np.testing.assert_array_equal(got, _brute_force_confusion(labels, predicted, num_classes))


_TRUE = np.array([0, 1, 2, 3, 4, 5])
_GUESS = np.array([0, 1, 2, 3, 5, 5])


@pytest.mark.parametrize(
    ("labels", "predicted", "num_classes", "error", "match"),
    [
        (_TRUE, _GUESS[:5], 10, ValueError, r"^predicted must have shape \(6,\)"),
        (_TRUE[:5], _GUESS, 10, ValueError, r"^predicted must have shape \(5,\)"),
        (_TRUE.astype(float), _GUESS, 10, TypeError, r"^labels must be integers"),
        (_TRUE, _GUESS.astype(float), 10, TypeError, r"^predicted must be integers"),
        (np.where(_TRUE == 5, 10, _TRUE), _GUESS, 10, ValueError, r"^labels must be in 0\.\.9"),
        (_TRUE, np.where(_GUESS == 5, 10, _GUESS), 10, ValueError,
         r"^predicted must be in 0\.\.9"),
        (_TRUE, _GUESS - 1, 10, ValueError, r"^predicted must be in 0\.\.9"),
        (_TRUE.reshape(2, 3), _GUESS, 10, ValueError, r"^labels must have shape"),
        (_TRUE, _GUESS.reshape(2, 3), 10, ValueError, r"^predicted must have shape \(6,\)"),
        (_TRUE, _GUESS, 3, ValueError, r"^(labels|predicted) must be in 0\.\.2"),
    ],
    ids=["predicted-short", "labels-short", "labels-float", "predicted-float", "labels-10",
         "predicted-10", "predicted-minus-1", "labels-2d", "predicted-2d",
         "above-num-classes"],
)
def test_confusion_matrix_rejects_bad_input(labels, predicted, num_classes, error, match):
    with pytest.raises(error, match=match):
        training.confusion_matrix(labels, predicted, num_classes=num_classes)


# -- macro_f1 -----------------------------------------------------------------------------


def _hand_macro_f1(labels, predicted):
    """Per-class precision and recall by counting, F1 = 2PR / (P + R), mean of 10 classes."""
    scores = []
    for c in range(10):
        tp = fp = fn = 0
        for true, guess in zip(labels, predicted, strict=True):
            if guess == c and true == c:
                tp += 1
            elif guess == c:
                fp += 1
            elif true == c:
                fn += 1
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall
                      else 0.0)
    return sum(scores) / 10


@pytest.mark.parametrize(("n", "accuracy"), [(10, 0.5), (100, 0.3), (1000, 0.9)])
def test_macro_f1_matches_hand_computation(rng, n, accuracy):
    labels = rng.integers(0, 10, size=n)
    predicted = np.where(rng.random(n) < accuracy, labels, rng.integers(0, 10, size=n))
    got = training.macro_f1(labels, predicted)
    assert type(got) is float
    assert got == pytest.approx(_hand_macro_f1(labels.tolist(), predicted.tolist()),
                                rel=0, abs=1e-12)


def test_macro_f1_small_example_by_hand():
    # Class 0: P = 1, R = 1/2, F1 = 2/3. Class 1: P = 2/3, R = 1, F1 = 4/5.
    # The other eight classes are absent and count as 0 (documented).
    got = training.macro_f1(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
    assert got == pytest.approx((2 / 3 + 4 / 5) / 10, abs=1e-12)


def test_macro_f1_of_perfect_predictions_is_one(rng):
    labels = np.concatenate([np.arange(10), rng.integers(0, 10, size=90)])
    assert training.macro_f1(labels, labels.copy()) == 1.0


def test_macro_f1_of_always_wrong_predictions_is_zero(rng):
    labels = rng.integers(0, 10, size=50)
    assert training.macro_f1(labels, (labels + 1) % 10) == 0.0


@pytest.mark.parametrize(
    ("labels", "predicted", "error", "match"),
    [
        (_TRUE, _GUESS[:5], ValueError, r"^predicted must have shape \(6,\)"),
        (_TRUE.astype(float), _GUESS, TypeError, r"^labels must be integers"),
        (_TRUE, _GUESS.astype(np.float32), TypeError, r"^predicted must be integers"),
        (np.where(_TRUE == 5, 10, _TRUE), _GUESS, ValueError, r"^labels must be in 0\.\.9"),
        (_TRUE, np.where(_GUESS == 5, 10, _GUESS), ValueError,
         r"^predicted must be in 0\.\.9"),
    ],
    ids=["lengths-differ", "labels-float", "predicted-float", "labels-10", "predicted-10"],
)
def test_macro_f1_rejects_bad_input(labels, predicted, error, match):
    with pytest.raises(error, match=match):
        training.macro_f1(labels, predicted)


# -- weight snapshots and linear probes ----------------------------------------------------


def test_keep_weights_stores_a_copy_per_epoch():
    images, labels = _problem(n=64)
    model = _tiny_model()
    run = training.train(model, images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=3, batch_size=16, keep_weights=True, verbose=0)
    assert len(run.weights) == 3
    conv, dense = (layer.name for layer in model.layers if layer.weights)
    keys = [f"{conv}/kernel", f"{conv}/bias", f"{dense}/kernel", f"{dense}/bias"]
    assert [list(weights) for weights in run.weights] == [keys] * 3   # named, not numbered
    for got, want in zip(run.weights[-1].values(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)           # the last snapshot is the end state
    kernel = f"{conv}/kernel"
    assert not np.array_equal(run.weights[0][kernel], run.weights[-1][kernel])   # copies
    plain = training.train(_tiny_model(), images, labels, optimizer=keras.optimizers.Adam(1e-2),
                           epochs=1, batch_size=16, verbose=0)
    assert plain.weights == []


def _coded_images(rng, n, signal=0.8):
    """8x8 images whose class lights pixel (0, label) on top of noise in [0, 0.2]."""
    labels = rng.integers(0, 10, n)
    images = 0.2 * rng.random((n, 8, 10, 1)).astype(np.float32)
    images[np.arange(n), 0, labels, 0] += signal
    return images, labels


def _identity_model():
    """A 1x1 convolution that copies its input: its features are the pixels."""
    model = keras.Sequential([keras.Input((8, 10, 1)),
                              keras.layers.Conv2D(1, 1, name="copy"),
                              keras.layers.Flatten(name="flat"),
                              keras.layers.Dense(10, activation="softmax", name="out")])
    model.get_layer("copy").set_weights([np.ones((1, 1, 1, 1), np.float32), np.zeros(1)])
    return model


def test_weight_snapshots_measure_each_kernel_against_its_last_epoch():
    images, labels = _problem(n=64)
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)),
                              keras.layers.Conv2D(2, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(name="gap"),
                              keras.layers.Dense(10, activation="softmax", name="out")])
    watch = training.WeightSnapshots(kept=("conv",))
    run = training.train(model, images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=3, batch_size=16, keep_weights=True, monitor=watch, verbose=0)
    kept = watch.finish(run.monitored)
    assert kept["similarity_layers"] == ["conv", "out"]
    assert kept["similarity"].shape == (3, 2) and kept["similarity"].dtype == np.float32
    for e, weights in enumerate(run.weights):            # by hand, from keep_weights' copies
        for j, key in enumerate(["conv/kernel", "out/kernel"]):
            a, b = weights[key].ravel(), run.weights[-1][key].ravel()
            want = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
            assert kept["similarity"][e, j] == pytest.approx(want, abs=1e-6)
    similarity, layers = training.kernel_similarity(run.weights)   # the same, from train's copies
    np.testing.assert_array_equal(similarity, kept["similarity"])
    assert layers == ["conv", "out"]
    assert not np.allclose(kept["similarity"][0], 1.0)   # the weights moved
    assert set(kept) == {"similarity", "similarity_layers", "conv/kernel", "conv/bias"}
    assert kept["conv/kernel"].shape == (3, 3, 3, 1, 2) and kept["conv/kernel"].dtype == np.float16
    np.testing.assert_array_equal(kept["conv/kernel"][1],
                                  run.weights[1]["conv/kernel"].astype(np.float16))


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_weights_by_path_names_layer_and_variable_as_the_zoo_does(kind):
    if kind == "sequential":   # variables made inside the model's name scope
        model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, name="conv"),
                                  keras.layers.Flatten(name="flat"),
                                  keras.layers.Dense(3, name="out")], name="net")
    else:                      # layers called before the model exists
        inputs = keras.Input((6, 6, 1))
        x = keras.layers.Flatten(name="flat")(keras.layers.Conv2D(2, 3, name="conv")(inputs))
        model = keras.Model(inputs, keras.layers.Dense(3, name="out")(x), name="net")
    got = training.weights_by_path(model)
    assert list(got) == ["conv/kernel", "conv/bias", "out/kernel", "out/bias"]
    for array, variable in zip(got.values(), model.weights, strict=True):
        np.testing.assert_array_equal(array, variable.numpy())
    got["conv/kernel"][...] = 7.0                                  # a copy, not a view
    assert not np.any(model.get_layer("conv").kernel.numpy() == 7.0)


def test_kernel_similarity_by_hand():
    final = {"a/kernel": np.array([[1.0, 0.0]]), "a/bias": np.ones(2),
             "b/kernel": np.array([2.0, 2.0, 0.0])}
    first = {"a/kernel": np.array([[1.0, 1.0]]), "a/bias": np.zeros(2),
             "b/kernel": np.array([-1.0, -1.0, 0.0])}
    similarity, layers = training.kernel_similarity([first, final])
    assert layers == ["a", "b"]                               # biases are not measured
    assert similarity.dtype == np.float32
    np.testing.assert_allclose(similarity, [[1 / np.sqrt(2), -1.0], [1.0, 1.0]], atol=1e-7)


@pytest.mark.parametrize(
    ("snapshots", "match"),
    [([], r"^snapshots is empty"),
     ([{"a/bias": np.ones(2)}, {"a/kernel": np.ones(2)}],
      r"^snapshots\[0\] lacks 'a/kernel' as the last snapshot has it, shape \(2,\)"),
     ([{"a/kernel": np.ones(3)}, {"a/kernel": np.ones(2)}],
      r"^snapshots\[0\] lacks 'a/kernel' as the last snapshot has it")],
    ids=["empty", "missing", "reshaped"],
)
def test_kernel_similarity_rejects_bad_snapshots(snapshots, match):
    with pytest.raises(ValueError, match=match):
        training.kernel_similarity(snapshots)


def test_weight_snapshots_with_initial_keep_the_weights_before_training():
    images, labels = _problem(n=64)
    model = _tiny_model()
    conv = next(layer.name for layer in model.layers if layer.weights)
    start = training.weights_by_path(model)
    watch = training.WeightSnapshots(kept=(conv,), initial=True)
    run = training.train(model, images, labels, optimizer=keras.optimizers.Adam(1e-2),
                         epochs=2, batch_size=16, keep_weights=True, monitor=watch, verbose=0)
    kept = watch.finish(run.monitored)
    np.testing.assert_array_equal(kept[f"initial/{conv}/kernel"],
                                  start[f"{conv}/kernel"].astype(np.float16))
    want, _ = training.kernel_similarity([start, *run.weights])
    np.testing.assert_allclose(kept["initial_similarity"], want[0], atol=1e-6)
    covered, _ = training.distance_covered([start, *run.weights])
    np.testing.assert_allclose(kept["distance_covered"], covered, atol=1e-6)
    assert kept["distance_covered"].shape == (3, 2)
    plain = training.WeightSnapshots(kept=(conv,))
    plain.begin(model)                                    # without initial=True: nothing kept
    assert plain.initial_weights is None
    with pytest.raises(ValueError, match=r"^initial=True but begin\(model\) was never called"):
        training.WeightSnapshots(initial=True).finish(run.monitored)


def test_distance_covered_by_hand():
    start = {"a/kernel": np.array([0.0, 0.0]), "a/bias": np.ones(2), "b/kernel": np.array([4.0])}
    middle = {"a/kernel": np.array([3.0, 0.0]), "a/bias": np.ones(2), "b/kernel": np.array([6.0])}
    final = {"a/kernel": np.array([3.0, 4.0]), "a/bias": np.ones(2), "b/kernel": np.array([2.0])}
    covered, layers = training.distance_covered([start, middle, final])
    assert layers == ["a", "b"] and covered.dtype == np.float32
    # a: |final - middle| = 4 of |final - start| = 5; b: moved away first, 4 left of 2.
    np.testing.assert_allclose(covered, [[0.0, 0.0], [0.2, -1.0], [1.0, 1.0]], atol=1e-7)


@pytest.mark.parametrize(
    ("snapshots", "match"),
    [([], r"^snapshots must hold at least two .* got 0"),
     ([{"a/kernel": np.ones(2)}], r"^snapshots must hold at least two .* got 1"),
     ([{"a/bias": np.ones(2)}, {"a/kernel": np.ones(2)}],
      r"^snapshots\[0\] lacks 'a/kernel' as the last snapshot has it, shape \(2,\)"),
     ([{"a/kernel": np.ones(3)}, {"a/kernel": np.ones(2)}],
      r"^snapshots\[0\] lacks 'a/kernel' as the last snapshot has it")],
    ids=["empty", "one", "missing", "reshaped"],
)
def test_distance_covered_rejects_bad_snapshots(snapshots, match):
    with pytest.raises(ValueError, match=match):
        training.distance_covered(snapshots)


def test_weight_snapshots_refuse_unknown_layers_and_no_epochs():
    watch = training.WeightSnapshots(kept=("conv", "nope"))
    with pytest.raises(ValueError,
                       match=r"^kept names layers that model .* lacks: \['conv', 'nope'\]"):
        watch(_tiny_model())
    with pytest.raises(ValueError, match=r"^items is empty"):
        watch.finish([])


def test_linear_probe_separates_separable_features(rng):
    images, labels = _coded_images(rng, 4000)
    model = _identity_model()
    accuracy = training.linear_probe(model, images[:3000], labels[:3000], images[3000:],
                                     labels[3000:])
    assert accuracy > 0.95
    noise, _ = _coded_images(rng, 4000, signal=0.0)                        # nothing to learn
    chance = training.linear_probe(model, noise[:3000], labels[:3000], noise[3000:],
                                   labels[3000:])
    assert chance < 0.2


def _ridge_by_hand(train, train_labels, test, ridge):
    """Primal ridge regression on standardised pixels and centred one-hot targets."""
    x, t = (a.reshape(len(a), -1).astype(np.float64) for a in (train, test))
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    x, t = (x - mean) / std, (t - mean) / std
    d = x.shape[1]
    y = np.eye(10)[train_labels] - 0.1
    w = np.linalg.solve(x.T @ x + ridge * d * np.eye(d), x.T @ y)
    return t @ w, x, y


def _leave_one_out_accuracy(x, y, labels, ridge):
    """Refit without each training image in turn (what the closed form replaces)."""
    d, hits = x.shape[1], 0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        w = np.linalg.solve(x[keep].T @ x[keep] + ridge * d * np.eye(d), x[keep].T @ y[keep])
        hits += int((x[i] @ w).argmax() == labels[i])
    return hits / len(x)


def test_linear_probe_is_ridge_regression_with_the_ridge_left_out_digits_prefer():
    # A weak signal, so that the accuracy lies between chance and 1 and tells ridges apart.
    images, labels = _coded_images(np.random.default_rng(0), 400, signal=0.15)
    train, train_labels, test, test_labels = images[:120], labels[:120], images[120:], labels[120:]
    model = _identity_model()
    before = [w.copy() for w in model.get_weights()]
    for ridge in (0.01, 10.0):
        scores, _, _ = _ridge_by_hand(train, train_labels, test, ridge)
        want = float((scores.argmax(axis=1) == test_labels).mean())
        got = training.linear_probe(model, train, train_labels, test, test_labels, "copy",
                                    ridges=[ridge])
        # The probe holds its standardised features in float16: a digit on a near-tie
        # may go the other way (2 of 280 at most).
        assert got == pytest.approx(want, abs=2 / 280 + 1e-9)
        assert 0.2 < got < 0.95
    # With several ridges it takes the one whose leave-one-out accuracy is highest.
    _, x, y = _ridge_by_hand(train, train_labels, test, 1.0)
    candidates = (0.01, 0.3, 10.0)
    loo = [_leave_one_out_accuracy(x, y, train_labels, r) for r in candidates]
    best = candidates[max(range(3), key=lambda k: (loo[k], candidates[k]))]
    assert training.linear_probe(model, train, train_labels, test, test_labels,
                                 ridges=candidates) == training.linear_probe(
        model, train, train_labels, test, test_labels, ridges=[best])
    for got, want in zip(model.get_weights(), before, strict=True):      # the model unchanged
        np.testing.assert_array_equal(got, want)


def test_linear_probe_on_a_copying_layer_equals_the_probe_on_pixels():
    images, labels = _coded_images(np.random.default_rng(0), 2000, signal=0.1)
    model = _identity_model()
    on_pixels = training.linear_probe(model, images[:1600], labels[:1600], images[1600:],
                                      labels[1600:], batch_size=300)
    on_layer = training.linear_probe(model, images[:1600], labels[:1600], images[1600:],
                                     labels[1600:], "copy", batch_size=7)
    assert 0.25 < on_pixels < 0.9
    assert on_layer == pytest.approx(on_pixels, abs=0.005)                 # 2 of 400 digits


def test_linear_probe_refuses_features_too_large_to_hold(monkeypatch):
    monkeypatch.setattr(training, "_PROBE_CACHE_BYTES", 1000)
    images, labels = _coded_images(np.random.default_rng(0), 20)
    with pytest.raises(ValueError, match=r"^the features of 10 training images take 0 MiB"):
        training.linear_probe(_identity_model(), images[:10], labels[:10], images[10:],
                              labels[10:])


_X = np.zeros((4, 8, 10, 1), np.float32)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((_X, np.zeros(4, int), np.zeros((2, 8, 9, 1), np.float32), np.zeros(2, int)), {},
         ValueError, r"^test_images must have shape \(N, 8, 10, 1\) for model"),
        ((_X, np.zeros(3, int), _X[:2], np.zeros(2, int)), {}, ValueError,
         r"train_labels must have shape \(4,\)"),
        ((_X, np.zeros(4, int), _X[:2], np.full(2, 10)), {}, ValueError,
         r"test_labels must be in 0..9"),
        ((_X, np.zeros(4), _X[:2], np.zeros(2, int)), {}, TypeError,
         r"train_labels must be integers"),
        ((_X + 2, np.zeros(4, int), _X[:2], np.zeros(2, int)), {}, ValueError,
         r"^train_images must have values in \[0, 1\]"),
        ((_X, np.zeros(4, int), _X[:2, :, :, 0], np.zeros(2, int)), {}, ValueError,
         r"^test_images must have shape \(N, H, W, C\)"),
        ((_X, np.zeros(4, int), _X[:2], np.zeros(2, int)), {"layer": "nope"}, ValueError,
         r"^unknown layer 'nope'"),
        ((_X, np.zeros(4, int), _X[:2], np.zeros(2, int)), {"batch_size": 0}, ValueError,
         r"^batch_size must be"),
        ((_X, np.zeros(4, int), _X[:2], np.zeros(2, int)), {"ridges": []}, TypeError,
         r"^ridges must be a non-empty sequence"),
        ((_X, np.zeros(4, int), _X[:2], np.zeros(2, int)), {"ridges": "1"}, TypeError,
         r"^ridges must be a non-empty sequence"),
        ((_X, np.zeros(4, int), _X[:2], np.zeros(2, int)), {"ridges": [1, "a"]}, TypeError,
         r"^ridges\[1\] must be a number"),
        ((_X, np.zeros(4, int), _X[:2], np.zeros(2, int)), {"ridges": [1, 0]}, ValueError,
         r"^ridges must be positive"),
    ],
    ids=["sizes", "train-labels", "test-labels", "float-labels", "range", "axes", "layer",
         "batch-size", "ridges-empty", "ridges-str", "ridges-item", "ridges-zero"],
)
def test_linear_probe_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        training.linear_probe(_identity_model(), *args, **kwargs)


# -- linear_classifier_accuracy: the probe's classifier on features computed once --------


def _primal_ridge_predictions(train, labels, test, ridge):
    """Ridge regression on centred one-hot targets in the primal form, by numpy alone:
    W = (X'X / d + r I)^-1 X'T / d on standardised features (d features)."""
    mean, std = train.mean(axis=0), train.std(axis=0) + 1e-6
    x, t = (train - mean) / std, np.eye(10)[labels] - 0.1
    d = x.shape[1]
    weights = np.linalg.solve(x.T @ x / d + ridge * np.eye(d), x.T @ t / d)
    return (((test - mean) / std) @ weights).argmax(axis=1)


@pytest.mark.parametrize("ridge", [0.1, 10.0])
def test_linear_classifier_equals_the_primal_ridge_solution(rng, ridge):
    centres = rng.normal(size=(10, 6)) * 2
    labels = rng.integers(0, 10, 120)
    features = centres[labels] + rng.normal(size=(120, 6))
    test_labels = rng.integers(0, 10, 400)
    test = centres[test_labels] + rng.normal(size=(400, 6))
    expected = (_primal_ridge_predictions(features, labels, test, ridge) == test_labels).mean()
    got = training.linear_classifier_accuracy(features, labels, test, test_labels,
                                              ridges=(ridge,))
    assert got == pytest.approx(expected, abs=1 / 400)     # float16 cache: one tie at most
    assert 0.5 < got < 1.0                                  # a real, not trivial, problem


def test_linear_classifier_agrees_with_the_probe_on_pixels(rng):
    images, labels = _coded_images(rng, 600)
    pixels = images.reshape(600, -1)
    assert training.linear_classifier_accuracy(pixels[:400], labels[:400], pixels[400:],
                                               labels[400:]) == \
        training.linear_probe(_identity_model(), images[:400], labels[:400], images[400:],
                              labels[400:])


@pytest.mark.parametrize("change, error, match", [
    (dict(train_features=[[1.0, 2.0]]), TypeError, "train_features must be a numeric numpy"),
    (dict(train_features=np.ones(4)), ValueError, r"train_features must have shape \(N, \.\.\.\)"),
    (dict(test_features=np.full((3, 2), np.nan)), ValueError, "test_features must be finite"),
    (dict(test_features=np.ones((3, 5))), ValueError, "must have 2 features per example"),
    (dict(train_labels=np.array([0, 1])), ValueError, "train_labels"),
    (dict(test_labels=np.array([0, 1, 11])), ValueError, "test_labels"),
    (dict(ridges=()), TypeError, "ridges must be a non-empty sequence"),
    (dict(ridges=(0.0,)), ValueError, "ridges must be positive"),
])
def test_linear_classifier_bad_input(change, error, match):
    arguments = dict(train_features=np.arange(8.0).reshape(4, 2),
                     train_labels=np.array([0, 1, 0, 1]),
                     test_features=np.ones((3, 2)), test_labels=np.array([0, 1, 1]))
    arguments.update(change)
    with pytest.raises(error, match=match):
        training.linear_classifier_accuracy(**arguments)
