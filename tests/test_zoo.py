"""Tests for cnnlab.zoo: names, a tiny reproduce/load round trip, evaluate by hand, and the
stored reference models measured on the real MNIST test digits (the book's promise)."""

import dataclasses
import functools
import math
import pickle
import time

import keras
import numpy as np
import pytest
from tiny_models import tiny_cnn

import cnnlab.data
from cnnlab import training, zoo

# set_seed writes environment variables and switches on op determinism: undo both.
pytestmark = pytest.mark.usefixtures("restore_global_state")


# -- names --------------------------------------------------------------------------------


def test_recipes_are_the_books_recorded_runs():
    assert set(zoo.RECIPES) == {"keras_example_cnn", "gap_cnn", "keras_example_cnn_5_epochs",
                                "gap_cnn_biased", "gap_cnn_plain", "gap_cnn_marked",
                                "gap_cnn_marked_seed1", "gap_cnn_marked_seed2",
                                "gap_cnn_remarked", "sakai2019_learning",
                                "sakai2019_adadelta", "keras_example_cnn_shuffled_labels",
                                "keras_mlp", "keras_mlp_seed1", "keras_mlp_seed2",
                                *(f"keras_example_cnn_12k{variant}{seed}"
                                  for variant in ("", "_no_dropout")
                                  for seed in ("", "_seed1", "_seed2")),
                                *(f"keras_example_cnn_12k{variant}{seed}"
                                  for variant in ("_16_32", "_32", "_32_64_64", "_k5")
                                  for seed in ("", "_seed1")),
                                # chapter 8
                                *(f"keras_example_cnn_ablation{variant}_seed{seed}"
                                  for variant in ("", "_conv1_7x7_stride4",
                                                  "_conv1_5x5_stride2") for seed in (0, 1, 2)),
                                *(f"keras_example_cnn_ablation{variant}_seed{seed}"
                                  for variant in ("_no_dense", "_no_conv2", "_no_conv2_no_dense",
                                                  "_wide", "_wide_dense512")
                                  for seed in (0, 1)),
                                *(f"gap_cnn_ablation{variant}_seed{seed}"
                                  for variant in ("", "_no_conv3_conv4", "_wide", "_cam_head")
                                  for seed in (0, 1)),
                                "sakai2019_learning_lr1e-4", "sakai2019_learning_lr1e-2",
                                *(f"keras_example_cnn_scratch_{target}_{n}_per_class_seed{seed}"
                                  for target in ("small_digits", "animal_shapes")
                                  for n in (1, 3, 10, 30) for seed in (0, 1, 2))}
    for name, recipe in zoo.RECIPES.items():
        assert recipe.name == name
        # Named after the architecture it trains (variants add what they change).
        assert name.startswith(recipe.build().name.split("_cnn")[0])
        assert isinstance(recipe.optimizer(), keras.optimizers.Optimizer)
        assert recipe.claims, f"{name} states nothing the test could check"
    # The source's Adadelta learning rate is 1.0, not Keras 3's default of 0.001.
    adadelta = zoo.RECIPES["keras_example_cnn"].optimizer()
    assert isinstance(adadelta, keras.optimizers.Adadelta)
    assert float(adadelta.learning_rate.numpy()) == pytest.approx(1.0)


def _reproduce_quietly(name, directory):
    return zoo.reproduce(name, directory, verbose=0)


@pytest.mark.parametrize("function", [zoo.load, zoo.record, _reproduce_quietly],
                         ids=["load", "record", "reproduce"])
