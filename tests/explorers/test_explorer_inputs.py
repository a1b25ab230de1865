"""Every explorer refuses a bad argument when it is called, before anything is drawn.

One table per explorer. Each row is ``(make, error, match)``: ``make(kit)`` calls the
explorer with one bad argument, the others good. The ``no_drawing`` fixture makes any
figure an error, so a row passes only if the call itself raises, with the shared
wording of :mod:`cnnlab.checks` (not later, when the site's frames are rendered).
"""

from types import SimpleNamespace

import numpy as np
import pytest

from cnnlab.explorers import (
    cam_explorer,
    convolution_explorer,
    epoch_explorer,
    feature_map_explorer,
    gradcam_explorer,
    learning_explorer,
    occlusion_explorer,
    parse_kernel,
    pooling_explorer,
    probability_explorer,
    shift_explorer,
)


@pytest.fixture
def kit(digits, gap_model, flat_model, conv_only_model, unbuilt_model, rng):
    """Good arguments to spoil one at a time: digits, models, a learning record."""
    import tensorflow as tf

    images, labels = digits
    return SimpleNamespace(images=images, labels=labels, tensor=tf.constant(images),
                           gap=gap_model, flat=flat_model, conv_only=conv_only_model,
                           unbuilt=unbuilt_model, record=learning_record(rng),
                           watched=rng.random((10, 28, 28, 1), dtype=np.float32))


def learning_record(rng, epochs=3):
    """What learning_explorer reads of zoo.record("sakai2019_learning"), at random."""
    return {"maps": rng.random((2, epochs, 10, 24, 24)).astype(np.float32),
            "map_max": (rng.random((2, epochs, 10)) + 0.1).astype(np.float32),
            "sigmoid": rng.random((epochs, 10, 10)).astype(np.float32)}


def _with_nan(images):
    images = images.copy()
    images[1, 3, 4, 0] = np.nan
    return images


def _with_inf(images):
    images = images.copy()
    images[0, 0, 0, 0] = np.inf
    return images


def image_rows(call, model):
    """Bad images and labels for ``call(kit, images, labels)``; ``model``: whether one is given.

    With a model the images must have its input shape (28, 28, 1); without one,
    any size of gray digit.
    """
    shape = (r"images must have shape \(N, 28, 28, 1\) for model" if model
             else r"images must be gray digits of shape \(N, H, W, 1\)")
    rows = [
        ("images-0-255", lambda k: call(k, k.images * 255, k.labels), ValueError,
         r"^images must have values in \[0, 1\], got \[[\d.e-]+, 2\d\d"),
        ("images-uint8", lambda k: call(k, (k.images * 255).astype(np.uint8), k.labels),
         TypeError, r"^images must be a float array, got dtype uint8 \(pixels 0-255: divide"),
        ("images-negative", lambda k: call(k, k.images - 0.5, k.labels), ValueError,
         r"^images must have values in \[0, 1\], got \[-0\.\d+, 0\.\d+\]"),
        ("images-nan", lambda k: call(k, _with_nan(k.images), k.labels), ValueError,
         r"^images must be finite, got NaN or infinite values"),
        ("images-inf", lambda k: call(k, _with_inf(k.images), k.labels), ValueError,
         r"^images must be finite, got NaN or infinite values"),
        ("images-tensor", lambda k: call(k, k.tensor, k.labels), TypeError,
         r"^images must be a numpy array, got EagerTensor \(convert a tensor with \.numpy\(\)\)"),
        ("images-list", lambda k: call(k, k.images.tolist(), k.labels), TypeError,
         r"^images must be a numpy array, got list"),
        ("images-none", lambda k: call(k, None, k.labels), TypeError,
         r"^images must be a numpy array, got NoneType"),
        ("images-3d", lambda k: call(k, k.images[..., 0], k.labels), ValueError,
         r"^images must have shape \(N, H, W, C\) \(4 axes\), got shape \(6, 28, 28\)"),
        ("images-empty", lambda k: call(k, k.images[:0], k.labels[:0]), ValueError,
         r"^images is empty"),
        ("images-rgb", lambda k: call(k, np.repeat(k.images, 3, axis=-1), k.labels), ValueError,
         "^" + shape),
        ("labels-short", lambda k: call(k, k.images, k.labels[:5]), ValueError,
         r"^labels must have shape \(6,\), one per image, got \(5,\)"),
        ("labels-2d", lambda k: call(k, k.images, k.labels[:, None]), ValueError,
         r"^labels must have shape \(6,\), one per image, got \(6, 1\)"),
        ("labels-float", lambda k: call(k, k.images, k.labels.astype(float)), TypeError,
         r"^labels must be integers, got dtype float64"),
        ("labels-out-of-range", lambda k: call(k, k.images, k.labels + 10), ValueError,
         r"^labels must be in 0\.\.9, got \[1\d, 1\d\]"),
        ("labels-none", lambda k: call(k, k.images, None), TypeError,
         r"^labels must be integers, got dtype object"),
    ]
    if model:
        rows.append(("images-wrong-size", lambda k: call(k, k.images[:, :14, :14], k.labels),
                     ValueError, r"^images must have shape \(N, 28, 28, 1\) for model 'gap'"))
    return rows


