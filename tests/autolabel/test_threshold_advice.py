"""What autolabel tells a person about its thresholds: the target the held-out images
support when the one asked for is out of reach, and models no better than the majority."""

from __future__ import annotations

import numpy as np

from celeba_tui.autolabel.calibration import choose_thresholds
from celeba_tui.autolabel.rules import Thresholds


def one_model(predicted: np.ndarray, confidence: float = 0.9) -> np.ndarray:
    probs = np.full((1, len(predicted), 3), (1 - confidence) / 2)
    probs[0, np.arange(len(predicted)), predicted] = confidence
    return probs


def test_an_unreachable_target_comes_with_the_best_supported_one():
    truth = np.array([0] * 34 + [1] * 33 + [2] * 33)
    predicted = truth.copy()
    predicted[:8] = 2  # 92 of 100 right, all equally confident: no subset does better
    choice = choose_thresholds(one_model(predicted), truth, Thresholds(0.9, 0.6), 0.99, "test", "light")
    assert choice.thresholds is None
    reachable = choice.reachable_target()
    lower_bound = choice.held_out.precision_interval[0]
    assert reachable is not None and reachable <= lower_bound < reachable + 0.01
    # That target is reached on the same images.
    again = choose_thresholds(one_model(predicted), truth, Thresholds(0.9, 0.6), reachable, "test", "light")
    assert again.thresholds is not None and again.reachable_target() is None


def test_models_no_better_than_the_majority_class_are_flagged():
    truth = np.array([1] * 70 + [0] * 15 + [2] * 15)
    always_center = np.ones(100, dtype=np.int64)
    choice = choose_thresholds(one_model(always_center), truth, Thresholds(0.5, 0.5), None, "test", "light")
    assert choice.majority_share == 0.7 and choice.held_out.precision == 0.7
    assert choice.no_better_than_majority() and choice.to_dict()["no_better_than_majority"] is True
    right = choose_thresholds(one_model(truth), truth, Thresholds(0.5, 0.5), None, "test", "light")
    assert not right.no_better_than_majority()
    # Above the share, but not shown to be (found by an ML walkthrough: 7 of 11 right, 0.636,
    # its interval 0.35-0.85 holding the 0.60 majority): flagged, and no target suggested.
    few_truth = np.array([1] * 6 + [0] * 3 + [2] * 1)
    few = np.array([1] * 6 + [1] * 1 + [0] * 3)  # 8 of 10 right (0.8 > 0.6), interval 0.49-0.94
    weak = choose_thresholds(one_model(few), few_truth, Thresholds(0.5, 0.5), 0.99, "test", "light")
    assert weak.held_out.precision > weak.majority_share and weak.no_better_than_majority()
    assert weak.reachable_target() is None
