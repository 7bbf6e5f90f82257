"""Label quality: how right the automatic labels are, against ground truth, next to the ceiling.

Synthetic (the default): runs `celeba demo` (render, two simulated annotators with the
study's disagreement, merge, train the default ensemble, export, auto-label) and scores
every image nobody labelled: each model's accuracy / balanced accuracy / calibration
error, the ensemble's precision when its most confident 50-100% are labelled, the
coverage it reaches at precision 0.95 / 0.97 / 0.99, the study's rules' automatic labels,
the annotators' accuracy, and the ceiling (an oracle reading each true angle with a
careful annotator's noise; celeba_tui/evaluation/ceiling.py), and where the people's
labels switch class along the true angle (what a model learns; a perfect reader of the
angle deciding by those boundaries is the best that learning from these labels allows).
Checks the goals of docs/label-quality.md and prints minutes spent.

    python benchmarks/label_quality.py                    # the default demo (~6 min on 2 cores)
    python benchmarks/label_quality.py --quick            # the quick demo (~90 s)
    python benchmarks/label_quality.py --ablation         # every variant of VARIANTS, side by side
    python benchmarks/label_quality.py --self-training 1  # then a round of `celeba cycle --pseudo-labels`
    python benchmarks/label_quality.py --variant small_resnet_128 --self-training 1   # its plan in both
    python benchmarks/label_quality.py --real ../shared/real-faces [--folds 3] [--architecture NAME]

--real runs the cross-person protocol on real photographs with measured angles (never
training data of anything shipped): per folder, people are split into --folds groups;
each group in turn is auto-labelled by the default ensemble (or one --architecture)
trained on the others' labels.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celeba_tui.demo import DemoPlan, quality_rows_from_dicts, run_demo  # noqa: E402
from celeba_tui.evaluation.curves import COVERAGES, PRECISIONS  # noqa: E402

# The goals on synthetic data (docs/label-quality.md).
GOAL_PRECISION_AT_60 = 0.95
GOAL_BALANCED_ACCURACY = 0.90
GOAL_REAL_PRECISION_AT_80 = 0.97
GOAL_REAL_ACCURACY = 0.92

# Ablation: each variant changes one thing of the default plan.
VARIANTS = {
    "default (noisy-labels, one small_resnet, TTA, orientation self-trained)": {},
    "no self-training round (the previous default)": {"self_training": ()},
    "two small_resnet seeds per task": {"members": (("small_resnet", 0), ("small_resnet", 1))},
    "small_resnet_128 (128 px, 40 epochs; ~3x the training time)": {"members": (("small_resnet_128", 0),)},
    "previous default (study recipe, cnn4 + residual_blocks, 10 epochs, no TTA)": {
        "members": (("cnn4", 0), ("residual_blocks", 0)),
        "recipe": "study",
        "epochs": 10,
        "tta": False,
    },
    "study recipe on small_resnet": {"recipe": "study"},
    "no test-time flip": {"tta": False},
    "no landmark cues": {"landmark_cues": False},
    "vote-share soft targets (every label alike)": {"soft_targets_from": "votes"},
    "flips only (no geometry/photometric/noise)": {"augment": "flip"},
    "15 epochs per round": {"epochs": 15},
}


def synthetic(out: Path, quick: bool, variants: dict[str, dict], seed: int) -> list[dict]:
    rows = []
    out.mkdir(parents=True, exist_ok=True)  # the demo makes its own folder, never its parents
    for number, (name, change) in enumerate(variants.items()):
        plan = replace(DemoPlan.for_mode(quick), **change)
        started = time.perf_counter()
        result = run_demo(out / f"variant{number}", quick=quick, seed=seed, plan=plan)
        minutes = (time.perf_counter() - started) / 60
        targets = target_switch_points(out / f"variant{number}", result.runs)
        biases = class_bias_side_by_side(out / f"variant{number}", result.runs, plan.tta)
        rows.append(
            {
                "variant": name,
                "minutes": minutes,
                "quality": result.quality,
                "stages": result.stages,
                "model_names": result.model_names,
                "soft_target_switch_points": targets,
                "class_bias_side_by_side": biases,
            }
        )
        print_quality(name, result.quality, minutes)
        for task, (method, lower, upper) in targets.items():
            print(f"  {task}: the soft targets ({method}) switch class at {lower:+.1f} / {upper:+.1f} degrees")
        for row in biases:
            print(
                f"  {row['task']} {row['run']}: class biases {row['class_bias']}: "
                + "; ".join(
                    f"{how} acc {s['accuracy']:.3f} bal {s['balanced_accuracy']:.3f} P@80 {s['p80']:.3f}"
                    for how, s in (("temperature alone", row["temperature_alone"]), ("with them", row["with_biases"]))
                )
            )
            decided = row["balanced_decision"]
            print(
                f"  {row['task']} {row['run']}: deciding by p / the people's class shares instead of p: "
                f"acc {decided['accuracy']:.3f} bal {decided['balanced_accuracy']:.3f}"
            )
    return rows


def predict_in_torch(classifier, frames: np.ndarray, mirror: np.ndarray | None) -> np.ndarray:
    """A run's classifier's probabilities for uint8 `frames` (N, H, W, 3), averaged with
    the mirrored images' (their classes swapped back by `mirror`) unless it is None."""
    import torch

    parts = []
    with torch.inference_mode():
        for start in range(0, len(frames), 256):
            pixels = torch.from_numpy(np.ascontiguousarray(frames[start : start + 256]))
            p = classifier(pixels).double().numpy()
            if mirror is not None:
                p = (p + classifier(torch.flip(pixels, dims=[2])).double().numpy()[:, mirror]) / 2
            parts.append(p)
    return np.concatenate(parts)


