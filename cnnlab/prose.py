"""Numbers for the prose: a chapter's sentences quote what its cells computed.

A number in a chapter's text is put there by myst-nb's ``glue``: the cell that
computes it glues it under a name, and the text writes ``{glue:text}`name```
(Jupyter Book 1). The website then shows the stored output, so a sentence and
the computation under it cannot drift apart, and strict nbval pins the glued
value like any other output.

:func:`glue` is myst-nb's own when myst-nb is installed (the book's build) and,
where it is not (a Colab or JupyterHub kernel that installed only cnnlab), the
same display call that myst-nb makes, so that a chapter runs anywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# myst-nb's prefix for a glued value that is not shown in the cell (myst_nb.ext.glue).
_HIDDEN = "application/papermill.record/"


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value``'s displayed form under ``name`` for the chapter's text.

    Parameters
    ----------
    name : str
        The name the text uses: ``{glue:text}`name```. Letters, digits and
        underscores, starting with a letter.
    value : object
        Usually a number rounded to the digits the text quotes (so the stored
        output is the same on every machine), or a short string. A numpy
        scalar is stored as the Python number it holds: its repr,
        ``np.float64(1.52)``, is not what the text should read.
    display : bool, default False
        Also show the value under the cell.

    Raises
    ------
    TypeError, ValueError
        For a name that is not a str of letters, digits and underscores.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}.")
    if not name.isidentifier() or not name.isascii():
        raise ValueError(f"name must be letters, digits and underscores, starting with a "
                         f"letter, got {name!r}.")
    if isinstance(value, np.generic):
        value = value.item()
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        myst_glue = None
    if myst_glue is not None:
        myst_glue(name, value, display)
        return
    # The display call myst-nb makes (myst_nb.ext.glue.glue), without importing myst-nb.
    from IPython.core.formatters import format_display_data
    from IPython.display import display as show

    bundle, metadata = format_display_data(value)
    prefix = "" if display else _HIDDEN
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    show({prefix + key: data for key, data in bundle.items()}, raw=True, metadata=metadata)
