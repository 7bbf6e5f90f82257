"""Pixels for the image pane: decoding, fitting, views, half-block strips (no terminal)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from rich.style import Style

from celeba_tui.images import ImageDecodeError
from celeba_tui.tui.image_prep import (
    SOURCE_MAX_SIDE,
    SourceCache,
    apply_view,
    decode_for_display,
    fit_size,
    render_pixels,
)
from celeba_tui.tui.widgets.half_block_image import UPPER_HALF, halfblock_strips


def test_fit_size_keeps_the_aspect():
    assert fit_size(178, 218, 74, 78) == (64, 78)  # CelebA in a 74x39-cell pane (two pixels a cell)
    assert fit_size(400, 100, 80, 80) == (80, 20)
    assert fit_size(10, 10, 0, 5) == (0, 0)


def test_decode_for_display_reasons(tmp_path):
    with pytest.raises(ImageDecodeError, match="file not found"):
        decode_for_display(tmp_path / "missing.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageDecodeError, match="empty file"):
        decode_for_display(tmp_path / "empty.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"\x00junk" * 10)
    with pytest.raises(ImageDecodeError, match="not a readable image") as info:
        decode_for_display(tmp_path / "junk.jpg")
    assert "0x" not in str(info.value)  # no object addresses in what the annotator reads
    Image.new("RGB", (2000, 1000), (10, 20, 30)).save(tmp_path / "big.png")
    big = decode_for_display(tmp_path / "big.png")
    assert big.shape == (SOURCE_MAX_SIDE // 2, SOURCE_MAX_SIDE, 3)


def test_source_cache_remembers_failures(tmp_path):
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "red.png")
    cache = SourceCache(tmp_path, capacity=1)
    assert cache.get("red.png")[0, 0].tolist() == [255, 0, 0]
    for _ in range(2):
        with pytest.raises(ImageDecodeError):
            cache.get("gone.png")


def test_views_and_mirror_change_pixels():
    rng = np.random.default_rng(0)
    pixels = (rng.random((40, 30, 3)) * 200).astype(np.uint8)
    pixels[:, :15] //= 4  # a dark left half
    assert apply_view(pixels, "original") is pixels
    for view in ("contrast", "blur", "binarize"):
        out = apply_view(pixels, view)
        assert out.shape == pixels.shape and out.dtype == np.uint8 and not np.array_equal(out, pixels)
    assert set(np.unique(apply_view(pixels, "binarize"))) <= {0, 255}
    mirrored = render_pixels(pixels, (30, 40), "original", True)
    assert np.array_equal(mirrored, pixels[:, ::-1])


def test_halfblock_strips_pair_rows_and_centre():
    pixels = np.zeros((3, 2, 3), dtype=np.uint8)
    pixels[0] = (255, 0, 0)
    pixels[1] = (0, 0, 255)
    pixels[2] = (0, 255, 0)
    background = Style(bgcolor="#101010")
    strips = halfblock_strips(pixels, 6, 4, background)
    assert len(strips) == 4 and all(s.cell_length == 6 for s in strips)
    # 3 pixel rows -> 2 cell rows, centred vertically (1 blank above) and horizontally (2 cells).
    image_row = strips[1]
    texts = [seg.text for seg in image_row]
    assert texts == ["  ", UPPER_HALF * 2, "  "]
    style = list(image_row)[1].style
    assert style.color.triplet == (255, 0, 0) and style.bgcolor.triplet == (0, 0, 255)
    last = list(strips[2])[1].style  # odd row count: the bottom half is the background
    assert last.color.triplet == (0, 255, 0) and last.bgcolor.triplet == (16, 16, 16)
    assert [seg.text for seg in strips[0]] == [" " * 6]
