"""The study's Figure 2: one image under several preprocessing pipelines, side by side."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np

from celeba_tui.atomic import atomic_path
from celeba_tui.preprocess import Pipeline

DEFAULT_PREVIEW_SPECS = ("blur", "contrast:1.5", "binarize", "resize:64")
MAX_COLUMNS = 5


def preview_panels(image: np.ndarray, pipelines: list[Pipeline]) -> list[tuple[str, np.ndarray]]:
    """(title, image) for the original and each pipeline's output."""
    return [("original", image)] + [(pipeline.spec or "(no op)", pipeline.apply(image)) for pipeline in pipelines]


def render_preview(panels: list[tuple[str, np.ndarray]], out: Path, title: str = "") -> Path:
    """Write the panels as a PNG grid (matplotlib's Agg canvas, no display needed)."""
    from celeba_tui.figures import agg_figure

    columns = min(len(panels), MAX_COLUMNS)
    rows = -(-len(panels) // columns)
    figure = agg_figure(figsize=(2.6 * columns, 3.2 * rows + (0.4 if title else 0)), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for index, axis in enumerate(axes):
        axis.set_axis_off()
        if index >= len(panels):
            continue
        label, pixels = panels[index]
        letter = string.ascii_lowercase[index % 26]
        # Nearest-neighbour display keeps a 64x64 resize visibly coarse, as in the study's figure.
        axis.imshow(pixels, interpolation="nearest")
        axis.set_title(f"({letter}) {label}\n{pixels.shape[1]}x{pixels.shape[0]}", fontsize=9)
    if title:
        figure.suptitle(title, fontsize=10)
    out = Path(out)
    with atomic_path(out) as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    return out
