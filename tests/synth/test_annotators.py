"""Simulated annotators: standards, where errors fall, overlap, files the importer reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from celeba_tui.errors import CelebaError
from celeba_tui.synth.annotators import annotator_summary, pairwise_agreement, simulate_annotators
from celeba_tui.synth.truth import LIGHT_THRESHOLD_DEG, ORIENTATION_THRESHOLD_DEG, light_classes, orientation_classes


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    """Ground truth like `synth` writes, without rendering: angles drawn with the default mixes."""
    rng = np.random.default_rng(0)
    orientation, light = orientation_classes(), light_classes()
    n = 6000
    yaw = np.array([orientation.sample(rng) for _ in range(n)])
    azimuth = np.array([light.sample(rng) for _ in range(n)])
    return pd.DataFrame(
        {
            "image": [f"{i:06d}.jpg" for i in range(1, n + 1)],
            "yaw_deg": yaw,
            "light_azimuth_deg": azimuth,
            "light_strength": rng.uniform(0.25, 0.9, n),
            "light": light.classify(azimuth),
            "orientation": orientation.classify(yaw),
        }
    )


def test_the_strict_annotator_says_center_less_often_and_the_loose_one_more(truth):
    summary = {row["annotator"]: row for row in annotator_summary(simulate_annotators(truth, 3, 0.0, seed=1), truth)}
    assert [summary[name]["kind"] for name in ("ann1", "ann2", "ann3")] == ["strict", "loose", "typical"]
    for task in ("light", "orientation"):
        rates = [summary[name][f"{task}_center_rate"] for name in ("ann1", "ann3", "ann2")]
        assert rates[0] + 0.03 < rates[1] < rates[2] - 0.03, (task, rates)


def test_errors_fall_near_class_boundaries(truth):
    labels = simulate_annotators(truth, 3, 0.0, seed=2)["ann3"]
    for task, column, threshold in (
        ("light", "light_azimuth_deg", LIGHT_THRESHOLD_DEG),
        ("orientation", "yaw_deg", ORIENTATION_THRESHOLD_DEG),
    ):
        rows = labels[labels["task"] == task].merge(truth, on="image")
        wrong = rows["label"] != rows[task]
        distance = np.abs(np.abs(rows[column]) - threshold)
        near, far = wrong[distance < threshold * 0.2].mean(), wrong[distance > threshold].mean()
        assert near > 0.25 and far < 0.05 and near > 6 * far, (task, near, far)


def test_light_is_harder_than_orientation(truth):
    for row in annotator_summary(simulate_annotators(truth, 4, 0.0, seed=4), truth):
        assert row["light_accuracy"] < row["orientation_accuracy"], row
    strict_vs_loose = pairwise_agreement(simulate_annotators(truth, 2, 1.0, seed=4))
    assert strict_vs_loose["light"]["agreement"] + 0.1 < strict_vs_loose["orientation"]["agreement"]


@pytest.mark.parametrize("k, overlap, coverage", [(3, 0.25, 1.0), (2, 0.0, 1.0), (4, 0.5, 0.4)])
def test_overlap_and_coverage_are_respected(truth, k, overlap, coverage):
    labels = simulate_annotators(truth, k, overlap, seed=5, coverage=coverage)
    assert sorted(labels) == [f"ann{i}" for i in range(1, k + 1)]
    per_image = pd.concat([f[f["task"] == "light"].assign(who=name) for name, f in labels.items()]).groupby("image")[
        "who"
    ]
    labelled = round(coverage * len(truth))
    assert per_image.ngroups == labelled
    assert (per_image.nunique() == per_image.size()).all()  # nobody labels an image twice
    assert (per_image.size() == 2).sum() == round(overlap * labelled) and per_image.size().max() <= 2
    sizes = [f["image"].nunique() for f in labels.values()]
    assert max(sizes) - min(sizes) <= 0.1 * labelled / k + 2  # work is shared evenly
    assert pairwise_agreement(labels)["orientation"]["images"] == round(overlap * labelled)


def test_same_seed_same_labels(truth):
    first, again = simulate_annotators(truth, 3, 0.2, seed=9), simulate_annotators(truth, 3, 0.2, seed=9)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["ann1"].equals(simulate_annotators(truth, 3, 0.2, seed=10)["ann1"])


def test_onehot_files_read_back(truth, tmp_path):
    from celeba_tui.formats.onehot import read_onehot, write_onehot
    from celeba_tui.workspace import DEFAULT_TASKS

    labels = simulate_annotators(truth.head(300), 2, 0.3, seed=6)
    for name, frame in labels.items():
        path = tmp_path / f"{name}.csv"
        write_onehot(frame, path, DEFAULT_TASKS)
        back = read_onehot(path, DEFAULT_TASKS)
        key = ["image", "task"]
        pd.testing.assert_frame_equal(
            back.sort_values(key).reset_index(drop=True),
            frame.sort_values(key).reset_index(drop=True),
            check_dtype=False,
        )


@pytest.mark.parametrize(
    "k, overlap, coverage, message",
    [
        (0, 0.0, 1.0, "between 1 and 100"),
        (101, 0.0, 1.0, "between 1 and 100"),
        (1, 0.2, 1.0, "2 annotators"),
        (3, 1.5, 1.0, "overlap"),
        (3, 0.2, 0.0, "coverage"),
    ],
)
def test_bad_options_are_user_errors(truth, k, overlap, coverage, message):
    with pytest.raises(CelebaError, match=message):
        simulate_annotators(truth, k, overlap, seed=0, coverage=coverage)
