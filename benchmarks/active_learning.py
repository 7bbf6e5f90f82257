"""Which images people should label next: the `uncertain` queue's order against random order.

The issue's lever 7, measured the way a team would use the tool: start from a few labels,
then in rounds a simulated annotator labels the next `--step` images a strategy picks,
`celeba cycle` retrains the default model and auto-labels, and the model is scored against
ground truth on a fixed test set nobody ever labels. Every strategy starts from the same
labelled images and the same first model, and the simulated annotator gives an image the
same answer whichever strategy asks (a typical annotator of celeba_tui.synth.annotators,
with its reading noise and lapses: so the label bought for a boundary image is often wrong,
as it is for people).

Strategies:

- uncertain: the `uncertain` queue as `celeba label --queue uncertain` serves it (most
  uncertain first);
- random: a seeded random order;
- mixed: the two interleaved, one uncertain image, then one random image.

Prints per task and round the test accuracy, balanced accuracy and precision at 80%
coverage per strategy (mean over --seeds), and the gain per 100 labels over the rounds.

    python benchmarks/active_learning.py --data DIR   # DIR: a `celeba synth` folder (rendered if missing)
        [--images 3000] [--start 500] [--step 250] [--rounds 2] [--seeds 0 1] [--tasks light orientation]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STRATEGIES = ("uncertain", "random", "mixed")
ANNOTATOR = "sim"
TEST_IMAGES = 1000


def render(data: Path, images: int) -> pd.DataFrame:
    """The synthetic set's ground truth, rendered into `data` first if it is not there."""
    from celeba_tui.synth.dataset import (
        GROUND_TRUTH_FILE,
        SynthSpec,
        default_workers,
        read_ground_truth,
        write_dataset,
    )
    from celeba_tui.synth.output import prepare_output

    if not (data / GROUND_TRUTH_FILE).exists():
        prepare_output(data, images, False)
        write_dataset(data, images, SynthSpec(0), workers=default_workers())
    return read_ground_truth(data)


def simulated_answers(truth: pd.DataFrame, task: str, seed: int) -> pd.Series:
    """A typical annotator's class for every image (decided once, so every strategy gets the same answer)."""
    from celeba_tui.synth.annotators import annotator_answer, annotator_profiles

    typical = next(profile for profile in annotator_profiles(3) if profile.kind == "typical")
    return pd.Series(
        annotator_answer(typical, truth, task, np.random.default_rng([seed, 7])), index=truth["image"].to_numpy()
    )


def add_labels(workspace, answers: pd.Series, images: list[str], task: str, csv_path: Path) -> None:
    """The simulated annotator labels `images` (through `celeba import`, as a person's CSV would arrive)."""
    from celeba_tui.formats.importing import import_labels

    frame = pd.DataFrame({"image": images, "task": task, "label": answers.loc[images].to_numpy()})
    frame["annotator"] = ANNOTATOR
    frame.to_csv(csv_path, index=False)
    with workspace.open_store() as store:
        import_labels(store, workspace, csv_path)


def cycle(workspace, task: str, seed: int) -> float:
    """`celeba cycle -t TASK --plugin small_resnet`: train, export, auto-label; seconds spent."""
    from celeba_tui.autolabel.cycle import CycleOptions, plan_cycle, run_cycle
    from celeba_tui.progress import SilentReporter

    started = time.perf_counter()
    plan = plan_cycle(workspace, CycleOptions(task=task, architectures=("small_resnet",), seed=seed, force=True))
    run_cycle(workspace, plan, SilentReporter())
    return time.perf_counter() - started


def score(workspace, task: str, truth: pd.Series, test: list[str]) -> dict:
    """The ensemble's accuracy, balanced accuracy and precision at 80% coverage on the test images."""
    from celeba_tui.labelling.ensemble import task_ensembles

    task_obj = workspace.task(task)
    with workspace.open_store(readonly=True) as store:
        ensemble = task_ensembles(store, [task_obj])[0]
        ids = dict(store.query("SELECT name, id FROM images"))
    row = {image_id: i for i, image_id in enumerate(ensemble.image_ids.tolist())}
    picked = np.array([row[ids[name]] for name in test])
    predicted = np.asarray(task_obj.classes, dtype=object)[ensemble.best[picked]]
    actual = truth.loc[test].to_numpy()
    right = predicted == actual
    recalls = [right[actual == c].mean() for c in task_obj.classes if (actual == c).any()]
    order = np.argsort(-ensemble.confidence[picked], kind="stable")
    top = order[: int(round(0.8 * len(order)))]
    return {"accuracy": float(right.mean()), "balanced": float(np.mean(recalls)), "p80": float(right[top].mean())}


