"""An older export's automatic labels never override a later autolabel's decisions (attack
passes 26 and 27: an import brought back labels the later ensemble had sent to people)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.labelling.queues import QUEUES, QueueOptions

from training_data import make_labelled_workspace


def run(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_an_older_export_leaves_a_later_ensembles_manual_queue_alone(tmp_path, oracles):
    workspace, _, _ = make_labelled_workspace(tmp_path, n=30, labels_for=9)
    auto = ["autolabel", "--batch-size", "8", "-w", workspace.path]
    run(*auto, "-m", oracles["sharp"], oracles["soft"], "--high", "0.9")  # 21 automatic
    export = tmp_path / "run1.csv"
    run("export", "--format", "long", "-o", export, "-w", workspace.path)
    later = json.loads(run(*auto, "-m", oracles["sharp"], "--high", "0.99", "--json").stdout)["tasks"][0]
    assert later["manual_queue"] == 7
    result = run("import", export, "-w", workspace.path)
    assert "left out 21 automatic labels" in result.stderr
    with workspace.open_store() as store:
        manual = QUEUES["manual"].build(store, workspace, "zed", workspace.tasks, QueueOptions())
    assert len(manual.items) == 7


def test_the_workspaces_own_export_imports_back_without_a_word(tmp_path, oracles):
    workspace, _, _ = make_labelled_workspace(tmp_path, n=30, labels_for=9)
    run("autolabel", "--batch-size", "8", "-w", workspace.path, "-m", oracles["sharp"], "--high", "0.9")
    export = tmp_path / "own.csv"
    run("export", "--format", "long", "-o", export, "-w", workspace.path)
    result = run("import", export, "-w", workspace.path)
    assert "(0 new)" in result.stdout and "left out" not in result.stderr


def test_automatic_labels_without_a_time_never_replace_a_later_decision(tmp_path, oracles):
    # Attack pass 28: the same export cut to its first seven columns (no time) was "7 new".
    workspace, _, _ = make_labelled_workspace(tmp_path, n=30, labels_for=9)
    auto = ["autolabel", "--batch-size", "8", "-w", workspace.path]
    run(*auto, "-m", oracles["sharp"], oracles["soft"], "--high", "0.9")
    export = tmp_path / "run1.csv"
    run("export", "--format", "long", "-o", export, "-w", workspace.path)
    untimed = tmp_path / "untimed.csv"
    untimed.write_text("".join(line.rsplit(",", 1)[0] + "\n" for line in export.read_text().splitlines()))
    run(*auto, "-m", oracles["sharp"], oracles["soft"], "--high", "0.999", "--low", "0.99")
    result = run("import", untimed, "-w", workspace.path)
    assert "(0 new)" in result.stdout and "automatic labels" in result.stderr
    with workspace.open_store() as store:
        manual = QUEUES["manual"].build(store, workspace, "zed", workspace.tasks, QueueOptions())
    assert len(manual.items) == 7