def class_bias_side_by_side(demo_dir: Path, runs: list[dict], tta: bool) -> list[dict]:
    """Each run that fitted class biases (celeba_tui.models.calibration), scored on the images
    nobody labelled twice, in PyTorch: with the temperature alone, and with the biases too.
    The same network both times, so the difference is the biases' alone. Then, with the
    biases, deciding for balanced accuracy instead of accuracy (balanced_decision)."""
    from celeba_tui.evaluation.ceiling import class_indices
    from celeba_tui.evaluation.curves import score_probabilities
    from celeba_tui.mirror import mirror_map
    from celeba_tui.models.model_io import build_classifier
    from celeba_tui.models.run_files import load_run
    from celeba_tui.synth.dataset import read_ground_truth
    from celeba_tui.training.cache import DecodedCache
    from celeba_tui.vocabulary import PEOPLE_STATUSES
    from celeba_tui.workspace import load_workspace

    workspace = load_workspace(demo_dir / "workspace")
    truth = read_ground_truth(demo_dir / "data").set_index("image")
    rows = []
    for entry in runs:
        run = load_run(entry["run"])
        if run.summary.get("class_bias") is None:
            continue
        with workspace.open_store(readonly=True) as store:
            current = store.current_labels(run.task)
        scope = sorted(set(truth.index) - set(current.loc[current["status"].isin(PEOPLE_STATUSES), "image"]))
        cache = DecodedCache(workspace.cache_dir, run.input_size, run.config["preprocess"])
        cache.update(scope, workspace.image_root)
        frames = cache.array()[cache.rows(scope)]
        classifier, mirror = build_classifier(run), mirror_map(run.classes)
        truth_classes = class_indices(truth.loc[scope, run.task])
        scored = {}
        for how, bias in (("temperature_alone", None), ("with_biases", classifier.class_bias)):
            classifier.class_bias = bias
            probabilities = predict_in_torch(classifier, frames, mirror if tta else None)
            s, _ = score_probabilities(probabilities, truth_classes)
            scored[how] = {
                "accuracy": s.accuracy,
                "balanced_accuracy": s.balanced_accuracy,
                "p80": s.precision_at_coverage[0.8],
            }
        people = current.loc[current["status"].isin(PEOPLE_STATUSES), "label"]
        scored["balanced_decision"] = balanced_decision(probabilities, truth_classes, people, run.classes)
        bias_text = " ".join(f"{c} {v:+.2f}" for c, v in zip(run.classes, run.summary["class_bias"]))
        rows.append({"task": run.task, "run": run.run_id, "class_bias": bias_text, **scored})
    return rows