def next_images(workspace, strategy: str, task: str, pool: set[str], labelled: set[str], n: int, rng) -> list[str]:
    """The next `n` pool images the strategy would have people label."""
    from celeba_tui.labelling.queue_items import QueueOptions
    from celeba_tui.labelling.queues import get_queue

    candidates = sorted(pool - labelled)
    random_order = [candidates[i] for i in rng.permutation(len(candidates))]
    if strategy == "random":
        return random_order[:n]
    with workspace.open_store(readonly=True) as store:
        built = get_queue("uncertain").build(store, workspace, ANNOTATOR, [workspace.task(task)], QueueOptions())
    uncertain = [item.image for item in built.items if item.image in pool and item.image not in labelled]
    if strategy == "uncertain":
        return uncertain[:n]
    chosen: dict[str, None] = {}  # insertion-ordered set
    for first, second in zip(uncertain, random_order):
        chosen.update(dict.fromkeys((first, second)))
        if len(chosen) >= n:
            break
    return list(chosen)[:n]


def run_task(data: Path, truth_frame: pd.DataFrame, task: str, seed: int, args, out: Path) -> dict:
    """Every strategy's rounds on one task and seed: {strategy: [score per round]}."""
    from celeba_tui.images import detect_layout
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace, load_workspace

    truth = truth_frame.set_index("image")[task]
    answers = simulated_answers(truth_frame, task, seed)
    rng = np.random.default_rng([seed, 11])
    names = truth_frame["image"].to_numpy()
    shuffled = names[rng.permutation(len(names))]
    test, pool = sorted(shuffled[:TEST_IMAGES]), set(shuffled[TEST_IMAGES:])
    start = sorted(shuffled[TEST_IMAGES : TEST_IMAGES + args.start])

    base = out / f"{task}-seed{seed}-start"
    workspace = create_workspace(base, detect_layout(data).image_root)
    with workspace.open_store(create=True) as store:
        register_images(store, workspace.image_root)
    add_labels(workspace, answers, start, task, out / f"{task}-seed{seed}-start.csv")
    seconds = cycle(workspace, task, seed)
    first = score(workspace, task, truth, test)
    print(f"{task} seed {seed}: {args.start} labels: {format_score(first)} ({seconds:.0f} s)", flush=True)

    results = {}
    for strategy in args.strategies:
        folder = out / f"{task}-seed{seed}-{strategy}"
        shutil.copytree(base, folder)
        workspace = load_workspace(folder)
        labelled, scores = set(start), [first]
        pick_rng = np.random.default_rng([seed, 13])
        for number in range(1, args.rounds + 1):
            chosen = next_images(workspace, strategy, task, pool, labelled, args.step, pick_rng)
            add_labels(workspace, answers, chosen, task, folder / f"round{number}.csv")
            labelled |= set(chosen)
            wrong = float((answers.loc[chosen].to_numpy() != truth.loc[chosen].to_numpy()).mean())
            seconds = cycle(workspace, task, seed)
            scores.append({**score(workspace, task, truth, test), "bought_wrong": wrong})
            print(
                f"{task} seed {seed} {strategy:9s} round {number}: {len(labelled)} labels "
                f"({wrong:.0%} of this round's wrong): {format_score(scores[-1])} ({seconds:.0f} s)",
                flush=True,
            )
        results[strategy] = scores
    return results


def format_score(s: dict) -> str:
    return f"accuracy {s['accuracy']:.3f}, balanced {s['balanced']:.3f}, P@80 {s['p80']:.3f}"


def summary(all_results: dict, args) -> None:
    """Mean over seeds per task, strategy and round, and the gain per 100 labels."""
    for task, per_seed in all_results.items():
        print(f"\n{task}: test accuracy / balanced accuracy / P@80, mean over seeds {args.seeds}")
        print(f"{'labels':>7} | " + " | ".join(f"{s:^23}" for s in args.strategies))
        for number in range(args.rounds + 1):
            cells = []
            for strategy in args.strategies:
                rows = [runs[strategy][number] for runs in per_seed.values()]
                cells.append(
                    " / ".join(f"{np.mean([r[k] for r in rows]):.3f}" for k in ("accuracy", "balanced", "p80"))
                )
            print(f"{args.start + number * args.step:>7} | " + " | ".join(f"{c:^23}" for c in cells))
        for strategy in args.strategies:
            gains = [
                (runs[strategy][-1]["balanced"] - runs[strategy][0]["balanced"]) / (args.rounds * args.step / 100)
                for runs in per_seed.values()
            ]
            wrong = np.mean([r["bought_wrong"] for runs in per_seed.values() for r in runs[strategy][1:]])
            print(
                f"  {strategy}: balanced accuracy {np.mean(gains) * 100:+.2f} points per 100 labels "
                f"(seeds {', '.join(f'{g * 100:+.2f}' for g in gains)}); {wrong:.0%} of the labels bought were wrong"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, help="a `celeba synth` folder to reuse (rendered there if missing)")
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--start", type=int, default=500, help="labels before the first round")
    parser.add_argument("--step", type=int, default=250, help="labels bought per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--tasks", nargs="+", default=["light", "orientation"])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--out", type=Path, help="keep the workspaces here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="active-learning-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        data = args.data or out / "data"
        truth = render(data, args.images)
        results = {
            task: {seed: run_task(data, truth, task, seed, args, out) for seed in args.seeds} for task in args.tasks
        }
    summary(results, args)
    print(f"\n{(time.perf_counter() - started) / 60:.1f} minutes")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
