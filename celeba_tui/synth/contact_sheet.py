"""A grid of rendered images with their ground truth written underneath, for looking at the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

CAPTION_HEIGHT = 26


def contact_sheet(images: list[np.ndarray], captions: list[list[str]], columns: int = 6):
    """PIL image: `images` (H, W, 3 uint8, all one size) in a grid, caption lines under each."""
    from PIL import Image, ImageDraw

    height, width = images[0].shape[:2]
    rows = -(-len(images) // columns)
    cell_h = height + CAPTION_HEIGHT
    sheet = Image.new("RGB", (columns * width, rows * cell_h), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (pixels, lines) in enumerate(zip(images, captions)):
        x, y = (i % columns) * width, (i // columns) * cell_h
        sheet.paste(Image.fromarray(pixels), (x, y))
        for j, line in enumerate(lines):
            draw.text((x + 3, y + height + 1 + 12 * j), line, fill=(0, 0, 0))
    return sheet


def dataset_contact_sheet(
    out_dir: Path, ground_truth: pd.DataFrame, path: Path, count: int = 24, columns: int = 6
) -> Path:
    """Write a sheet of a synthetic dataset's first `count` images with their classes and angles."""
    from PIL import Image

    rows = ground_truth.head(count)
    images = [
        np.asarray(Image.open(Path(out_dir) / "img_align_celeba" / name).convert("RGB")) for name in rows["image"]
    ]
    captions = [
        [f"L:{r.light} {r.light_azimuth_deg:+.0f}", f"O:{r.orientation} {r.yaw_deg:+.0f}"] for r in rows.itertuples()
    ]
    from celeba_tui.atomic import owned_path

    with owned_path(Path(path), Path(out_dir)) as tmp:
        contact_sheet(images, captions, columns).save(tmp, format="PNG")
    return Path(path)
