"""Tests for cnnlab.explain.integrated_gradients: completeness, by value, and refusals."""

import keras
import numpy as np
import pytest

from cnnlab.explain.class_score import classifier_head
from cnnlab.explain.integrated_gradients import integrated_gradients


def _scores(model, images, classes, score):
    head = classifier_head(model)
    hidden = keras.Model(model.inputs, head.input).predict(images, verbose=0).astype(np.float64)
    kernel, bias = (w.astype(np.float64) for w in head.get_weights())
    logits = hidden @ kernel + bias
    chosen = {"logit": logits,
              "softmax": np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True),
              "sigmoid": 1 / (1 + np.exp(-logits))}[score]
    return chosen[np.arange(len(images)), classes]


@pytest.mark.parametrize("score", ["logit", "softmax", "sigmoid"])
@pytest.mark.parametrize("baseline", [0.0, 0.5])
def test_attributions_add_up_to_the_change_of_the_score(dense_model, rng, score, baseline):
    # Completeness (Sundararajan et al. 2017, proposition 1), computed independently:
    # the score at the image and at the baseline, from the head's own weights in float64.
    images = rng.random((3, 12, 12, 1), dtype=np.float32)
    classes = np.array([0, 1, 2])
    attributions = integrated_gradients(dense_model, images, classes, baseline=baseline,
                                        steps=1024, score=score)
    change = (_scores(dense_model, images, classes, score)
              - _scores(dense_model, np.full_like(images, baseline), classes, score))
    # The ReLUs' kinks leave the trapezoid sum an error of order 1/steps.
    np.testing.assert_allclose(attributions.sum(axis=(1, 2, 3)), change, rtol=0.01,
                               atol=1e-3 * np.abs(change).max())


def test_more_steps_close_the_gap(dense_model, rng):
    images = rng.random((2, 12, 12, 1), dtype=np.float32)
    change = _scores(dense_model, images, np.array([1, 1]), "logit") \
        - _scores(dense_model, np.zeros_like(images), np.array([1, 1]), "logit")
    gaps = [np.abs(integrated_gradients(dense_model, images, 1, steps=s).sum(axis=(1, 2, 3))
                   - change).max() for s in (2, 16, 128)]
    assert gaps[2] < gaps[1] < gaps[0]


def test_a_pixel_at_the_baseline_gets_nothing(dense_model, rng):
    images = rng.random((2, 12, 12, 1), dtype=np.float32)
    images[:, :3] = 0.0
    attributions = integrated_gradients(dense_model, images, 2)
    np.testing.assert_array_equal(attributions[:, :3], 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"baseline": 1.5}, ValueError, r"^baseline must be in \[0, 1\], got 1\.5"),
        ({"baseline": "black"}, TypeError, r"^baseline must be a number, got str"),
        ({"steps": 0}, ValueError, r"^steps must be at least 1, got 0"),
        ({"score": "probability"}, ValueError, r"^score must be one of"),
    ],
)
def test_bad_input(dense_model, rng, kwargs, error, match):
    with pytest.raises(error, match=match):
        integrated_gradients(dense_model, rng.random((1, 12, 12, 1), dtype=np.float32), 0,
                             **kwargs)
