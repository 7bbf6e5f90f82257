"""A workspace's automatic labels and predictions scored against synthetic ground truth.

Only images nobody labelled count (what the ensemble is for): for each task, every
model's and the ensemble's probabilities, the study's rules' automatic labels, the
people's own accuracy, and the ceiling on the same images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from celeba_tui.evaluation.ceiling import (
    LearntBoundaries,
    class_indices,
    learnt_boundaries,
    oracle_ceiling,
    typical_annotator_accuracy,
)
from celeba_tui.evaluation.curves import QualityScores, score_probabilities
from celeba_tui.vocabulary import MODEL, PEOPLE_STATUSES

if TYPE_CHECKING:
    from celeba_tui.workspace import Workspace


@dataclass
class TaskQuality:
    task: str
    images: int  # nobody labelled them and every model predicted them
    models: dict[str, QualityScores]
    ensemble: QualityScores
    ceiling: QualityScores | None
    automatic_labels: int  # what the rules labelled among them
    automatic_precision: float
    annotators: dict[str, float] = field(default_factory=dict)  # accuracy on the images each labelled
    typical_annotators: float = float("nan")  # simulated typical annotators' mean accuracy
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # "ensemble", "ceiling": precision of the k best
    # Where the people's labels switch class along the true angle, and a perfect reader's scores by them.
    learnt: LearntBoundaries | None = None

    @property
    def automatic_coverage(self) -> float:
        return self.automatic_labels / self.images if self.images else float("nan")

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "images": self.images,
            "models": {name: scores.to_dict() for name, scores in self.models.items()},
            "ensemble": self.ensemble.to_dict(),
            "ceiling": self.ceiling.to_dict() if self.ceiling is not None else None,
            "automatic_labels": self.automatic_labels,
            "automatic_coverage": self.automatic_coverage,
            "automatic_precision": self.automatic_precision,
            "annotators": self.annotators,
            "typical_annotators": self.typical_annotators,
            "learnt_boundaries": self.learnt.to_dict() if self.learnt is not None else None,
        }


def evaluate_workspace(
    workspace: Workspace,
    ground_truth: pd.DataFrame,
    seed: int = 0,
    *,
    with_ceiling: bool = True,
    model_names: dict[str, str] | None = None,
    ensembles: dict[str, list[str]] | None = None,
) -> list[TaskQuality]:
    """Score every task with predictions in the store (run `celeba autolabel` first).

    `ground_truth` has an image column and a class column per task; the ceiling and the
    simulated typical annotators need `celeba synth`'s angles too (with_ceiling=False
    for real photographs, whose class boundaries differ). `model_names` maps the store's
    prediction keys to what the tables show (TaskReport.model_keys -> models). `ensembles`
    names, per task, the prediction keys the ensemble row averages (the ensemble that
    labelled last, after a self-training round); by default every model of the task."""
    from celeba_tui.agreement.apply_merge import human_labels

    truth = ground_truth.set_index("image")
    results = []
    with workspace.open_store(readonly=True) as store:
        people = human_labels(store, workspace.tasks)
        for task in workspace.task_names:
            current = store.current_labels(task).set_index("image")
            predictions = store.predictions(task)
            if predictions.empty or task not in truth.columns:
                continue
            labelled = set(current.index[current["status"].isin(PEOPLE_STATUSES)])
            per_model = {
                model: pd.Series(rows["probs"].to_numpy(), index=rows["image"].to_numpy())
                for model, rows in predictions.groupby("model")
            }
            scope = sorted(set.intersection(*(set(s.index) for s in per_model.values())) - labelled)
            scope = [name for name in scope if name in truth.index]
            if not scope:
                continue
            answer = class_indices(truth.loc[scope, task])
            probs = {m: np.asarray(s.loc[scope].tolist(), dtype=np.float64) for m, s in per_model.items()}
            names = model_names or {}
            models = {names.get(m, m): score_probabilities(p, answer)[0] for m, p in probs.items()}
            members = [m for m in (ensembles or {}).get(task, []) if m in probs] or list(probs)
            ensemble, ensemble_curve = score_probabilities(np.mean([probs[m] for m in members], axis=0), answer)
            task_people = people[people["task"] == task]
            if with_ceiling:
                scored = truth.loc[scope].reset_index()
                ceiling, ceiling_curve = oracle_ceiling(scored, task, seed)
                typical = typical_annotator_accuracy(ground_truth, task, seed)
                labelled = task_people[["image", "label"]].merge(truth, left_on="image", right_index=True)
                learnt = learnt_boundaries(labelled, task, scored)
            else:
                ceiling, ceiling_curve, typical, learnt = None, None, float("nan"), None
            status = current["status"].reindex(scope)
            automatic = status == MODEL
            auto_labels = current["label"].reindex(scope)[automatic]
            right = (auto_labels.to_numpy() == truth.loc[auto_labels.index, task].to_numpy()).sum()
            annotators = {
                str(name): float((rows["label"].to_numpy() == truth[task].reindex(rows["image"]).to_numpy()).mean())
                for name, rows in task_people.groupby("annotator")
            }
            results.append(
                TaskQuality(
                    task=task,
                    images=len(scope),
                    models=models,
                    ensemble=ensemble,
                    ceiling=ceiling,
                    automatic_labels=int(automatic.sum()),
                    automatic_precision=float(right / automatic.sum()) if automatic.sum() else float("nan"),
                    annotators=annotators,
                    typical_annotators=typical,
                    curves={"ensemble": ensemble_curve, **({"ceiling": ceiling_curve} if with_ceiling else {})},
                    learnt=learnt,
                )
            )
    return results


def plot_precision_coverage(path, results: list[TaskQuality]) -> None:
    """Precision against coverage of the ensemble next to the ceiling, one panel per task."""
    from celeba_tui.figures import pyplot

    plt = pyplot()

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), squeeze=False)
    for ax, result in zip(axes[0], results):
        for name, style in (("ensemble", "-"), ("ceiling", "--")):
            if name not in result.curves:
                continue
            curve = result.curves[name]
            coverage = np.arange(1, len(curve) + 1) / len(curve)
            label = "ensemble" if name == "ensemble" else "ceiling (oracle with a careful annotator's noise)"
            ax.plot(coverage, curve, style, label=label)
        if not np.isnan(result.typical_annotators):
            ax.axhline(result.typical_annotators, color="grey", lw=0.8, label="typical annotator")
        ax.set(title=f"{result.task}: {result.images:,} images nobody labelled", xlabel="coverage", ylabel="precision")
        ax.set_ylim(
            max(0.5, float(np.nanmin(result.curves["ensemble"][len(result.curves["ensemble"]) // 10 :])) - 0.05), 1.0
        )
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
