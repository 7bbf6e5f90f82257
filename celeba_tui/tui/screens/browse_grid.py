"""The grid's geometry: how many thumbnails of what size fill the terminal (pure)."""

from __future__ import annotations

from dataclasses import dataclass

# CelebA's aligned faces are 178x218; a half-block cell holds 1x2 pixels.
THUMB_ASPECT = 178 / 218
CAPTION_ROWS = 2
MIN_TILE_WIDTH = 14
TILE_HEIGHT = 12  # the default zoom: 3 rows of tiles in a 40-line terminal


@dataclass(frozen=True)
class GridGeometry:
    columns: int
    rows: int
    tile_width: int
    tile_height: int

    @property
    def page_size(self) -> int:
        return self.columns * self.rows

    @property
    def pixel_box(self) -> tuple[int, int]:
        """(columns, rows) of a thumbnail's pixels inside its tile (1 column of padding each side)."""
        return max(self.tile_width - 2, 1), max(self.tile_height - CAPTION_ROWS, 1)


def default_rows(height: int) -> int:
    return max(1, round(height / TILE_HEIGHT))


def grid_geometry(width: int, height: int, rows: int) -> GridGeometry:
    """`rows` of tiles over `height` lines, as many columns as `width` holds at the faces' aspect."""
    rows = max(1, min(rows, height // (CAPTION_ROWS + 2))) if height >= CAPTION_ROWS + 2 else 1
    tile_height = max(height // rows, 1)
    image_rows = max(tile_height - CAPTION_ROWS, 1)
    tile_width = max(round(2 * image_rows * THUMB_ASPECT) + 2, MIN_TILE_WIDTH)
    columns = max(width // tile_width, 1)
    return GridGeometry(columns, rows, max(width // columns, 1), tile_height)