def balanced_decision(probabilities: np.ndarray, truth: np.ndarray, people_labels: pd.Series, classes) -> dict:
    """Accuracy and balanced accuracy when each image takes the class of largest p(class) /
    prior(class), the prior being the share of each class in the people's labels: the
    decision that maximises balanced accuracy where argmax p maximises accuracy (what the
    models, calibrated on held-out labels, decide by). Needs no ground truth to apply."""
    from sklearn.metrics import balanced_accuracy_score

    counts = people_labels.value_counts()
    prior = np.array([counts.get(c, 0) for c in classes], dtype=float) + 1.0
    decided = (probabilities / (prior / prior.sum())).argmax(axis=1)
    return {
        "accuracy": float(np.mean(decided == truth)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, decided)),
    }


def target_switch_points(demo_dir: Path, runs: list[dict]) -> dict[str, tuple[str, float, float]]:
    """Per task trained on soft targets (what its `runs` recorded: config.json's target_kind),
    where those targets switch class along the true angle (method, lower, upper): what the
    models learn, next to where the labels switch."""
    from celeba_tui.evaluation.ceiling import switch_points
    from celeba_tui.synth.annotators import ANGLE_COLUMNS
    from celeba_tui.synth.dataset import read_ground_truth
    from celeba_tui.training.soft_targets import task_soft_targets
    from celeba_tui.workspace import load_workspace

    kinds = {
        run["task"]: json.loads((Path(run["run"]) / "config.json").read_text()).get("target_kind", "hard")
        for run in runs
    }
    workspace = load_workspace(demo_dir / "workspace")
    truth = read_ground_truth(demo_dir / "data").set_index("image")
    found = {}
    with workspace.open_store(readonly=True) as store:
        for task in workspace.tasks:
            if kinds.get(task.name, "hard") == "hard":
                continue
            targets, _ = task_soft_targets(store, task, store.current_labels(task.name), kinds[task.name])
            angle = truth.loc[targets.images, ANGLE_COLUMNS[task.name]].to_numpy()
            found[task.name] = (targets.method, *switch_points(angle, targets.probabilities))
    return found


def print_quality(title: str, quality: list[dict], minutes: float) -> None:
    print(f"\n== {title}: {minutes:.1f} min")
    header = (
        f"{'task':<12}{'who':<42}{'acc':>7}{'bal':>7}{'ECE':>7}"
        + "".join(f"{'P@' + format(c, '.0%'):>8}" for c in COVERAGES)
        + "".join(f"{'c@P' + format(p, 'g'):>9}" for p in PRECISIONS)
    )
    print(header)
    for task, who, s in quality_rows_from_dicts(quality):
        print(
            f"{task:<12}{who[:41]:<42}{s['accuracy']:>7.3f}{s['balanced_accuracy']:>7.3f}{s['ece']:>7.3f}"
            + "".join(f"{s['precision_at_coverage'][str(c)]:>8.3f}" for c in COVERAGES)
            + "".join(f"{s['coverage_at_precision'][str(p)]:>9.2f}" for p in PRECISIONS)
        )
    for q in quality:
        people = ", ".join(f"{name} {acc:.3f}" for name, acc in q["annotators"].items())
        print(
            f"{q['task']}: rules labelled {q['automatic_labels']:,} of {q['images']:,} ({q['automatic_coverage']:.1%}) "
            f"at precision {q['automatic_precision']:.3f}; annotators {people}; "
            f"typical (simulated) {q['typical_annotators']:.3f}"
        )
        learnt = q.get("learnt_boundaries")
        if learnt is not None:
            print(
                f"  the people's labels switch class at {learnt['lower']:+.1f} / {learnt['upper']:+.1f} degrees; "
                f"a perfect reader of the angle deciding by them: accuracy {learnt['accuracy']:.3f}, "
                f"balanced {learnt['balanced_accuracy']:.3f}"
            )
        if q["ceiling"] is not None:  # synthetic: the goals; real sets are summed up per folder
            goals(q)


