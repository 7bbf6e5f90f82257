"""A lean half-block image widget: two pixels per cell ("▀", fg = top, bg = bottom).

`halfblock_strips` turns pixels into finished Strips (styles included, the app's line
filters already applied) and is meant to run in a worker. The widget hands those
strips straight to the compositor (`render_lines`), skipping Textual's per-line
styling pass, which copies and re-filters every segment: with ~2,500 segments per
image that pass alone costs more than the whole rest of a key press.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.color import Color, ColorSystem
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

UPPER_HALF = "▀"
_STYLE_CACHE: dict[int, Style] = {}
_STYLE_CACHE_LIMIT = 200_000


def _style(pair: int, color_system: ColorSystem | None) -> Style:
    style = _STYLE_CACHE.get(pair)
    if style is None:
        if len(_STYLE_CACHE) > _STYLE_CACHE_LIMIT:
            _STYLE_CACHE.clear()
        top, bottom = pair >> 24, pair & 0xFFFFFF
        style = Style.from_color(
            Color.from_triplet(ColorTriplet(top >> 16, (top >> 8) & 0xFF, top & 0xFF)),
            Color.from_triplet(ColorTriplet(bottom >> 16, (bottom >> 8) & 0xFF, bottom & 0xFF)),
        )
        if color_system is not None:
            # Rich caches a style's escape codes on first render: do that here, in the
            # worker, not while the UI thread writes the frame (about 10x the cost of a hit).
            style.render(UPPER_HALF, color_system=color_system)
        _STYLE_CACHE[pair] = style
    return style


def halfblock_strips(
    pixels: np.ndarray,
    width: int,
    height: int,
    background: Style,
    filters: Sequence = (),
    filter_background=None,
    color_system: ColorSystem | None = None,
) -> list[Strip]:
    """Strips of exactly `width` cells for `height` rows, the image centred on `background`.

    `pixels` is RGB uint8 (h, w, 3) with w <= width and h <= 2 * height. `filters` are
    the app's line filters (`App.get_line_filters()`), applied here instead of at paint;
    `color_system` is the console's, whose escape codes are prepared here too.
    """

    def finished(strip: Strip) -> Strip:
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, filter_background)
        return strip

    blank = finished(Strip([Segment(" " * width, background)], width)) if width > 0 else Strip([])
    rows, columns = pixels.shape[:2]
    if rows == 0 or columns == 0 or width <= 0 or height <= 0:
        return [blank] * max(height, 0)
    if rows % 2:
        fill = background.bgcolor.get_truecolor() if background.bgcolor else ColorTriplet(0, 0, 0)
        pixels = np.concatenate([pixels, np.full((1, columns, 3), tuple(fill), dtype=np.uint8)])
    packed = (pixels[..., 0].astype(np.int64) << 16) | (pixels[..., 1].astype(np.int64) << 8) | pixels[..., 2]
    pairs = (packed[0::2] << 24) | packed[1::2]
    left = (width - columns) // 2
    right = width - columns - left
    left_pad = [Segment(" " * left, background)] if left else []
    right_pad = [Segment(" " * right, background)] if right else []
    strips = []
    for row in pairs:
        starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
        lengths = np.diff(np.append(starts, columns))
        values = row[starts].tolist()
        segments = [Segment(UPPER_HALF * n, _style(v, color_system)) for v, n in zip(values, lengths.tolist())]
        strips.append(finished(Strip(left_pad + segments + right_pad, width)))
    top = (height - len(strips)) // 2
    return [blank] * top + strips + [blank] * (height - len(strips) - top)


class HalfBlockImage(Widget):
    """Shows strips prepared elsewhere (by `halfblock_strips`); blank until they arrive."""

    def __init__(self, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self._strips: list[Strip] = []

    def set_strips(self, strips: list[Strip]) -> None:
        self._strips = strips
        self.refresh()

    def clear(self) -> None:
        self.set_strips([])

    def render_lines(self, crop: Region) -> list[Strip]:
        width = self.size.width
        blank = None
        lines = []
        for y in crop.line_range:
            strip = self._strips[y] if y < len(self._strips) else None
            if strip is None or strip.cell_length != width:  # a resize the worker has not caught up with
                if blank is None:
                    blank = Strip.blank(width, self.rich_style)
                    for line_filter in self.app.get_line_filters():
                        blank = blank.apply_filter(line_filter, self.background_colors[1])
                strip = blank if strip is None else strip.adjust_cell_length(width, self.rich_style)
            lines.append(strip)
        if crop.column_span != (0, width):
            lines = [line.crop(*crop.column_span) for line in lines]
        return lines
