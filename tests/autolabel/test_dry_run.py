"""`celeba autolabel --dry-run`: the run's figures, what it would write and withdraw, and a
store and workspace left exactly as they were (the predictions held in memory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app

from training_data import add_labels, make_labelled_workspace

LABELLED = 9  # images 1-9 have human labels; 10-30 are for the ensemble


@pytest.fixture
def labelled(tmp_path):
    workspace, names, truth = make_labelled_workspace(tmp_path, n=30, labels_for=LABELLED)
    return workspace, names, dict(zip(names, truth))


def labels_and_reports(workspace):
    """Every row of every table of the store, and the run's report files with their bytes."""
    import sqlite3

    with sqlite3.connect(workspace.store_path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = {table: db.execute(f"SELECT * FROM {table}").fetchall() for table in tables}
    reports = [*workspace.autolabel_dir.glob("*"), workspace.suspects_path]
    return rows, {path.name: path.read_bytes() for path in reports if path.exists()}


def cli(workspace, *args):
    result = CliRunner().invoke(app, ["autolabel", "--batch-size", "8", "-w", str(workspace.path), *args])
    assert result.exit_code == 0, result.output
    return result


def test_a_dry_run_reports_the_run_and_writes_no_label(labelled, oracles):
    workspace, names, truth = labelled
    models = [str(oracles["sharp"]), str(oracles["soft"])]
    # An earlier run at a lower threshold: its center labels are what the next run withdraws.
    cli(workspace, "-m", *models, "--high", "0.9")
    # A person labels one image the ensemble called otherwise: a suspect, listed but not written.
    wrong = next(n for n in names[:LABELLED] if truth[n] == "left")
    with workspace.open_store() as store:
        for person in ("alice", "bob"):
            add_labels(store, [wrong], ["right"], annotator=person, tasks=("light",))
    before = labels_and_reports(workspace)

    dry = cli(workspace, "-m", *models, "--high", "0.95", "--dry-run", "--json")
    report = json.loads(dry.stdout)
    (task,) = report["tasks"]
    assert report["dry_run"] is True
    # Other thresholds make the 14 sides new decisions (written again, same class); 7 centers withdrawn.
    assert task["automatic"] == task["labels_written"] == 14 and task["labels_withdrawn"] == 7
    assert task["labels_changed"] == 0 and task["labels_renewed"] == 14  # the class each side has already
    assert report["suspects"] and report["suspects_report"] == "" and report["skipped_report"] == ""
    assert labels_and_reports(workspace) == before  # nothing written, withdrawn or replaced

    real = json.loads(cli(workspace, "-m", *models, "--high", "0.95", "--json").stdout)
    assert real["predicted_now"] == 0  # the first run's predictions; the dry run stored none
    # The run says what the dry run said it would do.
    for key in (
        "automatic", "manual_queue", "labels_written", "labels_withdrawn", "labels_changed", "labels_renewed", "suspects",
    ):  # fmt: skip
        assert real["tasks"][0][key] == task[key], key
    assert real["dry_run"] is False and labels_and_reports(workspace) != before


def test_a_dry_run_counts_the_labels_a_new_ensemble_would_change(labelled, oracles):
    workspace, names, truth = labelled
    cli(workspace, "-m", str(oracles["sharp"]), "--high", "0.9")
    # `swapped` swaps left and right: every automatic label it gives to a side changes class.
    dry = cli(workspace, "-m", str(oracles["swapped"]), "--high", "0.5", "--dry-run")
    with workspace.open_store() as store:
        sides = sum(1 for n in names[LABELLED:] if truth[n] != "center")
        live = store.live_labels(task="light", sources=["model"])
        assert len(live) == len(names) - LABELLED  # the first run's labels, untouched
    assert "No label written or withdrawn, nothing stored (--dry-run)" in dry.stderr
    assert "without --dry-run writes these labels" in dry.stderr
    assert "would write" in dry.stdout and f"{sides:,} of them changing an automatic label's class" in dry.stdout
    real = cli(workspace, "-m", str(oracles["swapped"]), "--high", "0.5")
    assert "written" in real.stdout and f"{sides:,} of them changing" in real.stdout
    assert "--dry-run" not in real.stderr
    # Nothing new to write: the dry run does not promise labels (the walkthrough of
    # 2026-12-07: "would write 0", then "without --dry-run writes these labels").
    again = cli(workspace, "-m", str(oracles["swapped"]), "--high", "0.5", "--dry-run")
    assert "writes these labels" not in again.stderr and "would change no label either" in again.stderr


def test_a_dry_run_over_new_images_sends_nobody_to_them(labelled, oracles):
    """New images a dry run predicts are neither registered nor put in the manual queue (its
    predictions were stored: people were sent images the run then labelled; attack pass 26)."""
    import shutil

    from celeba_tui.labelling.queues import QUEUES, QueueOptions

    workspace, names, _ = labelled
    models = [str(oracles["sharp"]), str(oracles["soft"])]
    cli(workspace, "-m", *models, "--high", "0.9")
    for i in range(3):
        shutil.copy(workspace.image_root / names[LABELLED + i], workspace.image_root / f"new{i}.jpg")
    before = labels_and_reports(workspace)
    report = json.loads(cli(workspace, "-m", *models, "--high", "0.9", "--dry-run", "--json").stdout)
    assert report["predicted_now"] == 3 and report["tasks"][0]["labels_written"] == 3
    assert labels_and_reports(workspace) == before
    with workspace.open_store() as store:
        manual = QUEUES["manual"].build(store, workspace, "bob", workspace.tasks, QueueOptions())
        assert manual.items == [] and "new0.jpg" not in store.image_names(present_only=False)


@pytest.mark.parametrize("report", ["suspects.csv", "skipped.csv", "precision-coverage.png"])
@pytest.mark.parametrize("dry_run", [["--dry-run"], []], ids=["dry-run", "run"])
def test_the_grid_never_replaces_the_last_runs_reports(labelled, oracles, report, dry_run):
    """`--grid autolabel/suspects.csv` replaced the suspects queue's list by a picture, in a
    dry run too (attack pass 26)."""
    workspace, _, _ = labelled
    cli(workspace, "-m", str(oracles["swapped"]), "--high", "0.5")
    before = labels_and_reports(workspace)
    grid = workspace.autolabel_dir / report
    args = ["autolabel", "-w", str(workspace.path), "-m", str(oracles["sharp"]), "--grid", str(grid), *dry_run]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: cannot write {grid}: it is this workspace's report of the last autolabel\n"
    assert labels_and_reports(workspace) == before


def test_a_dry_run_of_a_run_exports_it_for_itself_and_keeps_nothing(labelled_workspace, tiny_architecture, one_thread):
    # helper-68: `autolabel --dry-run -m latest` made models/ and left the run's .onnx in it.
    workspace = labelled_workspace
    assert CliRunner().invoke(app, ["train", "-w", str(workspace.path), "-t", "light", "-p", tiny_architecture, "--epochs", "1"]).exit_code == 0  # fmt: skip
    before = labels_and_reports(workspace)
    dry = cli(workspace, "-m", "latest", "-t", "light", "--high", "0.34", "--force", "--dry-run")
    said = " ".join(dry.stdout.split())
    assert "exported for this dry run (not kept)" in said, said
    scratch = Path(said.split("(not kept) ")[1].split()[0])
    assert not scratch.exists() and not scratch.parent.exists()  # removed after the run
    assert not (workspace.path / "models").exists() and labels_and_reports(workspace) == before


def test_a_kill_unwinds_a_dry_run_so_its_temporary_folder_goes(tmp_path):
    # Attack pass 34: `kill` (SIGTERM) during a dry run's export left its temporary folder.
    import os
    import signal
    import tempfile

    from celeba_tui.cli.onnx_commands import termination_unwinds
    from celeba_tui.onnx.export import interruption

    before = signal.getsignal(signal.SIGTERM)
    folder = None
    with pytest.raises(SystemExit) as stopped:
        with termination_unwinds(), tempfile.TemporaryDirectory(dir=tmp_path) as scratch:
            folder = Path(scratch)
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs as the call returns
    assert stopped.value.code == 143 and not folder.exists()
    assert signal.getsignal(signal.SIGTERM) == before
    # torch.export reports an interruption inside its tracing as its own error: found under it.
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as inner:
            raise RuntimeError("Failed to export the model with torch.export") from inner
    except RuntimeError as wrapped:
        assert isinstance(interruption(wrapped), KeyboardInterrupt)
    assert interruption(ValueError("bad opset")) is None
