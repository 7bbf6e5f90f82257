"""Self-training: `--pseudo-labels` adds the ensemble's automatic labels to the train split only."""

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.autolabel.cycle import CycleOptions, plan_cycle
from celeba_tui.cli.app import app
from celeba_tui.training.run_labels import current_fingerprint
from celeba_tui.training.split import read_split, split_path
from celeba_tui.training.trainer import TrainOptions, train

from training_data import make_labelled_workspace

pytestmark = pytest.mark.usefixtures("one_thread")


def workspace_with_automatic_labels(tmp_path, n=46, labelled=40):
    """Human labels on the first `labelled` images, model labels (status `model`) on the rest."""
    workspace, names, labels = make_labelled_workspace(tmp_path, n=n, labels_for=labelled)
    with workspace.open_store() as store:
        rows = [
            {"image": name, "task": "light", "label": label, "annotator": "ensemble", "source": "model"}
            for name, label in zip(names[labelled:], labels[labelled:])
        ]
        store.add_labels(pd.DataFrame(rows))
    return workspace, names


def test_pseudo_labels_join_the_train_split_and_never_the_validation_split(tmp_path, tiny_architecture):
    workspace, names = workspace_with_automatic_labels(tmp_path)
    plain = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1)).summary
    split_before = read_split(split_path(workspace.splits_dir, "light"))
    result = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1, pseudo_labels=True))
    assert result.summary.n_train == plain.n_train + 6 and result.summary.n_val == plain.n_val
    config = json.loads((result.run_path / "config.json").read_text())
    assert config["pseudo_labels"] is True and config["pseudo_label_images"] == 6
    # The stored split (what validation, calibration and thresholds use) lists people's labels only.
    split_after = read_split(split_path(workspace.splits_dir, "light"))
    assert split_after.equals(split_before) and not set(names[40:]) & set(split_after["image"])


def test_an_image_a_person_labelled_is_never_replaced_by_its_automatic_label(tmp_path, tiny_architecture):
    workspace, names = workspace_with_automatic_labels(tmp_path)
    with workspace.open_store() as store:
        # The ensemble also labels a person's image (a stale row): the person's label wins.
        store.add_labels(
            pd.DataFrame([{"image": names[0], "task": "light", "label": "right", "annotator": "m", "source": "model"}])
        )
    result = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1, pseudo_labels=True))
    assert json.loads((result.run_path / "config.json").read_text())["pseudo_label_images"] == 6


def test_the_fingerprint_of_a_self_training_run_follows_the_automatic_labels(tmp_path):
    workspace, names = workspace_with_automatic_labels(tmp_path)
    plain = current_fingerprint(workspace, "light")
    pseudo = current_fingerprint(workspace, "light", pseudo_labels=True)
    assert plain.labels != pseudo.labels and pseudo.images == plain.images + 6
    with workspace.open_store() as store:
        store.add_labels(
            pd.DataFrame(
                [{"image": names[-1], "task": "light", "label": "right", "annotator": "e2", "source": "model"}]
            )
        )
    assert current_fingerprint(workspace, "light").labels == plain.labels
    assert current_fingerprint(workspace, "light", pseudo_labels=True).labels != pseudo.labels


def test_cycle_with_pseudo_labels_does_not_reuse_a_run_trained_without_them(tmp_path, tiny_architecture):
    from celeba_tui.training.run_labels import train_recording_labels

    workspace, _ = workspace_with_automatic_labels(tmp_path)
    train_recording_labels(workspace, TrainOptions(plugin=tiny_architecture, task="light"))
    plain = plan_cycle(workspace, CycleOptions(task="light", architectures=(tiny_architecture,)))
    assert plain.steps[0].reuse is not None
    pseudo = plan_cycle(workspace, CycleOptions(task="light", architectures=(tiny_architecture,), pseudo_labels=True))
    assert pseudo.steps[0].reuse is None


def test_train_cli_takes_pseudo_labels(tmp_path, tiny_architecture):
    workspace, _ = workspace_with_automatic_labels(tmp_path)
    result = CliRunner().invoke(
        app,
        ["-w", str(workspace.path), "train", "-p", tiny_architecture, "-t", "light", "--epochs", "1"]
        + ["--pseudo-labels", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["config"]["pseudo_label_images"] == 6


def test_a_cycle_plan_says_how_many_automatic_labels_pseudo_labels_add(tmp_path, tiny_architecture):
    # Found by a new-user walkthrough: before any autolabel the plan said "labelled images
    # to learn from (people's and the ensemble's)" where the ensemble had labelled none.
    workspace, _ = workspace_with_automatic_labels(tmp_path)
    options = CycleOptions(task="light", architectures=(tiny_architecture,), pseudo_labels=True)
    assert "people's and the ensemble's 6)" in plan_cycle(workspace, options).lines()[0]
    bare, _, _ = make_labelled_workspace(tmp_path / "bare", n=40)
    lines = plan_cycle(bare, options).lines()
    assert "the ensemble has labelled none yet, so --pseudo-labels adds nothing this round" in lines[0]
    # Settings read as words, not Python (found by an ML walkthrough: "pseudo_labels False").
    step = "\n".join(lines[1:5])  # the step's line and its settings' lines
    assert "pseudo_labels yes" in step and "False" not in step and "True" not in step


def test_train_json_carries_the_warning_that_the_model_learnt_nothing(tmp_path, tiny_architecture, monkeypatch):
    # Found by an ML walkthrough: with --json the chance-level warning was not given at all.
    from celeba_tui.training import metrics

    monkeypatch.setattr(metrics, "at_chance", lambda balanced, classes: True)  # as a run that learnt nothing
    workspace, _ = workspace_with_automatic_labels(tmp_path)
    result = CliRunner().invoke(
        app, ["-w", str(workspace.path), "train", "-p", tiny_architecture, "-t", "light", "--epochs", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    (warning,) = json.loads(result.stdout)["warnings"]
    assert "is what guessing scores" in warning and f"warning: {warning}" in result.stderr
