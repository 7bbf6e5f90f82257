"""Classification scores from a confusion matrix (pure; sklearn does the arithmetic).

Distributed training sums confusion matrices across processes, so every score here is
computed from one: that makes the reduced scores exact rather than averaged.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np


def expand_confusion(confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (true, pred) label arrays a confusion matrix counts."""
    confusion = np.asarray(confusion, dtype=np.int64)
    n = confusion.shape[0]
    true, pred = np.divmod(np.arange(n * n), n)
    counts = confusion.ravel()
    return np.repeat(true, counts), np.repeat(pred, counts)


def scores(confusion: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro-F1 (both over the classes that occur)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    true, pred = expand_confusion(confusion)
    if len(true) == 0:
        return {"acc": float("nan"), "balanced_acc": float("nan"), "macro_f1": float("nan")}
    with warnings.catch_warnings():
        # Classes predicted but absent from the truth are expected on small sets.
        warnings.simplefilter("ignore", UserWarning)
        return {
            "acc": float(accuracy_score(true, pred)),
            "balanced_acc": float(balanced_accuracy_score(true, pred)),
            "macro_f1": float(f1_score(true, pred, average="macro", zero_division=0)),
        }


def majority_baseline(train_labels: np.ndarray, val_labels: np.ndarray, n_classes: int) -> float:
    """Validation accuracy of always answering the training set's most frequent class."""
    val_labels = np.asarray(val_labels, dtype=np.int64)
    if len(val_labels) == 0:
        return float("nan")
    majority = int(np.argmax(np.bincount(np.asarray(train_labels, dtype=np.int64), minlength=n_classes)))
    return float(np.mean(val_labels == majority))


# Balanced accuracy this close to guessing (1 / classes) says a model learnt nothing: a
# validation split of a few dozen images moves it by about this much.
CHANCE_MARGIN = 0.02


def at_chance(balanced_acc: float, n_classes: int) -> bool:
    """Whether a validation balanced accuracy is no better than guessing among `n_classes`
    (what always answering one class scores); False when it was not measured."""
    return bool(np.isfinite(balanced_acc)) and balanced_acc <= 1 / n_classes + CHANCE_MARGIN


def guessing(scored: Iterable[tuple[str, object, int]]) -> list[tuple[str, float]]:
    """Of (name, validation balanced accuracy, classes) triples, the (name, score) of those
    that scored what guessing scores; a score not recorded (a model trained elsewhere) is
    taken at its word. Pure."""
    return [
        (name, float(score))
        for name, score, n_classes in scored
        if isinstance(score, (int, float)) and not isinstance(score, bool) and at_chance(score, n_classes)
    ]


def guessing_text(found: list[tuple[str, float]]) -> str:
    """`balanced accuracy on the validation split at what guessing scores (a 0.333, b 0.340)`:
    how autolabel and cycle name the models or runs that learnt nothing."""
    shown = ", ".join(f"{name} {score:.3f}" for name, score in found)
    return f"balanced accuracy on the validation split at what guessing scores ({shown})"


# What to do about a task whose every model guesses (autolabel's and cycle's refusals).
GUESSING_ADVICE = "its labels would be guesses; label more images or train longer"