def goals(q: dict) -> None:
    """The issue's goals for one task, each with its figure and the ceiling's."""
    ensemble, ceiling = q["ensemble"], q["ceiling"]
    best = max(s["balanced_accuracy"] for s in q["models"].values())
    checks = [
        (
            f"precision at 60% >= {GOAL_PRECISION_AT_60}",
            ensemble["precision_at_coverage"]["0.6"],
            GOAL_PRECISION_AT_60,
            ceiling["precision_at_coverage"]["0.6"],
        ),
        (
            "precision at 80% >= typical annotator",
            ensemble["precision_at_coverage"]["0.8"],
            q["typical_annotators"],
            ceiling["precision_at_coverage"]["0.8"],
        ),
        (f"best model balanced accuracy >= {GOAL_BALANCED_ACCURACY}", best, GOAL_BALANCED_ACCURACY, None),
    ]
    for name, value, goal, ceiling_value in checks:
        mark = "met" if value >= goal else "NOT met"
        extra = f" (ceiling {ceiling_value:.3f})" if ceiling_value is not None else ""
        print(f"  goal {q['task']}: {name}: {value:.3f}{extra}: {mark}")


# ----------------------------------------------------------------- self-training
def self_training(demo_dir: Path, plan: DemoPlan, demo_names: dict[str, str], rounds: int, seed: int) -> list[dict]:
    """`celeba cycle --pseudo-labels` per task on a demo run with `plan`, `rounds` times, scored
    after each; each round trains the plan's architectures with the plan's epochs.

    The store then holds each round's predictions: the tables list every model, named by
    round (the demo's, `demo_names` = prediction key -> model, are round 0), and the
    ensemble row averages them all."""
    from celeba_tui.autolabel.cycle import plan_cycle, run_cycle
    from celeba_tui.demo import self_training_options
    from celeba_tui.evaluation.against_truth import evaluate_workspace
    from celeba_tui.progress import SilentReporter
    from celeba_tui.synth.dataset import read_ground_truth
    from celeba_tui.workspace import load_workspace

    workspace = load_workspace(demo_dir / "workspace")
    truth = read_ground_truth(demo_dir / "data")
    rows = []
    names = {key: f"round 0: {name}" for key, name in demo_names.items()}
    for number in range(1, rounds + 1):
        started = time.perf_counter()
        for task in workspace.task_names:
            options = self_training_options(plan, task, seed)
            result = run_cycle(workspace, plan_cycle(workspace, options), SilentReporter())
            names.update({key: f"round {number}: {name}" for key, name in result.autolabel.model_names().items()})
        quality = [q.to_dict() for q in evaluate_workspace(workspace, truth, seed, model_names=names)]
        minutes = (time.perf_counter() - started) / 60
        rows.append({"round": number, "minutes": minutes, "quality": quality})
        print_quality(f"after self-training round {number} (train on people's + automatic labels)", quality, minutes)
    return rows


# ----------------------------------------------------------------- real photographs
REAL_SETS = {"head-yaw": "orientation", "light-direction": "light"}


def real(
    root: Path,
    out: Path,
    folds: int,
    seed: int,
    max_pitch: float | None = None,
    sets: list[str] | None = None,
    plan: DemoPlan | None = None,
    self_training_rounds: int = 0,
    start_from: dict[str, str] | None = None,
) -> list[dict]:
    """Per folder, people split into `folds` groups, each auto-labelled by a model trained on the others.

    `self_training_rounds` then runs `celeba cycle --pseudo-labels` that many times per fold:
    the held-out people are the images nobody labelled, so the model trains again on the
    measured labels plus its own confident labels of people it never saw (the tool's loop);
    each fold's last entry scores the last round's model.

    `max_pitch` leaves out head-yaw photographs whose head pitch is larger (at +-60 and +-90
    degrees the face is seen from far above or below and yaw is hard to tell): from
    training and from scoring alike. `start_from` maps an architecture to the run its
    networks start from (`celeba train --start-from`; benchmarks/synthetic_pretraining.py)."""
    results = []
    for folder, task in REAL_SETS.items():
        if sets and folder not in sets:
            continue
        labels = pd.read_csv(root / folder / "labels.csv")
        if max_pitch is not None and "pitch_deg" in labels:
            labels = labels[labels["pitch_deg"].abs() <= max_pitch].reset_index(drop=True)
            print(f"{folder}: {len(labels):,} photographs with |pitch| <= {max_pitch:g} degrees")
        people = sorted(labels["person"].unique())
        groups = [people[i::folds] for i in range(folds)]
        for number, held_out in enumerate(groups):
            ws_dir = out / f"{folder}-fold{number}"
            rounds = real_fold(
                root / folder, labels, task, held_out, ws_dir, seed, plan, self_training_rounds, start_from
            )
            for round_number, (quality, minutes) in enumerate(rounds):
                title = f"{folder}: auto-label people {held_out}, trained on the others"
                if round_number:
                    title += f", after self-training round {round_number}"
                print_quality(title, quality, minutes)
            results.append(
                {
                    "set": folder,
                    "task": task,
                    "held_out": held_out,
                    "minutes": sum(minutes for _, minutes in rounds),
                    "quality": rounds[-1][0],
                }
                | ({"rounds": [quality for quality, _ in rounds]} if self_training_rounds else {})
            )
    for folder, task in REAL_SETS.items():
        if sets and folder not in sets:
            continue
        folds_of = [r["quality"][0] for r in results if r["set"] == folder and r["quality"]]
        if not folds_of:
            continue
        p80 = [q["ensemble"]["precision_at_coverage"]["0.8"] for q in folds_of]
        last = f"round {self_training_rounds}:"  # after self-training, the last round's models
        best = [
            max(s["accuracy"] for name, s in q["models"].items() if not self_training_rounds or name.startswith(last))
            for q in folds_of
        ]
        print(
            f"\n{folder} ({task}) over {len(folds_of)} folds: precision at 80% {np.mean(p80):.3f} "
            f"(min {min(p80):.3f}; goal {GOAL_REAL_PRECISION_AT_80}), best model accuracy {np.mean(best):.3f} "
            f"(min {min(best):.3f}; goal {GOAL_REAL_ACCURACY})"
        )
    return results


