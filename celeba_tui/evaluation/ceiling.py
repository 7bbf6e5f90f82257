"""What is attainable: an oracle that reads each image's true angle with a careful
(typical) simulated annotator's noise, labels it by the task's true class boundary, and
abstains first on the readings closest to a boundary (in units of its own noise).

Its precision at each coverage is the ceiling every figure of docs/label-quality.md is
read against. A model sees the image itself, not a noisy reading, so it can exceed this
ceiling in places; people labelling these images cannot.

What the people's labels allow is a second, separate bound: where along the true angle
their labels switch class (`learnt_boundaries`). A model learns those boundaries, not the
true ones; a perfect reader of the angle that decides by them scores what learning from
these labels could reach at best.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from celeba_tui.evaluation.curves import (
    QualityScores,
    balanced_accuracy,
    cumulative_precision,
    scores_from_curve,
)
from celeba_tui.synth.annotators import ANGLE_COLUMNS, THRESHOLDS, reading_noise
from celeba_tui.synth.truth import CLASSES


def class_indices(labels) -> np.ndarray:
    index = {name: i for i, name in enumerate(CLASSES)}
    return np.asarray([index[label] for label in labels], dtype=np.int64)


def oracle_ceiling(
    ground_truth: pd.DataFrame, task: str, seed: int = 0, repeats: int = 8
) -> tuple[QualityScores, np.ndarray]:
    """The oracle's scores on `ground_truth`'s images (rows of a `celeba synth` ground_truth.csv)
    and its precision curve (precision of the k most confident, k = 1..n), both averaged
    over `repeats` draws of its reading noise (one draw moves them by about 0.01)."""
    truth = class_indices(ground_truth[task])
    curves, balanced = [], []
    for r in range(repeats):
        predicted, margin = oracle_reading(ground_truth, task, np.random.default_rng([seed, 11, r]))
        curves.append(cumulative_precision(margin, predicted == truth))
        balanced.append(balanced_accuracy(predicted, truth))
    curve = np.mean(curves, axis=0)
    return scores_from_curve(curve, float(np.mean(balanced))), curve


def oracle_reading(ground_truth: pd.DataFrame, task: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(class index read, margin from the nearest boundary in units of the reading noise)."""
    angle = ground_truth[ANGLE_COLUMNS[task]].to_numpy(dtype=float)
    noise = reading_noise(ground_truth, task)
    seen = angle + rng.normal(0, 1, len(angle)) * noise
    threshold = THRESHOLDS[task]
    predicted = np.where(seen < -threshold, 0, np.where(seen > threshold, 2, 1))
    return predicted, np.abs(np.abs(seen) - threshold) / noise


def typical_annotator_accuracy(ground_truth: pd.DataFrame, task: str, seed: int = 0) -> float:
    """Mean accuracy of the simulated typical annotators (ann3..ann5), each labelling a fifth of the images."""
    from celeba_tui.synth.annotators import annotator_summary, simulate_annotators

    labels = simulate_annotators(ground_truth, 5, 0.0, seed + 101, coverage=1.0)
    rows = [row for row in annotator_summary(labels, ground_truth) if row["kind"] == "typical"]
    return float(np.mean([row[f"{task}_accuracy"] for row in rows]))


@dataclass(frozen=True)
class LearntBoundaries:
    """Where people's labels switch class along the true angle (degrees), and what a perfect
    reader of the angle deciding by these boundaries scores on other images."""

    lower: float  # left below, center above
    upper: float  # center below, right above
    accuracy: float
    balanced_accuracy: float

    def to_dict(self) -> dict:
        return asdict(self)


def learnt_boundaries(labelled: pd.DataFrame, task: str, scored: pd.DataFrame) -> LearntBoundaries | None:
    """The class boundaries in `labelled` (one row per person's label: its image's ground-truth
    angle columns and a `label` class name), each where a logistic fit of "this side of it"
    against the angle crosses 1/2, scored on `scored` (ground-truth rows) by the true angle.
    None where a class has no label (no boundary to fit)."""
    angle = labelled[ANGLE_COLUMNS[task]].to_numpy(dtype=float)
    labels = class_indices(labelled["label"])
    if len(np.unique(labels)) < len(CLASSES):
        return None
    lower, upper = switch_points(angle, np.eye(len(CLASSES))[labels])
    seen = scored[ANGLE_COLUMNS[task]].to_numpy(dtype=float)
    predicted = np.where(seen < lower, 0, np.where(seen > upper, 2, 1))
    truth = class_indices(scored[task])
    return LearntBoundaries(lower, upper, float(np.mean(predicted == truth)), balanced_accuracy(predicted, truth))


def switch_points(angle: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """(lower, upper): the angles where targets (N, 3: a probability per class, left /
    center / right; one-hot for hard labels) turn from left to center and from center to
    right, each where a logistic fit of that side's probability crosses 1/2. Soft targets
    (Dawid-Skene's posteriors) place them where training on them teaches a model to."""
    probabilities = np.asarray(probabilities, dtype=float)
    return crossing(angle, probabilities[:, 1:].sum(axis=1)), crossing(angle, probabilities[:, 2])


def crossing(x: np.ndarray, above: np.ndarray) -> float:
    """The x at which a (practically unpenalised) logistic fit of P(above | x) crosses 1/2;
    `above` is a probability per sample (0/1 for hard labels)."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float).reshape(-1, 1)
    above = np.asarray(above, dtype=float)
    # Each sample once on each side, weighted by its probability of being there.
    sides = np.r_[np.ones(len(x)), np.zeros(len(x))]
    fit = LogisticRegression(C=1e8).fit(np.vstack([x, x]), sides, sample_weight=np.r_[above, 1 - above])
    return float(-fit.intercept_[0] / fit.coef_[0, 0])
