"""A reader's own picture of a digit, prepared the way MNIST itself was prepared.

MNIST's digits were size-normalised to fit a 20x20 box, keeping their aspect ratio, with
anti-aliasing, and then centred in a 28x28 field by their centre of mass (LeCun et al. 1998;
http://yann.lecun.com/exdb/mnist/). A network trained on MNIST only knows digits made that way,
so :func:`to_mnist` repeats those steps on any picture, from a phone photo to a drawing.
"""

from __future__ import annotations

import io
import struct
import warnings
from typing import Any

import numpy as np
from PIL import Image, ImageOps

BOX = 20  # the longer side of the digit in MNIST
FIELD = 28
CENTRE = 14.0  # where MNIST's centres of mass lie, in pixel indices (mean 14.0, within 0.5)
MIN_SIDE, MAX_SIDE = 8, 4096  # below: nothing to resize; above: too much memory
MIN_CONTRAST = 0.1  # ink must differ from the background by this much, on a 0..1 scale
INK_THRESHOLD = 0.2  # fraction of the darkest ink below which a pixel counts as background
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's convert("L")
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error,
                  Image.DecompressionBombError)
_EXPECTED = ("the bytes of a picture file (bytes, bytearray or memoryview) or a numpy array of "
             "shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)")


def _check_size(height: int, width: int) -> None:
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"image must be at least {MIN_SIDE} pixels on each side, "
                         f"got {height} x {width} (height x width).")
    if max(height, width) > MAX_SIDE:
        raise ValueError(f"image must be at most {MAX_SIDE} pixels on each side, so that memory "
                         f"stays bounded, got {height} x {width} (height x width); "
                         "make the picture smaller first.")


def _unreadable(reason: object) -> ValueError:
    return ValueError(f"image could not be read as a picture (PNG, JPEG, ...): {reason}")


