"""One model per task: it labels at >= high; two or more keep the study's rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from celeba_tui.autolabel.calibration import choose_thresholds
from celeba_tui.autolabel.rules import RULES, STUDY_RULES, Thresholds, decide
from celeba_tui.autolabel.run import AutolabelOptions, run_autolabel
from celeba_tui.cli import app

from training_data import make_labelled_workspace

LABELLED = 9


@pytest.fixture
def labelled(tmp_path):
    workspace, names, truth = make_labelled_workspace(tmp_path, n=30, labels_for=LABELLED)
    return workspace, names, dict(zip(names, truth))


def test_one_model_rule_is_confident_at_high():
    probs = np.array([[[0.95, 0.03, 0.02], [0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]])
    decisions = decide(probs, Thresholds(0.8, 0.6))
    assert decisions.label.tolist() == [0, -1, 2]
    assert [RULES[r] for r in decisions.rule] == ["confident", "no-confident", "confident"]


def test_two_models_keep_the_study_rules():
    probs = np.array([[[0.95, 0.03, 0.02], [0.95, 0.03, 0.02]], [[0.9, 0.05, 0.05], [0.1, 0.5, 0.4]]])
    decisions = decide(probs, Thresholds(0.8, 0.6))
    assert [RULES[r] for r in decisions.rule] == ["agree", "confident-one"]
    assert "confident" not in STUDY_RULES


def test_target_precision_chooses_high_alone():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, 300)
    confidence = rng.uniform(0.34, 1.0, 300)
    wrong = rng.uniform(size=300) > confidence  # the less confident, the likelier wrong
    predicted = np.where(wrong, (truth + 1) % 3, truth)
    probs = np.full((1, 300, 3), 0.0)
    probs[0, np.arange(300), predicted] = confidence
    probs[0, np.arange(300), (predicted + 1) % 3] = 1 - confidence
    choice = choose_thresholds(probs, truth, Thresholds(0.9, 0.6), 0.9, "test", "light")
    assert choice.one_model and choice.thresholds is not None
    assert choice.thresholds.low == choice.thresholds.high
    assert choice.to_dict()["one_model"] is True and choice.held_out.n_auto > 0


def test_autolabel_with_one_model(labelled, oracles):
    workspace, names, truth = labelled
    report = run_autolabel(workspace, [oracles["sharp"]], AutolabelOptions(batch_size=8, high=0.95))
    (task,) = report.tasks
    assert set(task.rules) == {"confident", "no-confident"}
    assert task.automatic + task.manual_queue == len(names) - LABELLED
    with workspace.open_store() as store:
        live = store.live_labels(task="light", sources=["model"])
    assert all(truth[image] == label for image, label in zip(live["image"], live["label"]))
    assert task.thresholds["one_model"] is True
    result = CliRunner().invoke(app, ["autolabel", "-m", str(oracles["sharp"]), "--json", "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert data["tasks"][0]["thresholds"]["one_model"] is True
