"""What a `time` column costs an import: the same 200,000 labels with and without one.

A long CSV of two annotators' labels of 100,000 images, written twice (once with a `time`
cell per row, when each answer was given) and once as Parquet with a timestamp per row,
is imported into a fresh workspace and then again (which must write nothing); the rounds
alternate, best of --repeat, and the ratios to the plain CSV are printed side by side.
With times, each answer is compared with the same person's newest answer in the store
(formats/import_answers.py).

    python benchmarks/import_times.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_round(folder: Path, path: Path, images: int) -> tuple[float, float]:
    """Seconds to import `path` into a fresh workspace, and to import it again."""
    from celeba_tui.formats.importing import read_import, write_imports
    from celeba_tui.workspace import create_workspace

    workspace = create_workspace(folder / f"ws-{time.monotonic_ns()}", folder / "images")
    with workspace.open_store(create=True) as store:
        store.register_images([f"{i:06d}.jpg" for i in range(1, images + 1)])
        times = []
        for expected_new in (True, False):
            started = time.perf_counter()
            (report,) = write_imports(store, [read_import(path, workspace)])
            times.append(time.perf_counter() - started)
            assert (report.written > 0) == expected_new, report
    return times[0], times[1]


def main() -> None:
    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.images
    rows = pd.DataFrame(
        {
            "image": [f"{i % n + 1:06d}.jpg" for i in range(2 * n)],
            "task": "light",
            "label": "left",
            "annotator": ["ann" if i < n else "bob" for i in range(2 * n)],
        }
    )
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "images").mkdir()
        files = {"plain": folder / "plain.csv", "timed": folder / "timed.csv", "parquet": folder / "timed.parquet"}
        rows.to_csv(files["plain"], index=False)
        rows.assign(time="2025-01-01T10:00:00Z").to_csv(files["timed"], index=False)
        # Parquet's times are timestamps, as `export --format parquet` writes them.
        rows.assign(time=pd.Timestamp("2025-01-01T10:00:00Z")).to_parquet(files["parquet"], index=False)
        best = {name: [float("inf"), float("inf")] for name in files}
        for _ in range(args.repeat):
            for name, path in files.items():
                first, again = one_round(folder, path, n)
                best[name] = [min(best[name][0], first), min(best[name][1], again)]
    print(f"{2 * n:,} labels of {n:,} images, best of {args.repeat}")
    print(f"{'':8} {'first':>8} {'again':>8}")
    for name, (first, again) in best.items():
        print(f"{name:8} {first:7.2f}s {again:7.2f}s")
    for name in ("timed", "parquet"):
        ratio = [best[name][i] / best["plain"][i] for i in range(2)]
        print(f"{name + '/plain':8} {ratio[0]:7.2f}x {ratio[1]:7.2f}x")


if __name__ == "__main__":
    main()
