"""The learning process watched with Grad-CAM (Sakai & Takenaka, JSAI 2019).

The paper trains its Table 1 network (:func:`cnnlab.models.sakai2019_cnn`) on
10,000 training digits drawn at random for every epoch, batch 100, dropout 0.5
in the fully connected part, and after every epoch draws the Grad-CAM map of
one test digit of each class twice: from the class score y^c after the output
units' sigmoid (the usual way, its eqs. 1-3) and from the value x^c before it
(its fix, eq. 4). The usual maps go empty once the score saturates at 1.

That training takes minutes, too long for a notebook run: it is the zoo's
recorded run ``sakai2019_learning`` (``make reproduce``), whose monitor is
:class:`GradCamWatch`, and ``zoo.record("sakai2019_learning")`` reads back what
it stored in milliseconds. The run ``sakai2019_adadelta`` repeats it with the
optimizer of the Keras example of the paper's time, Adadelta with learning
rate 1.0, and :class:`SaturationWatch`, which also keeps the logits x^c that
decide whether the sigmoid saturates: the usual map can only go empty through
the score when y^c = sigmoid(x^c) is exactly 1.0 in float32.
"""

from __future__ import annotations

import numpy as np

from cnnlab.checks import check_int, check_labels, check_number

NAME = "sakai2019_learning"
LAYER = "conv2"  # the last convolution, as Grad-CAM uses it
# The usual way differentiates the score y^c after the output units' sigmoid;
# the fix of eq. 4 differentiates the value x^c before it.
SCORES = ("sigmoid", "logit")


