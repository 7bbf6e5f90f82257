"""Importing labels, and the same file again: what finding unchanged rows costs.

Imports 200,000 labels of two annotators into a fresh 100,000-image store, then the same
rows again (which must write nothing), best of --repeat. With `--against DIR` (another
checkout of celeba-tui, e.g. a `git worktree` of an earlier commit) both trees run in
turn, one process per round, and the ratios are printed side by side.

    python benchmarks/reimport.py
    git worktree add /tmp/before 4f11a79 && python benchmarks/reimport.py --against /tmp/before
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_ROUND = """
import json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import pandas as pd
from celeba_tui.store.label_store import LabelStore
images, rows = 100_000, 200_000
with tempfile.TemporaryDirectory() as folder:
    store = LabelStore.open(Path(folder) / "labels.sqlite", create=True)
    store.register_images([f"{i:06d}.jpg" for i in range(1, images + 1)])
    frame = pd.DataFrame({
        "image": [f"{i % images + 1:06d}.jpg" for i in range(rows)], "task": "light", "label": "left",
        "annotator": ["ann" if i < images else "bob" for i in range(rows)], "source": "import", "model": None,
    })
    started = time.perf_counter(); written = store.add_labels(frame); first = time.perf_counter() - started
    started = time.perf_counter(); again = store.add_labels(frame); second = time.perf_counter() - started
    store.close()
assert written == rows and again == 0, (written, again)
print(json.dumps({"first": first, "again": second}))
"""


def one_round(tree: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", ONE_ROUND, str(tree)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, help="another checkout to time in turn")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    trees = {"this tree": ROOT, **({"against": args.against.resolve()} if args.against else {})}
    times: dict[str, list[dict]] = {name: [] for name in trees}
    for _ in range(args.repeat):
        for name, tree in trees.items():  # interleaved: a noisy spell hits both
            times[name].append(one_round(tree))
    best = {name: {key: min(r[key] for r in rounds) for key in ("first", "again")} for name, rounds in times.items()}
    for name, figures in best.items():
        print(f"{name:10} first import {figures['first']:.2f} s, the same file again {figures['again']:.2f} s")
    if args.against:
        for key in ("first", "again"):
            print(f"ratio {key}: {best['this tree'][key] / best['against'][key]:.2f}x (this tree / against)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