def static_rows(call):
    """Bad static digits for ``call(kit, static_digits)`` (six images)."""
    return [
        ("static-too-large", lambda k: call(k, (0, 6)), ValueError,
         r"^static_digits\[1\] must be at most 5 \(there are 6 images\), got 6"),
        ("static-negative", lambda k: call(k, (-1, 2)), ValueError,
         r"^static_digits\[0\] must be at least 0, got -1"),
        ("static-float", lambda k: call(k, (0, 1.0)), TypeError,
         r"^static_digits\[1\] must be an int, got float 1\.0"),
        ("static-bare-int", lambda k: call(k, 3), TypeError,
         r"^static_digits must be a sequence of ints, got int 3 \(for one: \[3\]\)"),
        ("static-string", lambda k: call(k, "01"), TypeError,
         r"^static_digits must be a sequence of ints, got str '01'"),
        ("static-empty", lambda k: call(k, ()), ValueError, r"^static_digits is empty"),
        ("static-repeated", lambda k: call(k, (1, 1)), ValueError,
         r"^Control 'digit': values repeat"),
    ]


def model_rows(call, classifier=True):
    """Bad models for ``call(kit, model)``; ``classifier``: the explorer needs class scores."""
    rows = [
        ("model-none", lambda k: call(k, None), TypeError,
         r"^model must be a keras\.Model, got NoneType\.$"),
        ("model-name", lambda k: call(k, "gap"), TypeError,
         r"^model must be a keras\.Model, got str \(load a recorded one with "
         r"cnnlab\.zoo\.load\('gap'\)\)"),
        ("model-layer", lambda k: call(k, k.gap.layers[0]), TypeError,
         r"^model must be a keras\.Model, got Conv2D"),
        ("model-unbuilt", lambda k: call(k, k.unbuilt), ValueError,
         r"^model 'unbuilt' has not been built"),
    ]
    if classifier:
        rows.append(("model-no-classes", lambda k: call(k, k.conv_only), ValueError,
                     r"^model 'conv_only' must have one output of class scores, shape "
                     r"\(N, num_classes\), got shape \(None, 26, 26, 4\)"))
    return rows


def table(*groups):
    return [pytest.param(make, error, match, id=name)
            for group in groups for name, make, error, match in group]


def _refused(make, kit, error, match):
    with pytest.raises(error, match=match):
        make(kit)


# -- chapter 1: parse_kernel, convolution_explorer --------------------------------------------

