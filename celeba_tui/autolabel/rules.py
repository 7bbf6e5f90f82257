"""The study's ensemble rules, flip test-time augmentation and threshold choice (pure functions).

Probabilities are stacked as ``probs[model, image, class]`` in the task's class order.
A model's prediction is its argmax (a tie goes to the lower class index, numpy's rule)
and its confidence is that probability.

The rules (study, section 9), for any number of models, per image:

* a model is *confident* when its confidence is >= ``high`` and *unsure* when it is
  < ``low`` (``low <= high``; in between it is neither);
* no confident model -> manual (``no-confident``);
* confident models that disagree with each other -> manual (``confident-disagree``);
* otherwise the confident models name one class ``c``:
  every model predicts ``c`` -> automatic label ``c`` (``agree``, rule 1); the models
  that predict something else are all unsure -> automatic label ``c``
  (``confident-one``, rule 2: "one of them had low confidence while the others were
  high"); a dissenting model that is not unsure -> manual (``dissent``).

With two models this is exactly the study's three rules; ``low == high`` gives the
literal reading "they disagree and exactly one is confident". With three or more,
majorities do not vote: two unsure models agreeing against one confident model lose
to it, and a confident pair with one dissenting model in [low, high) goes to a person.
The automatic label's confidence (``final_conf``) is the highest confidence among the
models that predict it.

With one model there is nobody to agree or dissent: the model labels an image when its
confidence is >= ``high`` (``confident``) and sends it to a person otherwise
(``no-confident``); ``low`` plays no part. Thresholds are chosen for a target precision
the same way as for an ensemble (`select_thresholds`), and come out with low == high.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from celeba_tui.mirror import mirror_permutation

MANUAL = -1
RULES = ("agree", "confident-one", "no-confident", "confident-disagree", "dissent", "confident")
AGREE, CONFIDENT_ONE, NO_CONFIDENT, CONFIDENT_DISAGREE, DISSENT, CONFIDENT = range(len(RULES))
AUTOMATIC_RULES = (AGREE, CONFIDENT_ONE, CONFIDENT)
STUDY_RULES = RULES[:5]  # two or more models
SINGLE_MODEL_RULES = (RULES[CONFIDENT], RULES[NO_CONFIDENT])


def rule_names(n_models: int) -> tuple[str, ...]:
    """The rules that can fire for an ensemble of `n_models` (what its report counts)."""
    return SINGLE_MODEL_RULES if n_models == 1 else STUDY_RULES


DEFAULT_LOW = 0.6


def default_low(high: float) -> float:
    """--low where it is not given: 0.6, or `high` where that is lower (one model, which
    --low plays no part in, may then be asked for `--high 0.5` alone)."""
    return min(DEFAULT_LOW, high)


@dataclass(frozen=True)
class Thresholds:
    high: float
    low: float

    def __post_init__(self) -> None:
        if not (0.0 <= self.low <= self.high <= 1.0):
            raise ValueError(f"thresholds need 0 <= low <= high <= 1 (got high={self.high}, low={self.low})")


@dataclass(frozen=True)
class Decisions:
    """Per image: class index or MANUAL, final confidence (NaN when manual), rule code."""

    label: np.ndarray
    confidence: np.ndarray
    rule: np.ndarray

    @property
    def automatic(self) -> np.ndarray:
        return self.label != MANUAL


def _check_probs(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 3 or probs.shape[0] < 1:
        raise ValueError(f"probs must be (models, images, classes); got shape {probs.shape}")
    return probs


def _confident_class(pred: np.ndarray, confident: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The class the confident models name (or -1) and how many distinct classes they name."""
    votes = np.zeros((pred.shape[1], n_classes), dtype=np.int32)
    models, images = np.nonzero(confident)
    np.add.at(votes, (images, pred[models, images]), 1)
    n_named = (votes > 0).sum(axis=1)
    named = np.where(n_named == 1, votes.argmax(axis=1), -1)
    return named, n_named