@pytest.mark.parametrize(
    ("name", "error", "match"),
    [
        ("resnet", ValueError, r"^unknown run 'resnet'; the zoo has \['gap_cnn', "
                               r"'gap_cnn_ablation_cam_head_seed0', .*'gap_cnn_biased', .*"
                               r"'keras_example_cnn'"),
        ("GAP_CNN", ValueError, r"^unknown run 'GAP_CNN'"),
        ("", ValueError, r"^unknown run ''"),
        (None, TypeError, r"^name must be a str, got NoneType"),
        (3, TypeError, r"^name must be a str, got int"),
        (b"gap_cnn", TypeError, r"^name must be a str, got bytes"),
        (["gap_cnn"], TypeError, r"^name must be a str, got list"),
    ],
    ids=["unknown", "wrong-case", "empty", "none", "int", "bytes", "list"],
)
def test_bad_names_are_rejected(function, name, error, match, tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("a bad name must be refused before loading MNIST")

    monkeypatch.setattr(cnnlab.data, "load_mnist", no_download)
    with pytest.raises(error, match=match):
        function(name, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("function", [zoo.load, zoo.record], ids=["load", "record"])
@pytest.mark.parametrize("name", list(zoo.RECIPES))
def test_missing_files_say_how_to_make_them(function, name, tmp_path):
    if function is zoo.load and not zoo.RECIPES[name].keep_weights:
        with pytest.raises(ValueError, match=rf"^the run '{name}' keeps no weights"):
            function(name, tmp_path)
        return
    with pytest.raises(FileNotFoundError, match=rf"{name}.*make reproduce"):
        function(name, tmp_path)


# -- a tiny recipe, reproduced and loaded ------------------------------------------------


# conv1 (3 filters), pool, flatten, predictions (10 classes) on 28x28 digits, named "tiny_cnn".
# Fixed layer names: load() finds every weight by its layer's name. The builder seeds Keras
# with the recipe's seed, which reproduce() has just set: the same initial weights.
TINY = zoo.Recipe("tiny_cnn", functools.partial(tiny_cnn, seed=0, size=28),
                  lambda: keras.optimizers.Adam(1e-2), epochs=1,
                  batch_size=32, validation_split=0.1, seed=0, follow_test_set=True,
                  claims=(("accuracy", 0.2, 0.9),), source="a tiny test recipe")


def _synthetic_mnist(n_train=300, n_test=100):
    """MNIST-shaped arrays whose class is the column of a brighter vertical bar in noise.

    Noisy enough that one epoch reaches an accuracy strictly between chance and 1 (0.4),
    so that a wrong model or wrong weights show in the numbers.
    """
    rng = np.random.default_rng(7)

    def make(n):
        labels = rng.integers(0, 10, size=n).astype(np.int64)
        images = 0.7 * rng.random((n, 28, 28, 1), dtype=np.float32)
        for i, label in enumerate(labels):
            images[i, 4:24, 2 + 2 * label:4 + 2 * label, 0] += 0.5
        return np.clip(images, 0, 1), labels

    return make(n_train), make(n_test)


@pytest.fixture
def tiny_zoo(monkeypatch, tmp_path):
    """The tiny recipe reproduced into tmp_path on synthetic data."""
    data = _synthetic_mnist()
    calls = []

    def fake_load_mnist(*args, **kwargs):
        calls.append(args)
        (x_train, y_train), (x_test, y_test) = data
        return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())

    monkeypatch.setattr(zoo, "RECIPES", {"tiny_cnn": TINY})
    monkeypatch.setattr(cnnlab.data, "load_mnist", fake_load_mnist)
    result = zoo.reproduce("tiny_cnn", tmp_path, verbose=0)
    assert len(calls) == 1
    return {"result": result, "directory": tmp_path, "data": data}


def test_reproduce_reports_each_epoch_as_it_records_it(monkeypatch, tmp_path):
    (x_train, y_train), test = _synthetic_mnist()
    monkeypatch.setattr(zoo, "RECIPES", {"tiny_cnn": dataclasses.replace(TINY, epochs=2)})
    monkeypatch.setattr(cnnlab.data, "load_mnist", lambda *a, **k: ((x_train, y_train), test))
    heard = []
    result = zoo.reproduce("tiny_cnn", tmp_path, verbose=0,
                           on_epoch=lambda epoch, logs: heard.append((epoch, logs)))
    assert [epoch for epoch, _ in heard] == [1, 2]
    for e, (_, logs) in enumerate(heard):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert logs[key] == pytest.approx(result["history"][key][e], rel=1e-6)


def test_reproduce_stores_float16_weights_and_a_record(tiny_zoo):
    directory = tiny_zoo["directory"]
    assert sorted(p.name for p in directory.iterdir()) == [
        "tiny_cnn.epochs.npz", "tiny_cnn.json", "tiny_cnn.weights.npz"]
    with np.load(directory / "tiny_cnn.weights.npz") as stored:
        assert set(stored.files) == {"conv1/kernel", "conv1/bias", "predictions/kernel",
                                     "predictions/bias"}
        assert {stored[k].dtype for k in stored.files} == {np.dtype(np.float16)}
        assert stored["conv1/kernel"].shape == (3, 3, 1, 3)
        assert stored["predictions/kernel"].shape == (13 * 13 * 3, 10)
    result = tiny_zoo["result"]
    assert result["recipe"] == "a tiny test recipe"
    assert (result["epochs"], result["batch_size"], result["seed"]) == (1, 32, 0)
    assert result["validation_split"] == 0.1
    assert set(result["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy",
                                      "test_accuracy"}
    assert all(len(v) == 1 for v in result["history"].values())
    assert len(result["epoch_seconds"]) == 1 and result["epoch_seconds"][0] > 0
    assert result["seconds"] >= result["epoch_seconds"][0]
    assert set(result["versions"]) == {"tensorflow", "keras", "numpy"}
    assert result["claims"] == [["accuracy", 0.2, 0.9]] and result["eight_bit"] == ["confidence"]
    assert zoo.unmet_claims("tiny_cnn", result["test"]) == []
    # record() reads back the JSON plus the per-epoch arrays of the test digits.
    recorded = zoo.record("tiny_cnn", directory)
    predicted, confidence = recorded.pop("epoch_predicted"), recorded.pop("epoch_confidence")
    assert recorded == result
    (_, _), (_, y_test) = tiny_zoo["data"]
    assert predicted.shape == confidence.shape == (1, len(y_test))
    assert predicted.dtype == np.uint8
    assert confidence.dtype == np.float32
    assert predicted.max() <= 9
    # A softmax's largest of 10 probabilities is at least 1/10.
    assert np.all((confidence >= 0.1 - 1 / 255) & (confidence <= 1))
    np.testing.assert_array_equal(np.rint(confidence * 255), confidence * 255)
    assert result["history"]["test_accuracy"] == [float(np.mean(predicted[0] == y_test))]


def test_load_returns_the_stored_rounded_weights(tiny_zoo):
    directory = tiny_zoo["directory"]
    model = zoo.load("tiny_cnn", directory)
    assert model.name == "tiny_cnn"
    with np.load(directory / "tiny_cnn.weights.npz") as stored:
        for variable in model.weights:
            key = variable.path.split("/", 1)[1]
            got = variable.numpy()
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, stored[key].astype(np.float32))
            # Values a float16 holds exactly: rounding them again changes nothing.
            np.testing.assert_array_equal(got.astype(np.float16).astype(np.float32), got)


def test_loaded_model_reproduces_the_recorded_test_numbers(tiny_zoo):
    (_, _), (x_test, y_test) = tiny_zoo["data"]
    model = zoo.load("tiny_cnn", tiny_zoo["directory"])
    measured = zoo.evaluate(model, x_test, y_test)
    recorded = tiny_zoo["result"]["test"]
    assert set(recorded) == {"loss", "accuracy", "macro_f1"}
    for key in recorded:
        assert measured[key] == pytest.approx(recorded[key], abs=1e-6), key
    # Independently of evaluate(): the loaded model is compiled with the training's loss.
    probabilities = model.predict(x_test, verbose=0)
    assert recorded["accuracy"] == pytest.approx(
        float(np.mean(probabilities.argmax(axis=1) == y_test)), abs=1e-12)
    assert 0.2 < recorded["accuracy"] < 0.9
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert loss == pytest.approx(recorded["loss"], abs=1e-5)
    assert accuracy == pytest.approx(recorded["accuracy"], abs=1e-6)
    # After the (only) epoch, every test digit's class and probability were recorded, from
    # the weights before float16 rounding: the rounded model agrees up to near-ties.
    epochs = zoo.record("tiny_cnn", tiny_zoo["directory"])
    same = epochs["epoch_predicted"][-1] == probabilities.argmax(axis=1)
    assert same.mean() >= 0.95
    np.testing.assert_allclose(epochs["epoch_confidence"][-1][same],
                               probabilities.max(axis=1)[same], rtol=0, atol=1 / 255)


# -- evaluate against a hand computation --------------------------------------------------


class _FixedModel(keras.Model):
    """A built model of MNIST's input shape whose predict() returns fixed probabilities."""

    def __init__(self, probabilities):
        inputs = keras.Input(shape=(28, 28, 1))
        super().__init__(inputs, keras.layers.Flatten()(inputs), name="fixed")
        self.probabilities = np.asarray(probabilities, dtype=np.float32)
        self.seen = None

    def predict(self, images, batch_size=None, verbose=None):
        self.seen = images
        return self.probabilities


def _hand_loss_and_accuracy(probabilities, labels):
    total, correct = 0.0, 0
    for row, label in zip(probabilities, labels, strict=True):
        total -= math.log(max(float(row[label]), 1e-7))  # Keras' epsilon
        best = max(range(len(row)), key=lambda c: row[c])
        correct += best == label
    return total / len(labels), correct / len(labels)


def test_evaluate_matches_hand_computation(rng):
    logits = 3 * rng.standard_normal((40, 10))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 10, size=40)
    images = rng.random((40, 28, 28, 1), dtype=np.float32)
    model = _FixedModel(probabilities)
    got = zoo.evaluate(model, images, labels)
    assert model.seen is images
    loss, accuracy = _hand_loss_and_accuracy(model.probabilities, labels)
    assert set(got) == {"loss", "accuracy", "macro_f1"}
    assert got["loss"] == pytest.approx(loss, rel=1e-6)
    assert got["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert 0 < accuracy < 1
    assert got["macro_f1"] == training.macro_f1(labels, probabilities.argmax(axis=1))
    keras_loss = keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(labels, model.probabilities)).mean()
    assert got["loss"] == pytest.approx(float(keras_loss), rel=1e-5)


