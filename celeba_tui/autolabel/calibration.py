"""Thresholds that mean something: the precision of automatic labels on held-out labelled images.

Held-out images are labelled by people (current label agreed or reviewed) and were not
used to train the models:

* `split` (default): the validation part of the task's training split
  (`<workspace>/splits/<task>.csv`), the images every model of the task was compared on;
* `labels`: every labelled image outside the training part of that split (the
  validation images plus anything labelled after training).

A task with one model uses `high` alone (it labels at >= high): its thresholds are
reported with low == high, given or chosen for a target precision alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from celeba_tui.autolabel.rules import Calibration, Evaluation, Thresholds, evaluate, select_thresholds
from celeba_tui.errors import CelebaError

CALIBRATE_ON = ("split", "labels")


def held_out_images(splits_dir: Path, task: str, labelled: list[str], source: str) -> tuple[list[str], str]:
    """The labelled images to measure precision on, and a phrase saying where they come from."""
    from celeba_tui.training.split import split_path, stored_split

    if source not in CALIBRATE_ON:
        raise CelebaError(f"unknown --calibrate-on {source!r} (one of {', '.join(CALIBRATE_ON)})")
    path = split_path(splits_dir, task)
    split = stored_split(splits_dir, task)
    if source == "split":
        if split is None:
            return [], f"no validation split ({path} does not exist)"
        val = set(split.loc[split["split"] == "val", "image"])
        names = [n for n in labelled if n in val]
        return names, f"validation split {path.name} ({len(names)} labelled images)"
    train = set(split.loc[split["split"] == "train", "image"]) if split is not None else set()
    names = [n for n in labelled if n not in train]
    return names, f"labelled images not used for training ({len(names)})"


@dataclass(frozen=True)
class ThresholdChoice:
    """The thresholds a task uses, how they were chosen, and how they do on held-out labels."""

    thresholds: Thresholds | None  # None: the target precision is out of reach, label nothing
    chosen_by: str  # "given" or "target"
    held_out: Evaluation | None
    held_out_source: str
    target: float | None = None
    one_model: bool = False  # a single model labels at >= high; low plays no part
    majority_share: float | None = None  # held-out images of the most common class: the baseline

    def to_dict(self) -> dict:
        held = self.held_out
        interval = held.precision_interval if held is not None and held.n_auto else (None, None)
        return {
            "high": None if self.thresholds is None else self.thresholds.high,
            "low": None if self.thresholds is None else self.thresholds.low,
            "chosen_by": self.chosen_by,
            "one_model": self.one_model,
            "target_precision": self.target,
            "target_reached": None if self.target is None else self.thresholds is not None,
            "held_out": self.held_out_source,
            "held_out_images": held.n if held else 0,
            "held_out_automatic": held.n_auto if held else 0,
            "held_out_precision": _finite(held.precision) if held else None,
            "held_out_precision_95ci": [_finite(v) for v in interval],
            "held_out_coverage": held.coverage if held else None,
            "held_out_majority_share": self.majority_share,
            "no_better_than_majority": self.no_better_than_majority(),
            "reachable_target": self.reachable_target(),
        }

    def reachable_target(self) -> float | None:
        """Where the target was out of reach: the highest target these held-out images
        support (the best pair's 95% lower bound, rounded down to 0.01)."""
        held = self.held_out
        if self.target is None or self.thresholds is not None or held is None or not held.n_auto:
            return None
        bound = held.precision_interval[0]
        if not np.isfinite(bound) or bound < 0.01 or self.no_better_than_majority():
            return None  # nothing worth suggesting: always answering the most common class does as well
        return math.floor(bound * 100) / 100

    def no_better_than_majority(self) -> bool:
        """Whether the held-out images do not show the precision above always answering the
        most common class: its 95% lower bound is at or below that share (8 right of 10, whose
        interval reaches down to 0.49, show nothing against a majority of 0.60)."""
        held = self.held_out
        if held is None or not held.n_auto or self.majority_share is None:
            return False
        bound = held.precision_interval[0]
        return bool(np.isfinite(bound)) and bound <= self.majority_share


def _finite(value):
    return None if value is None or not np.isfinite(value) else float(value)


def choose_thresholds(
    probs: np.ndarray, truth: np.ndarray, given: Thresholds, target: float | None, source: str, task: str
) -> ThresholdChoice:
    """Given thresholds with their held-out precision, or the pair that reaches `target` there
    with 95% confidence (see `celeba_tui.autolabel.rules.select_thresholds`). One model: low = high."""
    one_model = np.asarray(probs).shape[0] == 1
    if one_model:
        given = Thresholds(given.high, given.high)
    truth = np.asarray(truth)
    majority = float(np.bincount(truth[truth >= 0]).max() / len(truth)) if len(truth) and (truth >= 0).any() else None
    if target is None:
        held = evaluate(probs, truth, given) if len(truth) else None
        return ThresholdChoice(given, "given", held, source, one_model=one_model, majority_share=majority)
    if len(truth) == 0:
        raise CelebaError(
            f"--target-precision needs held-out labelled images for task {task!r}, and there are none: "
            f"{source}. Label some images, or use --calibrate-on labels, or give --high/--low"
        )
    calibration: Calibration = select_thresholds(probs, truth, target)
    evaluation = calibration.evaluation
    if one_model:  # every low gives the same labels; the tie already went to the strictest, low == high
        evaluation = replace(evaluation, low=evaluation.high)
    thresholds = Thresholds(evaluation.high, evaluation.low) if calibration.reached else None
    return ThresholdChoice(thresholds, "target", evaluation, source, target, one_model, majority)


def plot_precision_coverage(
    path: Path, curves: list[tuple[str, np.ndarray, ThresholdChoice]], *, workspace_path: Path | None = None
) -> None:
    """One panel per task: the best precision reachable at each coverage with its 95% interval
    (few held-out images make a wide band), the chosen point marked, and the precision of
    always answering the most common class, the floor a model must clear.

    With `workspace_path`, `path` is the workspace's own report file (see atomic.owned_path)."""
    from celeba_tui.atomic import output_file
    from celeba_tui.autolabel.rules import wilson_interval
    from celeba_tui.console import counted
    from celeba_tui.figures import pyplot

    plt = pyplot()

    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4), squeeze=False)
    for ax, (task, curve, choice) in zip(axes[0], curves):
        ax.plot(
            curve["coverage"],
            curve["precision"],
            drawstyle="steps-post",
            marker="o" if len(curve) == 1 else None,  # models that rank no image above another: one point
            label="best (high, low) at each coverage",
        )
        low, high = wilson_interval(curve["n_correct"], curve["n_auto"])
        ax.fill_between(curve["coverage"], low, high, step="post", alpha=0.2, color="C0", label="95% interval")
        if choice.majority_share is not None:
            ax.axhline(
                choice.majority_share,
                color="0.4",
                linestyle=":",
                linewidth=1,
                label=f"always the most common class: {choice.majority_share:.2f}",
            )
        held = choice.held_out
        if held is not None and held.n_auto:
            ax.plot(
                [held.coverage],
                [held.precision],
                "o",
                color="C3",
                label=f"used: high {held.high:.3g}, low {held.low:.3g}",
            )
        if choice.target is not None:
            ax.axhline(choice.target, color="C2", linestyle="--", linewidth=1, label=f"target {choice.target:g}")
        ax.set(
            title=f"{task}: automatic labels on {counted(held.n, 'held-out image') if held else 'held-out images'}",
            xlabel="coverage (share labelled automatically)",
            ylabel="precision",
            xlim=(0, 1.02),
        )
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    with output_file(path, workspace_path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
