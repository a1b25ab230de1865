"""Chapter 1's explorer: convolve a digit with a kernel of your choice."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from cnnlab import reference
from cnnlab.explorers.base import Control, Explorer
from cnnlab.explorers.digits import check_digits, check_min_size, digit_control
from cnnlab.explorers.sheet import Sheet

CUSTOM = "custom (type below)"

# A number as typed: ASCII digits, an optional sign, point and exponent (Python's own
# float() would also read "1_0" as 10 and other scripts' digits); nan and inf are read,
# then refused as not finite.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|[+-]?(?:nan|inf|infinity)",
                     re.ASCII | re.IGNORECASE)


def parse_kernel(text: str) -> np.ndarray:
    """Read a 3x3 kernel typed as three rows: ``"0 1 0; 1 -4 1; 0 1 0"``.

    Parameters
    ----------
    text : str
        Rows separated by ``;`` or new lines, entries by spaces or commas.

    Returns
    -------
    ndarray, shape (3, 3), float32

    Raises
    ------
    TypeError
        If ``text`` is not a string.
    ValueError
        If it does not hold 3 rows of 3 finite numbers.
    """
    if not isinstance(text, str):
        raise TypeError(f"kernel text must be a string, got {type(text).__name__}.")
    rows = [r.replace(",", " ").split() for r in text.replace("\n", ";").split(";")
            if r.strip()]
    if not all(_NUMBER.fullmatch(v) for r in rows for v in r):
        raise ValueError(f"kernel entries must be numbers, got {text!r}.")
    values = [[float(v) for v in r] for r in rows]
    if len(values) != 3 or any(len(r) != 3 for r in values):
        raise ValueError(
            f"a kernel needs 3 rows of 3 numbers, like '0 1 0; 1 -4 1; 0 1 0'; got {text!r}."
        )
    kernel = np.array(values)
    # Checked before the cast: float32 turns 1e39 into inf (with a warning).
    if not np.all(np.isfinite(kernel)) or np.abs(kernel).max() > np.finfo(np.float32).max:
        raise ValueError(f"kernel entries must be finite float32 numbers, got {text!r}.")
    return kernel.astype(np.float32)


def convolution_explorer(images: np.ndarray, labels: np.ndarray,
                         static_digits: Sequence[int] = (0, 1, 2, 3)) -> Explorer:
    """Chapter 1's explorer: a digit, a kernel, stride and padding.

    Parameters
    ----------
    images : ndarray, shape (N, H, W, 1), float in [0, 1], H and W at least 3
        The digits to choose from (the test set).
    labels : ndarray, shape (N,), int in 0..9
    static_digits : sequence of int
        Indices offered on the static site (at least one); live, every index
        can be chosen.

    Returns
    -------
    Explorer
        Three panels: the (padded) input, the kernel with its values, the output
        with its shape.

    Raises
    ------
    TypeError, ValueError
        When called, before any picture is drawn: for images that are not a
        float array of shape (N, H, W, 1) with finite values in [0, 1] and at
        least 3x3 pixels, labels that are not N ints in 0..9, or static digits
        that are not a non-empty sequence of indices into ``images``.
    """
    images, labels = check_digits(images, labels, static_digits)
    check_min_size(images, 3, "3x3 kernels")
    kernels = reference.classic_kernels()
    names = ["edge", "sobel x", "sobel y", "blur", "gaussian blur", "sharpen", "identity"]

    # Room on the right for the colour bar's numbers (as long as "-1.2e+04"); titles are
    # one line.
    sheet = Sheet((8, 2.9), 1, 3, width_ratios=[1, 0.8, 1.2], left=0.02, right=0.88,
                  bottom=0.03, top=0.87, wspace=0.25)
    digit_panel = sheet.picture(sheet.axes[0, 0])
    kernel_panel = sheet.picture(sheet.axes[0, 1], "RdBu_r", values=lambda v: f"{v:.2g}")
    output_panel = sheet.picture(sheet.axes[0, 2], "RdBu_r", colorbar=True)
    frame = sheet.box(sheet.axes[0, 0], edgecolor="tab:orange", lw=1)

    def render(digit, kernel, stride, padding, typed):
        h = parse_kernel(typed) if kernel == CUSTOM else kernels[kernel]
        x = images[digit:digit + 1]
        out = reference.conv2d(x, h[:, :, None, None], stride=stride, padding=padding)[0, ..., 0]
        shown = reference.pad_images(x, h.shape, stride, padding)[0, ..., 0]
        padded = shown.shape != x.shape[1:3]
        top = (shown.shape[0] - x.shape[1]) // 2
        left = (shown.shape[1] - x.shape[2]) // 2
        frame.set_visible(padded)
        frame.set_bounds(left - 0.5, top - 0.5, x.shape[2], x.shape[1])
        digit_panel.show(shown, title=(f"padded to {shown.shape[0]}x{shown.shape[1]}" if padded
                                       else f"input {x.shape[1]}x{x.shape[2]}")
                         + f" (label {labels[digit]})")
        k_max = float(np.abs(h).max()) or 1.0
        kernel_panel.show(h, vmin=-k_max, vmax=k_max, title=f"kernel: {kernel.split(' (')[0]}")
        m = float(np.abs(out).max()) or 1.0
        output_panel.show(out, vmin=-m, vmax=m, title=f"output {out.shape[0]}x{out.shape[1]} "
                                                      f"(stride {stride}, {padding})")
        return sheet

    sheet.png()                         # the fixed parts, drawn once now
    import ipywidgets as w

    typed = w.Text(value="0 1 0; 1 -4 1; 0 1 0", description="your kernel",
                   placeholder="3 rows of 3 numbers, rows separated by ;")
    return Explorer(
        render,
        [digit_control(static_digits, images.shape[0]),
         Control("kernel", names, live=[*names, CUSTOM]),
         Control("stride", [1, 2], live=[1, 2, 3]),
         Control("padding", ["valid", "same"])],
        title="Convolve a digit",
        live_extra={"typed": typed},
        static_extra={"typed": ""},
    )