def real_fold(
    image_root: Path,
    labels: pd.DataFrame,
    task: str,
    held_out,
    ws_dir: Path,
    seed: int,
    plan: DemoPlan | None = None,
    self_training_rounds: int = 0,
    start_from: dict[str, str] | None = None,
) -> list[tuple[list[dict], float]]:
    """Train the plan's ensemble (the demo's by default) on everyone but `held_out`, auto-label those,
    score against the measured class; then `self_training_rounds` of `celeba cycle --pseudo-labels`,
    each scored with the models that labelled last. Per round (0: the first): its quality list and minutes."""
    from celeba_tui.autolabel.cycle import plan_cycle, run_cycle
    from celeba_tui.autolabel.run import AutolabelOptions, run_autolabel
    from celeba_tui.demo import self_training_options
    from celeba_tui.evaluation.against_truth import evaluate_workspace
    from celeba_tui.formats.importing import import_labels
    from celeba_tui.onnx.export import export_run
    from celeba_tui.progress import SilentReporter
    from celeba_tui.store.registration import register_images
    from celeba_tui.training.trainer import TrainOptions, train
    from celeba_tui.workspace import create_workspace

    started = time.perf_counter()
    plan = plan or DemoPlan.for_mode(False)
    workspace = create_workspace(ws_dir, image_root)
    training = labels[~labels["person"].isin(held_out)]
    long_csv = ws_dir / "measured.csv"
    pd.DataFrame({"image": training["image"], "task": task, "label": training[task], "annotator": "measured"}).to_csv(
        long_csv, index=False
    )
    with workspace.open_store(create=True) as store:
        register_images(store, workspace.image_root)
        import_labels(store, workspace, long_csv)
    models = []
    for architecture, offset in plan.members:
        trained = train(
            workspace,
            TrainOptions(
                plugin=architecture,
                task=task,
                seed=seed + offset,
                recipe=plan.recipe,
                augment=plan.augment,
                epochs=plan.epochs,
                lr=plan.lr,
                start_from=(start_from or {}).get(architecture),
            ),
            SilentReporter(),
        )
        target = ws_dir / f"{task}-{architecture}-seed{seed + offset}.onnx"
        export_run(trained.run_path, target, image_root=workspace.image_root)
        models.append(target)
    report = run_autolabel(
        workspace, models, AutolabelOptions(high=plan.high, low=plan.low, tta=plan.tta, force=True), SilentReporter()
    )
    truth = labels[["image", task]]
    names = report.model_names()
    quality = evaluate_workspace(workspace, truth, seed, with_ceiling=False, model_names=names)
    rounds = [([q.to_dict() for q in quality], (time.perf_counter() - started) / 60)]
    for number in range(1, self_training_rounds + 1):
        started = time.perf_counter()
        options = self_training_options(plan, task, seed)
        if start_from:  # the self-training round starts from the same weights (`celeba cycle --start-from`)
            options = replace(options, start_from=tuple(start_from.values()))
        cycled = run_cycle(workspace, plan_cycle(workspace, options), SilentReporter())
        latest = next(t for t in cycled.autolabel.tasks if t.task == task)
        if number == 1:
            names = {key: f"round 0: {name}" for key, name in names.items()}
        names |= {key: f"round {number}: {name}" for key, name in cycled.autolabel.model_names().items()}
        quality = evaluate_workspace(
            workspace, truth, seed, with_ceiling=False, model_names=names, ensembles={task: latest.model_keys}
        )
        rounds.append(([q.to_dict() for q in quality], (time.perf_counter() - started) / 60))
    return rounds