PARSE_KERNEL_BAD = table([
    ("list", lambda k: parse_kernel([[0, 1, 0], [1, -4, 1], [0, 1, 0]]), TypeError,
     r"^kernel text must be a string, got list"),
    ("none", lambda k: parse_kernel(None), TypeError, r"^kernel text must be a string"),
    ("bytes", lambda k: parse_kernel(b"0 1 0; 1 -4 1; 0 1 0"), TypeError,
     r"^kernel text must be a string"),
    ("array", lambda k: parse_kernel(np.eye(3)), TypeError,
     r"^kernel text must be a string, got ndarray"),
    ("two-rows", lambda k: parse_kernel("0 1 0; 1 -4 1"), ValueError,
     r"^a kernel needs 3 rows of 3 numbers"),
    ("empty", lambda k: parse_kernel(""), ValueError, r"^a kernel needs 3 rows of 3 numbers"),
    ("blank-row", lambda k: parse_kernel("0 1 0; , ; 1 -4 1; 0 1 0"), ValueError,
     r"^a kernel needs 3 rows of 3 numbers"),
    ("short-row", lambda k: parse_kernel("0 1; 1 -4 1; 0 1 0"), ValueError,
     r"^a kernel needs 3 rows of 3 numbers"),
    ("long-row", lambda k: parse_kernel("0 1 0 0; 1 -4 1; 0 1 0"), ValueError,
     r"^a kernel needs 3 rows of 3 numbers"),
    ("four-rows", lambda k: parse_kernel("0 1 0; 1 -4 1; 0 1 0; 0 0 0"), ValueError,
     r"^a kernel needs 3 rows of 3 numbers"),
    ("letter", lambda k: parse_kernel("0 a 0; 1 -4 1; 0 1 0"), ValueError,
     r"^kernel entries must be numbers"),
    ("underscore", lambda k: parse_kernel("0 1_0 0; 1 -4 1; 0 1 0"), ValueError,
     r"^kernel entries must be numbers"),
    ("other-script-digit", lambda k: parse_kernel("0 \u0661 0; 1 -4 1; 0 1 0"), ValueError,
     r"^kernel entries must be numbers"),
    ("hex", lambda k: parse_kernel("0 0x1 0; 1 -4 1; 0 1 0"), ValueError,
     r"^kernel entries must be numbers"),
    ("nan", lambda k: parse_kernel("0 1 0; 1 nan 1; 0 1 0"), ValueError,
     r"^kernel entries must be finite"),
    ("all-nan", lambda k: parse_kernel("nan nan nan; nan nan nan; nan nan nan"), ValueError,
     r"^kernel entries must be finite"),
    ("inf", lambda k: parse_kernel("0 1 0; 1 -inf 1; 0 1 0"), ValueError,
     r"^kernel entries must be finite"),
    ("overflow", lambda k: parse_kernel("0 1 0; 1 1e400 1; 0 1 0"), ValueError,
     r"^kernel entries must be finite"),
    ("float32-overflow", lambda k: parse_kernel("0 1 0; 1 1e39 1; 0 1 0"), ValueError,
     r"^kernel entries must be finite float32 numbers"),
])


@pytest.mark.parametrize(("make", "error", "match"), PARSE_KERNEL_BAD)
def test_parse_kernel_refuses_bad_input(make, error, match):
    _refused(make, None, error, match)


def _convolution(kit, images, labels, static_digits=(0, 1)):
    return convolution_explorer(images, labels, static_digits=static_digits)


CONVOLUTION_BAD = table(
    image_rows(_convolution, model=False),
    static_rows(lambda k, static: _convolution(k, k.images, k.labels, static)),
    [("images-2x2", lambda k: _convolution(k, k.images[:, :2, :5], k.labels), ValueError,
      r"^images must be at least 3x3 pixels for 3x3 kernels, got 2x5")],
)


@pytest.mark.parametrize(("make", "error", "match"), CONVOLUTION_BAD)
def test_convolution_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


# -- chapter 2: pooling_explorer, shift_explorer ----------------------------------------------


def _pooling(kit, images, labels, static_digits=(0, 1)):
    return pooling_explorer(images, labels, static_digits=static_digits)


POOLING_BAD = table(
    image_rows(_pooling, model=False),
    static_rows(lambda k, static: _pooling(k, k.images, k.labels, static)),
    [("images-2x2", lambda k: _pooling(k, k.images[:, :2, :2], k.labels), ValueError,
      r"^images must be at least 3x3 pixels for the 3x3 window, got 2x2")],
)


@pytest.mark.parametrize(("make", "error", "match"), POOLING_BAD)
def test_pooling_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


def layer_rows(call, kind):
    """Bad layers of the gap model for ``call(kit, layer)``: one of ``kind`` is wanted."""
    wanted = {"conv": r"a Conv2D layer",
              "spatial": r"a Conv2D or pooling layer \(one with feature maps\)"}[kind]
    return [
        ("layer-dense", lambda k: call(k, "predictions"), ValueError,
         rf"^layer must be {wanted}, got 'predictions' \(Dense\); the .* of model 'gap' are "
         r"\['conv1', 'conv2'\]"),
        ("layer-global-pooling", lambda k: call(k, "gap"), ValueError,
         rf"^layer must be {wanted}, got 'gap' \(GlobalAveragePooling2D\)"),
        ("layer-unknown", lambda k: call(k, "conv3"), ValueError,
         r"^unknown layer 'conv3': the .* of model 'gap' are \['conv1', 'conv2'\]"),
        ("layer-of-another-model", lambda k: call(k, k.flat.get_layer("conv1")), ValueError,
         r"^layer 'conv1' is not a layer of model 'gap'"),
        ("layer-number", lambda k: call(k, 2), TypeError,
         r"^layer must be a layer name \(str\) or a keras layer, got int 2"),
        ("layer-none", lambda k: call(k, None), TypeError,
         r"^layer must be a layer name \(str\) or a keras layer, got NoneType"),
    ]


