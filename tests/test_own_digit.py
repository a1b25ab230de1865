"""to_mnist: a reader's picture becomes an MNIST input, made the way MNIST was made."""

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnnlab.own_digit import to_mnist

ROWS = np.arange(28)


def centre_of_mass(digit):
    digit = digit[..., 0]
    return digit.sum(axis=1) @ ROWS / digit.sum(), digit.sum(axis=0) @ ROWS / digit.sum()


def box(digit):
    """Height and width of the bounding box of the non-zero pixels."""
    rows, cols = np.flatnonzero(digit[..., 0].any(axis=1)), np.flatnonzero(digit[..., 0].any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def encode(picture, fmt="PNG", **options):
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def drawing(size=(160, 200), ink=0, paper=255, mode="L"):
    """A '4'-like figure drawn with a thick pen, (width, height) = size."""
    picture = Image.new(mode, size, paper)
    pen = ImageDraw.Draw(picture)
    width, height = size
    pen.line([(0.6 * width, 0.15 * height), (0.2 * width, 0.6 * height),
              (0.8 * width, 0.6 * height)], fill=ink, width=12)
    pen.line([(0.6 * width, 0.15 * height), (0.6 * width, 0.85 * height)], fill=ink, width=12)
    return picture


def best_correlation(a, b):
    """Correlation, best over shifts of at most one pixel each way.

    MNIST's centres of mass lie anywhere within half a pixel of the centre, and a round
    trip rounds its own whole-pixel shift, so the two may sit one pixel apart.
    """
    return max(np.corrcoef(np.roll(a, (dy, dx), axis=(0, 1)).ravel(), b.ravel())[0, 1]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))


@pytest.fixture(scope="module")
def mnist_digits():
    from cnnlab.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    return x_test[:12], y_test[:12]


@pytest.mark.parametrize(("scale", "resample", "min_corr"), [
    (5, Image.Resampling.NEAREST, 0.98),  # every MNIST pixel a 5x5 block: nothing lost
    (5, Image.Resampling.BICUBIC, 0.88),  # smooth, as a scan would be; strokes change a little
    (11, Image.Resampling.BILINEAR, 0.88),
])
def test_mnist_round_trip(mnist_digits, scale, resample, min_corr):
    x_test, _ = mnist_digits
    corrs = []
    for digit in x_test:
        picture = Image.fromarray(np.uint8(np.rint(255 - 255 * digit[..., 0])))  # black on white
        picture = picture.resize((28 * scale, 28 * scale), resample)
        out = to_mnist(encode(picture))
        corrs.append(best_correlation(out[..., 0], digit[..., 0]))
        # Centred by mass to within half a pixel, in a box like MNIST's (longer side 20).
        assert np.abs(np.subtract(centre_of_mass(out), 14)).max() <= 0.5 + 1e-6
        assert max(box(out)) == 20
        assert abs(max(box(out)) - max(box(digit))) <= 1
    assert min(corrs) > min_corr, corrs
    assert np.mean(corrs) > 0.95, corrs


def test_output_properties():
    out = to_mnist(encode(drawing((600, 800))))
    assert out.shape == (28, 28, 1) and out.dtype == np.float32
    assert out.min() == 0 and out.max() == 1
    assert max(box(out)) == 20
    assert np.abs(np.subtract(centre_of_mass(out), 14)).max() <= 0.5 + 1e-6
    assert (out[:2] == 0).all() and (out[-2:] == 0).all()  # black margin, as in MNIST


def test_aspect_ratio_kept_for_a_tall_thin_stroke():
    one = np.zeros((200, 200), np.uint8)
    one[50:150, 95:105] = 255  # a '1': 10 wide, 100 tall
    height, width = box(to_mnist(one))
    assert height == 20 and 2 <= width <= 3
    height, width = box(to_mnist(one.T.copy()))  # lying down: 20 wide, 2 tall
    assert width == 20 and 2 <= height <= 3


def test_small_digit_in_a_big_picture_is_scaled_up():
    picture = np.full((1000, 1000), 255, np.uint8)
    picture[400:430, 600:615] = 0  # 30 x 15 pixels of ink somewhere off-centre
    out = to_mnist(picture)
    assert box(out) == (20, 10)
    assert np.abs(np.subtract(centre_of_mass(out), 14)).max() <= 0.5 + 1e-6


def test_lopsided_digit_stays_inside_the_field():
    # Nearly all the mass at the bottom: centring it would push the top out of the field.
    picture = np.zeros((100, 100), np.uint8)
    picture[10:90, 48:52] = 255
    picture[70:90, 30:70] = 255
    out = to_mnist(picture)
    assert max(box(out)) == 20 and out[0].any()  # shifted as far as it goes, nothing cut
    assert centre_of_mass(out)[0] > 14.5


