"""Scale (issue 7): a store of 200,000 images and 400,000 labels; each command as a whole process.

Two annotators label 100,000 images each (50,000 shared, both tasks, the study's
disagreement: benchmarks/merge_speed.py's labels), so 150,000 images are labelled and
50,000 wait in the unlabelled queue. Every figure is the best of --repeat fresh processes,
wall and CPU time (user + system; on a busy machine CPU is the closer estimate of an idle
machine's wall time), next to the limit another issue set:

    celeba stats --json             < 1 s     (issue 2)
    celeba agreement / merge        <= 2 s    (issue 5)
    celeba label, start-up          <= 1.5 s  (issue 3; first image on screen, in tmux)
    celeba export --format long     no limit set (shown for reference)

Run: python benchmarks/scale.py [--images 200000] [--per-annotator 100000] [--repeat 3] [--store DIR]
(--store keeps the store in DIR and reuses it next time with the same --images and
--per-annotator: the 2,000,000-image store takes minutes to build on a busy machine.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from merge_speed import build_labels, cli
from tui_latency import run_in_tmux

from celeba_tui.synth.dataset import SynthSpec, render_one
from celeba_tui.workspace import create_workspace, load_workspace

FILES_FOR_THE_TUI = 60  # the unlabelled queue's first images exist as files; the rest need not


def build_store(root: Path, n_images: int, per_annotator: int):
    """Register n_images names; add merge_speed's two-annotator labels; write the first unlabelled files."""
    labels = build_labels(per_annotator)
    labelled = labels["image"].nunique()
    if labelled > n_images:
        raise SystemExit(f"--images {n_images} is fewer than the {labelled:,} labelled images")
    images = root / "images"
    images.mkdir()
    names = [f"{i:06d}.jpg" for i in range(1, n_images + 1)]
    for index in range(labelled + 1, min(n_images, labelled + FILES_FOR_THE_TUI) + 1):
        (images / names[index - 1]).write_bytes(render_one(index, SynthSpec()).jpeg)
    workspace = create_workspace(root / "ws", images)
    with workspace.open_store(create=True) as store:
        store.register_images(names)
        store.add_labels(labels, skip_unchanged=False)
        stored = len(store.live_labels())
    return workspace, stored, labelled


def cached_store(keep: Path, n_images: int, per_annotator: int):
    """build_store in `keep`, once: later runs with the same sizes reuse it."""
    stamp, wanted = keep / "built-with", f"{n_images} {per_annotator}"
    if stamp.exists() and stamp.read_text() == wanted:
        workspace = load_workspace(keep / "ws")
        with workspace.open_store(readonly=True) as store:
            stored = len(store.live_labels())
            labelled = store.query("SELECT COUNT(DISTINCT image_id) FROM live")[0][0]
        return workspace, stored, labelled
    if keep.exists() and any(keep.iterdir()):
        raise SystemExit(f"--store {keep}: not empty and not a store built with these sizes")
    keep.mkdir(parents=True, exist_ok=True)
    built = build_store(keep, n_images, per_annotator)
    stamp.write_text(wanted)
    return built


def summary_times(workspace, repeat: int) -> tuple[float, float]:
    """Best seconds of the summary `celeba label` prints after q (labelling.session_summary:
    the queue rebuilt while the store's counts are read beside it, on a connection of their
    own) and of the same two reads one after the other, as it read them before."""
    from celeba_tui.labelling.next_steps import read_store_state
    from celeba_tui.labelling.queues import QueueOptions, get_queue
    from celeba_tui.labelling.session_summary import SessionOutcome, summarize
    from celeba_tui.training.dataset import MIN_LABELS

    queue, tasks, best = get_queue("unlabelled"), workspace.tasks, [float("inf"), float("inf")]
    with workspace.open_store(readonly=True) as store:
        for _ in range(repeat):
            started = time.perf_counter()
            summarize(store, workspace, "ann", queue, tasks, QueueOptions(), SessionOutcome(), min_labels=MIN_LABELS)
            best[0] = min(best[0], time.perf_counter() - started)
            started = time.perf_counter()
            queue.build(store, workspace, "ann", tasks, QueueOptions())
            read_store_state(store, "ann", tasks, workspace.suspects_path)
            best[1] = min(best[1], time.perf_counter() - started)
    return best[0], best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--per-annotator", type=int, default=100_000, help="images each of the two annotators labelled")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many processes")
    parser.add_argument("--store", type=Path, help="keep the store in this folder and reuse it (same sizes only)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        if args.store is not None:
            workspace, stored, labelled = cached_store(args.store, args.images, args.per_annotator)
        else:
            workspace, stored, labelled = build_store(Path(tmp), args.images, args.per_annotator)
        print(
            f"store: {args.images:,} images, {stored:,} labels ({labelled:,} images labelled), "
            f"ready in {time.perf_counter() - started:.1f} s; load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs"
        )
        ws, n = workspace.path, args.repeat
        export_to = Path(tmp) / "export.csv"
        rows = [
            ("celeba stats --json", cli(ws, "stats", "--json", repeat=n), 1.0),
            (
                "celeba export --format long",
                cli(ws, "export", "--format", "long", "--out", str(export_to), repeat=n),
                None,
            ),
            ("celeba agreement --json", cli(ws, "agreement", "--json", repeat=n), 2.0),
            ("celeba merge --dry-run", cli(ws, "merge", "--dry-run", repeat=n), 2.0),
            (
                "celeba merge --policy majority --dry-run",
                cli(ws, "merge", "--policy", "majority", "--dry-run", repeat=n),
                2.0,
            ),
        ]
        if shutil.which("tmux"):
            startups = []
            for attempt in range(n):
                measured = run_in_tmux(workspace, Path(tmp) / f"timing{attempt}.jsonl", keys=0, pace_s=0.0)
                startups.append((measured["first_image_s"], measured["startup_cpu"][0] / 1000))
            rows.append(("celeba label: start-up to first image (tmux)", min(startups), 1.5))
        else:
            print("tmux is not installed: the TUI start-up is not measured")
        over = []
        print(f"{'command (whole process, best of ' + str(n) + ')':<48} {'wall':>8} {'cpu':>8}   limit")
        for name, (wall, cpu), limit in rows:
            verdict = (
                "no limit set"
                if limit is None
                else f"{limit:.1f} s  ({wall / limit:.2f}x) " + ("ok" if wall <= limit else "OVER")
            )
            if limit is not None and wall > limit:
                over.append(name)
            print(f"{name:<48} {wall:7.3f}s {cpu:7.3f}s   {verdict}")
        beside, in_turn = summary_times(workspace, n)
        print(
            f"celeba label's summary after q (library): {beside:.3f} s, its two reads one after the other "
            f"{in_turn:.3f} s ({beside / in_turn:.2f}x)"
        )
        print(f"export: {export_to.stat().st_size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f}")
        print("every command within its limit (wall)" if not over else f"over the limit (wall): {', '.join(over)}")


if __name__ == "__main__":
    main()
