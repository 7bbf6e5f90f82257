"""Soft targets: Dawid-Skene's posteriors as training targets, conflicts included, reviews settled."""

import json

import numpy as np
import pandas as pd
import pytest

from celeba_tui.mirror import mirror_map
from celeba_tui.training.soft_targets import (
    annotation_targets,
    flip_targets,
    targets_for,
    task_soft_targets,
)
from celeba_tui.training.split import read_split, split_path
from celeba_tui.training.trainer import TrainOptions, train

from training_data import add_labels, make_labelled_workspace

pytestmark = pytest.mark.usefixtures("one_thread")
CLASSES = ("left", "center", "right")


def annotations(rows):
    return pd.DataFrame(rows, columns=["image", "annotator", "label"])


def test_few_shared_images_give_each_image_its_vote_shares():
    targets = annotation_targets(
        annotations([("a.jpg", "ann", "left"), ("a.jpg", "bob", "right"), ("b.jpg", "ann", "center")]), CLASSES
    )
    assert targets.method == "vote shares" and targets.images == ["a.jpg", "b.jpg"]
    assert np.allclose(targets.probabilities, [[0.5, 0, 0.5], [0, 1, 0]])
    # helper-72: the run said vote shares beside the dawid-skene it was asked for, without why.
    assert targets.fallback == "1 image labelled by two or more annotators; Dawid-Skene needs 30"
    alone = annotation_targets(annotations([("a.jpg", "ann", "left")]), CLASSES)
    assert alone.fallback == "one annotator, whose confusion Dawid-Skene cannot estimate"
    assert annotation_targets(annotations([("a.jpg", "ann", "left")]), CLASSES, source="votes").fallback == ""


def test_dawid_skene_weighs_each_annotator_by_their_estimated_confusion():
    rng = np.random.default_rng(0)
    rows = []
    truth = rng.integers(0, 3, size=200)
    for i, true in enumerate(truth):
        name = f"{i:03d}.jpg"
        # ann is always right; lenient bob calls half of the sides "center".
        rows.append((name, "ann", CLASSES[true]))
        bob = 1 if (true != 1 and rng.random() < 0.5) else true
        rows.append((name, "bob", CLASSES[bob]))
    rows.append(("solo.jpg", "bob", "center"))
    rows.append(("solo2.jpg", "ann", "center"))
    targets = annotation_targets(annotations(rows), CLASSES)
    assert targets.method == "dawid-skene" and len(targets.images) == 202
    assert np.allclose(targets.probabilities.sum(axis=1), 1, atol=1e-5)
    frame = targets.frame()
    # bob's "center" alone is doubtful, ann's is not.
    assert frame.loc["solo.jpg", 1] < 0.8 < frame.loc["solo2.jpg", 1]
    assert frame.loc["solo.jpg", 0] > 0.1 and frame.loc["solo.jpg", 2] > 0.1


def test_votes_count_every_label_alike_where_dawid_skene_would_weigh_them():
    rng = np.random.default_rng(1)
    rows = []
    for i in range(100):  # enough shared images for Dawid-Skene
        true = int(rng.integers(0, 3))
        rows += [(f"{i:03d}.jpg", "ann", CLASSES[true]), (f"{i:03d}.jpg", "bob", CLASSES[1 if true != 1 else true])]
    rows.append(("solo.jpg", "bob", "center"))
    assert annotation_targets(annotations(rows), CLASSES).method == "dawid-skene"
    votes = annotation_targets(annotations(rows), CLASSES, source="votes")
    assert votes.method == "vote shares" and votes.fallback == ""
    frame = votes.frame()
    assert np.allclose(frame.loc["solo.jpg"], [0, 1, 0]) and np.allclose(frame.loc["000.jpg"].sum(), 1)
    assert set(np.unique(votes.probabilities)) <= {0.0, 0.5, 1.0}


def test_labels_outside_the_classes_are_ignored_and_nothing_gives_nothing():
    targets = annotation_targets(annotations([("a.jpg", "ann", "up")]), CLASSES)
    assert targets.images == [] and targets.probabilities.shape == (0, 3)


