"""Figures written to PNG files with matplotlib: no display needed, and text drawn as it is.

Image, annotator, task and model names come from outside, and matplotlib reads `$...$`
in any text as a formula: `a$\\x{$.jpg` stopped `autolabel --grid` with a traceback, and
`a$x$b.jpg` was drawn as a formula. Every figure is made here, with formulas off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def agg_figure(**kwargs) -> Figure:
    """A matplotlib Figure on the Agg canvas (`Figure(**kwargs)`), its text never a formula."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _text_as_is()
    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def pyplot():
    """matplotlib.pyplot on the Agg backend, its text never a formula."""
    import matplotlib

    matplotlib.use("Agg")
    _text_as_is()
    import matplotlib.pyplot as plt

    return plt


def _text_as_is() -> None:
    import warnings

    import matplotlib

    matplotlib.rcParams["text.parse_math"] = False
    # A name in a script the font lacks is drawn as boxes: not worth a warning and a source line.
    warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
