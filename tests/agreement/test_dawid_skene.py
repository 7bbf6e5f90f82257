"""Dawid-Skene EM: recovers known annotator confusion matrices, beats majority vote."""

from __future__ import annotations

import numpy as np
import pytest

from celeba_tui.agreement.dawid_skene import dawid_skene, majority_posteriors

K = 3


def symmetric(accuracy: float) -> np.ndarray:
    matrix = np.full((K, K), (1 - accuracy) / (K - 1))
    np.fill_diagonal(matrix, accuracy)
    return matrix


# A stricter-center annotator: true centers often called left or right.
STRICT = np.array([[0.85, 0.10, 0.05], [0.25, 0.55, 0.20], [0.05, 0.10, 0.85]])


def simulate(confusions: np.ndarray, n_items: int, coverage: float, seed: int):
    """(truth, codes): each annotator labels `coverage` of the items through its confusion matrix."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(K, n_items, p=[0.3, 0.4, 0.3])
    codes = np.full((n_items, len(confusions)), -1)
    for j, confusion in enumerate(confusions):
        said = (rng.random(n_items)[:, None] > confusion[truth].cumsum(axis=1)).sum(axis=1)
        labelled = rng.random(n_items) < coverage
        codes[labelled, j] = said[labelled]
    return truth, codes


def test_recovers_known_confusion_matrices():
    confusions = np.stack([symmetric(0.9), symmetric(0.8), symmetric(0.7), STRICT, symmetric(0.6)])
    truth, codes = simulate(confusions, 4000, coverage=0.7, seed=1)
    fit = dawid_skene(codes, K)
    assert fit.converged and fit.iterations < 200
    assert np.abs(fit.confusion - confusions).max() < 0.05
    assert np.allclose(fit.confusion.sum(axis=2), 1.0)
    assert np.allclose(fit.posteriors.sum(axis=1), 1.0)
    assert fit.priors == pytest.approx([0.3, 0.4, 0.3], abs=0.03)
    assert (fit.labels == truth).mean() > 0.9
    # The strict annotator's center row is the one estimated to be weakest.
    assert fit.confusion[3, 1, 1] == pytest.approx(0.55, abs=0.05)


def test_beats_majority_vote_when_one_annotator_is_much_worse():
    confusions = np.stack([symmetric(0.85), symmetric(0.8), symmetric(0.3)])
    truth, codes = simulate(confusions, 3000, coverage=1.0, seed=2)
    fit = dawid_skene(codes, K)
    votes = np.stack([(codes == k).sum(axis=1) for k in range(K)], axis=1)
    majority = votes.argmax(axis=1)
    # Ties count against majority vote: it has no answer there (the review queue).
    decided = (votes == votes.max(axis=1, keepdims=True)).sum(axis=1) == 1
    majority_accuracy = ((majority == truth) & decided).mean()
    ds_accuracy = (fit.labels == truth).mean()
    assert ds_accuracy > majority_accuracy + 0.03
    assert ds_accuracy > (majority == truth).mean()
    assert fit.accuracy() == pytest.approx([0.85, 0.8, 0.3], abs=0.05)


def test_agreeing_annotators_give_confident_posteriors():
    codes = np.array([[0, 0], [1, 1], [2, 2], [0, 0], [1, 1]])
    fit = dawid_skene(codes, K)
    assert fit.labels.tolist() == [0, 1, 2, 0, 1]
    assert (fit.posteriors.max(axis=1) > 0.9).all()


def test_stops_at_max_iter():
    _, codes = simulate(np.stack([symmetric(0.7)] * 3), 500, coverage=0.8, seed=3)
    fit = dawid_skene(codes, K, max_iter=2, tol=0.0)
    assert fit.iterations == 2 and not fit.converged


def test_majority_initialisation_is_vote_share():
    items = np.array([0, 0, 0, 1])
    said = np.array([0, 0, 2, 1])
    shares = majority_posteriors(items, said, n_items=3, n_classes=K)
    assert shares[0] == pytest.approx([2 / 3, 0, 1 / 3])
    assert shares[1] == pytest.approx([0, 1, 0])
    assert shares[2] == pytest.approx([1 / 3] * 3)  # no votes: uniform
