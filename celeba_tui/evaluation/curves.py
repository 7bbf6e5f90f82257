"""Precision and coverage of labels ranked by confidence, scored against ground truth.

Taking the `c` most confident share of images and labelling them with their predicted
class gives a precision; these are the figures docs/label-quality.md and the demo's
report compare with the ceiling (celeba_tui.evaluation.ceiling).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from celeba_tui.models.calibration import expected_calibration_error

COVERAGES = (0.5, 0.6, 0.7, 0.8, 1.0)
PRECISIONS = (0.95, 0.97, 0.99)


def cumulative_precision(confidence: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Precision of the k most confident images, for k = 1..n (ties keep the given order)."""
    order = np.argsort(-np.asarray(confidence, dtype=np.float64), kind="stable")
    hits = np.asarray(correct, dtype=bool)[order]
    return np.cumsum(hits) / np.arange(1, len(hits) + 1)


def precision_at(curve: np.ndarray, coverage: float) -> float:
    """Precision when the most confident `coverage` share is labelled (nan for no images)."""
    if len(curve) == 0:
        return float("nan")
    k = max(1, int(round(coverage * len(curve))))
    return float(curve[k - 1])


def coverage_at(curve: np.ndarray, precision: float) -> float:
    """The largest share that can be labelled at `precision` or better (0 when none can)."""
    reaching = np.flatnonzero(curve >= precision)
    return float((reaching.max() + 1) / len(curve)) if len(reaching) else 0.0


@dataclass(frozen=True)
class QualityScores:
    """One set of predictions against the truth."""

    images: int
    accuracy: float
    balanced_accuracy: float
    ece: float
    precision_at_coverage: dict[float, float] = field(default_factory=dict)
    coverage_at_precision: dict[float, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "images": self.images,
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "ece": self.ece,
            "precision_at_coverage": {str(k): v for k, v in self.precision_at_coverage.items()},
            "coverage_at_precision": {str(k): v for k, v in self.coverage_at_precision.items()},
        }


def balanced_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    recalls = [float(np.mean(predicted[truth == c] == c)) for c in np.unique(truth)]
    return float(np.mean(recalls)) if recalls else float("nan")


def scores_from_curve(curve: np.ndarray, balanced: float, ece: float = float("nan")) -> QualityScores:
    """Scores read off a precision curve (precision of the k most confident, k = 1..n)."""
    return QualityScores(
        images=len(curve),
        accuracy=float(curve[-1]) if len(curve) else float("nan"),
        balanced_accuracy=balanced,
        ece=ece,
        precision_at_coverage={c: precision_at(curve, c) for c in COVERAGES},
        coverage_at_precision={p: coverage_at(curve, p) for p in PRECISIONS},
    )


def score_probabilities(probabilities: np.ndarray, truth: np.ndarray) -> tuple[QualityScores, np.ndarray]:
    """Scores of (n, classes) probabilities (argmax as the label, its probability as the
    confidence) against class indices `truth`, and their precision curve."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.int64)
    predicted = probabilities.argmax(axis=1)
    curve = cumulative_precision(probabilities.max(axis=1), predicted == truth)
    balanced = balanced_accuracy(predicted, truth)
    return scores_from_curve(curve, balanced, expected_calibration_error(probabilities, truth)), curve