def test_evaluate_small_example_by_hand():
    probabilities = np.full((4, 10), 0.02)
    probabilities[0, 3] = probabilities[1, 3] = 0.82  # right, right
    probabilities[2, 3] = 0.82  # label 5: wrong, p(5) = 0.02
    probabilities[3, 5] = 0.0  # label 5, p(5) = 0: clipped to 1e-7, not infinity
    probabilities[3, 1] = 0.84
    labels = np.array([3, 3, 5, 5])
    got = zoo.evaluate(_FixedModel(probabilities), np.zeros((4, 28, 28, 1)), labels)
    expected_loss = -(2 * math.log(0.82) + math.log(0.02) + math.log(1e-7)) / 4
    assert got["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert got["accuracy"] == 0.5
    # Class 3: P = 2/3, R = 1, F1 = 4/5; class 5: F1 = 0; class 1: F1 = 0; 10 classes.
    assert got["macro_f1"] == pytest.approx(0.8 / 10, abs=1e-12)


# -- the stored reference models on the real test digits ----------------------------------


@pytest.fixture(scope="module")
def mnist_test():
    (_, _), (x_test, y_test) = cnnlab.data.load_mnist()
    return x_test, y_test


@pytest.mark.parametrize("name", list(zoo.RECIPES))
def test_every_recorded_run_keeps_the_books_promise(name, mnist_test):
    # No skip: the records ship with the package; missing ones fail here ('make reproduce').
    x_test, y_test = mnist_test
    assert x_test.shape == (10_000, 28, 28, 1)
    recipe = zoo.RECIPES[name]
    recorded = zoo.record(name)
    # The record is this recipe's.
    assert recorded["name"] == name and recorded["recipe"] == recipe.source
    assert (recorded["epochs"], recorded["batch_size"], recorded["seed"]) == (
        recipe.epochs, recipe.batch_size, recipe.seed)
    assert recorded["images_per_epoch"] == recipe.images_per_epoch
    assert recorded["claims"] == [list(c) for c in recipe.claims]
    for key, values in recorded["history"].items():
        assert len(values) == recipe.epochs, key
    assert zoo.unmet_claims(name, recorded["test"]) == []
    if not recipe.keep_weights:
        with pytest.raises(ValueError, match="keeps no weights"):
            zoo.load(name)
        return
    # The stored weights give the recorded figures today, on this machine.
    start = time.perf_counter()
    model = zoo.load(name)
    seconds = time.perf_counter() - start
    assert seconds < 1.0, f"loading {name} took {seconds:.2f} s"
    measured = (recipe.evaluate or zoo.evaluate)(model, x_test, y_test)
    assert set(measured) == set(recorded["test"])
    for key, value in measured.items():
        # A digit on a near-tie may flip on another CPU: 2 of 10,000 at most.
        assert value == pytest.approx(recorded["test"][key], abs=2e-4), key
    assert zoo.unmet_claims(name, measured) == []


def test_short_run_keeps_snapshots_and_similarities(mnist_test):
    record = zoo.record("keras_example_cnn_5_epochs")
    assert record["similarity_layers"] == ["conv1", "conv2", "dense1", "predictions"]
    similarity = record["similarity"]
    assert similarity.shape == (5, 4)
    np.testing.assert_allclose(similarity[-1], 1.0, atol=1e-6)
    assert record["conv1/kernel"].shape == (5, 3, 3, 1, 32)
    final, first = zoo.load("keras_example_cnn_5_epochs"), zoo.load(
        "keras_example_cnn_5_epochs", epoch=1)
    # Epoch 5's snapshot is the final model; epoch 1's differs in the kept layers only.
    np.testing.assert_array_equal(zoo.load("keras_example_cnn_5_epochs", epoch=5)
                                  .get_layer("conv2").get_weights()[0],
                                  final.get_layer("conv2").get_weights()[0])
    kernel = first.get_layer("conv1").get_weights()[0].ravel()
    np.testing.assert_array_equal(kernel, record["conv1/kernel"][0].astype(np.float32).ravel())
    want = kernel @ final.get_layer("conv1").get_weights()[0].ravel() / (
        np.linalg.norm(kernel) * np.linalg.norm(final.get_layer("conv1").get_weights()[0]))
    assert similarity[0, 0] == pytest.approx(want, abs=2e-3)    # float16 snapshots
    np.testing.assert_array_equal(first.get_layer("dense1").get_weights()[0],
                                  final.get_layer("dense1").get_weights()[0])
    with pytest.raises(ValueError, match=r"^epoch must be in 0\.\.5"):
        zoo.load("keras_example_cnn_5_epochs", epoch=6)
    with pytest.raises(ValueError, match="keeps no per-epoch weights"):
        zoo.load("gap_cnn", epoch=1)
    # The initial weights: epoch 0, a baseline for the similarities and the distance covered.
    start = zoo.load("keras_example_cnn_5_epochs", epoch=0).get_layer("conv1").get_weights()[0]
    np.testing.assert_array_equal(start, record["initial/conv1/kernel"].astype(np.float32))
    initial = start.ravel() @ final.get_layer("conv1").get_weights()[0].ravel() / (
        np.linalg.norm(start) * np.linalg.norm(final.get_layer("conv1").get_weights()[0]))
    assert record["initial_similarity"][0] == pytest.approx(initial, abs=2e-3)
    covered = record["distance_covered"]
    assert covered.shape == (6, 4)
    np.testing.assert_allclose(covered[0], 0.0, atol=1e-6)
    np.testing.assert_allclose(covered[-1], 1.0, atol=1e-6)


# -- bad directories and files --------------------------------------------------------------


def _pickled(path, kind, pwned):
    """An .npz (or a bare pickle) at ``path`` whose pickle would create ``pwned`` if run."""

    class Payload:
        def __reduce__(self):
            return open, (str(pwned), "w")

    if kind == "object array":
        np.savez(path, **{"conv1/kernel": np.array([Payload()], dtype=object)})
    else:
        path.write_bytes(pickle.dumps(Payload()))


def _images(n=4, value=0.5, dtype=np.float32, shape=(28, 28, 1)):
    return np.full((n, *shape), value, dtype=dtype)


def _evaluate(model=None, images=None, labels=None, batch_size=128):
    def call(tmp_path):
        return zoo.evaluate(_FixedModel(np.full((4, 10), 0.1)) if model is None else model(),
                            _images() if images is None else images,
                            np.arange(4) if labels is None else labels, batch_size)
    return call


def _with_pickle(name, file, kind, **kwargs):
    def call(tmp_path):
        if file == "epochs":
            np.savez(tmp_path / f"{name}.weights.npz", a=np.zeros(1))
            (tmp_path / f"{name}.json").write_text("{}")
        _pickled(tmp_path / f"{name}.{file}.npz", kind, tmp_path / "pwned")
        return (zoo.record if file == "epochs" and not kwargs else zoo.load)(
            name, tmp_path, **kwargs)
    return call


_NOT_UNIT = r"^images must have values in \[0, 1\], got \[{}, {}\]\.$"
_PICKLE = (r"^\S+/{}\.{}\.npz holds pickled Python objects, which a recorded run never has; "
           r"it is refused because loading a pickle can run code\. Re-create it with "
           r"'make reproduce'\.$")


@pytest.mark.parametrize(("call", "error", "match"), [
    (_evaluate(model=lambda: None), TypeError, r"^model must be a keras\.Model, got NoneType\.$"),
    (_evaluate(model=lambda: "gap_cnn"), TypeError, r"^model must be a keras\.Model, got str "
     r"\(load a recorded one with cnnlab\.zoo\.load\('gap_cnn'\)\)\.$"),
    (_evaluate(model=lambda: keras.Sequential([keras.layers.Dense(10)], name="unbuilt")),
     ValueError, r"^model 'unbuilt' has not been built"),
    (_evaluate(images=_images(value=255, dtype=np.uint8)), TypeError,
     r"^images must be a float array, got dtype uint8 \(pixels 0-255: divide by 255\)\.$"),
    (_evaluate(images=_images(value=255.0)), ValueError, _NOT_UNIT.format(255, 255)),
    (_evaluate(images=_images(value=-0.5)), ValueError, _NOT_UNIT.format(-0.5, -0.5)),
    (_evaluate(images=_images(value=np.nan)), ValueError,
     r"^images must be finite, got NaN or infinite values\.$"),
    (_evaluate(images=_images(value=np.inf)), ValueError,
     r"^images must be finite, got NaN or infinite values\.$"),
    (_evaluate(images=_images(0), labels=np.arange(0)), ValueError,
     r"^images is empty \(shape \(0, 28, 28, 1\)\)\.$"),
    (_evaluate(images=_images(shape=(28, 28))), ValueError,
     r"^images must have shape \(N, H, W, C\) \(4 axes\), got shape \(4, 28, 28\)\.$"),
    (_evaluate(images=_images(shape=(32, 32, 1))), ValueError,
     r"^images must have shape \(N, 28, 28, 1\) for model 'fixed', got \(4, 32, 32, 1\)\.$"),
    (_evaluate(images=[[0.5]]), TypeError, r"^images must be a numpy array, got list\.$"),
    (_evaluate(labels=np.arange(3)), ValueError,
     r"^labels must have shape \(4,\), one per image, got \(3,\)\.$"),
    (_evaluate(labels=np.arange(4.0)), TypeError, r"^labels must be integers, got dtype float64"),
    (_evaluate(labels=np.arange(7, 11)), ValueError, r"^labels must be in 0\.\.9, got \[7, 10\]"),
    (_evaluate(batch_size=0), ValueError, r"^batch_size must be at least 1, got 0\.$"),
    (_evaluate(batch_size=1.5), TypeError, r"^batch_size must be an int, got float 1\.5\.$"),
    *[(lambda tmp_path, f=f, d=d: f("gap_cnn", d), e, m)
      for f in (zoo.load, zoo.record, _reproduce_quietly) for d, e, m in [
          ("", ValueError, r"^directory must be a non-empty path or None, got ''\.$"),
          (3, TypeError, r"^directory must be a path \(str or Path\) or None, got int 3\.$"),
          (b"w", TypeError, r"^directory must be a path \(str or Path\) or None, got bytes b'w'")]],
    *[(_with_pickle(name, file, kind, **kwargs), ValueError, _PICKLE.format(name, file))
      for kind in ("object array", "bare pickle") for name, file, kwargs in [
          ("gap_cnn", "weights", {}), ("gap_cnn", "epochs", {}),
          ("keras_example_cnn_5_epochs", "epochs", {"epoch": 1})]],
], ids=["model-none", "model-name", "model-unbuilt", "images-uint8", "images-0-255",
        "images-negative", "images-nan", "images-inf", "images-empty", "images-3-axes",
        "images-32x32", "images-list", "labels-short", "labels-float", "labels-10",
        "batch-0", "batch-float",
        *[f"{f}-directory-{d}" for f in ("load", "record", "reproduce")
          for d in ("empty", "int", "bytes")],
        *[f"{k}-{w}" for k in ("object-array", "bare-pickle")
          for w in ("weights", "record-epochs", "load-epoch")]])
def test_bad_input_is_refused_in_its_own_words(call, error, match, tmp_path, monkeypatch):
    def no_download(*args, **kwargs):
        raise AssertionError("bad input must be refused before loading MNIST")

    monkeypatch.setattr(cnnlab.data, "load_mnist", no_download)
    with pytest.raises(error, match=match):
        call(tmp_path)
    assert not (tmp_path / "pwned").exists(), "a pickle was run"


def test_evaluate_refuses_before_predicting():
    model = _FixedModel(np.full((4, 10), 0.1))
    with pytest.raises(TypeError, match="divide by 255"):
        zoo.evaluate(model, _images(value=255, dtype=np.uint8), np.arange(4))
    assert model.seen is None


def test_main_refuses_an_unknown_run_before_training(capsys, monkeypatch):
    monkeypatch.setattr(zoo, "reproduce", lambda *a, **k: pytest.fail("must not train"))
    assert zoo.main(["gap_cnn", "nope"]) == 2
    assert "unknown run 'nope'" in capsys.readouterr().err


def test_main_fails_when_a_claim_is_not_met(capsys, monkeypatch):
    monkeypatch.setattr(zoo, "reproduce", lambda name, **kwargs: {
        "test": {"accuracy": 0.5, "loss": 1.0, "macro_f1": 0.5}, "seconds": 60.0})
    assert zoo.main(["gap_cnn"]) == 1
    assert "gap_cnn: accuracy = 0.5000, not in [0.99, 1.0]" in capsys.readouterr().err
    monkeypatch.setattr(zoo, "reproduce", lambda name, **kwargs: {
        "test": {"accuracy": 0.995, "loss": 0.03, "macro_f1": 0.995}, "seconds": 60.0})
    assert zoo.main(["gap_cnn"]) == 0


def test_main_shows_one_bar_over_every_epoch_of_the_runs(capsys, monkeypatch):
    calls = []

    def fake_reproduce(name, verbose=2, on_epoch=None):
        calls.append((name, verbose))
        for epoch in range(1, zoo.RECIPES[name].epochs + 1):
            on_epoch(epoch, {"loss": 1 / epoch, "accuracy": 0.5})
        return {"test": {"accuracy": 0.995, "loss": 0.03, "macro_f1": 0.995}, "seconds": 6.0}

    monkeypatch.setattr(zoo, "reproduce", fake_reproduce)
    assert zoo.main(["keras_mlp", "keras_example_cnn_5_epochs"]) == 0
    assert calls == [("keras_mlp", 0), ("keras_example_cnn_5_epochs", 0)]  # no Keras lines
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("Training keras_mlp: chapter 3's baseline")
    assert lines[1:21] == [f"keras_mlp epoch {e}/20: loss {1 / e:.4f}, accuracy 0.5000"
                           for e in range(1, 21)]
    assert lines[21] == "keras_mlp: accuracy 0.9950, loss 0.0300, macro_f1 0.9950; 0.1 min."
    assert lines[-2] == "keras_example_cnn_5_epochs epoch 5/5: loss 0.2000, accuracy 0.5000"
    assert len(lines) == 2 * (1 + 1) + 20 + 5
    bar = err.split("\r")[-1]       # the bar as it was left: both runs, 20 + 5 epochs
    assert bar.startswith("run 2/2: 100%") and "25/25" in bar
