"""Agreement statistics and annotator profiles, against hand-computed values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celeba_tui.agreement.measures import (
    agreement_report,
    annotator_labels,
    cohen_kappa,
    confusion_matrix,
    krippendorff_alpha,
    label_matrix,
    task_agreement,
)
from celeba_tui.agreement.profiles import (
    annotator_profiles,
    center_class,
    self_consistency,
    strictness_notes,
)
from celeba_tui.errors import CelebaError
from celeba_tui.formats.onehot import read_onehot
from celeba_tui.workspace import DEFAULT_TASKS, Task

LIGHT = DEFAULT_TASKS[0]
REFERENCE = Path("/work/shared/reference-labels")


def long_labels(task: str = "light", **by_annotator: dict[str, str]) -> pd.DataFrame:
    """labels(alice={"1.jpg": "left"}, bob=...) -> the long table."""
    rows = [
        (image, task, annotator, label) for annotator, labels in by_annotator.items() for image, label in labels.items()
    ]
    return pd.DataFrame(rows, columns=["image", "task", "annotator", "label"])


def test_pair_statistics_match_hand_computation():
    # Shared images 1-4: alice l l c r, bob l c c l; alice alone on 5, bob alone on 6, 7.
    labels = long_labels(
        alice={"1": "left", "2": "left", "3": "center", "4": "right", "5": "left"},
        bob={"1": "left", "2": "center", "3": "center", "4": "left", "6": "right", "7": "right"},
    )
    pair = task_agreement(labels, LIGHT).pairs[0]
    assert (pair.annotator_a, pair.annotator_b) == ("alice", "bob")
    assert (pair.count_a, pair.count_b, pair.overlapping, pair.mismatched, pair.total) == (5, 6, 4, 2, 7)
    assert pair.percent_agreement == pytest.approx(50.0)
    # p_o = 2/4; marginals alice (.5, .25, .25), bob (.5, .5, 0): p_e = .375.
    assert pair.kappa == pytest.approx((0.5 - 0.375) / (1 - 0.375))
    # Linear weights |i-j|/2: observed disagreement (.5 + 1)/4 = .375, expected also .375.
    assert pair.weighted_kappa == pytest.approx(0.0)
    assert pair.confusion == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    assert pair.note is None


def test_weighted_kappa_penalises_left_right_more_than_left_center():
    near = long_labels(
        alice={"1": "left", "2": "center", "3": "right", "4": "left"},
        bob={"1": "center", "2": "center", "3": "right", "4": "left"},
    )
    far = long_labels(
        alice={"1": "left", "2": "center", "3": "right", "4": "left"},
        bob={"1": "right", "2": "center", "3": "right", "4": "left"},
    )
    near_pair, far_pair = task_agreement(near, LIGHT).pairs[0], task_agreement(far, LIGHT).pairs[0]
    assert near_pair.kappa == pytest.approx(far_pair.kappa, abs=0.2)
    assert near_pair.weighted_kappa > far_pair.weighted_kappa


def test_classes_with_no_order_get_no_weighted_kappa_nor_ordinal_alpha():
    # helper-72: expression (neutral, smile, frown, surprise) got a weighted kappa as if
    # "surprise vs smile" were farther apart than "frown vs smile".
    from celeba_tui.mirror import ordered_scale
    from celeba_tui.workspace import Task

    expression = Task("expression", ("neutral", "smile", "frown"))
    said = {"1": "neutral", "2": "smile", "3": "frown", "4": "smile"}
    labels = long_labels("expression", alice=said, bob={**said, "4": "frown"}, carol={**said, "1": "smile"})
    measured = task_agreement(labels, expression)
    assert all(p.kappa is not None and p.weighted_kappa is None for p in measured.pairs)
    assert measured.alpha_ordinal is None and measured.alpha_nominal is not None
    assert ordered_scale(("left", "center", "right")) and ordered_scale(("upper_left", "up", "upper_right"))
    assert not ordered_scale(("no", "yes")) and not ordered_scale(("left", "right"))
    assert not ordered_scale(("center", "left", "right"))  # not in order along the axis


def test_a_tasks_declared_scale_decides_whether_its_classes_are_in_order(tmp_path):
    # A scale the names do not show (none < slight < broad), and one they wrongly suggest
    # (which eye is shut: left-eye, both, right-eye reverses under a mirror, yet has no order).
    from celeba_tui.workspace import Task, WorkspaceError, parse_config

    smile = Task("smile", ("none", "slight", "broad"), scale="ordinal")
    said = {"1": "none", "2": "slight", "3": "broad", "4": "slight"}
    labels = long_labels("smile", alice=said, bob={**said, "4": "broad"}, carol={**said, "1": "slight"})
    measured = task_agreement(labels, smile)
    assert measured.ordered and all(p.weighted_kappa is not None for p in measured.pairs)
    assert measured.alpha_ordinal is not None and measured.to_dict()["ordered"] is True
    assert not Task("smile", smile.classes).ordered
    assert Task("eye", ("left-eye", "both", "right-eye")).ordered
    assert not Task("eye", ("left-eye", "both", "right-eye"), scale="nominal").ordered
    text = 'images = "."\n[[tasks]]\nname = "smile"\nclasses = ["none", "slight", "broad"]\nscale = "ordinal"\n'
    assert parse_config(text, tmp_path / "celeba.toml").tasks[0].ordered
    with pytest.raises(WorkspaceError, match="'scale' must be 'ordinal' or 'nominal'"):
        parse_config(text.replace('"ordinal"', '"interval"'), tmp_path / "celeba.toml")


def test_kappa_is_zero_when_one_annotator_uses_a_single_class():
    # alice says center throughout: observed agreement = chance agreement = bob's center share.
    labels = long_labels(
        alice={"1": "center", "2": "center", "3": "center", "4": "center"},
        bob={"1": "left", "2": "center", "3": "center", "4": "right"},
    )
    pair = task_agreement(labels, LIGHT).pairs[0]
    assert pair.percent_agreement == pytest.approx(50.0)
    assert pair.kappa == pytest.approx(0.0)
    assert pair.weighted_kappa == pytest.approx(0.0)
    assert pair.confusion == [[0, 0, 0], [1, 2, 1], [0, 0, 0]]


def test_kappa_is_undefined_when_both_use_the_same_single_class():
    labels = long_labels(alice={"1": "center", "2": "center"}, bob={"1": "center", "2": "center"})
    pair = task_agreement(labels, LIGHT).pairs[0]
    assert pair.percent_agreement == 100.0
    assert pair.kappa is None and pair.weighted_kappa is None
    assert "undefined" in pair.note and "center" in pair.note


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40))
def test_kappa_agrees_with_scikit_learn(pairs):
    import warnings

    from sklearn.metrics import cohen_kappa_score
    from sklearn.metrics import confusion_matrix as sklearn_confusion

    a, b = (np.array(column) for column in zip(*pairs))
    confusion = confusion_matrix(a, b, 3)
    assert confusion.tolist() == sklearn_confusion(a, b, labels=[0, 1, 2]).tolist()
    for weights in (None, "linear"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns where kappa is undefined
            expected = cohen_kappa_score(a, b, labels=[0, 1, 2], weights=weights)
        ours = cohen_kappa(confusion, weights)
        if np.isnan(expected):
            assert ours is None
        else:
            assert ours == pytest.approx(expected, abs=1e-12)


def test_pair_without_shared_images_has_no_statistics():
    labels = long_labels(alice={"1": "left", "2": "left"}, bob={"2": "right"}, carol={"3": "left"})
    report = task_agreement(labels, LIGHT)
    by_pair = {(p.annotator_a, p.annotator_b): p for p in report.pairs}
    # Pairs that share no image have nothing to measure: counted and named, not listed
    # (attack pass 32: a crowd of 3,000 annotators made 4.5 million empty rows, for minutes).
    assert list(by_pair) == [("alice", "bob")] and by_pair[("alice", "bob")].mismatched == 1
    assert (report.pairs_apart, report.apart_examples) == (2, ["alice / carol", "bob / carol"])


@pytest.mark.parametrize(
    ("labels", "note"),
    [
        (long_labels(task="orientation", alice={"1": "left"}, bob={"1": "left"}), "no labels"),
        (long_labels(alice={"1": "left", "2": "right"}), "only one annotator (alice)"),
        (long_labels(alice={"1": "left"}, bob={"2": "left"}), "no image was labelled by two annotators"),
    ],
)
def test_nothing_to_compare_is_a_note_not_an_error(labels, note):
    report = task_agreement(labels, LIGHT)
    assert report.note == note and not report.comparable and report.pairs == []


def test_krippendorff_alpha_matches_hand_computation():
    # Units: (l,l,l) (l,l,c) (c,c,c) (r,r,-). Coincidences: ll 4, lc 1, cl 1, cc 3, rr 2;
    # n = 11, n_l 5, n_c 4, n_r 2.
    labels = long_labels(
        a={"1": "left", "2": "left", "3": "center", "4": "right"},
        b={"1": "left", "2": "left", "3": "center", "4": "right"},
        c={"1": "left", "2": "center", "3": "center"},
    )
    matrix = label_matrix(labels, LIGHT)
    # Nominal: 1 - (n-1) * 2 / (2 * (5*4 + 5*2 + 4*2)).
    assert krippendorff_alpha(matrix, "nominal") == pytest.approx(1 - 10 * 2 / 76)
    # Ordinal distances: l-c (9/2)^2, c-r 3^2, l-r 7.5^2.
    expected = 2 * (20 * 20.25 + 8 * 9 + 10 * 56.25)
    assert krippendorff_alpha(matrix, "ordinal") == pytest.approx(1 - 10 * 40.5 / expected)
    report = task_agreement(labels, LIGHT)
    assert report.alpha_nominal == pytest.approx(1 - 20 / 76)
    assert len(report.pairs) == 3


def test_alpha_only_for_three_or_more_annotators_and_undefined_for_one_class():
    two = long_labels(alice={"1": "left", "2": "right"}, bob={"1": "left", "2": "left"})
    assert task_agreement(two, LIGHT).alpha_ordinal is None
    same = long_labels(a={"1": "left"}, b={"1": "left"}, c={"1": "left"})
    assert krippendorff_alpha(label_matrix(same, LIGHT), "ordinal") is None


def test_reference_files_are_one_person_twice_full_agreement():
    first = read_onehot(REFERENCE / "study-labels-561.csv", DEFAULT_TASKS).assign(annotator="early")
    final = read_onehot(REFERENCE / "study-labels-3683.csv", DEFAULT_TASKS).assign(annotator="final")
    report = agreement_report(pd.concat([first, final], ignore_index=True), DEFAULT_TASKS)
    for task in report:
        (pair,) = task.pairs
        assert pair.count_a == 560 and pair.count_b == 3683
        assert pair.overlapping > 500 and pair.mismatched == 0
        assert pair.total == 560 + 3683 - pair.overlapping
        assert pair.percent_agreement == 100.0
        assert pair.kappa == pytest.approx(1.0) and pair.weighted_kappa == pytest.approx(1.0)


def test_annotator_labels_keeps_people_and_the_latest_label_per_annotator():
    live = pd.DataFrame(
        [
            ("1", "light", "left", "alice", "import", 1),
            ("1", "light", "right", "alice", "human", 5),
            ("1", "light", "center", "merge:majority", "review", 6),
            ("1", "light", "center", "m1", "model", 7),
            ("1", "light", "left", "bob", "human", 2),
        ],
        columns=["image", "task", "label", "annotator", "source", "id"],
    )
    labels = annotator_labels(live).sort_values("annotator")
    assert labels.values.tolist() == [["1", "light", "alice", "right"], ["1", "light", "bob", "left"]]


def test_a_label_outside_the_task_classes_is_a_user_error():
    with pytest.raises(CelebaError, match="'up'.*light.*left, center, right"):
        label_matrix(long_labels(alice={"1": "up"}), LIGHT)


def test_center_class_of_other_scales():
    assert center_class(LIGHT) == "center"
    assert center_class(Task("mood", ("sad", "neutral", "happy"))) == "neutral"
    assert center_class(Task("glasses", ("no", "yes"))) is None


def test_profile_matches_hand_computation():
    labels = long_labels(
        alice={"1": "center", "2": "left", "3": "right", "4": "center"},
        bob={"1": "center", "2": "center", "3": "center"},
        carol={"1": "center", "2": "center", "3": "right"},
    )
    checks = pd.DataFrame(
        [("1", "light", "alice", "center", "center"), ("2", "light", "alice", "right", "left")],
        columns=["image", "task", "annotator", "expected", "answer"],
    )
    profiles = {p.annotator: p for p in annotator_profiles(labels, (LIGHT,), checks)}
    alice = profiles["alice"]
    assert alice.labels == 4 and alice.class_counts == {"left": 1, "center": 2, "right": 1}
    # Shared images 1-3: alice says center once in 3; the others 5 times in 6 labels.
    assert alice.shared_images == 3
    assert alice.center_rate == pytest.approx(1 / 3)
    assert alice.others_center_rate == pytest.approx(5 / 6)
    assert alice.center_difference == pytest.approx(100 * (1 / 3 - 5 / 6))
    # Consensus of bob+carol: 1 center, 2 center, 3 tie (no consensus): alice agrees on 1 of 2.
    assert (alice.consensus_images, alice.consensus_agreement) == (2, 0.5)
    assert (alice.checks, alice.self_consistency) == (2, 0.5)
    assert profiles["bob"].checks == 0 and profiles["bob"].self_consistency is None
    notes = strictness_notes(list(profiles.values()), min_shared=3)
    assert any(n.startswith("light: alice says center 50 points less often") for n in notes)
    assert strictness_notes(list(profiles.values())) == []  # 3 shared images say too little by default


def test_self_consistency_per_annotator_and_task():
    checks = pd.DataFrame(
        [
            ("1", "light", "a", "left", "left"),
            ("2", "light", "a", "right", "left"),
            ("3", "orientation", "a", "center", "center"),
            ("1", "light", "b", "left", "left"),
        ],
        columns=["image", "task", "annotator", "expected", "answer"],
    )
    table = self_consistency(checks).set_index(["annotator", "task"])
    assert table.loc[("a", "light"), "rate"] == 0.5
    assert table.loc[("a", "orientation"), "checks"] == 1
    assert table.loc[("b", "light"), "rate"] == 1.0
    assert self_consistency(checks.iloc[:0]).empty


def simulated_annotators(n_images: int, seed: int, strict: str, strictness: float) -> pd.DataFrame:
    """Three annotators with 10% random noise; `strict` turns `strictness` of true centers sideways."""
    rng = np.random.default_rng(seed)
    classes = np.array(LIGHT.classes, dtype=object)
    truth = rng.integers(0, 3, n_images)
    frames = []
    for name in ("ana", "ben", "cleo"):
        said = np.where(rng.random(n_images) < 0.1, rng.integers(0, 3, n_images), truth)
        if name == strict:
            sideways = (said == 1) & (rng.random(n_images) < strictness)
            said = np.where(sideways, rng.choice([0, 2], n_images), said)
        labelled = rng.random(n_images) < 0.8
        frames.append(
            pd.DataFrame(
                {
                    "image": [f"{i:06d}.jpg" for i in np.flatnonzero(labelled)],
                    "task": "light",
                    "annotator": name,
                    "label": classes[said[labelled]],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("strict", ["ana", "cleo"])
def test_profile_recovers_the_stricter_center_annotator(strict):
    labels = simulated_annotators(3000, seed=7, strict=strict, strictness=0.4)
    profiles = annotator_profiles(labels, (LIGHT,))
    strictest = min(profiles, key=lambda p: p.center_difference)
    assert strictest.annotator == strict
    # True centers are a third, 40% of them turned sideways: about 13 points fewer, and
    # the others' rate includes no strict labels, so the gap is about that.
    assert -20 < strictest.center_difference < -8
    notes = strictness_notes(profiles)
    assert any(n.startswith(f"light: {strict} says center") and "less often" in n for n in notes)
    report = task_agreement(labels, LIGHT)
    worst = min(report.pairs, key=lambda p: p.kappa)
    assert strict in (worst.annotator_a, worst.annotator_b)


def test_an_annotator_near_chance_is_pointed_at_and_nobody_else_is():
    from celeba_tui.agreement.profiles import chance_notes

    rng = np.random.default_rng(3)
    classes = np.array(LIGHT.classes)
    truth = rng.integers(0, 3, 60)
    careful = {f"{i}.jpg": classes[c] for i, c in enumerate(truth)}
    noisy = {f"{i}.jpg": classes[c if rng.random() < 0.8 else (c + 1) % 3] for i, c in enumerate(truth)}
    random = {f"{i}.jpg": classes[rng.integers(0, 3)] for i in range(60)}  # answers without looking
    report = task_agreement(long_labels(ana=careful, ben=noisy, cy=random), LIGHT)
    (note,) = chance_notes(report)
    assert note.startswith("light: cy agrees with the others hardly more than chance (Cohen's kappa ")
    assert "where ana and ben reach" in note and "celeba browse --annotator cy" in note
    # Two people alone: nobody to tell the odd one out. Too few shared images: nothing said.
    assert chance_notes(task_agreement(long_labels(ana=careful, cy=random), LIGHT)) == []
    few = {name: dict(list(labels.items())[:15]) for name, labels in (("ana", careful), ("ben", noisy), ("cy", random))}
    assert chance_notes(task_agreement(long_labels(**few), LIGHT)) == []
    # Others near chance themselves (attack pass 28: ben and chloe at 0.20): nobody is the odd one.
    sloppy = {f"{i}.jpg": classes[c if rng.random() < 0.65 else rng.integers(0, 3)] for i, c in enumerate(truth)}
    sloppier = {f"{i}.jpg": classes[c if rng.random() < 0.5 else rng.integers(0, 3)] for i, c in enumerate(truth)}
    near = task_agreement(long_labels(ana=sloppy, ben=sloppier, cy=random), LIGHT)
    assert 0.3 < max(p.kappa for p in near.pairs if "cy" not in (p.annotator_a, p.annotator_b)) < 0.4
    assert chance_notes(near) == []


def test_a_crowds_pairs_come_out_the_same_through_the_join(monkeypatch):
    """Teams compare pairs column by column, crowds through one join of the images' labels
    (attack pass 32): the two give every pair the same figures."""
    from celeba_tui.agreement import measures

    rng = np.random.default_rng(0)
    rows = {
        f"ann{a}": {str(i): ["left", "center", "right"][rng.integers(0, 3)] for i in rng.choice(30, 6)}
        for a in range(12)
    }
    labels = long_labels(**rows)
    monkeypatch.setattr(measures, "join_is_cheaper", lambda *_: True)
    joined = task_agreement(labels, LIGHT)
    monkeypatch.setattr(measures, "join_is_cheaper", lambda *_: False)
    by_columns = task_agreement(labels, LIGHT)
    assert by_columns == joined and joined.pairs and joined.pairs_apart


def test_the_join_is_taken_for_a_crowd_only():
    from celeba_tui.agreement.measures import join_is_cheaper

    assert join_is_cheaper(np.full(60, 150), 3000)  # 3,000 people, 3 labels each of 60 images
    assert not join_is_cheaper(np.full(100_000, 2), 2)  # a team of two
    assert not join_is_cheaper(np.full(100_000, 50), 50)  # 50 people on the same images
