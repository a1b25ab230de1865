"""Tests for cnnlab.explain.class_score: the head, the scores, the compiled tape, by value."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnnlab.explain.class_score import (
    check_arguments,
    classifier_head,
    reduce_gradients,
    score_gradients,
)


@pytest.fixture
def images(rng):
    return rng.random((4, 12, 12, 1), dtype=np.float32)


def test_the_head_is_the_last_dense_layer_even_before_a_softmax_layer(
        gap_model, sigmoid_softmax_model):
    assert classifier_head(gap_model).name == "predictions"
    assert classifier_head(sigmoid_softmax_model).name == "scores"


def test_a_model_not_ending_in_dense_is_refused():
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3),
                              keras.layers.GlobalAveragePooling2D()], name="no_head")
    with pytest.raises(ValueError, match=r"last layer must be a Dense layer .* got "
                                         r"'global_average_pooling2d"):
        classifier_head(model)


@pytest.mark.parametrize("score", ["logit", "softmax", "sigmoid"])
def test_pixel_gradients_equal_autodiff_through_the_whole_model(dense_model, images, score):
    # The layer None is the input: a pixel-space method's gradient, dy^c/dx.
    classes = np.array([0, 1, 2, 1])
    maps, grads = score_gradients(dense_model, images, None, classes, score=score)
    x = tf.constant(images)
    head = classifier_head(dense_model)
    with tf.GradientTape() as tape:
        tape.watch(x)
        # The softmax is the model's own output; logits and sigmoid from the head's input.
        logits = tf.matmul(keras.Model(dense_model.inputs[0], head.input)(x), head.kernel) \
            + head.bias
        chosen = {"logit": logits, "softmax": dense_model(x, training=False),
                  "sigmoid": tf.sigmoid(logits)}[score]
        picked = tf.gather(chosen, classes, axis=1, batch_dims=1)
    want = tape.gradient(picked, x).numpy()
    np.testing.assert_array_equal(maps, images)
    np.testing.assert_allclose(grads, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())


def test_layer_gradients_equal_autodiff_and_the_lower_layers_are_not_on_the_tape(
        dense_model, images):
    classes = np.array([2, 0, 1, 2])
    maps, grads = score_gradients(dense_model, images, "conv2", classes)
    conv2 = keras.Model(dense_model.inputs[0], dense_model.get_layer("conv2").output)(images)
    np.testing.assert_allclose(maps, conv2.numpy(), rtol=1e-6, atol=1e-6)
    a = tf.Variable(conv2)
    with tf.GradientTape() as tape:
        x = a
        for layer in dense_model.layers[2:-1]:
            x = layer(x)
        logits = tf.matmul(x, dense_model.layers[-1].kernel) + dense_model.layers[-1].bias
        picked = tf.gather(logits, classes, axis=1, batch_dims=1)
    np.testing.assert_allclose(grads, tape.gradient(picked, a).numpy(), rtol=1e-5, atol=1e-7)


def test_the_compiled_tape_is_reused(gap_model, images):
    def total(maps, grads, scores):
        return tf.reduce_sum(grads, axis=(1, 2, 3))

    arguments = check_arguments(gap_model, images, "conv2", 0)
    first = reduce_gradients(gap_model, arguments, total)
    run = next(f for key, f in _cache(gap_model).items() if key[-1] is total)
    traced = run.experimental_get_tracing_count()
    for n in (1, 3, 4):           # other batch sizes: the input signature has no batch size
        arguments = check_arguments(gap_model, images[:n], "conv2", 0)
        reduce_gradients(gap_model, arguments, total)
    assert run.experimental_get_tracing_count() == traced == 1
    assert first.shape == (4,)


def _cache(model):
    from cnnlab.explain import class_score

    return vars(class_score)["_CACHE"][model]


def test_a_mixed_precision_model_is_explained_in_float32(images):
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        from tiny_models import tiny_dense_cnn

        model = tiny_dense_cnn()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    maps, grads = score_gradients(model, images, "conv2", 1)
    assert maps.dtype == grads.dtype == np.float32
    assert np.isfinite(grads).all() and np.abs(grads).max() > 0
