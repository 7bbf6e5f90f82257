"""A merge says why its policy left conflicts open, and when Dawid-Skene's estimates rest on too little."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celeba_tui.agreement.dawid_skene import MIN_IMAGES_PER_CLASS, thin_support_notes
from celeba_tui.agreement.merge_policies import MergePolicy, merge_labels
from celeba_tui.console import counted
from celeba_tui.workspace import DEFAULT_TASKS

from .test_merge import THREE, long_labels

LIGHT = DEFAULT_TASKS[0]
CLASSES = list(LIGHT.classes)

TWO = long_labels(
    [
        ("same", "alice", "left"),
        ("same", "bob", "left"),
        ("differ-1", "alice", "left"),
        ("differ-1", "bob", "right"),
        ("differ-2", "alice", "center"),
        ("differ-2", "bob", "right"),
    ]
)


def test_majority_with_two_annotators_says_it_cannot_break_their_ties_and_what_would():
    result = merge_labels(TWO, (LIGHT,), MergePolicy("majority"))
    assert result.summary[0].open == 2 and result.summary[0].resolved == 0
    (note,) = result.notes
    assert note.startswith("light: majority left 2 conflicts open: each is two annotators disagreeing")
    for remedy in ("A third annotator's label", "--policy prefer:NAME", "--policy dawid-skene", "--queue review"):
        assert remedy in note


def test_majority_with_three_annotators_counts_the_two_annotator_ties():
    (note,) = merge_labels(THREE, (LIGHT,), MergePolicy("majority")).notes
    assert "left 2 conflicts open: each is a tie between the most frequent labels (1 of them two" in note


def test_prefer_says_whom_it_could_not_follow():
    (note,) = merge_labels(THREE, (LIGHT,), MergePolicy("prefer", "a")).notes
    assert note.startswith("light: prefer:a left 1 conflict open: a did not label them.")


def test_policies_that_leave_nothing_unexplained_add_no_note():
    assert merge_labels(THREE, (LIGHT,), MergePolicy("review")).notes == []
    assert merge_labels(TWO.iloc[:2], (LIGHT,), MergePolicy("majority")).notes == []


def test_dawid_skene_on_a_few_shared_images_warns_with_the_numbers():
    result = merge_labels(TWO, (LIGHT,), MergePolicy("dawid-skene"))
    # Each shared image counts once, spread over the classes by its posterior.
    assert sum(result.confusion["light"]["support"]["alice"]) == pytest.approx(3.0, abs=0.05)
    (note,) = [note for note in result.notes if "close to a guess" not in note]
    assert "images shared with others: alice 3, bob 3" in note
    assert f"needs about {3 * MIN_IMAGES_PER_CLASS}" in note and "--policy review" in note


def simulated(n_items: int, seed: int, accuracy: float = 0.8) -> pd.DataFrame:
    """Three annotators label every item; each is right with probability `accuracy`."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, n_items)
    rows = []
    for annotator in ("a", "b", "c"):
        wrong = rng.random(n_items) > accuracy
        said = np.where(wrong, (truth + rng.integers(1, 3, n_items)) % 3, truth)
        rows += [(f"{i}.jpg", annotator, CLASSES[k]) for i, k in enumerate(said)]
    return long_labels(rows)


def test_dawid_skene_with_ample_overlap_says_nothing():
    result = merge_labels(simulated(600, seed=1), (LIGHT,), MergePolicy("dawid-skene"))
    # Nothing on thin estimates (three people's three-way splits are still close to guesses).
    assert [note for note in result.notes if "close to a guess" not in note] == []
    assert all(min(support) > MIN_IMAGES_PER_CLASS for support in result.confusion["light"]["support"].values())


def test_a_certainty_from_few_images_is_called_out():
    estimate = {
        "classes": CLASSES,
        "annotators": {
            "a": [[0.9, 0.05, 0.05], [0.003, 0.994, 0.003], [0.1, 0.1, 0.8]],
            "b": [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]],
        },
        "support": {"a": [40.0, 3.0, 40.0], "b": [40.0, 30.0, 40.0]},
    }
    (note,) = thin_support_notes("light", estimate)
    assert "a 0.99 for center (about 3 images)" in note and "b " not in note
    assert "near 0 or 1 from under" in note  # helper-87: "of exactly 0 or 1" beside 0.97


def test_dawid_skene_says_where_it_settled_two_peoples_disagreement_close_to_a_guess():
    # The walkthrough of 2026-12-07: every conflict of two annotators settled as the commoner
    # class at ~52%, and the merge read as if people had been asked.
    rows = []
    for i in range(60):  # agreed: mostly "left", as a yes/no task's "no"
        label = "left" if i % 4 else "right"
        rows += [(f"a{i}", "alice", label), (f"a{i}", "bob", label)]
    for i in range(8):
        rows += [(f"d{i}", "alice", "left"), (f"d{i}", "bob", "right")]
        rows += [(f"e{i}", "alice", "right"), (f"e{i}", "bob", "left")]
    result = merge_labels(long_labels(rows), (LIGHT,), MergePolicy("dawid-skene"))
    decided = result.decisions[result.decisions["resolution"] == "policy"]
    guessed = int((decided["confidence"] < 0.6).sum())
    assert guessed, decided["confidence"].tolist()
    notes = [note for note in result.notes if "close to a guess" in note]
    assert notes == [
        f"light: dawid-skene settled {guessed} of 16 conflicts at under 60% confidence, close to a guess (what "
        "it learnt of who errs how does not tell the answers apart there; two people who disagree leave it the "
        "commoner class): a person decides those better; --min-confidence 0.6 leaves them open for one "
        "(celeba label --queue review)"
    ]
    # helper-68: that advice named the review queue, which the decisions had emptied.
    careful = merge_labels(long_labels(rows), (LIGHT,), MergePolicy("dawid-skene"), min_confidence=0.6)
    assert careful.summary[0].open == guessed and careful.summary[0].resolved == 16 - guessed
    assert not careful.decisions["confidence"].lt(0.6).any()
    assert [note for note in careful.notes if "close to a guess" in note] == []
    assert (
        f"light: dawid-skene left {counted(guessed, 'conflict')} open under --min-confidence 0.6 (it was less sure of its "
        "answer): they wait for a person (celeba label --queue review)"
    ) in careful.notes


def test_majority_leaves_a_two_to_one_vote_open_under_a_higher_min_confidence():
    loose = merge_labels(THREE, (LIGHT,), MergePolicy("majority"))
    strict = merge_labels(THREE, (LIGHT,), MergePolicy("majority"), min_confidence=0.7)
    two_to_one = loose.summary[0].resolved
    assert two_to_one and strict.summary[0].resolved == 0
    assert strict.summary[0].open == loose.summary[0].open + two_to_one
    # The ties' note still counts the ties only.
    assert any(
        f"majority left {counted(loose.summary[0].open, 'conflict')} open: each is a tie" in n for n in strict.notes
    )