def test_images_without_a_soft_target_get_their_label_one_hot():
    targets = annotation_targets(annotations([("a.jpg", "ann", "left")]), CLASSES)
    result = targets_for(targets, ["a.jpg", "p.jpg"], np.array([0, 2]), 3)
    assert np.array_equal(result, [[1, 0, 0], [0, 0, 1]])


def test_flipping_moves_left_mass_to_right_and_keeps_center():
    targets = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]], dtype=np.float32)
    flipped, done = flip_targets(targets, np.array([True, False]), mirror_map(CLASSES))
    assert done.tolist() == [True, False]
    assert np.allclose(flipped, [[0.1, 0.2, 0.7], [0.7, 0.2, 0.1]])


def test_a_sample_with_mass_on_a_class_without_mirror_is_not_flipped():
    classes = ("left", "up", "center")  # "left" has no "right" partner
    targets = np.array([[0.5, 0.5, 0.0], [0.0, 0.3, 0.7]], dtype=np.float32)
    flipped, done = flip_targets(targets, np.array([True, True]), mirror_map(classes))
    assert done.tolist() == [False, True] and np.allclose(flipped, targets)


def conflicted_workspace(tmp_path, n=60, conflicts=6):
    """alice labels all `n` images; bob labels the first 40 the same, except `conflicts` of them."""
    workspace, names, labels = make_labelled_workspace(tmp_path, n=n)
    with workspace.open_store() as store:
        bob = [
            ("right" if label != "right" else "left") if i < conflicts else label for i, label in enumerate(labels[:40])
        ]
        add_labels(store, names[:40], bob, annotator="bob", tasks=("light",))
    return workspace, names, labels


def test_reviewed_images_are_settled_by_the_reviewer_and_conflicts_are_listed(tmp_path):
    workspace, names, labels = conflicted_workspace(tmp_path)
    with workspace.open_store() as store:
        store.add_labels(
            pd.DataFrame(
                [{"image": names[0], "task": "light", "label": "center", "annotator": "rev", "source": "review"}]
            )
        )
        targets, conflicts = task_soft_targets(store, workspace.task("light"), store.current_labels("light"))
    frame = targets.frame()
    assert frame.loc[names[0]].tolist() == [0.0, 1.0, 0.0]
    assert sorted(conflicts["image"]) == sorted(names[1:6])
    assert set(conflicts["label"]) <= set(CLASSES)


def test_default_soft_targets_add_conflicts_to_the_train_split_only(tmp_path, tiny_architecture):
    workspace, names, _ = conflicted_workspace(tmp_path)
    hard = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1, soft_targets=False)).summary
    split_before = read_split(split_path(workspace.splits_dir, "light"))
    result = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1))
    assert result.summary.n_train == hard.n_train + 6 and result.summary.n_val == hard.n_val
    config = json.loads((result.run_path / "config.json").read_text())
    assert config["soft_targets"] == "dawid-skene" and config["target_kind"] == "dawid-skene"
    votes = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1, soft_targets_from="votes"))
    config = json.loads((votes.run_path / "config.json").read_text())
    assert config["soft_targets"] == "vote shares" and config["target_kind"] == "votes"
    assert votes.summary.n_train == result.summary.n_train
    assert read_split(split_path(workspace.splits_dir, "light")).equals(split_before)
    assert not set(names[:6]) & set(split_before["image"])


def test_an_agreeing_second_label_changes_what_a_run_learns_from(tmp_path):
    """Soft targets learn from every annotator's label: one more agreeing label is new training input."""
    from celeba_tui.training.run_labels import current_fingerprint

    workspace, names, labels = make_labelled_workspace(tmp_path, n=20)
    before = current_fingerprint(workspace, "light")
    with workspace.open_store() as store:
        add_labels(store, names[:1], labels[:1], annotator="bob", tasks=("light",))
    after = current_fingerprint(workspace, "light")
    assert after.labels != before.labels and after.images == before.images == 20