def _shift(kit, **bad):
    return shift_explorer(**{"model": kit.gap, "images": kit.images, "labels": kit.labels,
                             "layer": "conv2", "static_digits": (0,), **bad})


SHIFT_BAD = table(
    model_rows(lambda k, model: _shift(k, model=model), classifier=False),
    image_rows(lambda k, images, labels: _shift(k, images=images, labels=labels), model=True),
    layer_rows(lambda k, layer: _shift(k, layer=layer), "conv"),
    static_rows(lambda k, static: _shift(k, static_digits=static)),
    [("layer-list", lambda k: _shift(k, layer=["conv2"]), TypeError,
      r"^layer must be a layer name \(str\) or a keras layer, got list")],
)


@pytest.mark.parametrize(("make", "error", "match"), SHIFT_BAD)
def test_shift_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


# -- chapter 3: probability_explorer, epoch_explorer ------------------------------------------


def _probability(kit, **bad):
    return probability_explorer(**{"model": kit.gap, "images": kit.images,
                                   "labels": kit.labels, "static_digits": (0,), **bad})


PROBABILITY_BAD = table(
    model_rows(lambda k, model: _probability(k, model=model)),
    image_rows(lambda k, images, labels: _probability(k, images=images, labels=labels),
               model=True),
    static_rows(lambda k, static: _probability(k, static_digits=static)),
)


@pytest.mark.parametrize(("make", "error", "match"), PROBABILITY_BAD)
def test_probability_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error,
                                                            match):
    _refused(make, kit, error, match)


def _epoch(kit, **bad):
    return epoch_explorer(**{
        "predicted": np.array([kit.labels, (kit.labels + 1) % 10], dtype=np.uint8),
        "confidence": np.full((2, 6), 0.5, dtype=np.float32),
        "images": kit.images, "labels": kit.labels, **bad})


EPOCH_BAD = table(
    image_rows(lambda k, images, labels: _epoch(k, images=images, labels=labels), model=False),
    [
        ("predicted-short", lambda k: _epoch(k, predicted=np.zeros((2, 5), int),
                                             confidence=np.zeros((2, 5))),
         ValueError, r"^predicted and confidence must both have shape \(epochs, 6\), got "
                     r"\(2, 5\) and \(2, 5\)"),
        ("confidence-mismatch", lambda k: _epoch(k, confidence=np.zeros((3, 6))), ValueError,
         r"^predicted and confidence must both have shape \(epochs, 6\), got \(2, 6\) and "
         r"\(3, 6\)"),
        ("predicted-1d", lambda k: _epoch(k, predicted=k.labels, confidence=np.full(6, 0.5)),
         ValueError,
         r"^predicted and confidence must both have shape \(epochs, 6\)"),
        ("no-epoch", lambda k: _epoch(k, predicted=np.zeros((0, 6), int),
                                      confidence=np.zeros((0, 6))), ValueError,
         r"^predicted and confidence hold no epoch"),
        ("predicted-float", lambda k: _epoch(k, predicted=np.zeros((2, 6))), TypeError,
         r"^predicted must be integers, got dtype float64"),
        ("predicted-out-of-range", lambda k: _epoch(k, predicted=np.full((2, 6), 10)),
         ValueError, r"^predicted must be in 0\.\.9, got \[10, 10\]"),
        ("predicted-negative", lambda k: _epoch(k, predicted=np.full((2, 6), -1)),
         ValueError, r"^predicted must be in 0\.\.9, got \[-1, -1\]"),
        ("confidence-above-1", lambda k: _epoch(k, confidence=np.full((2, 6), 1.5)),
         ValueError, r"^confidence must be probabilities in \[0, 1\], got values in "
                     r"\[1\.5, 1\.5\]"),
        ("confidence-nan", lambda k: _epoch(k, confidence=np.full((2, 6), np.nan)),
         ValueError, r"^confidence must be probabilities in \[0, 1\]"),
        ("confidence-text", lambda k: _epoch(k, confidence=np.full((2, 6), "high")),
         TypeError, r"^confidence must be numbers, got dtype <U4"),
    ],
)


