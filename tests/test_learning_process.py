"""Tests for cnnlab.learning_process: watched digits, empty maps, the stored record.

The zoo's ``reproduce`` of this run is run on a tiny synthetic problem (MNIST and the
paper's network swapped for small stand-ins), so that what it stores can be checked against
Grad-CAM of the very model it trained. The record stored in the package is checked too.
"""

import dataclasses
import json

import keras
import numpy as np
import pytest

from cnnlab import learning_process, zoo
from cnnlab.explain.gradcam import grad_cam

# -- watched_digits ------------------------------------------------------------------------


def _first_of_each_class(labels):
    found = {}
    for index, label in enumerate(labels):
        if int(label) not in found:
            found[int(label)] = index
    return [found[c] for c in range(10)]


@pytest.mark.parametrize("n", [10, 57, 1000])
def test_watched_digits_are_the_first_of_each_class(rng, n):
    labels = rng.permutation(np.concatenate([np.arange(10), rng.integers(0, 10, n - 10)]))
    got = learning_process.watched_digits(labels)
    assert got.dtype == np.int64 and got.shape == (10,)
    assert got.tolist() == _first_of_each_class(labels)
    np.testing.assert_array_equal(labels[got], np.arange(10))


def test_watched_digits_accepts_a_list_and_uint8():
    labels = [3, 3, 9, 0, 1, 2, 4, 5, 6, 7, 8, 0]
    assert learning_process.watched_digits(labels).tolist() == [3, 4, 5, 0, 6, 7, 8, 9, 10, 2]
    assert learning_process.watched_digits(np.array(labels, np.uint8)).tolist() == \
        [3, 4, 5, 0, 6, 7, 8, 9, 10, 2]


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (np.arange(9), ValueError, r"^labels must contain every class 0\.\.9; missing \[9\]"),
        (np.array([0, 0, 2, 4, 6, 8, 1, 3, 5]), ValueError,
         r"^labels must contain every class 0\.\.9; missing \[7, 9\]"),
        (np.array([], dtype=np.int64), ValueError,
         r"^labels must contain every class 0\.\.9; missing \[0, 1, 2"),
        (np.arange(10).reshape(2, 5), ValueError, r"^labels must have shape \(N,\), got \(2, 5\)"),
        (np.int64(3), ValueError, r"^labels must have shape \(N,\), got \(\)"),
        (np.arange(10.0), TypeError, r"^labels must be integers"),
        (np.append(np.arange(10), 10), ValueError, r"^labels must be in 0\.\.9"),
        (np.append(np.arange(10), -1), ValueError, r"^labels must be in 0\.\.9"),
    ],
    ids=["missing-9", "missing-7-9", "empty", "2d", "scalar", "float", "ten", "minus-1"],
)
def test_watched_digits_rejects_bad_labels(labels, error, match):
    with pytest.raises(error, match=match):
        learning_process.watched_digits(labels)


# -- empty_maps ----------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.0, 1e-8, 0.25, 3])
def test_empty_maps_by_hand(rng, threshold):
    peaks = rng.random((2, 4, 10))
    peaks[rng.random(peaks.shape) < 0.3] = 0.0
    peaks[0, 0, 0] = 0.25                                   # exactly at a threshold
    peaks[1, 0, 0] = 1e-9
    got = learning_process.empty_maps(peaks, threshold)
    assert got.dtype == bool and got.shape == peaks.shape
    expected = np.zeros(peaks.shape, dtype=bool)
    for index in np.ndindex(peaks.shape):
        expected[index] = not peaks[index] > threshold     # nothing above the threshold
    np.testing.assert_array_equal(got, expected)


def test_empty_maps_default_asks_for_exact_zeros():
    got = learning_process.empty_maps(np.array([0.0, 1e-30, -0.0, 2.0], np.float32))
    assert got.tolist() == [True, False, True, False]
    assert learning_process.empty_maps([[0.0, 0.5]], threshold=0.5).tolist() == [[True, True]]
    assert learning_process.empty_maps(0.0).shape == ()


