"""One tile of `celeba browse`'s grid: a thumbnail (or why there is none) over a caption.

The caption is the image name and its current labels, one colour per class; names are
shown as `printable` makes them and never read as markup. Pixels come ready from the
ThumbnailLoader (half-block strips, or a fitted PIL image for Kitty/Sixel).

A page turn touches every tile, so nothing here changes a widget's `display` with
half-blocks: that would make Textual lay the grid out again for each tile. The pixel
area draws either the strips or a short text (loading, or why the image cannot be
shown) itself.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

from celeba_tui.tui.widgets.half_block_image import HalfBlockImage

TEXT_STYLE = Style(color="yellow", dim=True)


class ThumbnailPixels(HalfBlockImage):
    """Half-block strips, or instead a few centred lines of text."""

    def __init__(self, *, classes: str | None = None):
        super().__init__(classes=classes)
        self.text: str | None = None

    def set_strips(self, strips) -> None:
        self.text = None
        super().set_strips(strips)

    def set_text(self, text: str) -> None:
        self.text = text
        self._strips = []
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.text is None:
            return super().render_lines(crop)
        width, height = self.size
        lines = self.text.splitlines()[:height]
        top = (height - len(lines)) // 2
        strips = []
        for y in crop.line_range:
            at = y - top
            line = lines[at][:width].center(width) if 0 <= at < len(lines) else " " * width
            strip = Strip([Segment(line, self.rich_style + TEXT_STYLE)], width)
            for line_filter in self.app.get_line_filters():
                strip = strip.apply_filter(line_filter, self.background_colors[1])
            strips.append(strip)
        if crop.column_span != (0, width):
            strips = [strip.crop(*crop.column_span) for strip in strips]
        return strips


class Thumbnail(Vertical):
    """`position`: the tile's place on the page (0 = top left)."""

    def __init__(self, position: int, renderer: str = "halfcell"):
        super().__init__(classes="thumbnail")
        self.position = position
        self.renderer = renderer
        self.image: str | None = None  # the image this tile shows (None: an empty tile)
        self.message_text = ""

    def compose(self) -> ComposeResult:
        # Kept, not queried: a CSS query per tile costs more than the update itself.
        if self.renderer == "halfcell":
            self.pixels = ThumbnailPixels(classes="thumb-pixels")
            yield self.pixels
        else:
            from celeba_tui.tui.widgets.graphics_image import graphics_widget

            self.pixels = graphics_widget(self.renderer)
            self.message = Static("", classes="thumb-message", markup=False)
            yield self.pixels
            yield self.message
        self.caption = Static("", classes="thumb-caption", markup=False)
        yield self.caption

    def show(self, image: str | None, caption, cursor: bool) -> None:
        """Show `image` with its caption (a rich Text); pixels follow with `set_pixels`."""
        changed = image != self.image
        self.image = image
        self.set_class(cursor, "-cursor")
        self.caption.update(caption if image is not None else "", layout=False)
        if changed:
            self.set_message("…" if image is not None else "")

    def set_pixels(self, result) -> None:
        self.message_text = ""
        if self.renderer == "halfcell":
            self.pixels.set_strips(result)
            return
        self.pixels.display = True
        self.pixels.image = result
        self.message.display = False

    def set_message(self, text: str) -> None:
        """No pixels: `text` instead (loading, or why the image cannot be shown)."""
        self.message_text = text
        if self.renderer == "halfcell":
            self.pixels.set_text(text)
            return
        self.pixels.display = False
        self.message.display = True
        self.message.update(text, layout=False)