def decide(probs: np.ndarray, thresholds: Thresholds) -> Decisions:
    """Apply the study's rules to every image (see the module docstring)."""
    probs = _check_probs(probs)
    pred = probs.argmax(axis=2)
    conf = probs.max(axis=2)
    named, n_named = _confident_class(pred, conf >= thresholds.high, probs.shape[2])
    dissent = pred != named[None, :]
    dissenters_unsure = np.all(~dissent | (conf < thresholds.low), axis=0)
    rule = np.full(pred.shape[1], DISSENT, dtype=np.int8)
    rule[dissenters_unsure] = CONFIDENT_ONE
    rule[~dissent.any(axis=0)] = AGREE
    rule[n_named == 0] = NO_CONFIDENT
    rule[n_named > 1] = CONFIDENT_DISAGREE
    if probs.shape[0] == 1:
        rule[rule == AGREE] = CONFIDENT
    automatic = np.isin(rule, AUTOMATIC_RULES)
    label = np.where(automatic, named, MANUAL)
    backing = np.where(pred == named[None, :], conf, -np.inf).max(axis=0)
    confidence = np.where(automatic, backing, np.nan)
    return Decisions(label, confidence, rule)


# ------------------------------------------------------------- flip (TTA)
def flip_average(probs: np.ndarray, probs_mirrored: np.ndarray, classes) -> np.ndarray:
    """Average a model's probabilities with those of the mirrored images, left/right swapped back."""
    return (np.asarray(probs) + np.asarray(probs_mirrored)[..., mirror_permutation(classes)]) / 2


# ------------------------------------------------------ precision, coverage
@dataclass(frozen=True)
class Evaluation:
    """How thresholds did on labelled images: automatic labels made and how many were right."""

    high: float
    low: float
    n: int
    n_auto: int
    n_correct: int

    @property
    def coverage(self) -> float:
        return self.n_auto / self.n if self.n else 0.0

    @property
    def precision(self) -> float:
        return self.n_correct / self.n_auto if self.n_auto else float("nan")

    @property
    def precision_interval(self) -> tuple[float, float]:
        return wilson_interval(self.n_correct, self.n_auto)


def evaluate(probs: np.ndarray, truth: np.ndarray, thresholds: Thresholds) -> Evaluation:
    """The precision and coverage of the rules with `thresholds` against true class indices."""
    decisions = decide(probs, thresholds)
    truth = np.asarray(truth)
    auto = decisions.automatic
    return Evaluation(
        thresholds.high,
        thresholds.low,
        len(truth),
        int(auto.sum()),
        int((decisions.label[auto] == truth[auto]).sum()),
    )


def wilson_interval(successes, n, z: float = 1.96):
    """The Wilson score interval (95% by default) of a proportion; nan for n = 0.

    Works on scalars (returns a tuple of floats) and on numpy arrays (a tuple of arrays).
    """
    successes, n = np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        denominator = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low, high = np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def threshold_grid(probs: np.ndarray, quantiles: int = 200) -> np.ndarray:
    """Candidate thresholds: every 0.01 plus quantiles of the confidences (fine where they bunch up)."""
    conf = _check_probs(probs).max(axis=2).ravel()
    points = np.concatenate([np.linspace(0.0, 1.0, 101), np.quantile(conf, np.linspace(0, 1, quantiles + 1))])
    return np.unique(np.round(points, 4))


