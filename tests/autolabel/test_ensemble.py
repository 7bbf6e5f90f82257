"""The study's ensemble rules, flip TTA and threshold selection, as pure functions."""

from __future__ import annotations

import numpy as np
import pytest

from celeba_tui.autolabel.rules import (
    AGREE,
    CONFIDENT_DISAGREE,
    CONFIDENT_ONE,
    DISSENT,
    MANUAL,
    NO_CONFIDENT,
    Thresholds,
    contradictions,
    decide,
    evaluate,
    flip_average,
    precision_coverage_curve,
    select_thresholds,
    sweep,
    wilson_interval,
)

L, C, R = 0, 1, 2
T = Thresholds(high=0.9, low=0.6)


def p(cls: int, conf: float) -> list[float]:
    """A 3-class probability vector predicting `cls` with confidence `conf`."""
    rest = (1 - conf) / 2
    return [conf if i == cls else rest for i in range(3)]


# (per-model (class, confidence), expected label, expected rule)
CASES = [
    # two models: the study's three rules
    ([(L, 0.95), (L, 0.70)], L, AGREE),
    ([(L, 0.95), (L, 0.95)], L, AGREE),
    ([(R, 0.70), (R, 0.80)], MANUAL, NO_CONFIDENT),  # agree but nobody confident
    ([(L, 0.95), (R, 0.50)], L, CONFIDENT_ONE),  # the other is unsure (< low)
    ([(L, 0.50), (R, 0.92)], R, CONFIDENT_ONE),
    ([(L, 0.95), (R, 0.70)], MANUAL, DISSENT),  # the other is not unsure
    ([(L, 0.95), (R, 0.95)], MANUAL, CONFIDENT_DISAGREE),
    ([(L, 0.50), (R, 0.50)], MANUAL, NO_CONFIDENT),
    # boundaries: >= high is confident, < low is unsure
    ([(C, 0.90), (C, 0.10 + 0.5)], C, AGREE),
    ([(C, 0.90), (L, 0.60)], MANUAL, DISSENT),
    ([(C, 0.8999), (C, 0.8999)], MANUAL, NO_CONFIDENT),
    # three models
    ([(L, 0.95), (L, 0.70), (L, 0.40)], L, AGREE),
    ([(L, 0.95), (L, 0.70), (R, 0.40)], L, CONFIDENT_ONE),
    ([(L, 0.95), (L, 0.70), (R, 0.65)], MANUAL, DISSENT),
    ([(L, 0.95), (C, 0.50), (R, 0.45)], L, CONFIDENT_ONE),  # three different classes
    ([(L, 0.95), (R, 0.50), (R, 0.55)], L, CONFIDENT_ONE),  # unsure majority loses
    ([(L, 0.95), (L, 0.91), (R, 0.93)], MANUAL, CONFIDENT_DISAGREE),
    ([(C, 0.80), (C, 0.70), (C, 0.65)], MANUAL, NO_CONFIDENT),
    # four models, confident 2 against 2: a tie, so a person decides
    ([(L, 0.95), (L, 0.95), (R, 0.95), (R, 0.95)], MANUAL, CONFIDENT_DISAGREE),
]


@pytest.mark.parametrize("models, label, rule", CASES)
def test_rules_table(models, label, rule):
    probs = np.array([[p(cls, conf)] for cls, conf in models])
    decisions = decide(probs, T)
    assert decisions.label.tolist() == [label]
    assert decisions.rule.tolist() == [rule]
    if label == MANUAL:
        assert np.isnan(decisions.confidence[0])
    else:
        backing = max(conf for cls, conf in models if cls == label)
        assert decisions.confidence[0] == pytest.approx(backing)


def test_rules_vectorised_match_one_by_one():
    two = [case for case in CASES if len(case[0]) == 2]
    stacked = np.array([[p(*model) for model in models] for models, _, _ in two]).transpose(1, 0, 2)
    batch = decide(stacked, T)
    assert batch.label.tolist() == [label for _, label, _ in two]
    assert batch.rule.tolist() == [rule for _, _, rule in two]


def test_argmax_tie_goes_to_lower_class_index():
    probs = np.array([[[0.5, 0.5, 0.0]], [[0.5, 0.5, 0.0]]])
    decisions = decide(probs, Thresholds(0.5, 0.5))
    assert decisions.label.tolist() == [L] and decisions.rule.tolist() == [AGREE]


def test_low_equal_high_is_exactly_one_confident():
    probs = np.array([[p(L, 0.95)], [p(R, 0.85)]])
    assert decide(probs, Thresholds(0.9, 0.9)).label.tolist() == [L]
    assert decide(probs, Thresholds(0.9, 0.6)).label.tolist() == [MANUAL]


def test_bad_thresholds_and_shapes():
    with pytest.raises(ValueError):
        Thresholds(0.5, 0.8)
    with pytest.raises(ValueError):
        decide(np.zeros((2, 3)), T)


# ---------------------------------------------------------------- flip TTA
def test_flip_average_swaps_back_before_averaging():
    probs = np.array([[0.7, 0.2, 0.1]])
    # The mirrored image sees the light on the other side: "right" there is "left" here.
    mirrored = np.array([[0.1, 0.2, 0.7]])
    assert flip_average(probs, mirrored, ("left", "center", "right")) == pytest.approx(np.array([[0.7, 0.2, 0.1]]))
    other = flip_average(probs, np.array([[0.6, 0.3, 0.1]]), ("left", "center", "right"))
    assert other == pytest.approx(np.array([[0.4, 0.25, 0.35]]))


