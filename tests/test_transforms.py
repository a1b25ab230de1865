"""Tests for cnnlab.transforms: rotation against np.rot90 and PIL, scaling against a
hand-computed square, resizing against PIL's bilinear resize and a hand example."""

import numpy as np
import pytest
from PIL import Image

from cnnlab.transforms import resize_images, rotate_images, scale_images


def blob(size: int = 29, sigma: float = 3.0, centre=None) -> np.ndarray:
    """A smooth Gaussian spot, shape (1, size, size, 1), peak 1."""
    c = (size - 1) / 2 if centre is None else centre
    y, x = np.mgrid[:size, :size]
    spot = np.exp(-((y - c) ** 2 + (x - c) ** 2) / (2 * sigma**2))
    return spot[None, :, :, None].astype(np.float32)


@pytest.mark.parametrize("size", [9, 10])
@pytest.mark.parametrize("k", [1, 2, 3, -1])
def test_quarter_turns_are_rot90(rng, size, k):
    x = rng.random((3, size, size, 2), dtype=np.float32)
    np.testing.assert_allclose(rotate_images(x, 90 * k), np.rot90(x, k, axes=(1, 2)),
                               atol=1e-6)


def test_half_turn_of_a_rectangle_is_rot90_twice(rng):
    x = rng.random((2, 8, 11, 1), dtype=np.float32)
    np.testing.assert_allclose(rotate_images(x, 180.0), np.rot90(x, 2, axes=(1, 2)), atol=1e-6)


def test_no_rotation_and_no_scaling_are_the_identity(rng):
    x = rng.random((2, 12, 12, 1), dtype=np.float32)
    for out in (rotate_images(x, 0), rotate_images(x, 360.0), scale_images(x, 1.0)):
        np.testing.assert_array_equal(out, x)
        assert out.dtype == np.float32 and out is not x


@pytest.mark.parametrize("degrees", [30.0, -17.5, 45.0, 123.0])
def test_rotation_equals_pils_bilinear_rotate_inside_the_image(rng, degrees):
    # PIL treats the border differently (no blend into black), so compare the pixels whose
    # source lies at least one pixel inside the image: a disc about the centre.
    x = rng.random((1, 28, 28, 1), dtype=np.float32)
    want = np.asarray(Image.fromarray(x[0, :, :, 0], mode="F").rotate(
        degrees, resample=Image.Resampling.BILINEAR))
    y, xx = np.mgrid[:28, :28] - 13.5
    inside = np.hypot(y, xx) < 12.5
    np.testing.assert_allclose(rotate_images(x, degrees)[0, :, :, 0][inside], want[inside],
                               atol=1e-6)


def test_positive_degrees_turn_counter_clockwise():
    # A dot right of the centre goes above it after a quarter turn counter-clockwise.
    x = np.zeros((1, 9, 9, 1), np.float32)
    x[0, 4, 7] = 1.0
    out = rotate_images(x, 90)
    assert out[0, 1, 4, 0] == pytest.approx(1.0) and out.sum() == pytest.approx(1.0)


def test_rotating_there_and_back_returns_a_smooth_image():
    x = blob(centre=9.0)          # off-centre, so the rotation moves it
    for degrees in (20.0, 45.0, 70.0):
        turned = rotate_images(x, degrees)
        assert np.abs(turned - x).max() > 0.3
        back = rotate_images(turned, -degrees)
        # Two bilinear interpolations blur the peak (1) a little: by hand, about 0.04.
        np.testing.assert_allclose(back, x, atol=0.05)


def test_rotation_fills_the_corners_with_zeros():
    out = rotate_images(np.ones((1, 10, 10, 1), np.float32), 45.0)
    assert out[0, 0, 0, 0] == 0 and out[0, 5, 5, 0] == pytest.approx(1.0)
    assert out.min() >= 0 and out.max() <= 1


def test_doubling_a_centred_square_doubles_its_width():
    # 28 x 28, centre 13.5: a 4-pixel square on rows/columns 12..15. Output pixel o
    # samples 13.5 + (o - 13.5) / 2, so the profile along a row is, by hand:
    x = np.zeros((1, 28, 28, 1), np.float32)
    x[0, 12:16, 12:16] = 1.0
    profile = np.zeros(28)
    profile[9:19] = [0.25, 0.75, 1, 1, 1, 1, 1, 1, 0.75, 0.25]   # sum 8 = 2 x 4
    out = scale_images(x, 2.0)
    np.testing.assert_allclose(out[0, :, :, 0], np.outer(profile, profile), atol=1e-6)


