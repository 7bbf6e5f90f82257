"""Our Dawid-Skene reproduces the 1979 paper's published estimates on the paper's own data."""

from __future__ import annotations

import numpy as np
import pytest

from celeba_tui.agreement.dawid_skene import fit_observations

from .dawid_skene_1979 import (
    CLASSES,
    FIRST_PATIENTS_CLASS,
    MARGINALS,
    OBSERVER_1,
    OBSERVERS,
    PATIENTS,
    observations,
)

# The paper prints two decimals; our estimates differ from them by less than 0.005 (its
# rounding). A CPU's arithmetic moves them by ~1e-12, far inside this.
PUBLISHED = 0.01


def fit(smoothing: float):
    patients, observers, said = (np.array(column) for column in observations())
    return fit_observations(patients, observers, said, PATIENTS, OBSERVERS, CLASSES, smoothing=smoothing)


def test_the_data_is_the_papers():
    patients, observers, said = observations()
    assert len(said) == PATIENTS * (3 + OBSERVERS - 1)
    assert np.bincount(observers).tolist() == [3 * PATIENTS] + [PATIENTS] * (OBSERVERS - 1)
    assert sorted(set(said)) == list(range(CLASSES))


def test_plain_maximum_likelihood_gives_the_published_estimates():
    result = fit(smoothing=0.0)
    assert result.converged
    assert result.priors == pytest.approx(MARGINALS, abs=PUBLISHED)  # Table 2
    assert result.confusion[0] == pytest.approx(np.array(OBSERVER_1), abs=PUBLISHED)  # Table 3
    assert (result.labels[:6] + 1).tolist() == FIRST_PATIENTS_CLASS  # Table 4
    assert np.allclose(result.confusion.sum(axis=2), 1.0)


def test_the_merge_smoothing_changes_no_class_and_no_published_estimate():
    plain, smoothed = fit(smoothing=0.0), fit(smoothing=0.01)
    assert smoothed.labels.tolist() == plain.labels.tolist()
    assert smoothed.priors == pytest.approx(MARGINALS, abs=PUBLISHED)
    assert smoothed.confusion[0] == pytest.approx(np.array(OBSERVER_1), abs=PUBLISHED)


def test_patient_two_is_overruled_against_the_majority():
    """Five ratings of 3 and two of 4: the observers who said 4 are the reliable ones for class 4."""
    patients, _, said = (np.array(column) for column in observations())
    votes = np.bincount(said[patients == 1], minlength=CLASSES)
    assert votes.argmax() + 1 == 3
    assert fit(smoothing=0.0).labels[1] + 1 == 4