def real_plan(
    architecture: str | None,
    members: tuple[tuple[str, int], ...] | None,
    augment: str | None,
    epochs: int | None = None,
    lr: float | None = None,
) -> DemoPlan:
    """The demo's plan with --real's changes: one architecture or these members, these
    augmentations, epochs and peak learning rate."""
    plan = replace(DemoPlan.for_mode(False), augment=augment, epochs=epochs, lr=lr)
    if architecture:
        plan = replace(plan, members=((architecture, 0),))
    return replace(plan, members=members) if members else plan


def starting_runs(folders: list[Path]) -> dict[str, str]:
    """--start-from's run folders by the architecture each was trained with."""
    from celeba_tui.models.run_files import load_run

    return {load_run(folder).architecture: str(folder) for folder in folders}


def parse_members(text: str) -> tuple[tuple[str, int], ...]:
    """`small_resnet:0,small_resnet:1` -> ((small_resnet, 0), (small_resnet, 1))."""
    members = []
    for part in text.split(","):
        name, _, offset = part.strip().partition(":")
        members.append((name, int(offset or 0)))
    return tuple(members)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the quick demo's data and budget")
    parser.add_argument("--ablation", action="store_true", help="run every variant of VARIANTS")
    parser.add_argument("--variant", action="append", default=[], help="run only variants whose name starts so")
    parser.add_argument(
        "--self-training",
        type=int,
        default=0,
        metavar="N",
        help="then N rounds of `celeba cycle --pseudo-labels` (with --real: per fold)",
    )
    parser.add_argument("--real", type=Path, help="folder of real photographs (../shared/real-faces)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--max-pitch", type=float, help="--real: leave out head-yaw photographs pitched more than this")
    parser.add_argument("--set", action="append", default=[], help="--real: only these folders (head-yaw, ...)")
    parser.add_argument("--architecture", help="--real: train this architecture instead of the demo's ensemble")
    parser.add_argument("--augment", help="--real: these augmentations instead of the recipe's")
    parser.add_argument("--epochs", type=int, help="--real: this many epochs instead of the recipe's")
    parser.add_argument("--lr", type=float, help="--real: this peak learning rate instead of the architecture's")
    parser.add_argument(
        "--members",
        type=parse_members,
        help="--real: this ensemble instead of the demo's, as ARCHITECTURE:SEED_OFFSET,... (small_resnet:0,small_resnet:1)",
    )
    parser.add_argument(
        "--start-from",
        action="append",
        type=Path,
        default=[],
        metavar="RUN_DIR",
        help="--real: networks of this run's architecture start from its weights (celeba train --start-from)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temporary folder)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="label-quality-") as tmp:
        out = args.out or Path(tmp)
        if args.real:
            figures = real(
                args.real,
                out,
                args.folds,
                args.seed,
                args.max_pitch,
                args.set,
                real_plan(args.architecture, args.members, args.augment, args.epochs, args.lr),
                args.self_training,
                starting_runs(args.start_from),
            )
        else:
            chosen = VARIANTS if args.ablation else dict(list(VARIANTS.items())[:1])
            if args.variant:
                chosen = {k: v for k, v in VARIANTS.items() if any(k.startswith(p) for p in args.variant)}
            figures = synthetic(out, args.quick, chosen, args.seed)
            if args.self_training:  # on the first variant's run, with its plan
                plan = replace(DemoPlan.for_mode(args.quick), **next(iter(chosen.values())))
                rounds = self_training(out / "variant0", plan, figures[0]["model_names"], args.self_training, args.seed)
                figures.append({"self_training": rounds})
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