def test_polarity_either_way_gives_the_same_digit():
    dark_on_light = to_mnist(encode(drawing(ink=0, paper=255)))
    light_on_dark = to_mnist(encode(drawing(ink=255, paper=0)))
    grey_paper = to_mnist(encode(drawing(ink=30, paper=200)))  # contrast does not matter
    np.testing.assert_allclose(dark_on_light, light_on_dark, atol=1e-5)
    np.testing.assert_allclose(dark_on_light, grey_paper, atol=1e-5)


def test_formats_give_the_same_digit():
    expected = to_mnist(encode(drawing()))
    rgb = drawing(ink=(0, 0, 0), paper=(255, 255, 255), mode="RGB")
    blue_pen = drawing(ink=(20, 40, 200), paper=(250, 245, 230), mode="RGB")
    # A drawing app's canvas: a pen on a transparent background, dark or light.
    black_on_clear = drawing(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    white_on_clear = drawing(ink=(255, 255, 255, 255), paper=(255, 255, 255, 0), mode="RGBA")
    sixteen_bit = Image.fromarray(np.asarray(drawing(), np.uint16) * 257)  # 16-bit grey PNG
    for picture in rgb, blue_pen, black_on_clear, white_on_clear, sixteen_bit:
        np.testing.assert_allclose(to_mnist(encode(picture)), expected, atol=1e-5)
    for picture in drawing().convert("P"), drawing().convert("1"):
        np.testing.assert_allclose(to_mnist(encode(picture, "GIF")), expected, atol=1e-5)
    jpeg = to_mnist(encode(rgb, "JPEG", quality=85))  # lossy: ringing round the strokes
    assert best_correlation(jpeg[..., 0], expected[..., 0]) > 0.97


def test_bytes_like_and_arrays_give_the_same_digit():
    data = encode(drawing())
    expected = to_mnist(data)
    pixels = np.asarray(drawing())
    for image in (bytearray(data), memoryview(data), pixels, pixels[..., None],
                  pixels.astype(np.int64), pixels / 255, (pixels / 255).astype(np.float32),
                  np.repeat(pixels[..., None], 3, axis=2)):
        np.testing.assert_allclose(to_mnist(image), expected, atol=1e-5)
    rgba = np.dstack([np.repeat(pixels[..., None], 3, axis=2), np.full_like(pixels, 255)])
    np.testing.assert_allclose(to_mnist(rgba), expected, atol=1e-5)


def test_exif_orientation_is_applied():
    # Phones save photos as the sensor saw them and record the turn in EXIF (6: 90° clockwise).
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = to_mnist(encode(drawing(), exif=exif))
    upright = to_mnist(np.asarray(drawing().transpose(Image.Transpose.ROTATE_270)))
    np.testing.assert_allclose(turned, upright, atol=1e-5)


def test_noisy_photo_keeps_a_black_background():
    # Grey paper, light falling off across the page, sensor noise, pencil-grey ink.
    rng = np.random.default_rng(0)
    paper = np.linspace(225, 200, 160)[None, :] + rng.normal(0, 3, (200, 160))
    ink = np.asarray(drawing(ink=1, paper=0), bool)
    out = to_mnist(np.clip(np.where(ink, 60, paper), 0, 255).astype(np.uint8))
    clean = to_mnist(encode(drawing()))
    assert best_correlation(out[..., 0], clean[..., 0]) > 0.95
    assert (out[clean == 0] < 0.15).all()  # no grey haze where MNIST is black


def test_import_does_nothing_heavy():
    code = "import sys, cnnlab.own_digit; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _png_header(width, height):
    """A PNG that claims a size and holds no pixels: what a decompression bomb looks like."""
    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


_PNG = encode(Image.new("L", (100, 100), 255))
_NAN = np.zeros((20, 20))
_NAN[3, 4] = np.nan


@pytest.mark.parametrize(("image", "error", "match"), [
    (b"hello", ValueError, r"image could not be read as a picture.*5 bytes in no format"),
    (b"", ValueError, r"image could not be read as a picture.*empty \(0 bytes\)"),
    (_PNG[:60], ValueError, r"image could not be read as a picture.*truncated"),
    (_png_header(20000, 20000), ValueError, r"image could not be read.*decompression bomb"),
    (_png_header(5000, 8), ValueError, r"image must be at most 4096 pixels.*got 8 x 5000"),
    (_PNG, ValueError, r"image is blank"),
    (np.full((50, 50), 255, np.uint8), ValueError, r"image is blank"),
    (np.zeros((50, 50), np.uint8), ValueError, r"image is blank"),
    (np.full((50, 50, 4), 0, np.uint8), ValueError, r"image is blank"),  # all transparent
    (encode(Image.new("L", (3, 3))), ValueError, r"image must be at least 8 pixels.*got 3 x 3"),
    (np.zeros((3, 3), np.uint8), ValueError, r"image must be at least 8 pixels.*got 3 x 3"),
    (np.zeros((5000, 10), np.uint8), ValueError, r"at most 4096 pixels.*got 5000 x 10"),
    ([[0, 1], [1, 0]], TypeError, r"image must be the bytes of a picture file.*got list"),
    ("digit.png", TypeError, r"got str; to use a file, pass its bytes"),
    (_NAN, ValueError, r"image contains NaN"),
    (np.full((20, 20), 1.5), ValueError, r"values in \[0, 1\] for dtype float64, got \[1.5"),
    (np.full((20, 20), -0.5), ValueError, r"values in \[0, 1\]"),
    (np.zeros((1, 20, 20, 1)), ValueError, r"image must be an array of shape \(H, W\).*\(1, 20"),
    (np.zeros((20, 20, 2)), ValueError, r"image must be an array of shape.*\(20, 20, 2\)"),
    (np.zeros((20, 20), complex), TypeError, r"integers 0\.\.255 \(uint8\).*complex128"),
    (np.zeros((20, 20), bool), TypeError, r"got dtype bool"),
    (np.full((20, 20), 256, np.int64), ValueError, r"values in \[0, 255\] for dtype int64"),
    (np.full((20, 20), -1, np.int16), ValueError, r"values in \[0, 255\]"),
], ids=["not-a-picture", "empty", "truncated-png", "bomb", "png-too-big", "white-png",
        "white", "black", "transparent", "tiny-png", "tiny", "too-big", "list", "path", "nan",
        "above-one", "negative-float", "4d", "two-channels", "complex", "bool", "int64-256",
        "negative-int"])
def test_bad_input_is_refused_with_a_clear_message(image, error, match):
    with pytest.raises(error, match=match):
        to_mnist(image)


def test_dark_ink_on_dim_paper_is_turned_round():
    # A phone photo in poor light: paper at 120 of 255, ink at 20. The ink is the side far
    # from the background, so the picture is inverted although the paper is below 0.5.
    dim = np.full((100, 100), 120, np.uint8)
    dim[20:80, 45:55] = 20
    bright = np.full((100, 100), 235, np.uint8)
    bright[20:80, 45:55] = 20
    np.testing.assert_allclose(to_mnist(dim), to_mnist(bright), atol=1e-6)


# -- the prepared "own" digits ---------------------------------------------------------------


@pytest.fixture
def seven():
    """A synthetic 7 in MNIST's style: white strokes on black, 28x28."""
    picture = Image.new("L", (28, 28))
    ImageDraw.Draw(picture).line([(7, 6), (20, 6), (11, 22)], fill=255, width=3)
    return (np.asarray(picture, dtype=np.float32) / 255)[..., None]


def test_prepared_digits_are_made_like_uploads(seven):
    from cnnlab.own_digit import PREPARED_STYLES, prepared_digits

    got = prepared_digits(seven)
    assert tuple(got) == PREPARED_STYLES
    for picture in got.values():
        assert picture.shape == (28, 28, 1) and picture.dtype == np.float32
        assert picture.max() == 1 and picture.min() == 0
        rows, cols = centre_of_mass(picture)
        assert abs(rows - 14) <= 1.5 and abs(cols - 14) <= 1.5        # centred like MNIST
    ink = {style: picture.sum() for style, picture in got.items()}
    assert ink["thick"] > 1.3 * ink["off-centre"] > 1.3 * ink["thin"]
    # The off-centre page holds the same digit: to_mnist gives back (about) the digit.
    def similarity(a, b):
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    assert similarity(got["off-centre"], to_mnist(seven)) > 0.9
    assert similarity(got["rotated"], got["off-centre"]) < similarity(got["thin"],
                                                                      got["off-centre"])
    again = prepared_digits(seven)
    for style in got:
        np.testing.assert_array_equal(got[style], again[style])      # reproducible


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [(np.zeros((28, 28), np.uint8), TypeError, r"^image must be a float numpy array"),
     ([[0.0] * 28] * 28, TypeError, r"^image must be a float numpy array .*got list"),
     (np.zeros((14, 14)), ValueError, r"^image must have shape \(28, 28\) or \(28, 28, 1\)"),
     (np.full((28, 28), 2.0), ValueError, r"^image must have finite values in \[0, 1\]"),
     (np.zeros((28, 28)), ValueError, r"^image is blank")],
    ids=["uint8", "list", "small", "range", "blank"],
)
def test_prepared_digits_rejects_bad_input(image, error, match):
    from cnnlab.own_digit import prepared_digits

    with pytest.raises(error, match=match):
        prepared_digits(image)