def _decode(data: bytes) -> np.ndarray:
    """The pixels of a picture file: uint8 (H, W) or RGBA (H, W, 4), or float (H, W)."""
    if not data:
        raise _unreadable("it is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            # Our own size limit below is the stricter one and says what to do.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            pic = Image.open(io.BytesIO(data))
    except Image.UnidentifiedImageError as exc:  # its own message only names a BytesIO object
        raise _unreadable(f"{len(data)} bytes in no format that Pillow knows.") from exc
    except _DECODE_ERRORS as exc:
        raise _unreadable(exc) from exc
    _check_size(pic.height, pic.width)  # from the header, before any pixel is decoded
    try:
        pic.load()
        # Phones store photos sideways and record the turn in EXIF; undo it, or a 7 lies down.
        pic = ImageOps.exif_transpose(pic)
        if pic.mode.startswith("I"):  # 16-bit grey: convert("L") would clip it, not scale it
            return np.clip(np.asarray(pic, dtype=np.float32) / 65535, 0, 1)
        has_alpha = "A" in pic.getbands() or "transparency" in pic.info
        return np.asarray(pic.convert("RGBA" if has_alpha else "L"))
    except _DECODE_ERRORS as exc:
        raise _unreadable(exc) from exc


def _to_gray(image: np.ndarray) -> np.ndarray:
    """Check an array and return it as grey float32 (H, W) in [0, 1]."""
    shape = image.shape
    if image.ndim not in (2, 3) or (image.ndim == 3 and shape[2] not in (1, 3, 4)):
        raise ValueError(f"image must be an array of shape (H, W), (H, W, 1), (H, W, 3) or "
                         f"(H, W, 4), got shape {shape}.")
    _check_size(*shape[:2])
    integer = np.issubdtype(image.dtype, np.integer)
    if not (integer or np.issubdtype(image.dtype, np.floating)):
        raise TypeError("image must be an array of integers 0..255 (uint8) or of floats in "
                        f"[0, 1], got dtype {image.dtype}.")
    if not integer and not np.all(np.isfinite(image)):
        raise ValueError("image contains NaN or infinite values.")
    low, high, top = image.min(), image.max(), 255 if integer else 1
    if low < 0 or high > top:
        raise ValueError(f"image must have values in [0, {top}] for dtype {image.dtype}, "
                         f"got [{low:g}, {high:g}].")
    x = image.astype(np.float32)
    x /= top  # in place: a 4096 x 4096 RGBA photo is already 270 MB as float32
    if x.ndim == 2 or shape[2] == 1:
        return x.reshape(shape[:2])
    gray = x[..., :3] @ LUMA
    if shape[2] == 4:
        # Transparent pixels show the background: white behind dark ink (a pen on a
        # transparent canvas), black behind light ink, so the drawing keeps its contrast.
        alpha = x[..., 3]
        light_ink = alpha.sum() > 0 and np.average(gray, weights=alpha) > 0.5
        gray = gray * alpha + (0.0 if light_ink else 1.0) * (1 - alpha)
    return gray


def to_mnist(image: Any) -> np.ndarray:
    """Prepare a picture of one handwritten digit as an MNIST input.

    The steps are those that made MNIST (LeCun et al. 1998, and the description on
    http://yann.lecun.com/exdb/mnist/): the digit is size-normalised to fit a 20x20 box,
    keeping its aspect ratio, with anti-aliasing, and placed in a 28x28 field so that its
    centre of mass lies at the centre. Before that the picture is turned grey, made a light
    digit on a dark background (as in MNIST) if its border is light, and its background
    level is removed.

    Parameters
    ----------
    image : bytes, bytearray, memoryview or np.ndarray
        Either the bytes of a picture file in any format Pillow reads (PNG, JPEG, GIF, BMP,
        ...; the ``content`` of an ipywidgets ``FileUpload`` value), or an array of shape
        (H, W), (H, W, 1), (H, W, 3) (RGB) or (H, W, 4) (RGBA), with integers 0..255 (e.g.
        uint8) or floats in [0, 1]. H and W must be 8 to 4096. Either polarity works: a
        dark digit on light paper or a light digit on a dark background.

    Returns
    -------
    np.ndarray, float32, shape (28, 28, 1)
        A white digit on black, values in [0, 1] with maximum 1, as ``load_mnist`` gives.

    Raises
    ------
    TypeError
        If ``image`` is neither bytes nor a numpy array (a file name included: pass the
        file's bytes), or an array of another dtype (bool, complex, object, ...).
    ValueError
        If the bytes are not a readable picture, the array has another shape, NaN or values
        out of range, a side is under 8 or over 4096 pixels, or the picture is blank.

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
    document recognition", Proc. IEEE 86(11), 1998.
    """
    if isinstance(image, bytes | bytearray | memoryview):
        image = _decode(bytes(image))
    elif not isinstance(image, np.ndarray):
        hint = ("; to use a file, pass its bytes: pathlib.Path(image).read_bytes()"
                if isinstance(image, str) or hasattr(image, "__fspath__") else "")
        raise TypeError(f"image must be {_EXPECTED}, got {type(image).__name__}{hint}.")
    x = _to_gray(image)

    # The border is almost all background; its median ignores ink that touches the edge.
    edge = max(1, round(0.02 * min(x.shape)))
    border = np.concatenate([x[:edge].ravel(), x[-edge:].ravel(),
                             x[:, :edge].ravel(), x[:, -edge:].ravel()])
    background = float(np.median(border))
    # Ink is what lies far from the background, on whichever side: dark ink on light (even
    # dim) paper is turned round, as MNIST is light on dark.
    if background - float(x.min()) > float(x.max()) - background:
        x, background = 1 - x, 1 - background
    contrast = float(x.max()) - background
    if contrast < MIN_CONTRAST:
        raise ValueError(f"image is blank: nothing in it differs from the background by more "
                         f"than {contrast:.3f} (at least {MIN_CONTRAST} is needed); is there a "
                         "digit in it?")

    # Faint pixels (paper grain, uneven light in a photo) count as background too, so that
    # the field around the digit is black as in MNIST; subtracting keeps the stroke edges soft.
    x = np.clip(x - (background + INK_THRESHOLD * contrast), 0, None)
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    x = x[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]

    # Longer side to 20 px, aspect ratio kept. Pillow's bilinear filter widens with the
    # shrink factor (anti-aliasing) and, having no negative lobes, adds no ringing.
    height, width = x.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.asarray(Image.fromarray(x).resize(size, Image.Resampling.BILINEAR))

    # Whole-pixel shift, as MNIST's centres of mass lie within half a pixel of the centre;
    # kept inside the field for lopsided digits.
    profiles = digit.sum(axis=1), digit.sum(axis=0)
    top, left = (min(max(round(CENTRE - p @ np.arange(p.size) / p.sum()), 0), FIELD - p.size)
                 for p in profiles)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    return np.clip(field / field.max(), 0, 1)[..., None]


# The prepared "own" digits of the explorers (see :func:`prepared_digits`).
PREPARED_STYLES = ("off-centre", "thick", "thin", "rotated")


def prepared_digits(image: np.ndarray) -> dict[str, np.ndarray]:
    """A test digit redrawn the ways a reader's own digit comes: off-centre, thick, thin, turned.

    Each is made as a picture a reader might upload, a dark digit on light paper
    of 112x112 pixels (the digit drawn four times larger, bilinear), and then
    goes through :func:`to_mnist` like an upload. The same input always gives
    the same pictures; the static site shows them where no upload is possible.

    - 'off-centre': the digit in the top-left corner of the page (to_mnist centres it);
    - 'thick': strokes widened by a 9x9 maximum filter (about 1 MNIST pixel each side);
    - 'thin': strokes narrowed by a 5x5 minimum filter;
    - 'rotated': the digit turned by 30 degrees anticlockwise.

    Parameters
    ----------
    image : ndarray, shape (28, 28) or (28, 28, 1), float in [0, 1]
        A white MNIST digit on black.

    Returns
    -------
    dict of str to ndarray
        One (28, 28, 1) float32 picture per name of :data:`PREPARED_STYLES`, in that order.

    Raises
    ------
    TypeError, ValueError
        For an image that is not a float array of 28x28 values in [0, 1], or
        one that a style leaves blank (as :func:`to_mnist`).
    """
    from PIL import ImageFilter

    if not isinstance(image, np.ndarray) or not np.issubdtype(image.dtype, np.floating):
        raise TypeError(f"image must be a float numpy array (an MNIST digit), got "
                        f"{type(image).__name__}"
                        + (f" of dtype {image.dtype}" if isinstance(image, np.ndarray) else "")
                        + ".")
    if image.shape not in ((FIELD, FIELD), (FIELD, FIELD, 1)):
        raise ValueError(f"image must have shape (28, 28) or (28, 28, 1), got {image.shape}.")
    if not (np.isfinite(image).all() and image.min() >= 0 and image.max() <= 1):
        raise ValueError("image must have finite values in [0, 1].")
    big = Image.fromarray((image.reshape(FIELD, FIELD) * 255).astype(np.uint8)).resize(
        (4 * FIELD, 4 * FIELD), Image.Resampling.BILINEAR)
    drawn = {
        "off-centre": Image.new("L", (4 * FIELD, 4 * FIELD)),
        "thick": big.filter(ImageFilter.MaxFilter(9)),
        "thin": big.filter(ImageFilter.MinFilter(5)),
        "rotated": big.rotate(30, resample=Image.Resampling.BILINEAR),
    }
    # Half size, in the top-left corner of the page.
    drawn["off-centre"].paste(big.resize((2 * FIELD, 2 * FIELD), Image.Resampling.BILINEAR))
    # A dark digit on light paper, as a reader draws it; to_mnist turns it round.
    return {style: to_mnist(255 - np.asarray(drawn[style])) for style in PREPARED_STYLES}
