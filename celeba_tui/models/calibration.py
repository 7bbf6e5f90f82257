"""Calibration on held-out labels: softmax(logits / T + b), fitted on the validation split.

Temperature scaling (Guo et al., 2017) fits one scalar T per model, so that of the images
given confidence 0.9 about 90% are right; argmax, and so accuracy, is unchanged, and
`--high/--low` thresholds become probabilities that mean what they say.

Bias-corrected temperature scaling (Alexandari et al., 2020) fits a bias per class
beside T, by the same maximum likelihood. It moves where the model switches class to
where the held-out labels do. A model trained on Dawid-Skene's soft targets learns that
model's boundaries, which lean to the loose annotator's, and the boundary a run lands on
varies from run to run by a degree or two of yaw; a bias fitted on the people's own
held-out labels puts it back (docs/label-quality.md, sixth round). Mirrored classes
("left", "right") share one bias, as a model trained with flips treats them alike: one
parameter fewer to fit from a few hundred noisy labels. A bias is fitted only where every
class has MIN_BIAS_LABELS held-out labels; elsewhere the temperature alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0
# How far a class's bias may move its logit; a run's recorded biases beyond it are refused.
MAX_BIAS = 5.0
# Held-out labels each class needs before a bias is fitted for it.
MIN_BIAS_LABELS = 10
ECE_BINS = 15


@dataclass(frozen=True)
class Calibration:
    temperature: float = 1.0
    # Added to logits / temperature, one per class (mean 0); None: no bias.
    bias: tuple[float, ...] | None = None
    ece_before: float | None = None
    ece_after: float | None = None


def softmax(logits: np.ndarray, temperature: float = 1.0, bias: Sequence[float] | None = None) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / temperature
    if bias is not None:
        z = z + np.asarray(bias, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE: over equal-width confidence bins, the share-weighted |accuracy - confidence|."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return float("nan")
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in np.unique(which):
        in_bin = which == b
        total += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(total)


def negative_log_likelihood(
    logits: np.ndarray, labels: np.ndarray, temperature: float, bias: Sequence[float] | None = None
) -> float:
    p = softmax(logits, temperature, bias)[np.arange(len(labels)), labels]
    return float(-np.log(np.clip(p, 1e-12, None)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T in [MIN_TEMPERATURE, MAX_TEMPERATURE] that minimises the held-out NLL.

    The NLL is convex in 1/T, so a golden-section search over log T finds the minimum;
    no gradient, no optimiser state, the same answer on every machine up to rounding.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0 or not np.isfinite(logits).all():
        return 1.0
    lo, hi = math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa = negative_log_likelihood(logits, labels, math.exp(a))
    fb = negative_log_likelihood(logits, labels, math.exp(b))
    for _ in range(60):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = negative_log_likelihood(logits, labels, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = negative_log_likelihood(logits, labels, math.exp(b))
    return float(math.exp((lo + hi) / 2))


def bias_groups(mirror: Sequence[int] | None, n_classes: int) -> np.ndarray:
    """Per class, the index of the bias it shares: a class and its mirror share one
    (`mirror`: celeba_tui.mirror.mirror_map, -1 where a class has none). Pure."""
    if mirror is None:
        return np.arange(n_classes)
    return np.array([min(c, int(m)) if m >= 0 else c for c, m in enumerate(mirror)], dtype=np.int64)


def fit_temperature_and_bias(
    logits: np.ndarray, labels: np.ndarray, mirror: Sequence[int] | None = None
) -> tuple[float, tuple[float, ...]]:
    """(T, bias per class, mean 0) minimising the held-out NLL of softmax(logits / T + bias).

    The NLL is convex in (1/T, bias), and L-BFGS-B with the exact gradient finds its
    minimum within the bounds (T in [MIN_TEMPERATURE, MAX_TEMPERATURE], |bias| <=
    MAX_BIAS), starting from the temperature alone."""
    from scipy.optimize import minimize

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n, n_classes = logits.shape
    zeros = (0.0,) * n_classes
    if n == 0 or not np.isfinite(logits).all():
        return 1.0, zeros
    groups = bias_groups(mirror, n_classes)
    free = np.unique(groups)[1:]  # the first group's bias is the reference, 0
    member = (groups[None, :] == free[:, None]).astype(np.float64)  # (free, classes)
    onehot = np.eye(n_classes)[labels]

    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        inverse, shifts = params[0], params[1:]
        z = inverse * logits + shifts @ member
        z = z - z.max(axis=1, keepdims=True)
        log_q = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        residual = (np.exp(log_q) - onehot) / n
        gradient = np.concatenate([[float((residual * logits).sum())], member @ residual.sum(axis=0)])
        return float(-log_q[np.arange(n), labels].mean()), gradient

    start = np.concatenate([[1.0 / fit_temperature(logits, labels)], np.zeros(len(free))])
    bounds = [(1.0 / MAX_TEMPERATURE, 1.0 / MIN_TEMPERATURE)] + [(-MAX_BIAS, MAX_BIAS)] * len(free)
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
    params = result.x if np.isfinite(result.fun) else start
    bias = params[1:] @ member
    bias = np.clip(bias - bias.mean(), -MAX_BIAS, MAX_BIAS)
    return float(1.0 / params[0]), tuple(float(value) for value in bias)


def calibrate(
    logits: np.ndarray, labels: np.ndarray, *, bias: bool = False, mirror: Sequence[int] | None = None
) -> Calibration:
    """Fit T (and, with `bias`, a bias per class, mirrored classes sharing one) on held-out
    (logits, labels); the calibration error before and after. The bias is left out where a
    class has fewer than MIN_BIAS_LABELS labels."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    counts = np.bincount(labels, minlength=logits.shape[1]) if len(labels) else np.zeros(1)
    if bias and counts.min() >= MIN_BIAS_LABELS:
        temperature, class_bias = fit_temperature_and_bias(logits, labels, mirror)
    else:
        temperature, class_bias = fit_temperature(logits, labels), None
    return Calibration(
        temperature=temperature,
        bias=class_bias,
        ece_before=expected_calibration_error(softmax(logits), labels),
        ece_after=expected_calibration_error(softmax(logits, temperature, class_bias), labels),
    )


def calibration_line(calibration: Calibration, classes: Sequence[str]) -> str:
    """One line on what was fitted and what it did to the validation calibration error."""
    fitted = f"temperature {calibration.temperature:.2f}"
    if calibration.bias is not None:
        fitted += ", class biases " + " ".join(f"{name} {value:+.2f}" for name, value in zip(classes, calibration.bias))
    line = f"{fitted}: validation calibration error {calibration.ece_before:.3f} -> {calibration.ece_after:.3f}"
    if calibration.temperature >= MAX_TEMPERATURE * (1 - 1e-3):
        # Found by an ML walkthrough: a run that learnt nothing "calibrated" to near-zero error.
        line += (
            f" (the temperature reached its bound, {MAX_TEMPERATURE:g}: the run's probabilities are flattened "
            "to the class shares, its confidence says almost nothing)"
        )
    return line