@pytest.mark.parametrize(
    ("map_max", "threshold", "match"),
    [
        (np.array([0.1, np.nan]), 0.0, r"^map_max must not contain NaN"),
        (np.ones(3), -0.1, r"^threshold must be at least 0, got -0\.1"),
        (np.ones(3), float("inf"), r"^threshold must be finite, got inf"),
        (np.ones(3), float("nan"), r"^threshold must be finite, got nan"),
    ],
    ids=["map-nan", "negative", "inf", "nan"],
)
def test_empty_maps_rejects_bad_input(map_max, threshold, match):
    with pytest.raises(ValueError, match=match):
        learning_process.empty_maps(map_max, threshold)


@pytest.mark.parametrize(("map_max", "threshold", "match"),
                         [(np.ones(3), "x", r"^threshold must be a number, got str"),
                          (np.ones(3), True, r"^threshold must be a number, got bool True"),
                          (np.ones(3), False, r"^threshold must be a number, got bool False"),
                          (["a"], 0.0, r"^map_max must be numeric, got dtype <U1")],
                         ids=["threshold-str", "true", "false", "map-strings"])
def test_empty_maps_rejects_non_numbers(map_max, threshold, match):
    with pytest.raises(TypeError, match=match):
        learning_process.empty_maps(map_max, threshold)


# -- record --------------------------------------------------------------------------------


def test_record_decodes_the_eight_bit_maps(tmp_path, rng):
    maps = rng.integers(0, 256, (2, 3, 10, 4, 4)).astype(np.uint8)
    arrays = {"digits": np.arange(10) * 7, "maps": maps,
              "map_min": rng.random((2, 3, 10), dtype=np.float32),
              "map_max": rng.random((2, 3, 10), dtype=np.float32),
              "probabilities": rng.random((3, 10, 10), dtype=np.float32)}
    np.savez_compressed(tmp_path / f"{learning_process.NAME}.epochs.npz", **arrays)
    meta = {"layer": "conv2", "history": {"loss": [1.0, 0.5, 0.2]}, "seconds": 1.5,
            "eight_bit": ["maps"]}
    (tmp_path / f"{learning_process.NAME}.json").write_text(json.dumps(meta))
    got = zoo.record(learning_process.NAME, str(tmp_path))
    assert set(got) == set(arrays) | set(meta)
    assert got["maps"].dtype == np.float32
    np.testing.assert_allclose(got["maps"], maps / 255, rtol=0, atol=1e-7)
    for key in ("digits", "map_min", "map_max", "probabilities"):
        np.testing.assert_array_equal(got[key], arrays[key])
    assert got["history"] == meta["history"] and got["layer"] == "conv2"


# -- reproduce on a tiny stand-in problem ---------------------------------------------------


def _stand_in_data(rng):
    """Brightness codes the class, so a tiny network learns something in two epochs."""
    def make(n):
        labels = rng.permutation(np.arange(n) % 10)
        images = 0.3 * rng.random((n, 28, 28, 1)) + 0.07 * labels[:, None, None, None]
        return images.astype(np.float32), labels.astype(np.int64)    # as load_mnist gives

    return make(100), make(40)