def sweep(probs: np.ndarray, truth: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """Evaluate every (high, low) pair of the grid with low <= high.

    Returns a structured array with fields high, low, n_auto, n_correct. For a fixed
    `high` only the rule-2 images depend on `low` (they are automatic when their most
    confident dissenter is below it), so each `high` costs one pass plus a sort.
    """
    probs = _check_probs(probs)
    truth = np.asarray(truth)
    grid = threshold_grid(probs) if grid is None else np.unique(np.asarray(grid, dtype=np.float64))
    pred, conf = probs.argmax(axis=2), probs.max(axis=2)
    rows = []
    for high in grid:
        named, n_named = _confident_class(pred, conf >= high, probs.shape[2])
        single = n_named == 1
        dissent = pred != named[None, :]
        agree = single & ~dissent.any(axis=0)
        correct = named == truth
        worst_dissenter = np.where(dissent, conf, -np.inf).max(axis=0)
        contested = single & ~agree
        order = np.sort(worst_dissenter[contested])
        order_correct = np.sort(worst_dissenter[contested & correct])
        lows = grid[grid <= high]
        # Rule 2 fires when the most confident dissenter is < low.
        extra = np.searchsorted(order, lows, side="left")
        extra_correct = np.searchsorted(order_correct, lows, side="left")
        n_agree, n_agree_correct = int(agree.sum()), int((agree & correct).sum())
        for low, k, kc in zip(lows, extra, extra_correct):
            rows.append((high, low, n_agree + int(k), n_agree_correct + int(kc)))
    return np.array(rows, dtype=[("high", "f8"), ("low", "f8"), ("n_auto", "i8"), ("n_correct", "i8")])


@dataclass(frozen=True)
class Calibration:
    """Thresholds chosen for a target precision on held-out labels, and what they buy."""

    target: float
    reached: bool
    evaluation: Evaluation  # the chosen pair, or the most precise one when not reached

    @property
    def thresholds(self) -> Thresholds | None:
        """The pair to use; None when the target cannot be met (label nothing automatically)."""
        return Thresholds(self.evaluation.high, self.evaluation.low) if self.reached else None


def select_thresholds(
    probs: np.ndarray, truth: np.ndarray, target_precision: float, grid: np.ndarray | None = None
) -> Calibration:
    """The (high, low) pair with the largest coverage whose precision reaches the target
    with 95% confidence: the lower end of its Wilson interval is >= the target.

    The point estimate alone is not enough: the pair is picked among thousands on a few
    hundred labelled images, so the best-looking one is optimistic (on synthetic CelebA
    a pair at 0.951 on the validation split gave 0.897 on the unlabelled images). Ties
    go to the higher bound, then the stricter thresholds. When no pair reaches the
    target, `reached` is False and the pair with the highest bound is reported instead.
    """
    if not 0.0 < target_precision <= 1.0:
        raise ValueError(f"target precision must be in (0, 1]; got {target_precision}")
    table = sweep(probs, truth, grid)
    n = len(truth)
    made = table[table["n_auto"] > 0]
    if n == 0 or len(made) == 0:
        return Calibration(target_precision, False, Evaluation(1.0, 1.0, n, 0, 0))
    bound = wilson_interval(made["n_correct"], made["n_auto"])[0]
    ok = bound >= target_precision - 1e-12
    pool, pool_bound = (made[ok], bound[ok]) if ok.any() else (made, bound)
    key = (
        (pool["low"], pool["high"], pool_bound, pool["n_auto"])
        if ok.any()
        else (pool["low"], pool["high"], pool["n_auto"], pool_bound)
    )
    best = pool[np.lexsort(key)[-1]]
    evaluation = Evaluation(float(best["high"]), float(best["low"]), n, int(best["n_auto"]), int(best["n_correct"]))
    return Calibration(target_precision, bool(ok.any()), evaluation)


def precision_coverage_curve(probs: np.ndarray, truth: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """The best precision reachable at each coverage (the frontier of the sweep), by coverage,
    with the counts behind each point (images labelled automatically, and of them right)."""
    table = sweep(probs, truth, grid)
    table = table[table["n_auto"] > 0]
    n = len(truth)
    coverage = table["n_auto"] / n
    precision = table["n_correct"] / table["n_auto"]
    order = np.lexsort((precision, coverage))[::-1]
    frontier, best = [], -1.0
    for i in order:
        if precision[i] > best:
            best = precision[i]
            row = table[i]
            frontier.append((coverage[i], precision[i], row["high"], row["low"], row["n_auto"], row["n_correct"]))
    frontier.reverse()
    return np.array(
        frontier,
        dtype=[
            ("coverage", "f8"),
            ("precision", "f8"),
            ("high", "f8"),
            ("low", "f8"),
            ("n_auto", "i8"),
            ("n_correct", "i8"),
        ],
    )


# ----------------------------------------------------------------- suspects
def contradictions(decisions: Decisions, agreed: np.ndarray) -> np.ndarray:
    """Suspects: the one definition. Images whose annotators agreed on a label (class
    index in `agreed`, -1 when they did not or nobody labelled) that the ensemble would
    label otherwise by the study's rules at the run's thresholds. A reviewer's decision
    is never a suspect: a person has already looked. `celeba autolabel` computes them
    and writes `<workspace>/autolabel/suspects.csv`; the suspects queue reads that file.
    """
    agreed = np.asarray(agreed)
    return decisions.automatic & (agreed >= 0) & (decisions.label != agreed)
