"""A figure laid out once and redrawn by swapping what changes (DESIGN §8).

Building a matplotlib figure, laying it out and drawing it whole takes a
tenth of a second or more; an explorer that did that at every move of a
slider would not feel live. A :class:`Sheet` is built once per layout: its
axes, colour bars and titles are placed with fixed margins (no
``tight_layout``, which would move them with the length of a title), and
everything that changes from one picture to the next is a *changing* artist.
The first picture draws the figure without them and keeps that background;
every picture then puts the background back, draws only the changing
artists over it (matplotlib's blitting) and encodes the pixels as PNG with
Pillow. Changing texts (titles, the numbers in a kernel's cells) are written
by Pillow in matplotlib's own font: matplotlib lays out and rasterizes every
glyph of a text anew each time, which costs ten times more than the rest of
a picture.

A picture therefore depends only on the layout and the current data, never
on the pictures drawn before it, so the static site's frames and the live
widget's pictures are the same PNG files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from functools import cache, lru_cache

import numpy as np
from matplotlib import font_manager
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from PIL import Image, ImageDraw, ImageFont

from cnnlab.plotting import text_colors

# One resolution for the site's frames and the live pictures: they are the same files.
# At 72 dots per inch a point is a pixel, so font sizes carry over to Pillow unchanged.
DPI = 72
# matplotlib's gap between an axes and its title (rcParams["axes.titlepad"], points).
TITLE_PAD = 6.0


@cache
def _font(size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


class Label:
    """A changing text of a :class:`Sheet`, written by Pillow (made by :meth:`Sheet.text`).

    Set ``text``, ``color`` (any matplotlib colour) and ``visible``; the
    sheet writes it at its place in the next picture.
    """

    def __init__(self, place: Callable[[], tuple[float, float, str]], fontsize: float,
                 color: str = "black"):
        self.place, self.fontsize = place, fontsize
        self.text, self.color, self.visible = "", color, True

    def set_text(self, text: str) -> None:
        self.text = str(text)

    def get_text(self) -> str:
        return self.text

    def write(self, picture: Image.Image) -> None:
        if not (self.visible and self.text):
            return
        x, y, anchor = self.place()
        mask, (left, top) = _glyphs(self.text, self.fontsize, anchor)
        fill = tuple(round(255 * c) for c in to_rgb(self.color))
        # Whole pixels: the same text looks the same wherever it is written, so a
        # picture never depends on where its texts were drawn before.
        picture.paste(fill, (round(x) + left, round(y) + top), mask)


@lru_cache(maxsize=4096)
def _glyphs(text: str, size: float, anchor: str) -> tuple[Image.Image, tuple[int, int]]:
    """A text's coverage mask and its offset from the anchor point, made once per text.

    A grid of cell values writes the same few numbers over and over: pasting a
    stored mask costs a fraction of laying the glyphs out again.
    """
    font = _font(size)
    options = {"font": font, "anchor": anchor, "align": "center", "spacing": 2}
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = probe.multiline_textbbox((0, 0), text, **options)
    left, top = math.floor(box[0]), math.floor(box[1])
    right, bottom = math.ceil(box[2]), math.ceil(box[3])
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)))
    ImageDraw.Draw(mask).multiline_text((-left, -top), text, fill=255, **options)
    return mask, (left, top)


class Sheet:
    """A figure whose changing artists are redrawn over a stored background.

    Parameters
    ----------
    figsize : (float, float)
        Width and height in inches.
    nrows, ncols : int, default 1
        The grid of axes (``self.axes`` has shape (nrows, ncols)).
    width_ratios, height_ratios : sequence of float, optional
    **margins
        Passed to ``Figure.subplots_adjust`` (left, right, bottom, top, wspace,
        hspace): the layout is fixed here, not computed from the contents.

    Notes
    -----
    Make every artist that may change with :meth:`picture`, :meth:`text`,
    :meth:`box` or :meth:`changing`; an artist left out is drawn once, into
    the background, and never again.
    """

    def __init__(self, figsize: tuple[float, float], nrows: int = 1, ncols: int = 1,
                 width_ratios: Sequence[float] | None = None,
                 height_ratios: Sequence[float] | None = None, **margins: float):
        # A Figure outside pyplot: pyplot would keep every figure alive until the cell ends.
        self.figure = Figure(figsize=figsize, dpi=DPI)
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.subplots(nrows, ncols, squeeze=False,
                                         width_ratios=width_ratios,
                                         height_ratios=height_ratios)
        self.figure.subplots_adjust(**margins)
        for ax in self.axes.ravel():
            ax.set_xticks([])
            ax.set_yticks([])
        self._changing: list[Artist] = []
        self.labels: list[Label] = []
        self.scales: list[ColourScale] = []
        self._background = None

    def changing(self, *artists: Artist) -> None:
        """Mark artists (an image, a Text, a patch, a colour bar's Axes) as redrawn per picture.

        Mark an artist before the first picture, or when it is made after it:
        one that was drawn into the background would show twice.
        """
        for artist in artists:
            artist.set_animated(True)
            self._changing.append(artist)

    def picture(self, ax: Axes, cmap: str = "gray", vmin: float | None = 0.0,
                vmax: float | None = 1.0, colorbar: bool = False,
                values: Callable[[float], str] | None = None) -> Picture:
        """An image panel whose data, colour limits and title change per picture.

        Parameters
        ----------
        ax : matplotlib Axes
            One of this sheet's axes.
        cmap : str, default 'gray'
        vmin, vmax : float, default 0 and 1
            Initial colour limits (:meth:`Picture.show` may change them).
        colorbar : bool, default False
            A :class:`ColourScale` beside the panel.
        values : callable, optional
            ``value -> str``: write each pixel's value in its cell.

        Returns
        -------
        Picture

        Raises
        ------
        ValueError
            For axes of another figure.
        """
        self._check_axes(ax)
        return Picture(self, ax, cmap, vmin, vmax, colorbar, values)

    def _check_axes(self, ax) -> None:
        if not isinstance(ax, Axes) or ax.figure is not self.figure:
            raise ValueError(f"ax must be one of this sheet's axes (sheet.axes), got "
                             f"{type(ax).__name__}.")

    def text(self, ax: Axes | None = None, fontsize: float = 10,
             color: str = "black") -> Label:
        """A changing title: over ``ax``, or over the whole figure (``ax=None``).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            One of this sheet's axes.
        fontsize : float, default 10
            In points (pixels at :data:`DPI`).
        color : str, default 'black'
            Any matplotlib colour.

        Returns
        -------
        Label
            Set its ``text``, ``color`` and ``visible`` per picture.

        Raises
        ------
        ValueError
            For axes of another figure.
        """
        if ax is not None:
            self._check_axes(ax)
        height = self.figure.bbox.height
        if ax is None:
            def place():
                return self.figure.bbox.width / 2, 0.02 * height, "ma"
        else:
            def place():
                # Where matplotlib puts a title: centred, TITLE_PAD above the drawn axes.
                box = ax.get_window_extent()
                return (box.x0 + box.x1) / 2, height - box.y1 - TITLE_PAD, "md"
        label = Label(place, fontsize, color)
        label.ax = ax
        self.labels.append(label)
        return label

    def title(self, ax: Axes | None = None) -> str:
        """The current text of the title over ``ax`` (the figure's with None); '' if none."""
        return next((label.text for label in self.labels
                     if getattr(label, "ax", False) is ax and label.visible), "")

    def cell_label(self, ax: Axes, row: int, col: int, fontsize: float = 9) -> Label:
        """A changing text centred on the cell (row, col) of the image in ``ax``."""
        height = self.figure.bbox.height

        def place():
            x, y = ax.transData.transform((col, row))
            return x, height - y, "mm"

        label = Label(place, fontsize)
        self.labels.append(label)
        return label

    def box(self, ax: Axes, **kwargs) -> Rectangle:
        """A changing rectangle in ``ax`` (move it with ``set_bounds``; hide it with
        ``set_visible(False)``)."""
        patch = ax.add_patch(Rectangle((0, 0), 1, 1, **{"fill": False, **kwargs}))
        self.changing(patch)
        return patch

    def redraw(self) -> None:
        """Draw the background again at the next picture (after a change of layout)."""
        self._background = None

    def png(self) -> bytes:
        """The current picture as PNG bytes (no time or software stamp).

        Returns
        -------
        bytes
        """
        canvas = self.figure.canvas
        if self._background is None:
            canvas.draw()                      # everything that never changes, once
            self._background = canvas.copy_from_bbox(self.figure.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self._changing:
            if artist.get_visible():
                self.figure.draw_artist(artist)
        picture = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
        for label in self.labels:
            label.write(picture)
        draw = ImageDraw.Draw(picture)
        for scale in self.scales:
            scale.write(draw)
        buffer = io.BytesIO()
        # zlib level 3: twice as fast as the default 6 for 3% more bytes.
        picture.save(buffer, format="png", compress_level=3)
        return buffer.getvalue()


class Picture:
    """One image panel of a :class:`Sheet` (made by :meth:`Sheet.picture`)."""

    def __init__(self, sheet: Sheet, ax: Axes, cmap: str, vmin: float | None,
                 vmax: float | None, colorbar: bool, values: Callable[[float], str] | None):
        self.sheet, self.ax, self.values = sheet, ax, values
        self.image = ax.imshow(np.zeros((1, 1), np.float32), cmap=cmap, vmin=vmin, vmax=vmax,
                               interpolation="nearest")
        # The image changes, not the axes' frame: drawing the whole axes would lay out
        # its (hidden) axis and empty side titles again at every picture.
        # The frame is drawn over the image, as matplotlib does.
        sheet.changing(self.image, *ax.spines.values())
        self.title = sheet.text(ax)
        self.colorbar = ColourScale(sheet, ax, cmap) if colorbar else None
        self._texts: dict[tuple[int, int], Label] = {}
        self._shape: tuple[int, int] | None = None

    def show(self, array: np.ndarray, title: str | None = None, vmin: float | None = None,
             vmax: float | None = None) -> None:
        """Put ``array`` in the panel; the title and colour limits stay unless given.

        Parameters
        ----------
        array : array_like, shape (H, W), (H, W, 1), or (H, W, 3) / (H, W, 4) colours
            Colours only in a panel without cell values.
        title : str, optional
            The panel's title; unchanged if omitted.
        vmin, vmax : float, optional
            New colour limits (a colour bar follows); unchanged if omitted.

        Raises
        ------
        ValueError
            For an array of another shape, or colours in a panel that writes values;
            the panel is left as it was.
        """
        array = np.asarray(array)
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        colours = array.ndim == 3 and array.shape[-1] in (3, 4)
        if not (array.ndim == 2 or colours) or 0 in array.shape:
            raise ValueError(f"array must have shape (H, W), (H, W, 1), (H, W, 3) or "
                             f"(H, W, 4), got {array.shape}.")
        if colours and self.values is not None:
            raise ValueError(f"array must be one value per pixel in a panel that writes its "
                             f"values, got colours of shape {array.shape}.")
        height, width = array.shape[:2]
        self.image.set_data(array)
        if (height, width) != self._shape:    # new limits cost more than the new data
            self._shape = height, width
            before = self.ax.get_position().bounds
            self.image.set_extent((-0.5, width - 0.5, height - 0.5, -0.5))
            self.ax.set_xlim(-0.5, width - 0.5)
            self.ax.set_ylim(height - 0.5, -0.5)
            # An image of another aspect ratio resizes its axes' box: the background,
            # drawn around the old box, is drawn again.
            self.ax.apply_aspect()
            if self.ax.get_position().bounds != before:
                self.sheet.redraw()
        if vmin is not None or vmax is not None:
            self.image.set_clim(vmin, vmax)
        if self.colorbar is not None:
            self.colorbar.limits = self.image.get_clim()
        if title is not None:
            self.title.set_text(title)
        if self.values is not None:
            self._write_values(array)

    def _write_values(self, array: np.ndarray) -> None:
        # A label per cell is made once and kept (hidden when the array is smaller).
        colours = text_colors(self.image.cmap(self.image.norm(array)))
        for label in self._texts.values():
            label.visible = False
        for (i, j), v in np.ndenumerate(array):
            label = self._texts.get((i, j))
            if label is None:
                label = self._texts[i, j] = self.sheet.cell_label(self.ax, i, j)
            label.set_text(self.values(v))
            label.color = colours[i, j]
            label.visible = True


class ColourScale:
    """A colour bar beside a :class:`Picture` whose ticks follow the picture's limits.

    The bar itself (the colormap from bottom to top) never changes, so it is
    drawn once, into the background; its ticks and their numbers are written
    by Pillow for the current limits (``limits``), where matplotlib would lay
    out and draw the whole bar's axes again.
    """

    def __init__(self, sheet: Sheet, ax: Axes, cmap: str):
        # Its own mappable: linked to the picture, the bar would redo its layout at
        # every change of the limits, though nothing of it is drawn then.
        self.bar = sheet.figure.colorbar(ScalarMappable(Normalize(0, 1), cmap), ax=ax,
                                         fraction=0.046, pad=0.04, ticks=[])
        self.height = sheet.figure.bbox.height
        self.limits = (0.0, 1.0)
        sheet.scales.append(self)

    def ticks(self) -> list[tuple[float, str]]:
        """The ticks for the current limits: (fraction of the bar's height, text)."""
        low, high = (float(v) for v in self.limits)
        if not high > low:
            return [(0.5, f"{low:.3g}")]
        values = MaxNLocator(nbins=6).tick_values(low, high)
        span = high - low
        return [(float((v - low) / span), f"{v:.3g}".replace("-", "\u2212"))
                for v in values if low - 1e-9 * span <= v <= high + 1e-9 * span]

    def write(self, draw: ImageDraw.ImageDraw) -> None:
        box = self.bar.ax.get_window_extent()
        for fraction, text in self.ticks():
            y = self.height - (box.y0 + fraction * box.height)
            draw.line([(box.x1, y), (box.x1 + 3.5, y)], fill=(0, 0, 0), width=1)
            draw.text((box.x1 + 5.5, y), text, font=_font(10), fill=(0, 0, 0), anchor="lm")