def _stand_in_model():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(3, 3, activation="relu", name="conv1"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv2"),   # 24x24, as the paper's
        keras.layers.MaxPooling2D(4, name="pool"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="sigmoid", name="scores"),   # the paper's head
        keras.layers.Softmax(name="predictions"),
    ], name="stand_in")


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """One run of reproduce on the stand-ins, shared by the tests that only read it."""
    from tensorflow.python.framework import config as tf_config

    from cnnlab import data

    (x_train, y_train), (x_test, y_test) = _stand_in_data(np.random.default_rng(7))
    built = []

    def model():
        built.append(_stand_in_model())
        return built[-1]

    directory = tmp_path_factory.mktemp("learning")
    was_deterministic = tf_config.is_op_determinism_enabled()
    with pytest.MonkeyPatch.context() as mp:    # also undoes set_seed's environment variables
        mp.delenv("PYTHONHASHSEED", raising=False)
        mp.delenv("TF_DETERMINISTIC_OPS", raising=False)
        mp.setattr(data, "load_mnist", lambda: ((x_train, y_train), (x_test, y_test)))
        mp.setitem(zoo.RECIPES, learning_process.NAME, dataclasses.replace(
            zoo.RECIPES[learning_process.NAME], build=model, epochs=2, images_per_epoch=40,
            batch_size=20))
        result = zoo.reproduce(learning_process.NAME, directory, verbose=0)
    if not was_deterministic:
        tf_config.disable_op_determinism()
    assert len(built) == 1
    return {"result": result, "record": zoo.record(learning_process.NAME, directory),
            "model": built[0], "x_test": x_test, "y_test": y_test}


def test_reproduce_stores_the_last_epoch_of_the_model_it_trained(reproduced):
    record, model = reproduced["record"], reproduced["model"]
    x_test, y_test = reproduced["x_test"], reproduced["y_test"]
    digits = np.array(_first_of_each_class(y_test))
    np.testing.assert_array_equal(record["digits"], digits)
    assert record["maps"].shape == (2, 2, 10, 24, 24) and record["maps"].dtype == np.float32
    assert record["map_max"].shape == record["map_min"].shape == (2, 2, 10)
    assert record["probabilities"].shape == (2, 10, 10)
    # After the last epoch the model is the trained one: recompute what was stored.
    watched = x_test[digits]
    for k, score in enumerate(["sigmoid", "logit"]):
        raw = grad_cam(model, watched, "conv2", np.arange(10), score=score)
        np.testing.assert_allclose(record["map_max"][k, -1], raw.max(axis=(1, 2)), rtol=1e-5,
                                   atol=1e-12)
        np.testing.assert_allclose(record["map_min"][k, -1], raw.min(axis=(1, 2)), rtol=1e-5,
                                   atol=1e-12)
        for c in range(10):                                   # eq. (7.3), 8 bits
            low, high = raw[c].min(), raw[c].max()
            want = (raw[c] - low) / (high - low) if high > low else np.zeros_like(raw[c])
            np.testing.assert_allclose(record["maps"][k, -1, c], want, rtol=0,
                                       atol=0.5 / 255 + 1e-5)
    np.testing.assert_allclose(record["probabilities"][-1], model.predict(watched, verbose=0),
                               atol=1e-6)
    scores = keras.Model(model.inputs[0], model.get_layer("scores").output)(watched)
    np.testing.assert_allclose(record["sigmoid"][-1], np.asarray(scores), atol=1e-6)
    accuracy = float((model.predict(x_test, verbose=0).argmax(axis=1) == y_test).mean())
    assert record["history"]["test_accuracy"][-1] == pytest.approx(accuracy, abs=1e-9)


def test_reproduce_record_matches_its_json_and_recipe(reproduced):
    result, record = reproduced["result"], reproduced["record"]
    assert result["epochs"] == 2 and result["images_per_epoch"] == 40
    assert result["layer"] == "conv2" and result["scores"] == ["sigmoid", "logit"]
    assert {"loss", "accuracy", "test_accuracy"} <= set(result["history"])
    assert all(len(v) == 2 for v in result["history"].values())
    assert len(result["epoch_seconds"]) == 2 and result["seconds"] > 0
    for key, value in result.items():
        assert record[key] == value, key
    # The two epochs differ: the model learned between them.
    assert not np.allclose(record["probabilities"][0], record["probabilities"][1])


def test_reproduce_keeps_empty_maps_empty(reproduced):
    record = reproduced["record"]
    empty = record["map_max"] == 0
    assert (record["maps"][empty] == 0).all()
    spread = record["map_max"] > record["map_min"]
    assert (record["maps"][spread].max(axis=(-2, -1)) == 1).all()
    assert (record["maps"][spread].min(axis=(-2, -1)) == 0).all()