@pytest.mark.parametrize(("make", "error", "match"), EPOCH_BAD)
def test_epoch_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


# -- chapter 4: feature_map_explorer ----------------------------------------------------------


def _feature_maps(kit, **bad):
    return feature_map_explorer(**{"model": kit.gap, "images": kit.images,
                                   "labels": kit.labels, "layers": ("conv1", "conv2"),
                                   "static_digits": (0,), "static_channels": (0, 3), **bad})


FEATURE_MAP_BAD = table(
    model_rows(lambda k, model: _feature_maps(k, model=model), classifier=False),
    image_rows(lambda k, images, labels: _feature_maps(k, images=images, labels=labels),
               model=True),
    layer_rows(lambda k, layer: _feature_maps(k, layers=["conv1", layer]), "spatial"),
    static_rows(lambda k, static: _feature_maps(k, static_digits=static)),
    [
        ("layers-bare-string", lambda k: _feature_maps(k, layers="conv1"), TypeError,
         r"^layers must be a list of layer names or layers, got str 'conv1' \(for one layer: "
         r"\['conv1'\]\)"),
        ("layers-bare-layer", lambda k: _feature_maps(k, layers=k.gap.get_layer("conv1")),
         TypeError, r"^layers must be a list of layer names or layers, got Conv2D"),
        ("layers-empty", lambda k: _feature_maps(k, layers=[]), ValueError,
         r"^layers is empty"),
        ("layers-repeated", lambda k: _feature_maps(k, layers=["conv1", "conv1"]), ValueError,
         r"^Control 'layer': values repeat"),
        ("channel-missing", lambda k: _feature_maps(k, static_channels=(0, 4)), ValueError,
         r"^static_channels\[1\] must be at most 3 \(there are 4 channels in layer 'conv1'\), "
         r"got 4"),
        ("channel-negative", lambda k: _feature_maps(k, static_channels=(-1,)), ValueError,
         r"^static_channels\[0\] must be at least 0, got -1"),
        ("channel-bare-int", lambda k: _feature_maps(k, static_channels=3), TypeError,
         r"^static_channels must be a sequence of ints, got int 3"),
        ("channels-empty", lambda k: _feature_maps(k, static_channels=[]), ValueError,
         r"^static_channels is empty"),
    ],
)


@pytest.mark.parametrize(("make", "error", "match"), FEATURE_MAP_BAD)
def test_feature_map_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error,
                                                            match):
    _refused(make, kit, error, match)


# -- chapter 5: occlusion_explorer ------------------------------------------------------------


def _occlusion(kit, **bad):
    return occlusion_explorer(**{"model": kit.gap, "images": kit.images, "labels": kit.labels,
                                 "layer": "conv2", "static_digits": (0,), **bad})


OCCLUSION_BAD = table(
    model_rows(lambda k, model: _occlusion(k, model=model)),
    image_rows(lambda k, images, labels: _occlusion(k, images=images, labels=labels),
               model=True),
    layer_rows(lambda k, layer: _occlusion(k, layer=layer), "conv"),
    static_rows(lambda k, static: _occlusion(k, static_digits=static)),
)


@pytest.mark.parametrize(("make", "error", "match"), OCCLUSION_BAD)
def test_occlusion_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


# -- chapters 6 and 7: cam_explorer, gradcam_explorer, learning_explorer ----------------------


def _cam(kit, **bad):
    return cam_explorer(**{"model": kit.gap, "images": kit.images, "labels": kit.labels,
                           "static_digits": (0,), **bad})


CAM_BAD = table(
    model_rows(lambda k, model: _cam(k, model=model)),
    image_rows(lambda k, images, labels: _cam(k, images=images, labels=labels), model=True),
    static_rows(lambda k, static: _cam(k, static_digits=static)),
    [("model-without-global-pooling", lambda k: _cam(k, model=k.flat), ValueError,
      r"^CAM needs global average pooling right before the last \(dense\) layer"),
     ("own-pictures-list", lambda k: _cam(k, own_pictures=[k.images[0]]), TypeError,
      r"^own_pictures must be a mapping of names to pictures, got list\.$"),
     ("own-pictures-name-taken", lambda k: _cam(k, own_pictures={"your upload": k.images[0]}),
      ValueError, r"^own_pictures' names must be strings other than 'test digit' and "),
     ("own-pictures-name-int", lambda k: _cam(k, own_pictures={3: k.images[0]}),
      ValueError, r"^own_pictures' names must be strings"),
     ("own-pictures-shape", lambda k: _cam(k, own_pictures={"a": k.images[0, :8]}),
      ValueError, r"^own_pictures\['a'\] must have shape"),
     ("own-pictures-range", lambda k: _cam(k, own_pictures={"a": k.images[0] + 2}),
      ValueError, r"own_pictures\['a'\]")],
)