def test_halving_averages_the_pixels_each_output_pixel_covers():
    # factor 0.5 on 8 pixels (centre 3.5): output o samples 2o - 3.5 with a tent two
    # pixels wide, so it is 1/8, 3/8, 3/8, 1/8 of input pixels 2o-5 .. 2o-2 (zero outside).
    row = np.arange(1, 9, dtype=np.float32) / 8
    x = np.broadcast_to(row, (1, 8, 8))[..., None].astype(np.float32)
    kernel = np.array([1, 3, 3, 1]) / 8
    padded = np.concatenate([np.zeros(5), row, np.zeros(5)])    # padded[k] is pixel k - 5
    want = [kernel @ padded[2 * o:2 * o + 4] for o in range(8)]
    # Output row 4 samples rows 3..6, all inside: the vertical weights sum to 1.
    np.testing.assert_allclose(scale_images(x, 0.5)[0, 4, :, 0], want, atol=1e-6)


@pytest.mark.parametrize("factor", [0.3, 0.5, 0.7, 1.3, 2.0])
def test_the_mass_of_a_scaled_image_goes_as_the_factor_squared(factor):
    x = blob(size=56, sigma=3.0)
    out = scale_images(x, factor)
    assert out.sum() / x.sum() == pytest.approx(factor**2, rel=0.01)
    assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(("function", "amount"),
                         [(rotate_images, 33.0), (scale_images, 0.13), (scale_images, 0.37),
                          (scale_images, 1.7), (resize_images, 11), (resize_images, 45)])
def test_images_in_the_unit_range_stay_there(rng, function, amount):
    x = rng.random((4, 28, 28, 1), dtype=np.float32)
    x[:, 10:20, 5:25] = 1.0                     # a block of full white
    out = function(x, amount)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize(("shape", "size"),
                         [((8, 8), 28), ((28, 28), 56), ((28, 28), 14), ((28, 28), 9),
                          ((7, 11), 20), ((5, 5), 5)])
def test_resize_equals_pils_bilinear_resize(rng, shape, size):
    x = rng.random((2, *shape, 2), dtype=np.float32)
    out = resize_images(x, size)
    assert out.shape == (2, size, size, 2) and out.dtype == np.float32
    for n in range(2):
        for c in range(2):
            want = np.asarray(Image.fromarray(x[n, :, :, c], mode="F").resize(
                (size, size), Image.Resampling.BILINEAR))
            np.testing.assert_allclose(out[n, :, :, c], want, atol=1e-6)


def test_resize_by_hand_two_to_four_pixels():
    # Output centres at input -0.25, 0.25, 0.75, 1.25: the edge pixel repeats beyond the border.
    x = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)[None, :, :, None]
    np.testing.assert_allclose(resize_images(x, 4)[0, 0, :, 0], [0, 0.25, 0.75, 1], atol=1e-7)


BAD_IMAGES = [
    (np.zeros((2, 8, 8)), ValueError, r"images must have shape \(N, H, W, C\)"),
    (np.zeros((1, 8, 8, 1), np.uint8), TypeError, r"images must be a float array"),
    (np.full((1, 8, 8, 1), np.nan, np.float32), ValueError, r"images must be finite"),
    ([[[[0.0]]]], TypeError, r"images must be a numpy array"),
]


@pytest.mark.parametrize(
    ("function", "images", "amount", "error", "match"),
    [(f, *bad[:1], a, *bad[1:]) for f, a in ((rotate_images, 10.0), (scale_images, 1.5),
                                             (resize_images, 16)) for bad in BAD_IMAGES]
    + [
        (rotate_images, None, np.nan, ValueError, r"degrees must be finite"),
        (rotate_images, None, "90", TypeError, r"degrees must be a number, got str"),
        (rotate_images, None, True, TypeError, r"degrees must be a number, got bool"),
        (scale_images, None, 0.0, ValueError, r"factor must be in \[0.1, 10\], got 0"),
        (scale_images, None, -2.0, ValueError, r"factor must be in \[0.1, 10\]"),
        (scale_images, None, 11.0, ValueError, r"factor must be in \[0.1, 10\], got 11"),
        (scale_images, None, np.inf, ValueError, r"factor must be finite"),
        (scale_images, None, None, TypeError, r"factor must be a number, got NoneType"),
        (resize_images, None, 1, ValueError, r"size must be at least 2, got 1"),
        (resize_images, None, 513, ValueError, r"size must be at most 512, got 513"),
        (resize_images, None, 28.0, TypeError, r"size must be an int, got float"),
        (resize_images, None, True, TypeError, r"size must be an int, got bool"),
    ],
)
def test_transforms_reject_bad_input(function, images, amount, error, match):
    if images is None:
        images = np.zeros((1, 8, 8, 1), np.float32)
    with pytest.raises(error, match=match):
        function(images, amount)
