"""Kitty (terminal graphics protocol) and Sixel images through textual-image.

Imported only when such a renderer was chosen: importing textual-image queries the
terminal, which must happen before Textual starts reading the input.
"""

from __future__ import annotations

from celeba_tui.tui.terminal_probe import TerminalInfo


def prime_cell_size(info: TerminalInfo) -> None:
    """Give textual-image the cell size we probed, so it does not ask the terminal again."""
    from textual_image import _terminal

    if info.cell_width and info.cell_height:
        _terminal.get_cell_size._result = _terminal.CellSize(info.cell_width, info.cell_height)


def graphics_widget(renderer: str, *, id: str | None = None):
    """A textual-image widget for `renderer` ('kitty' or 'sixel'), sized to fit its pane."""
    from textual_image.widget import SixelImage, TGPImage

    widget_class = TGPImage if renderer == "kitty" else SixelImage
    return widget_class(None, id=id, classes="graphics")