# -- the record stored in the package ---------------------------------------------------------


@pytest.fixture(scope="module")
def stored():
    # No skip: the record ships with the package.
    return zoo.record(learning_process.NAME)


def test_stored_record_is_consistent(stored):
    epochs = stored["epochs"]
    maps = stored["maps"]
    assert maps.shape == (2, epochs, 10, 24, 24) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1
    assert stored["map_max"].shape == stored["map_min"].shape == (2, epochs, 10)
    assert (stored["map_min"] >= 0).all() and (stored["map_min"] <= stored["map_max"]).all()
    assert stored["probabilities"].shape == stored["sigmoid"].shape == (epochs, 10, 10)
    assert (stored["probabilities"] >= 0).all()
    assert ((stored["sigmoid"] >= 0) & (stored["sigmoid"] <= 1)).all()
    np.testing.assert_allclose(stored["probabilities"].sum(axis=-1), 1, atol=1e-3)
    empty = stored["map_max"] == 0
    assert (maps[empty] == 0).all()
    spread = stored["map_max"] > stored["map_min"]
    assert (maps[spread].max(axis=(-2, -1)) == 1).all()
    assert stored["layer"] == learning_process.LAYER
    assert stored["scores"] == list(learning_process.SCORES)
    for key in ("loss", "accuracy", "test_accuracy"):
        assert len(stored["history"][key]) == epochs, key
    assert len(stored["epoch_seconds"]) == epochs


def test_stored_record_watches_the_first_test_digit_of_each_class(stored):
    from cnnlab.data import load_mnist

    (_, _), (_, y_test) = load_mnist()
    digits = stored["digits"]
    assert digits.tolist() == _first_of_each_class(y_test)
    np.testing.assert_array_equal(y_test[digits], np.arange(10))


def test_stored_record_reaches_the_accuracy_the_chapter_states(stored):
    # Chapter 7 reports the final test accuracy of the stored run to four places.
    assert stored["history"]["test_accuracy"][-1] >= 0.99



# -- SaturationWatch: the logits that decide whether the score saturates ------------------------


@pytest.fixture(scope="module")
def saturation(tmp_path_factory):
    """The Adadelta run's recipe reproduced on the stand-ins, its monitor looking at 30 digits."""
    import functools

    from tensorflow.python.framework import config as tf_config

    from cnnlab import data

    (x_train, y_train), (x_test, y_test) = _stand_in_data(np.random.default_rng(8))
    built = []

    def model():
        built.append(_stand_in_model())
        return built[-1]

    directory = tmp_path_factory.mktemp("saturation")
    was_deterministic = tf_config.is_op_determinism_enabled()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PYTHONHASHSEED", raising=False)
        mp.delenv("TF_DETERMINISTIC_OPS", raising=False)
        mp.setattr(data, "load_mnist", lambda: ((x_train, y_train), (x_test, y_test)))
        mp.setitem(zoo.RECIPES, "sakai2019_adadelta", dataclasses.replace(
            zoo.RECIPES["sakai2019_adadelta"], build=model, epochs=2, images_per_epoch=40,
            batch_size=20, monitor=functools.partial(learning_process.SaturationWatch,
                                                     checkpoints=(2, 5), test_digits=30)))
        zoo.reproduce("sakai2019_adadelta", directory, verbose=0)
    if not was_deterministic:
        tf_config.disable_op_determinism()
    return {"record": zoo.record("sakai2019_adadelta", directory), "model": built[0],
            "x_test": x_test, "y_test": y_test}


