"""Dawid-Skene: estimate each annotator's confusion matrix and each item's true class (pure EM).

Dawid & Skene (1979). Each annotator j has a confusion matrix pi_j[k, l] = P(says l |
true class k); the classes have priors p_k. EM alternates the item posteriors
(E-step) with the priors and confusion matrices they imply (M-step), starting from
the majority vote. A small pseudo-count keeps every confusion entry above zero, so an
annotator who never used a class does not make the log-likelihood infinite.
Everything is vectorised over the observations (one per item and annotator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from celeba_tui.agreement.measures import MISSING


@dataclass(frozen=True)
class DawidSkeneResult:
    """Posteriors (items x classes), confusion matrices (annotators x true x said), priors."""

    posteriors: np.ndarray
    confusion: np.ndarray
    priors: np.ndarray
    iterations: int
    converged: bool
    log_likelihood: float

    @property
    def labels(self) -> np.ndarray:
        """Most probable class per item."""
        return self.posteriors.argmax(axis=1)

    def accuracy(self) -> np.ndarray:
        """Each annotator's estimated accuracy: the diagonal weighted by the priors."""
        return np.einsum("jkk,k->j", self.confusion, self.priors)


def majority_posteriors(items: np.ndarray, said: np.ndarray, n_items: int, n_classes: int) -> np.ndarray:
    """Vote shares per item: the soft majority vote EM starts from."""
    votes = np.bincount(items * n_classes + said, minlength=n_items * n_classes)
    votes = votes.reshape(n_items, n_classes).astype(float)
    totals = votes.sum(axis=1, keepdims=True)
    return np.divide(votes, totals, out=np.full_like(votes, 1.0 / n_classes), where=totals > 0)


def dawid_skene(
    codes: np.ndarray,
    n_classes: int,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """Fit Dawid-Skene to `codes` (items x annotators, class index or -1 for no label).

    Stops when the log-likelihood improves by less than `tol` relative to its size, or
    after `max_iter` EM rounds. `smoothing` is the pseudo-count added to each
    confusion-matrix cell.
    """
    codes = np.asarray(codes)
    n_items, n_annotators = codes.shape
    items, annotators = np.nonzero(codes != MISSING)
    said = codes[items, annotators].astype(np.int64)
    k = n_classes
    posteriors = majority_posteriors(items, said, n_items, k)
    cell = annotators * k + said  # the (annotator, said) cell of each observation
    previous = -np.inf
    log_likelihood = -np.inf
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007  (the count is returned)
        # M-step: priors and confusion counts weighted by the current posteriors.
        priors = (posteriors.sum(axis=0) + smoothing) / (n_items + k * smoothing)
        weights = posteriors[items]
        per_true = np.stack(
            [np.bincount(cell, weights=weights[:, t], minlength=n_annotators * k) for t in range(k)]
        )  # (true, annotator * k + said)
        counts = per_true.reshape(k, n_annotators, k).transpose(1, 0, 2) + smoothing
        confusion = counts / counts.sum(axis=2, keepdims=True)

        # E-step: log prior plus each observation's log P(said | true), summed per item.
        log_conf = np.log(confusion)[annotators, :, said]  # (observations, true)
        log_post = np.log(priors) + np.stack(
            [np.bincount(items, weights=log_conf[:, t], minlength=n_items) for t in range(k)], axis=1
        )
        top = log_post.max(axis=1, keepdims=True)
        norm = top + np.log(np.exp(log_post - top).sum(axis=1, keepdims=True))
        posteriors = np.exp(log_post - norm)
        log_likelihood = float(norm.sum())
        if abs(log_likelihood - previous) <= tol * max(1.0, abs(log_likelihood)):
            converged = True
            break
        previous = log_likelihood
    return DawidSkeneResult(posteriors, confusion, priors, iteration, converged, log_likelihood)