def watched_digits(labels: np.ndarray) -> np.ndarray:
    """The first test digit of each class, 0 to 9: the digits whose maps are watched.

    Parameters
    ----------
    labels : ndarray, shape (N,), int in 0..9
        Every class must occur.

    Returns
    -------
    ndarray, shape (10,), int64
        Index of the first digit of class c, for c = 0..9.

    Raises
    ------
    ValueError
        If a class is missing, or for bad labels.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}.")
    labels = check_labels(labels, labels.shape[0])
    missing = sorted(set(range(10)) - set(labels.tolist()))
    if missing:
        raise ValueError(f"labels must contain every class 0..9; missing {missing}.")
    return np.array([int(np.argmax(labels == c)) for c in range(10)], dtype=np.int64)


class GradCamWatch:
    """The monitor of the zoo's ``sakai2019_learning`` run: the watched digits' maps.

    Called with the model after every epoch, it computes the Grad-CAM maps of
    the first test digit of each class at :data:`LAYER`, both ways
    (:data:`SCORES`), their probabilities, their sigmoid scores and the test
    accuracy. :meth:`finish` stores the maps normalised by eq. (7.3) to 8 bits,
    with each raw map's minimum and maximum in float32, so that an empty map
    (maximum exactly 0, or below any threshold one chooses) is still told apart
    exactly.

    Parameters
    ----------
    x_test : ndarray, shape (N, 28, 28, 1), float32 in [0, 1]
    y_test : ndarray, shape (N,), int in 0..9
    """

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray):
        self.x_test, self.y_test = x_test, y_test
        self.digits = watched_digits(y_test)

    def __call__(self, model) -> dict:
        import keras

        from cnnlab.explain.gradcam import grad_cam

        watched, classes = self.x_test[self.digits], self.y_test[self.digits]
        probabilities = model.predict(self.x_test, batch_size=128, verbose=0)
        scores = keras.Model(model.inputs[0], model.get_layer("scores").output)
        return {"maps": np.stack([grad_cam(model, watched, LAYER, classes, score=s)
                                  for s in SCORES]),
                "probabilities": probabilities[self.digits],
                "sigmoid": keras.ops.convert_to_numpy(scores(watched, training=False)),
                "test_accuracy": float((probabilities.argmax(axis=1) == self.y_test).mean())}

    def finish(self, items: list[dict]) -> dict:
        """What the zoo stores: arrays per epoch, the history, the names."""
        from cnnlab.explain.gradcam import normalize_heatmaps

        maps = np.stack([m["maps"] for m in items], axis=1)   # (score, epoch, class, h, w)
        flat = maps.reshape(-1, *maps.shape[-2:])
        scaled = np.rint(normalize_heatmaps(flat) * 255).astype(np.uint8).reshape(maps.shape)
        return {
            "digits": self.digits, "maps": scaled,
            "map_min": maps.min(axis=(-2, -1)).astype(np.float32),
            "map_max": maps.max(axis=(-2, -1)).astype(np.float32),
            "probabilities": np.stack([m["probabilities"] for m in items]).astype(np.float32),
            "sigmoid": np.stack([m["sigmoid"] for m in items]).astype(np.float32),
            "history": {"test_accuracy": [m["test_accuracy"] for m in items]},
            "layer": LAYER, "scores": list(SCORES), "eight_bit": ["maps"],
        }


# The epochs after which SaturationWatch also looks at the first test digits.
CHECKPOINTS = (1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100)


class SaturationWatch(GradCamWatch):
    """:class:`GradCamWatch` plus the logits: does the score saturate, and which maps go empty?

    Besides what :class:`GradCamWatch` keeps, it records after every epoch the
    watched digits' logits x (the input of the sigmoid of the output units
    ``scores``), and after each epoch in ``checkpoints`` the logits of the
    first ``test_digits`` test digits, their sigmoid scores y^c = sigmoid(x^c)
    of the true class, and the peaks of their Grad-CAM maps both ways (a peak
    of exactly 0 is an empty map).

    Parameters
    ----------
    x_test : ndarray, shape (N, 28, 28, 1), float32 in [0, 1]
    y_test : ndarray, shape (N,), int in 0..9
    checkpoints : tuple of int, default :data:`CHECKPOINTS`
        Epochs (1-based) after which the first test digits are examined.
    test_digits : int, default 1000
        How many of the first test digits are examined at a checkpoint.

    Raises
    ------
    ValueError, TypeError
        For bad labels, a checkpoint below 1 or a ``test_digits`` outside 1..N.
    """

    def __init__(self, x_test: np.ndarray, y_test: np.ndarray,
                 checkpoints: tuple[int, ...] = CHECKPOINTS, test_digits: int = 1000):
        super().__init__(x_test, y_test)
        self.checkpoints = tuple(check_int(f"checkpoints[{k}]", epoch, 1)
                                 for k, epoch in enumerate(checkpoints))
        self.test_digits = check_int("test_digits", test_digits, 1)
        if self.test_digits > len(self.y_test):
            raise ValueError(f"test_digits must be at most the {len(self.y_test)} test digits, "
                             f"got {self.test_digits}.")
        self.epoch = 0

    @staticmethod
    def _logits_and_scores(model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """x (before the output units' sigmoid) and y (after it), both (N, 10) float32."""
        import keras
        import tensorflow as tf

        head = model.get_layer("scores")
        hidden = keras.Model(model.inputs[0], head.input)      # dropout is off in predict
        scores = keras.Model(model.inputs[0], head.output)
        h = hidden.predict(images, batch_size=128, verbose=0)
        x = (tf.matmul(tf.constant(h), head.kernel) + head.bias).numpy()
        y = scores.predict(images, batch_size=128, verbose=0)
        return x.astype(np.float32), y.astype(np.float32)

    def __call__(self, model) -> dict:
        from cnnlab.explain.gradcam import grad_cam

        self.epoch += 1
        item = super().__call__(model)
        item["logits"], _ = self._logits_and_scores(model, self.x_test[self.digits])
        if self.epoch in self.checkpoints:
            n = self.test_digits
            images, labels = self.x_test[:n], self.y_test[:n]
            x, y = self._logits_and_scores(model, images)
            item["checkpoint"] = {
                "epoch": self.epoch, "logits": x, "true_score": y[np.arange(n), labels],
                "map_max": np.stack([grad_cam(model, images, LAYER, labels, score=s)
                                     .max(axis=(1, 2)) for s in SCORES])}
        return item

    def finish(self, items: list[dict]) -> dict:
        """:meth:`GradCamWatch.finish`, plus 'logits' (epochs, 10, 10) of the watched
        digits and, per checkpoint, 'checkpoints' (C,), 'checkpoint_logits'
        (C, n, 10), 'checkpoint_true_score' (C, n) and 'checkpoint_map_max'
        (2, C, n), the first axis as :data:`SCORES`."""
        stored = super().finish(items)
        stored["logits"] = np.stack([m["logits"] for m in items]).astype(np.float32)
        seen = [m["checkpoint"] for m in items if "checkpoint" in m]
        n = self.test_digits
        stored["checkpoints"] = np.array([c["epoch"] for c in seen], dtype=np.int64)
        stored["checkpoint_logits"] = np.array([c["logits"] for c in seen],
                                               np.float32).reshape(-1, n, 10)
        stored["checkpoint_true_score"] = np.array([c["true_score"] for c in seen],
                                                   np.float32).reshape(-1, n)
        stored["checkpoint_map_max"] = np.array([c["map_max"] for c in seen],
                                                np.float32).reshape(-1, 2, n).transpose(1, 0, 2)
        return stored


def empty_maps(map_max: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Which Grad-CAM maps are empty: nothing above ``threshold`` after the ReLU.

    Parameters
    ----------
    map_max : ndarray
        The largest value of each raw map (``record()['map_max']``, or
        ``grad_cam(...).max(axis=(1, 2))``).
    threshold : float, default 0.0
        A map whose largest value is at most this is empty. 0 asks for maps
        that are exactly zero: eq. (7.3) cannot even be applied to them.

    Returns
    -------
    ndarray of bool, the shape of ``map_max``

    Raises
    ------
    TypeError
        For a non-numeric ``map_max`` or a threshold that is not a number.
    ValueError
        For a negative or non-finite threshold, or NaN in ``map_max``.
    """
    map_max = np.asarray(map_max)
    if map_max.dtype.kind not in "fiu":
        raise TypeError(f"map_max must be numeric, got dtype {map_max.dtype}.")
    if np.isnan(map_max).any():
        raise ValueError("map_max must not contain NaN.")
    threshold = check_number("threshold", threshold, 0)
    return map_max <= threshold
