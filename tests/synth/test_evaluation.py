"""Scoring labels against ground truth: precision-coverage curves and the oracle ceiling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celeba_tui.evaluation.ceiling import oracle_ceiling, typical_annotator_accuracy
from celeba_tui.evaluation.curves import coverage_at, cumulative_precision, precision_at, score_probabilities


def test_curve_takes_the_most_confident_first():
    confidence = np.array([0.9, 0.5, 0.8, 0.6])
    correct = np.array([True, False, True, False])
    curve = cumulative_precision(confidence, correct)
    assert curve.tolist() == [1.0, 1.0, 2 / 3, 0.5]
    assert precision_at(curve, 0.5) == 1.0 and precision_at(curve, 1.0) == 0.5
    assert coverage_at(curve, 0.99) == 0.5 and coverage_at(curve, 0.6) == 0.75
    assert coverage_at(np.array([0.2, 0.1]), 0.5) == 0.0 and np.isnan(precision_at(np.array([]), 0.5))


def test_scores_of_probabilities():
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8]])
    scores, curve = score_probabilities(probs, np.array([0, 1, 1, 2]))
    assert scores.accuracy == 0.75 and scores.balanced_accuracy == pytest.approx(5 / 6)
    assert scores.precision_at_coverage[0.5] == 1.0 and scores.coverage_at_precision[0.95] == 0.75
    assert len(curve) == 4 and 0 <= scores.ece <= 1


def _truth(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    yaw, light = rng.uniform(-40, 40, n), rng.uniform(-90, 90, n)
    return pd.DataFrame(
        {
            "image": [f"{i:06d}.jpg" for i in range(n)],
            "yaw_deg": yaw,
            "light_azimuth_deg": light,
            "light_strength": rng.uniform(0.3, 1.0, n),
            "orientation": np.where(yaw < -12, "left", np.where(yaw > 12, "right", "center")),
            "light": np.where(light < -25, "left", np.where(light > 25, "right", "center")),
        }
    )


def test_the_ceiling_abstains_near_the_boundaries_first():
    truth = _truth()
    for task in ("light", "orientation"):
        scores, curve = oracle_ceiling(truth, task)
        precisions = [scores.precision_at_coverage[c] for c in (0.5, 0.6, 0.7, 0.8, 1.0)]
        assert precisions == sorted(precisions, reverse=True), precisions
        assert precisions[0] > precisions[-1] and len(curve) == len(truth)
        assert 0.5 < typical_annotator_accuracy(truth, task) < 1.0
    # Light is read with more noise than orientation, so its ceiling is lower.
    assert oracle_ceiling(truth, "light")[0].accuracy < oracle_ceiling(truth, "orientation")[0].accuracy


def test_learnt_boundaries_find_where_labels_switch_class_and_score_a_perfect_reader():
    from celeba_tui.evaluation.ceiling import learnt_boundaries

    truth = _truth(4000, seed=1)
    rng = np.random.default_rng(2)
    # People who call "center" up to 18 degrees of yaw (the truth says 12), reading it with 2 degrees of noise.
    seen = truth["yaw_deg"] + rng.normal(0, 2, len(truth))
    labelled = truth.assign(label=np.where(seen < -18, "left", np.where(seen > 18, "right", "center")))
    learnt = learnt_boundaries(labelled.iloc[:2000], "orientation", truth.iloc[2000:])
    assert learnt.lower == pytest.approx(-18, abs=1.5) and learnt.upper == pytest.approx(18, abs=1.5)
    # Deciding by the people's boundaries, a perfect reader calls the 12-18 degree faces center.
    careful = np.where(seen < -12, "left", np.where(seen > 12, "right", "center"))
    unbiased = learnt_boundaries(truth.assign(label=careful).iloc[:2000], "orientation", truth.iloc[2000:])
    assert unbiased.lower == pytest.approx(-12, abs=1.0) and unbiased.upper == pytest.approx(12, abs=1.0)
    assert 0.7 < learnt.accuracy < 0.95 < unbiased.accuracy
    assert learnt.balanced_accuracy < 0.95 < unbiased.balanced_accuracy
    # No label of one class: no boundary to fit.
    assert learnt_boundaries(labelled[labelled["label"] != "right"], "orientation", truth) is None


def test_switch_points_of_soft_targets_sit_where_their_probabilities_cross_one_half():
    from celeba_tui.evaluation.ceiling import switch_points

    angle = np.linspace(-40, 40, 801)
    # Soft targets leaning to "center" out to +-20 degrees: each side's probability is 1/2 there.
    side = 1 / (1 + np.exp(-(np.abs(angle) - 20) / 3))
    probabilities = np.stack([np.where(angle < 0, side, 0), 1 - side, np.where(angle > 0, side, 0)], axis=1)
    lower, upper = switch_points(angle, probabilities)
    assert lower == pytest.approx(-20, abs=1.0) and upper == pytest.approx(20, abs=1.0)
    # Hard labels drawn from those probabilities switch at about the same angles.
    rng = np.random.default_rng(0)
    cumulative = np.tile(probabilities, (4, 1)).cumsum(axis=1)
    drawn = (rng.random((len(cumulative), 1)) > cumulative[:, :2]).sum(axis=1)
    assert switch_points(np.tile(angle, 4), np.eye(3)[drawn]) == pytest.approx((lower, upper), abs=1.5)
