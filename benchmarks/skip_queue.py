"""What kept skips cost the label screen's start: the first page of the unlabelled queue
among 200,000 images with and without 2,000 skipped, side by side in one run, and the one
read of a person's skips (`LabelStore.skipped_images`) among 100,000 of their labels.

    python benchmarks/skip_queue.py

Target: the first page stays under 10 ms and the read under 10 ms (the screen shows its
first image in about 0.3 s; docs/performance.md).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celeba_tui.labelling.queue_items import QueueOptions  # noqa: E402
from celeba_tui.labelling.queues import get_queue  # noqa: E402
from celeba_tui.store.label_store import LabelStore  # noqa: E402

IMAGES, SKIPPED, LABELLED = 200_000, 2_000, 100_000
TASKS = [SimpleNamespace(name=name, classes=("left", "center", "right")) for name in ("light", "orientation")]


def best_ms(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def main() -> None:
    names = [f"{i:06d}.jpg" for i in range(1, IMAGES + 1)]
    with tempfile.TemporaryDirectory() as folder, LabelStore.open(Path(folder) / "labels.sqlite", create=True) as store:
        with store.transaction() as conn:
            store._image_ids(conn, names, time.time())
            conn.execute("UPDATE images SET present = 1")
        queue, tasks = get_queue("unlabelled"), [task.name for task in TASKS]

        def page(annotator: str):
            return queue.first_page(store, None, annotator, TASKS, QueueOptions(), 50)

        # `bob` skipped the first 2,000 images (the page must walk past them), `ann` none.
        for name in names[:SKIPPED]:
            store.add_skip(name, "light", "bob")
        plain, skipped = best_ms(lambda: page("ann")), best_ms(lambda: page("bob"))
        print(f"first page of 50 among {IMAGES:,} images: {plain:.1f} ms, {skipped:.1f} ms with {SKIPPED:,} skipped")
        labels = pd.DataFrame({"image": names[SKIPPED : SKIPPED + LABELLED], "task": "light", "label": "left"})
        store.add_labels(labels.assign(annotator="bob", source="import"))
        read = best_ms(lambda: store.skipped_images("bob", tasks))
        print(f"skipped_images: {read:.1f} ms for {SKIPPED:,} skips among {LABELLED:,} labels of the same person")
        ok = skipped < 10 and read < 10
        print("target (each under 10 ms):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
