"""Dawid-Skene: estimate each annotator's confusion matrix and each item's true class (pure EM).

Dawid & Skene (1979). Each annotator j has a confusion matrix pi_j[k, l] = P(says l |
true class k); the classes have priors p_k. EM alternates the item posteriors
(E-step) with the priors and confusion matrices they imply (M-step), starting from
the majority vote. A small pseudo-count keeps every confusion entry above zero, so an
annotator who never used a class does not make the log-likelihood infinite.
Everything is vectorised over the observations (one per rating; an annotator may rate
an item more than once, as in the paper's own example).

How far to trust the estimates: each row of a confusion matrix is the share of one true
class's images that the annotator gave each answer, so it rests on the images of that
class the annotator shared with others. `thin_support_notes` says where that is too few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from celeba_tui.agreement.measures import MISSING

# Below this many images of a true class, one image moves that row of an annotator's
# confusion matrix by 10 points or more: the estimate is rough.
MIN_IMAGES_PER_CLASS = 10


@dataclass(frozen=True)
class DawidSkeneResult:
    """Posteriors (items x classes), confusion matrices (annotators x true x said), priors.

    `support` (annotators x true class): the ratings behind each confusion-matrix row,
    weighted by the posteriors (an item counts towards each class by its probability).
    """

    posteriors: np.ndarray
    confusion: np.ndarray
    priors: np.ndarray
    iterations: int
    converged: bool
    log_likelihood: float
    support: np.ndarray

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
    return fit_observations(
        items, annotators, said, n_items, n_annotators, n_classes, tol=tol, max_iter=max_iter, smoothing=smoothing
    )


def fit_observations(
    items: np.ndarray,
    annotators: np.ndarray,
    said: np.ndarray,
    n_items: int,
    n_annotators: int,
    n_classes: int,
    *,
    tol: float = 1e-6,
    max_iter: int = 200,
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """Fit Dawid-Skene to observations (item, annotator, class said), one per element.

    An annotator may rate an item more than once (the 1979 paper's first observer saw
    each patient three times): each rating is one more observation. With `smoothing` 0
    the estimates are the paper's plain maximum likelihood.
    """
    items = np.asarray(items, dtype=np.int64)
    annotators = np.asarray(annotators, dtype=np.int64)
    said = np.asarray(said, dtype=np.int64)
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
        totals = counts.sum(axis=2, keepdims=True)
        # A true class an annotator never saw (possible only without smoothing): uniform row.
        confusion = np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)

        # E-step: log prior plus each observation's log P(said | true), summed per item.
        with np.errstate(divide="ignore"):  # log 0 = -inf: that class is impossible for the item
            log_conf = np.log(confusion)[annotators, :, said]  # (observations, true)
            log_priors = np.log(priors)
        log_post = log_priors + np.stack(
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
    weights = posteriors[items]
    support = np.stack([np.bincount(annotators, weights=weights[:, t], minlength=n_annotators) for t in range(k)], 1)
    return DawidSkeneResult(posteriors, confusion, priors, iteration, converged, log_likelihood, support)


def thin_support_notes(task: str, estimate: dict) -> list[str]:
    """Where Dawid-Skene's estimates for a task rest on too little overlap (at most two lines).

    `estimate` is the merge's {"classes", "annotators": {name: matrix}, "support": {name:
    per-class images}}. An annotator who shares fewer than MIN_IMAGES_PER_CLASS images
    per class with the others gets a rough matrix; a row estimated at (about) 0 or 1
    from few images only means no error (or no agreement) was seen yet.
    """
    classes = estimate["classes"]
    needed = MIN_IMAGES_PER_CLASS * len(classes)
    few, extremes = [], []
    for name, matrix in estimate["annotators"].items():
        support = estimate["support"][name]
        shared = sum(support)
        if shared == 0:
            continue  # labelled no image anyone else did: their matrix decides nothing
        if shared < needed:
            few.append(f"{name} {shared:.0f}")
            continue
        extremes += [
            f"{name} {matrix[t][t]:.2f} for {c} (about {support[t]:.0f} image{'' if round(support[t]) == 1 else 's'})"
            for t, c in enumerate(classes)
            if support[t] < MIN_IMAGES_PER_CLASS and min(matrix[t][t], 1 - matrix[t][t]) * support[t] < 0.5
        ]
    notes = []
    if few:
        notes.append(
            f"{task}: dawid-skene: too little overlap to estimate how these annotators err (images shared "
            f"with others: {', '.join(few)}). A {len(classes)}-class confusion matrix needs about {needed} "
            f"({MIN_IMAGES_PER_CLASS} of each true class; below that one image moves an estimate by 10 "
            "points or more), so the conflicts they weigh in on are decided on rough estimates. "
            "More overlap (celeba label --assign I/N --overlap F) or --policy review is safer."
        )
    if extremes:
        notes.append(
            # helper-87: "of exactly 0 or 1" beside 0.97 (as good as: under half an error expected).
            f"{task}: dawid-skene: P(says the true class) near 0 or 1 from under "
            f"{MIN_IMAGES_PER_CLASS} images: {', '.join(extremes)}. That only means no error (or no "
            "agreement) was seen yet, yet it makes the answer decisive; more overlap settles it."
        )
    return notes
