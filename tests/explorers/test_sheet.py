"""Tests for cnnlab.explorers.sheet: pictures drawn by blitting, texts by Pillow."""

import io

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from cnnlab.explorers.sheet import DPI, Sheet


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _cell_centres(sheet: Sheet, ax, shape):
    """Pixel (row, col) of each cell centre of an image of ``shape`` drawn in ``ax``."""
    height = sheet.figure.bbox.height
    rows, cols = np.indices(shape)
    xy = ax.transData.transform(np.column_stack([cols.ravel(), rows.ravel()]))
    return (np.round(height - xy[:, 1] - 0.5).astype(int).reshape(shape),
            np.round(xy[:, 0] - 0.5).astype(int).reshape(shape))


def _two_panels():
    sheet = Sheet((4, 2), ncols=2, left=0.02, right=0.9, bottom=0.02, top=0.8, wspace=0.3)
    gray = sheet.picture(sheet.axes[0, 0])
    scaled = sheet.picture(sheet.axes[0, 1], cmap="RdBu_r", colorbar=True)
    return sheet, gray, scaled


def test_picture_pixels_are_the_colormapped_array():
    rng = np.random.default_rng(0)
    sheet, gray, scaled = _two_panels()
    a, b = rng.random((7, 7)), rng.normal(size=(5, 5))
    gray.show(a[..., None], title="gray")
    scaled.show(b, vmin=-2, vmax=2, title="scaled")
    pixels = _pixels(sheet.png())
    assert pixels.shape == (2 * DPI, 4 * DPI, 3)
    for panel, array, cmap, low, high in ((gray, a, "gray", 0, 1), (scaled, b, "RdBu_r", -2, 2)):
        rows, cols = _cell_centres(sheet, panel.ax, array.shape)
        expected = colormaps[cmap]((np.clip(array, low, high) - low) / (high - low))[..., :3]
        np.testing.assert_allclose(pixels[rows, cols], 255 * expected, atol=1.5)


def test_png_depends_on_the_data_only_not_on_what_was_drawn_before():
    rng = np.random.default_rng(1)
    arrays = [rng.random((6, 6)) for _ in range(3)]

    def draw(sheet, gray, scaled, k):
        gray.show(arrays[k], title=f"picture {k}\nsecond line")
        scaled.show(arrays[k][:4 + k % 2, :4 + k % 2], vmin=-k - 1, vmax=k + 1,
                    title=f"limits {k}")
        return sheet.png()

    fresh = [draw(*_two_panels(), k) for k in range(3)]
    reused = _two_panels()
    again = [draw(*reused, k) for k in (2, 0, 1, 2, 1, 0)]
    assert again == [fresh[k] for k in (2, 0, 1, 2, 1, 0)]
    assert len(set(fresh)) == 3


def test_titles_and_cell_values_are_written_and_hidden():
    sheet = Sheet((3, 3), top=0.8)
    panel = sheet.picture(sheet.axes[0, 0], cmap="gray", values=lambda v: f"{v:.0f}")
    panel.show(np.array([[0.0, 1.0], [1.0, 0.0]]))
    plain = sheet.png()
    panel.show(np.array([[0.0, 1.0], [1.0, 0.0]]), title="a title")
    titled = _pixels(sheet.png())
    # The title is written above the axes, dark on the white figure.
    top = int(sheet.figure.bbox.height - sheet.axes[0, 0].get_window_extent().y1)
    assert (titled[:top] < 128).any() and not (_pixels(plain)[:top] < 128).any()
    # A dark cell (0) gets light digits and a light cell (1) dark ones.
    assert [label.color for label in panel._texts.values()] == ["white", "black", "black",
                                                                "white"]
    assert [label.text for label in panel._texts.values()] == ["0", "1", "1", "0"]
    panel.show(np.array([[1.0]]), title="a title")       # smaller: the other cells' labels hide
    assert [label.visible for label in panel._texts.values()] == [True, False, False, False]