def test_saturation_watch_stores_the_logits_of_the_model_it_trained(saturation):
    record, model = saturation["record"], saturation["model"]
    x_test, y_test = saturation["x_test"], saturation["y_test"]
    # Only epoch 2 was a checkpoint (5 was never reached), of the first 30 test digits.
    assert record["checkpoints"].tolist() == [2]
    assert record["checkpoint_logits"].shape == (1, 30, 10)
    assert record["checkpoint_true_score"].shape == (1, 30)
    assert record["checkpoint_map_max"].shape == (2, 1, 30)
    assert record["logits"].shape == (2, 10, 10)
    # Independently: the logit is the input of the output units' sigmoid, by hand in float64.
    kernel, bias = (np.asarray(w, np.float64) for w in model.get_layer("scores").get_weights())
    hidden = keras.Model(model.inputs[0], model.get_layer("flatten").output)
    x = np.asarray(hidden(x_test[:30]), np.float64) @ kernel + bias
    np.testing.assert_allclose(record["checkpoint_logits"][0], x, rtol=1e-4, atol=1e-5)
    watched = learning_process.watched_digits(y_test)
    np.testing.assert_allclose(record["logits"][-1],
                               np.asarray(hidden(x_test[watched]), np.float64) @ kernel + bias,
                               rtol=1e-4, atol=1e-5)
    # The stored sigmoid scores are sigmoid(x), and the map peaks are grad_cam's, both ways.
    truth = x[np.arange(30), y_test[:30]]
    np.testing.assert_allclose(record["checkpoint_true_score"][0], 1 / (1 + np.exp(-truth)),
                               atol=1e-6)
    np.testing.assert_allclose(record["sigmoid"][-1], 1 / (1 + np.exp(-record["logits"][-1])),
                               atol=1e-6)
    for k, score in enumerate(learning_process.SCORES):
        peaks = grad_cam(model, x_test[:30], "conv2", y_test[:30], score=score).max(axis=(1, 2))
        np.testing.assert_allclose(record["checkpoint_map_max"][k, 0], peaks, rtol=1e-5,
                                   atol=1e-12)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"checkpoints": (1, 0)}, ValueError, r"^checkpoints\[1\] must be at least 1, got 0"),
    ({"checkpoints": (1.5,)}, TypeError, r"^checkpoints\[0\] must be an int, got float 1\.5"),
    ({"test_digits": 0}, ValueError, r"^test_digits must be at least 1, got 0"),
    ({"test_digits": 41}, ValueError, r"^test_digits must be at most the 40 test digits, got 41"),
    ({"test_digits": "all"}, TypeError, r"^test_digits must be an int, got str"),
], ids=["checkpoint-0", "checkpoint-float", "digits-0", "digits-too-many", "digits-str"])
def test_saturation_watch_bad_input(kwargs, error, match):
    (_, _), (x_test, y_test) = _stand_in_data(np.random.default_rng(9))
    with pytest.raises(error, match=match):
        learning_process.SaturationWatch(x_test, y_test, **kwargs)


def test_stored_adadelta_record_never_saturates():
    # What chapter 7 states of the Adadelta run: no y^c of 1.0, the same maps empty both ways.
    from cnnlab.data import load_mnist

    stored = zoo.record("sakai2019_adadelta")
    (_, _), (_, y_test) = load_mnist()
    epochs, truth = stored["epochs"], np.arange(10)
    assert stored["logits"].shape == (epochs, 10, 10)
    np.testing.assert_allclose(stored["sigmoid"], 1 / (1 + np.exp(-stored["logits"])), atol=1e-6)
    n = stored["checkpoint_logits"].shape[1]
    assert stored["checkpoints"].tolist() == list(learning_process.CHECKPOINTS) and n == 1000
    x = stored["checkpoint_logits"][:, np.arange(n), y_test[:n]]
    np.testing.assert_allclose(stored["checkpoint_true_score"], 1 / (1 + np.exp(-x)), atol=1e-6)
    assert (stored["sigmoid"][:, truth, truth] < 1).all()
    assert (stored["checkpoint_true_score"] < 1).all()
    assert x.max() < 16.6 and stored["logits"].max() < 16.6
    empty = stored["map_max"] == 0
    np.testing.assert_array_equal(empty[0], empty[1])
    np.testing.assert_array_equal(stored["checkpoint_map_max"][0] == 0,
                                  stored["checkpoint_map_max"][1] == 0)