# --------------------------------------------------------------- thresholds
def synthetic_ensemble(n=4000, seed=0):
    """Two models whose confidence is calibrated: P(correct | conf) = conf."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n)
    probs = np.zeros((2, n, 3))
    for m in range(2):
        conf = rng.uniform(0.4, 1.0, n)
        correct = rng.random(n) < conf
        wrong = (truth + rng.integers(1, 3, n)) % 3
        pred = np.where(correct, truth, wrong)
        probs[m] = (1 - conf[:, None]) / 2
        probs[m, np.arange(n), pred] = conf
    return probs, truth


def test_evaluate_counts_against_truth():
    probs = np.array([[p(L, 0.95), p(R, 0.95), p(C, 0.5)], [p(L, 0.7), p(R, 0.3), p(C, 0.5)]])
    truth = np.array([L, C, C])
    result = evaluate(probs, truth, T)
    assert (result.n, result.n_auto, result.n_correct) == (3, 2, 1)
    assert result.coverage == pytest.approx(2 / 3) and result.precision == pytest.approx(0.5)


def test_sweep_matches_evaluate_on_every_pair():
    probs, truth = synthetic_ensemble(600, seed=1)
    grid = np.linspace(0.3, 1.0, 15)
    table = sweep(probs, truth, grid)
    assert len(table) == sum(1 for h in grid for low in grid if low <= h)
    for row in table[::7]:
        result = evaluate(probs, truth, Thresholds(row["high"], row["low"]))
        assert (result.n_auto, result.n_correct) == (row["n_auto"], row["n_correct"])


@pytest.mark.parametrize("target", [0.9, 0.95, 0.98])
def test_select_thresholds_reaches_target_with_most_coverage(target):
    probs, truth = synthetic_ensemble()
    calibration = select_thresholds(probs, truth, target)
    assert calibration.reached
    chosen = calibration.evaluation
    # Reached with 95% confidence: the lower end of the Wilson interval, not just the estimate.
    assert chosen.precision_interval[0] >= target
    again = evaluate(probs, truth, calibration.thresholds)
    assert (again.n_auto, again.n_correct) == (chosen.n_auto, chosen.n_correct)
    # No pair on the grid buys more coverage at the target.
    table = sweep(probs, truth)
    table = table[table["n_auto"] > 0]
    bound = wilson_interval(table["n_correct"], table["n_auto"])[0]
    assert chosen.n_auto == table["n_auto"][bound >= target].max()
    # Calibrated confidences: a higher target costs coverage.
    if target < 0.98:
        assert chosen.coverage > select_thresholds(probs, truth, 0.98).evaluation.coverage


def test_selection_guards_against_optimism_on_few_images():
    probs = np.array([[p(L, 0.99), p(R, 0.99), p(C, 0.99)], [p(L, 0.99), p(R, 0.99), p(C, 0.99)]])
    truth = np.array([L, R, C])
    # 3 of 3 right is precision 1.0, but the data cannot show 0.9 with 95% confidence.
    assert not select_thresholds(probs, truth, 0.9).reached
    assert select_thresholds(probs, truth, 0.4).reached


def test_select_thresholds_unreachable_target_labels_nothing():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet([1, 1, 1], size=(2, 500))
    truth = rng.integers(0, 3, 500)  # models know nothing
    calibration = select_thresholds(probs, truth, 0.999)
    assert not calibration.reached and calibration.thresholds is None
    with pytest.raises(ValueError):
        select_thresholds(probs, truth, 1.5)


def test_precision_coverage_frontier_is_monotone():
    probs, truth = synthetic_ensemble(2000, seed=2)
    curve = precision_coverage_curve(probs, truth)
    assert np.all(np.diff(curve["coverage"]) > 0)
    assert np.all(np.diff(curve["precision"]) < 0)
    assert curve["coverage"][-1] <= 1.0
    # The counts behind each point (the figure's 95% band) say the same as its two shares.
    assert np.allclose(curve["n_auto"] / len(truth), curve["coverage"])
    assert np.allclose(curve["n_correct"] / curve["n_auto"], curve["precision"])


def test_wilson_interval_contains_estimate():
    low, high = wilson_interval(95, 100)
    assert low < 0.95 < high and high <= 1.0
    assert low == pytest.approx(0.8882, abs=1e-4)  # the textbook value
    assert all(np.isnan(wilson_interval(0, 0)))
    lows, highs = wilson_interval(np.array([95, 3]), np.array([100, 3]))
    assert lows[0] == pytest.approx(low) and lows[1] == pytest.approx(0.4385, abs=1e-4) and highs[1] == 1.0


def test_contradictions_only_where_automatic_and_human_labelled():
    probs = np.array([[p(L, 0.95), p(R, 0.95), p(C, 0.95), p(L, 0.5)], [p(L, 0.9), p(R, 0.9), p(C, 0.9), p(L, 0.5)]])
    human = np.array([R, R, -1, R])
    assert contradictions(decide(probs, T), human).tolist() == [True, False, False, False]