@pytest.mark.parametrize(("make", "error", "match"), CAM_BAD)
def test_cam_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


def _gradcam(kit, **bad):
    return gradcam_explorer(**{"model": kit.gap, "images": kit.images, "labels": kit.labels,
                               "layers": ("conv1", "conv2"), "static_digits": (0,), **bad})


GRADCAM_BAD = table(
    model_rows(lambda k, model: _gradcam(k, model=model)),
    image_rows(lambda k, images, labels: _gradcam(k, images=images, labels=labels),
               model=True),
    layer_rows(lambda k, layer: _gradcam(k, layers=["conv1", layer]), "conv"),
    static_rows(lambda k, static: _gradcam(k, static_digits=static)),
    [
        ("layers-bare-string", lambda k: _gradcam(k, layers="conv1"), TypeError,
         r"^layers must be a list of layer names or layers, got str 'conv1' \(for one layer: "
         r"\['conv1'\]\)"),
        ("layers-empty", lambda k: _gradcam(k, layers=()), ValueError, r"^layers is empty"),
        ("layer-pooling", lambda k: _gradcam(k, model=k.flat, layers=["conv1", "pool"]),
         ValueError, r"^layer must be a Conv2D layer, got 'pool' \(MaxPooling2D\); the "
                     r"Conv2D layers of model 'flat' are \['conv1', 'conv2'\]"),
    ],
)


@pytest.mark.parametrize(("make", "error", "match"), GRADCAM_BAD)
def test_gradcam_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


def _learning(kit, **bad):
    return learning_explorer(**{"record": kit.record, "images": kit.watched, **bad})


def _changed(record, **changes):
    return {**record, **changes}


