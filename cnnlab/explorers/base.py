"""Viewers that work on two stages: live in a kernel, precomputed on the site.

An :class:`Explorer` is a figure with controls. Displayed in a kernel
(JupyterLab, Binder, Colab) it is a live ipywidgets control: moving a slider
calls the chapter's ``render`` function again. The same display also carries a
``text/html`` rendering for the static website, where there is no kernel: one
picture for every combination of the controls' static positions, and a few
lines of script that show the picture the sliders select. The book prefers
that HTML when it builds the site, so a page needs no widget library and no
network.

Element ids and the HTML are deterministic (no random ids, no timestamps), so
re-executing a notebook reproduces its stored output.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cnnlab.explorers.sheet import DPI, Sheet

# Frames on the site are small: one chapter holds a few hundred of them.
STATIC_DPI = DPI
MAX_FRAMES = 400
# Live pictures kept per explorer (a few MB): moving back to a position costs nothing.
LIVE_CACHE = 256
FRAMES_ENV = "CNNLAB_STATIC_FRAMES"
_STORED_NOTE = ("Stored view: run the notebook to explore (Run &#9656; Run All Cells); "
                "each position shows a precomputed picture.")
_LIVE_NOTE = "a live explorer: it needs a running kernel with ipywidgets."
# Sanitized stored HTML keeps inline styles but drops the book's style sheet.
_LABEL_STYLE = "margin-right:1.5em;white-space:nowrap"


@dataclass(frozen=True)
class Control:
    """One control of an :class:`Explorer`.

    Parameters
    ----------
    name : str
        Keyword under which the value reaches ``render``.
    values : sequence
        The positions offered on the static site, in order (numbers or
        strings). Numbers give a slider, anything else a drop-down menu.
    label : str, optional
        What the reader sees; ``name`` if omitted.
    default : optional
        Initial value; the first of ``values`` if omitted.
    live : sequence, optional
        A richer set of positions for the live widget (say every test digit
        where the site offers eight); ``values`` if omitted.
    """

    name: str
    values: Sequence[Any]
    label: str | None = None
    default: Any = None
    live: Sequence[Any] | None = None
    _kind: str = field(init=False, default="slider")

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"Control name must be a Python identifier, got {self.name!r}.")
        values = list(self.values)
        if not values:
            raise ValueError(f"Control {self.name!r}: values is empty.")
        if any(a == b for k, a in enumerate(values) for b in values[k + 1:]):
            raise ValueError(f"Control {self.name!r}: values repeat: {values!r}.")
        numeric = all(isinstance(v, (int, float, np.integer, np.floating))
                      and not isinstance(v, bool) for v in values)
        object.__setattr__(self, "values", tuple(values))
        object.__setattr__(self, "_kind", "slider" if numeric else "dropdown")
        if self.default is None:
            object.__setattr__(self, "default", values[0])
        elif self.default not in values:
            raise ValueError(
                f"Control {self.name!r}: default {self.default!r} is not one of {values!r}."
            )
        if self.live is not None:
            live = tuple(self.live)
            missing = [v for v in values if v not in live]
            if missing:
                raise ValueError(
                    f"Control {self.name!r}: live must include every static value; "
                    f"missing {missing!r}."
                )
            object.__setattr__(self, "live", live)

    @property
    def text(self) -> str:
        return self.label or self.name


def to_png(drawing: Figure | Sheet, dpi: int = STATIC_DPI) -> bytes:
    """PNG bytes of what ``render`` returned: a :class:`Sheet` or a matplotlib figure.

    Parameters
    ----------
    drawing : Sheet or matplotlib.figure.Figure
        A sheet is redrawn by blitting (its own resolution); a figure is drawn
        whole at ``dpi`` and then closed.
    dpi : int, default STATIC_DPI

    Returns
    -------
    bytes
        The PNG file, without a software/date stamp so equal pictures give
        equal bytes.

    Raises
    ------
    TypeError
        For anything else.
    """
    if isinstance(drawing, Sheet):
        return drawing.png()
    if not isinstance(drawing, Figure):
        raise TypeError(f"render must return a Sheet or a matplotlib Figure, got "
                        f"{type(drawing).__name__}.")
    buffer = io.BytesIO()
    drawing.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(drawing)
    return buffer.getvalue()


class Explorer:
    """A figure with controls, live in a kernel and precomputed on the site.

    Parameters
    ----------
    render : callable
        ``render(**values) -> Sheet or matplotlib.figure.Figure``, called with
        one keyword per control (and per ``live_extra`` widget). A
        :class:`~cnnlab.explorers.sheet.Sheet`, built once and updated in
        place, answers a control in a few milliseconds; a Figure is drawn
        whole every time.
    controls : sequence of Control
        The controls, in display order. The site carries one picture for each
        combination of their ``values`` (at most ``MAX_FRAMES``).
    title : str
        Heading shown above the controls; also seeds the element id.
    live_extra : mapping of str to ipywidgets widget, optional
        Controls that exist only in a kernel (typing in your own kernel, say).
        Their ``value`` is passed to ``render`` under the mapping's key; on the
        site, ``static_extra`` supplies the value instead.
    static_extra : mapping, optional
        Values for the ``live_extra`` keywords when the site is precomputed.
    links : mapping of str to mapping, optional
        Live only: when the control (or live extra) named by a key changes,
        the controls in its mapping are set to the given values first, e.g.
        ``{"upload": {"picture": "your upload"}}``, so that touching a control
        always shows its effect.

    Raises
    ------
    ValueError
        For no controls, repeated names, too many static frames or links
        between unknown controls or to values they do not offer.
    TypeError
        If ``render`` is not callable.
    """

    def __init__(self, render: Callable[..., Figure | Sheet], controls: Sequence[Control], *,
                 title: str, live_extra: Mapping[str, Any] | None = None,
                 static_extra: Mapping[str, Any] | None = None,
                 links: Mapping[str, Mapping[str, Any]] | None = None):
        if not callable(render):
            raise TypeError(f"render must be callable, got {type(render).__name__}.")
        controls = list(controls)
        if not controls or not all(isinstance(c, Control) for c in controls):
            raise ValueError("controls must be a non-empty sequence of Control objects.")
        names = [c.name for c in controls] + list(live_extra or {})
        if len(set(names)) != len(names):
            raise ValueError(f"control names repeat: {names!r}.")
        n_frames = int(np.prod([len(c.values) for c in controls]))
        if n_frames > MAX_FRAMES:
            raise ValueError(
                f"the controls make {n_frames} static frames, more than MAX_FRAMES "
                f"({MAX_FRAMES}); offer fewer static values (the live widget may keep more)."
            )
        by_name = {c.name: c for c in controls}
        links = {key: dict(value) for key, value in (links or {}).items()}
        for source, targets in links.items():
            if source not in names:
                raise ValueError(f"links: {source!r} is not a control; controls: {names!r}.")
            for target, value in targets.items():
                if target not in by_name or value not in (by_name[target].live
                                                          or by_name[target].values):
                    raise ValueError(f"links: {source!r} sets {target!r} to {value!r}, which "
                                     f"is not a control offering that value.")
        self.render = render
        self.controls = controls
        self.title = str(title)
        self.live_extra = dict(live_extra or {})
        self.static_extra = dict(static_extra or {})
        self.links = links
        self.inputs: dict[str, Any] = {}
        self._observers: list = []
        self._pictures: OrderedDict = OrderedDict()
        spec = json.dumps([self.title] + [[c.name, [repr(v) for v in c.values]]
                                          for c in controls])
        self.element_id = "cnnlab-explorer-" + hashlib.sha1(spec.encode()).hexdigest()[:10]

    def picture(self, **values: Any) -> bytes:
        """The PNG for one combination of the controls (the site's frame or the live picture).

        Pictures of combinations seen before come from a cache (the last
        ``LIVE_CACHE`` of them), so moving back and forth costs nothing.

        Returns
        -------
        bytes
        """
        try:
            key = tuple(sorted(values.items()))
            hash(key)
        except TypeError:                   # an upload's value is a list of dicts: no caching
            return to_png(self.render(**values))
        if key not in self._pictures:
            self._pictures[key] = to_png(self.render(**values))
            if len(self._pictures) > LIVE_CACHE:
                self._pictures.popitem(last=False)
        self._pictures.move_to_end(key)
        return self._pictures[key]

    def clear_pictures(self) -> None:
        """Forget the pictures drawn so far (each is drawn again when next shown)."""
        self._pictures.clear()

    # -- the static stage ------------------------------------------------------
    def frames(self) -> tuple[list[bytes], list[int]]:
        """Render every static combination.

        Returns
        -------
        pictures : list of bytes
            Distinct PNG files (equal frames are stored once).
        index : list of int
            For each combination, in row-major order over the controls (the
            last control varies fastest), the position of its picture.
        """
        pictures: list[bytes] = []
        seen: dict[bytes, int] = {}
        index = []
        for combo in itertools.product(*(c.values for c in self.controls)):
            kwargs = dict(zip((c.name for c in self.controls), combo, strict=True))
            png = self.picture(**kwargs, **self.static_extra)
            if png not in seen:
                seen[png] = len(pictures)
                pictures.append(png)
            index.append(seen[png])
        return pictures, index

    def to_html(self) -> str:
        """The self-contained static rendering (HTML, inline pictures and script).

        Before its script runs (a notebook opened in JupyterLab before it is
        run shows the stored HTML without scripts), the controls are disabled
        and a note says to run the notebook; the script enables them and
        replaces the note.

        Returns
        -------
        str
        """
        pictures, index = self.frames()
        payload = json.dumps({
            "sizes": [len(c.values) for c in self.controls],
            "index": index,
            "frames": [base64.b64encode(p).decode("ascii") for p in pictures],
        })
        rows = []
        for c in self.controls:
            start = c.values.index(c.default)
            text = html.escape(c.text)
            if c._kind == "slider":
                labels = html.escape(json.dumps([_format(v) for v in c.values]))
                rows.append(
                    f'<label style="{_LABEL_STYLE}">{text} <input type="range" min="0" '
                    f'max="{len(c.values) - 1}" step="1" value="{start}" '
                    f'data-control="{c.name}" data-labels="{labels}" disabled>'
                    f' <output>{html.escape(_format(c.default))}</output></label>'
                )
            else:
                options = "".join(
                    f'<option value="{k}"{" selected" if k == start else ""}>'
                    f"{html.escape(_format(v))}</option>" for k, v in enumerate(c.values))
                rows.append(f'<label style="{_LABEL_STYLE}">{text} '
                            f'<select data-control="{c.name}" disabled>{options}'
                            "</select></label>")
        first = _combo_position([c.values.index(c.default) for c in self.controls],
                                [len(c.values) for c in self.controls])
        src = "data:image/png;base64," + base64.b64encode(pictures[index[first]]).decode()
        return (
            f'<div class="cnnlab-explorer" id="{self.element_id}">'
            f'<div class="cnnlab-title"><strong>{html.escape(self.title)}</strong></div>'
            f'<div class="cnnlab-controls">{"".join(rows)}</div>'
            f'<img class="cnnlab-frame" alt="{html.escape(self.title)}" src="{src}">'
            f'<div class="cnnlab-note"><em>{_STORED_NOTE}</em></div>'
            f'<script type="application/json" class="cnnlab-data">{payload}</script>'
            f"<script>{_STATIC_JS}</script></div>"
        )

    # -- the live stage --------------------------------------------------------
    def widget(self):
        """The live ipywidgets control (needs a running kernel).

        Returns
        -------
        ipywidgets.VBox
            Controls, an error line and the picture; every change shows the
            picture of the new combination (drawn on demand, then cached).
            ``self.inputs`` holds the control widgets by name.
        """
        import ipywidgets as w

        inputs = {}
        for c in self.controls:
            options = c.live or c.values
            if c._kind == "slider" and _is_range(options):
                inputs[c.name] = w.IntSlider(value=c.default, min=options[0], max=options[-1],
                                             step=options[1] - options[0] if len(options) > 1
                                             else 1, description=c.text,
                                             continuous_update=False)
            elif c._kind == "slider":
                inputs[c.name] = w.SelectionSlider(options=list(options), value=c.default,
                                                   description=c.text,
                                                   continuous_update=False)
            else:
                inputs[c.name] = w.Dropdown(options=list(options), value=c.default,
                                            description=c.text)
        inputs.update(self.live_extra)
        self.inputs = inputs
        image = w.Image(format="png")
        message = w.HTML()
        linking = []                       # set while a link moves other controls

        def update(_change=None):
            if linking:
                return
            values = {name: widget.value for name, widget in inputs.items()}
            try:
                image.value = self.picture(**values)
                message.value = ""
            except (ValueError, TypeError) as error:
                # A bad entry (say a kernel typed by hand) is reported, not raised:
                # the last good picture stays.
                message.value = f'<span style="color:#b00">{html.escape(str(error))}</span>'

        def follow(source):
            def on_change(_change):
                linking.append(source)
                try:
                    for target, value in self.links[source].items():
                        inputs[target].value = value
                finally:
                    linking.pop()
                update()
            return on_change

        # The live extras are the explorer's own widgets, shared by every view made:
        # only the newest view follows them.
        for widget, handler in self._observers:
            widget.unobserve(handler, names="value")
        self._observers = [(widget, follow(name) if name in self.links else update)
                           for name, widget in inputs.items()]
        for widget, handler in self._observers:
            widget.observe(handler, names="value")
        update()
        boxes = [w.HTML(f"<strong>{html.escape(self.title)}</strong>"),
                 w.HBox([inputs[c.name] for c in self.controls])]
        if self.live_extra:
            boxes.append(w.HBox(list(self.live_extra.values())))
        return w.VBox([*boxes, message, image])

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {
            "text/plain": f"Explorer({self.title!r}: "
                          + ", ".join(f"{c.name} x{len(c.values)}" for c in self.controls)
                          + ")",
        }
        if static_frames_wanted():
            bundle["text/html"] = self.to_html()
        else:
            bundle["text/html"] = (f'<div class="cnnlab-note"><strong>{html.escape(self.title)}'
                                   f"</strong>: {_LIVE_NOTE}</div>")
        if _in_kernel():
            # Only the view: the widget's own text/plain would replace ours.
            view = self.widget()._repr_mimebundle_()
            key = "application/vnd.jupyter.widget-view+json"
            if view and key in view:
                bundle[key] = view[key]
        return bundle


def static_frames_wanted() -> bool:
    """Whether a displayed explorer renders the site's static frames.

    They are needed where a notebook's outputs are recorded for the site
    (``make execute``, nbval, nbconvert: kernels started without a Jupyter
    server session) and wasted where a reader moves the live sliders
    (JupyterLab, Notebook, a hub, Binder, Colab). ``CNNLAB_STATIC_FRAMES=1``
    or ``0`` decides explicitly.

    Returns
    -------
    bool
    """
    import os
    import sys

    setting = os.environ.get(FRAMES_ENV, "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    # A Jupyter server names the session's notebook in the kernel's environment.
    return not (os.environ.get("JPY_SESSION_NAME") or "google.colab" in sys.modules)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _is_range(values: Sequence[Any]) -> bool:
    if not all(isinstance(v, (int, np.integer)) for v in values):
        return False
    steps = np.diff(values)
    return len(values) == 1 or (steps[0] > 0 and np.all(steps == steps[0]))


def _format(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:g}"
    return str(value)


def _combo_position(positions: Sequence[int], sizes: Sequence[int]) -> int:
    flat = 0
    for p, n in zip(positions, sizes, strict=True):
        flat = flat * n + p
    return flat


# Runs once per viewer on the static site (and in a trusted notebook's stored output):
# enable this viewer's controls, and on every change show the picture of the selected
# combination (row-major index).
_STATIC_JS = """(function(){
var root=document.currentScript.parentElement;
var data=JSON.parse(root.querySelector('script.cnnlab-data').textContent);
var img=root.querySelector('img.cnnlab-frame');
var inputs=root.querySelectorAll('[data-control]');
function show(){var flat=0;inputs.forEach(function(el,k){
var pos=parseInt(el.value,10);flat=flat*data.sizes[k]+pos;
if(el.type==='range'){el.nextElementSibling.textContent=JSON.parse(el.dataset.labels)[pos];}});
img.src='data:image/png;base64,'+data.frames[data.index[flat]];}
inputs.forEach(function(el){el.disabled=false;el.addEventListener('input',show);});
var note=root.querySelector('div.cnnlab-note');
if(note){note.textContent='Precomputed view: each position shows a stored picture. '+
'Run the notebook for the live widget.';}
})();"""