def test_colour_scale_ticks_follow_the_limits():
    sheet, _, scaled = _two_panels()
    scaled.show(np.zeros((3, 3)), vmin=-80, vmax=80)
    ticks = scaled.colorbar.ticks()
    values = [float(text.replace("\u2212", "-")) for _, text in ticks]
    assert 0.0 in values and len(values) >= 3
    for (fraction, _), value in zip(ticks, values, strict=True):
        assert fraction == pytest.approx((value + 80) / 160)
    scaled.show(np.zeros((3, 3)), vmin=0, vmax=2e-12)
    assert all(0 <= f <= 1 for f, _ in scaled.colorbar.ticks())
    scaled.show(np.zeros((3, 3)), vmin=1, vmax=1)         # flat: one tick, in the middle
    assert scaled.colorbar.ticks() == [(0.5, "1")]


def test_box_moves_and_hides():
    sheet = Sheet((2, 2))
    panel = sheet.picture(sheet.axes[0, 0])
    box = sheet.box(sheet.axes[0, 0], edgecolor="red", lw=2)
    panel.show(np.zeros((8, 8)))
    box.set_bounds(1.5, 1.5, 3, 3)
    framed = _pixels(sheet.png())
    box.set_visible(False)
    bare = _pixels(sheet.png())
    red = (framed[..., 0] > 200) & (framed[..., 1] < 80)
    assert red.any() and not ((bare[..., 0] > 200) & (bare[..., 1] < 80)).any()


def test_an_image_of_another_aspect_gets_its_own_box_whatever_came_before():
    def draw(sheet, arrays):
        panel = sheet.picture(sheet.axes[0, 0])
        for array in arrays:
            panel.show(array, title="t")
            png = sheet.png()
        return png

    wide = np.linspace(0, 1, 300).reshape(10, 30)
    square = np.full((10, 10), 0.5)
    fresh = draw(Sheet((3, 3)), [wide])
    assert draw(Sheet((3, 3)), [square, wide]) == fresh
    assert draw(Sheet((3, 3)), [wide, square, wide]) == fresh
    # The wide image keeps its aspect: its box is three times wider than high.
    sheet = Sheet((3, 3))
    sheet.picture(sheet.axes[0, 0]).show(wide)
    sheet.png()
    box = sheet.axes[0, 0].get_window_extent()
    assert box.width / box.height == pytest.approx(3, rel=0.02)


@pytest.mark.parametrize(
    ("array", "values", "match"),
    [(np.zeros(5), None, r"array must have shape \(H, W\).*got \(5,\)"),
     (np.zeros((2, 2, 2)), None, r"got \(2, 2, 2\)"),
     (np.zeros((0, 3)), None, r"got \(0, 3\)"),
     (np.zeros((2, 2, 3)), str, r"one value per pixel in a panel that writes its values")],
    ids=["1-d", "two-channels", "empty", "colours-with-values"])
def test_show_rejects_bad_arrays_and_leaves_the_panel(array, values, match):
    sheet = Sheet((2, 2))
    panel = sheet.picture(sheet.axes[0, 0], values=values)
    panel.show(np.ones((3, 3)), title="kept")
    before = sheet.png()
    with pytest.raises(ValueError, match=match):
        panel.show(array, title="changed")
    assert sheet.png() == before and sheet.title(sheet.axes[0, 0]) == "kept"


@pytest.mark.parametrize("ax", ["axes", None, "other"], ids=["str", "none", "other-figure"])
def test_picture_and_text_refuse_axes_of_another_sheet(ax):
    sheet = Sheet((2, 2))
    if ax == "other":
        ax = Sheet((2, 2)).axes[0, 0]
    with pytest.raises(ValueError, match=r"ax must be one of this sheet's axes"):
        sheet.picture(ax)
    if ax is not None:
        with pytest.raises(ValueError, match=r"ax must be one of this sheet's axes"):
            sheet.text(ax)
