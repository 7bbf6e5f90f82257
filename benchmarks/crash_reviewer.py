"""A scripted reviewer: a person deciding conflicts while `celeba merge` runs beside them.

    python benchmarks/crash_reviewer.py STORE KEYS LOG SEED

KEYS is a JSON list of [image, task] pairs (the conflicts). Every 20-100 ms the reviewer
picks one, stores a `review` label by the annotator `rev` through `LabelStore.add_label`
(what the TUI's review screen does), and only after the commit appends one JSON line
{"id", "image", "task", "label"} to LOG. SIGTERM ends it between two decisions, so the
store's `rev` rows are exactly the logged ones; so does the end of the process that started
it (a driver killed itself must not leave a reviewer writing forever).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path

CLASSES = ("left", "center", "right")
REVIEWER = "rev"


def review(store_path: Path, keys: list[tuple[str, str]], log_path: Path, seed: int) -> int:
    from celeba_tui.store.label_store import LabelStore

    stop = []
    # A stop between commit and log would look like a lost log line, not a store fault.
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    rng = random.Random(seed)
    parent = os.getppid()
    with LabelStore.open(store_path) as store, open(log_path, "a", encoding="utf-8") as log:
        while not stop and os.getppid() == parent:
            image, task = rng.choice(keys)
            label = rng.choice(CLASSES)
            label_id = store.add_label(image, task, label, REVIEWER, source="review")
            log.write(json.dumps({"id": label_id, "image": image, "task": task, "label": label}) + "\n")
            log.flush()
            time.sleep(rng.uniform(0.02, 0.1))
    return 0


if __name__ == "__main__":
    store_arg, keys_arg, log_arg, seed_arg = sys.argv[1:5]
    pairs = [tuple(key) for key in json.loads(Path(keys_arg).read_text())]
    sys.exit(review(Path(store_arg), pairs, Path(log_arg), int(seed_arg)))
