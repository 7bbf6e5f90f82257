"""Label-quality lever: test-time views shifted and scaled, besides the mirror (lever 6).

Runs `benchmarks/label_quality.py` with its arguments, every auto-labelling averaging each
model's probabilities over more views of an image: the image and its mirror (the default
flip TTA), and each of them shifted by SHIFT of the side left, right, up and down, and
zoomed in by ZOOM about its centre (edges repeated where a shift uncovers them). Real
photographs whose heads sit at different places and sizes (`--real`, Pointing'04) are
where a model that saw few people might read a head's yaw differently a few pixels over;
averaging the views asks it the same question several ways.

    python benchmarks/shift_tta.py --real ../shared/real-faces --set head-yaw --folds 6

docs/label-quality.md (seventeenth round) has the figures next to flip TTA alone.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import celeba_tui.autolabel.pipeline as pipeline  # noqa: E402
from celeba_tui.autolabel.rules import flip_average  # noqa: E402

SHIFT = 0.06  # of the side: 4 pixels at 64
ZOOM = 1.12


def shifted(pixels: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """NHWC images moved dx pixels right and dy down, the uncovered edge repeated."""
    n, h, w, c = pixels.shape
    padded = np.pad(pixels, ((0, 0), (abs(dy),) * 2, (abs(dx),) * 2, (0, 0)), mode="edge")
    top, left = abs(dy) - dy, abs(dx) - dx
    return padded[:, top : top + h, left : left + w]


def zoomed(pixels: np.ndarray, factor: float) -> np.ndarray:
    """NHWC images enlarged by `factor` about their centre (nearest pixel), cut to their size."""
    n, h, w, c = pixels.shape
    rows = np.clip(((np.arange(h) - h / 2 + 0.5) / factor + h / 2 - 0.5).round().astype(int), 0, h - 1)
    cols = np.clip(((np.arange(w) - w / 2 + 0.5) / factor + w / 2 - 0.5).round().astype(int), 0, w - 1)
    return pixels[:, rows][:, :, cols]


def views(pixels: np.ndarray) -> list[np.ndarray]:
    """The image, then the shifted and zoomed ones (each is also run mirrored)."""
    step = max(1, round(SHIFT * pixels.shape[2]))
    moves = [(0, 0), (-step, 0), (step, 0), (0, -step), (0, step)]
    return [shifted(pixels, dx, dy) for dx, dy in moves] + [zoomed(pixels, ZOOM)]


PLAIN_PREDICT = pipeline.predict


def predict_with_views(session, batches, classes=None):
    """`pipeline.predict` with flip TTA over every view of `views` (without TTA: as it was)."""
    for batch in batches:
        n = len(batch.names)
        if n == 0 or classes is None:
            yield from PLAIN_PREDICT(session, [batch], classes)
            continue
        totals = None
        for view in zip(*(views(p[:n]) for p in batch.pixels)):
            doubled = [np.concatenate([v, v[:, :, ::-1]]) for v in view]
            outputs = session.run(doubled)
            probs = [flip_average(p[:n], p[n : 2 * n], c) for p, c in zip(outputs, classes)]
            totals = probs if totals is None else [t + p for t, p in zip(totals, probs)]
        count = len(views(batch.pixels[0][:1]))
        yield pipeline.PredictedBatch(batch.names, [t / count for t in totals], batch.failures)


if __name__ == "__main__":
    pipeline.predict = predict_with_views
    sys.argv = [str(ROOT / "benchmarks" / "label_quality.py"), *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