LEARNING_BAD = table([
    ("record-name", lambda k: _learning(k, record="sakai2019_learning"), TypeError,
     r"^record must be a dict \(zoo\.record\('sakai2019_learning'\)\), got str"),
    ("record-none", lambda k: _learning(k, record=None), TypeError,
     r"^record must be a dict \(zoo\.record\('sakai2019_learning'\)\), got NoneType"),
    ("record-missing-key", lambda k: _learning(
        k, record={key: k.record[key] for key in ("maps", "map_max")}), ValueError,
     r"^record lacks \['sigmoid'\]: pass zoo\.record\('sakai2019_learning'\)"),
    ("record-maps-4d", lambda k: _learning(k, record=_changed(k.record,
                                                              maps=k.record["maps"][0])),
     ValueError, r"^record\['maps'\] must have shape \(2, epochs, classes, h, w\), got "
                 r"\(3, 10, 24, 24\)"),
    ("record-no-epoch", lambda k: _learning(k, record=_changed(
        k.record, maps=k.record["maps"][:, :0])), ValueError,
     r"^record\['maps'\] must have shape \(2, epochs, classes, h, w\), got "
     r"\(2, 0, 10, 24, 24\)"),
    ("record-sigmoid-shape", lambda k: _learning(k, record=_changed(
        k.record, sigmoid=k.record["sigmoid"][:2])), ValueError,
     r"^record\['map_max'\] must have shape \(2, 3, 10\) and record\['sigmoid'\] shape "
     r"\(3, 10, 10\), got \(2, 3, 10\) and \(2, 10, 10\)"),
    ("record-text", lambda k: _learning(k, record=_changed(
        k.record, map_max=k.record["map_max"].astype(str))), TypeError,
     r"^record\['map_max'\] must be numbers, got dtype <U"),
    ("images-nine", lambda k: _learning(k, images=k.watched[:9]), ValueError,
     r"^images must hold the 10 watched digits, got 9 of shape \(28, 28, 1\)"),
    ("images-eleven", lambda k: _learning(k, images=np.concatenate([k.watched, k.watched[:1]])),
     ValueError, r"^images must hold the 10 watched digits, got 11"),
    ("images-rgb", lambda k: _learning(k, images=np.repeat(k.watched, 3, axis=-1)),
     ValueError, r"^images must hold the 10 watched digits, got 10 of shape \(28, 28, 3\)"),
    ("images-smaller-than-maps", lambda k: _learning(k, images=k.watched[:, :20, :20]),
     ValueError, r"^images \(20x20\) are smaller than the record's maps \(24x24\)"),
    ("images-0-255", lambda k: _learning(k, images=k.watched * 255), ValueError,
     r"^images must have values in \[0, 1\]"),
    ("images-nan", lambda k: _learning(k, images=_with_nan(k.watched)), ValueError,
     r"^images must be finite"),
    ("images-negative", lambda k: _learning(k, images=k.watched - 1), ValueError,
     r"^images must have values in \[0, 1\], got \[-"),
    ("images-tensor", lambda k: _learning(k, images=k.tensor), TypeError,
     r"^images must be a numpy array, got EagerTensor \(convert a tensor with \.numpy\(\)\)"),
    ("images-3d", lambda k: _learning(k, images=k.watched[..., 0]), ValueError,
     r"^images must have shape \(N, H, W, C\) \(4 axes\)"),
    ("static-epoch-0", lambda k: _learning(k, static_epochs=(1, 0)), ValueError,
     r"^static_epochs\[1\] must be at least 1, got 0"),
    ("static-epoch-float", lambda k: _learning(k, static_epochs=(1, 2.5)), TypeError,
     r"^static_epochs\[1\] must be an int, got float 2\.5"),
    ("static-epochs-bare-int", lambda k: _learning(k, static_epochs=5), TypeError,
     r"^static_epochs must be a sequence of ints, got int 5"),
    ("faint-negative", lambda k: _learning(k, faint=-1e-6), ValueError,
     r"^faint must be at least 0, got -1e-06"),
    ("faint-nan", lambda k: _learning(k, faint=float("nan")), ValueError,
     r"^faint must be finite, got nan"),
    ("faint-text", lambda k: _learning(k, faint="1e-6"), TypeError,
     r"^faint must be a number, got str '1e-6'"),
])


@pytest.mark.parametrize(("make", "error", "match"), LEARNING_BAD)
def test_learning_explorer_refuses_bad_input_when_called(kit, no_drawing, make, error, match):
    _refused(make, kit, error, match)


# -- the good arguments of the tables are good ------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda k: _convolution(k, k.images, k.labels),
    lambda k: _pooling(k, k.images, k.labels),
    _shift, _probability, _epoch, _feature_maps, _occlusion, _cam, _gradcam, _learning,
], ids=["convolution", "pooling", "shift", "probability", "epoch", "feature_map",
        "occlusion", "cam", "gradcam", "learning"])
def test_the_tables_spoil_good_arguments(kit, no_drawing, make):
    from cnnlab.explorers.base import Explorer

    assert isinstance(make(kit), Explorer)


def test_layers_may_be_given_as_keras_layers(kit, no_drawing):
    conv1 = kit.gap.get_layer("conv1")
    maps = _feature_maps(kit, layers=[conv1, "conv2"])
    assert maps.controls[1].values == ("conv1", "conv2")
    assert _gradcam(kit, layers=(conv1,)).controls[0].values == ("conv1",)
    assert isinstance(_shift(kit, layer=conv1), type(maps))
    assert isinstance(_occlusion(kit, layer=conv1), type(maps))


def test_static_positions_reach_the_controls_as_given(kit, no_drawing):
    # The element id (and so the stored HTML) depends on the values' repr: numpy ints
    # stay numpy ints, and labels given as a list are read as ints.
    explorer = _pooling(kit, kit.images, list(kit.labels), np.array([0, 2]))
    assert explorer.controls[0].values == (0, 2)
    assert all(isinstance(v, np.int64) for v in explorer.controls[0].values)
    channels = _feature_maps(kit, static_channels=range(4))
    assert channels.controls[2].values == (0, 1, 2, 3)


def test_learning_explorer_drops_only_epochs_beyond_the_record(kit, no_drawing):
    explorer = _learning(kit, static_epochs=np.array([2, 3, 4, 50]))
    assert explorer.controls[0].values == (2, 3)
    assert _learning(kit, static_epochs=()).controls[0].values == (3,)
