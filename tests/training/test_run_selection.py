"""Run selectors (latest, best, best:ARCH) wherever a run is named, on hand-written run folders."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from celeba_tui.training.run_selection import RunSelector, list_runs, parse_selector, resolve_run, resolve_runs
from tests.training.run_folders import write_run_folder

runner = CliRunner()


def fake_run(runs_dir, run_id, task, architecture, balanced, created):
    """A finished run folder as far as selection reads it (config, summary, a checkpoint file)."""
    summary = {"val_acc": balanced, "val_balanced_acc": balanced}
    return write_run_folder(runs_dir, run_id, task, architecture, summary, input_size=16, created=created)


@pytest.fixture
def runs(workspace):
    runs_dir = workspace.runs_dir
    fake_run(runs_dir, "light-cnn4-a", "light", "cnn4", 0.70, "2024-05-01T10:00:00+0000")
    fake_run(runs_dir, "light-cnn4-b", "light", "cnn4", 0.60, "2024-05-02T10:00:00+0000")
    fake_run(runs_dir, "light-vgg-a", "light", "vgg", 0.80, "2024-05-01T09:00:00+0000")
    fake_run(runs_dir, "orientation-cnn4-a", "orientation", "cnn4", 0.90, "2024-05-03T10:00:00+0000")
    (runs_dir / "light-cnn4-unfinished").mkdir()
    (runs_dir / "light-cnn4-unfinished" / "config.json").write_text("{}")
    return workspace


def test_parse_selector():
    assert parse_selector("best") == RunSelector("best")
    assert parse_selector("latest:cnn4") == RunSelector("latest", "cnn4")
    assert parse_selector("light-cnn4-20240501-101500") is None and parse_selector("./best") is None
    with pytest.raises(CelebaError, match="names no architecture"):
        parse_selector("best:")


def test_latest_best_and_architecture(runs):
    runs_dir = runs.runs_dir
    assert resolve_run("latest", runs_dir, "light").run_id == "light-cnn4-b"
    assert resolve_run("best", runs_dir, "light").run_id == "light-vgg-a"
    assert resolve_run("best:cnn4", runs_dir, "light").run_id == "light-cnn4-a"
    assert resolve_run("latest:cnn4", runs_dir, "orientation").run_id == "orientation-cnn4-a"
    assert resolve_run("best:vgg", runs_dir).run_id == "light-vgg-a"  # one task matches: no -t needed
    assert resolve_run("light-cnn4-b", runs_dir).run_id == "light-cnn4-b"  # run ids keep working
    assert resolve_run(str(runs_dir / "light-cnn4-a"), runs_dir).run_id == "light-cnn4-a"  # and folders
    listing = list_runs(runs_dir)
    assert len(listing.runs) == 4 and listing.notes and "light-cnn4-unfinished" in listing.notes[0]


def test_ambiguous_and_unmatched_selectors_say_how_to_fix(runs):
    with pytest.raises(CelebaError, match=r"ambiguous.*light, orientation.*-t/--task light"):
        resolve_run("best", runs.runs_dir)
    with pytest.raises(CelebaError, match=r"'best:resnet50'.*light-cnn4-a \(light, cnn4\).*-t light best:cnn4"):
        resolve_run("best:resnet50", runs.runs_dir, "light")
    with pytest.raises(CelebaError, match=r"'best:vgg' with task 'orientation'.*-t orientation best:cnn4$"):
        resolve_run("best:vgg", runs.runs_dir, "orientation")  # the hint names this task's runs only
    # The walkthrough of 2026-12-07: a task with no runs was offered another task's run.
    with pytest.raises(CelebaError, match=r"no finished glasses runs in .* \(runs of: light, orientation\); train"):
        resolve_run("best", runs.runs_dir, "glasses")
    with pytest.raises(CelebaError, match="is a 'light' run, not 'orientation'"):
        resolve_run("light-cnn4-a", runs.runs_dir, "orientation")
    with pytest.raises(CelebaError, match=r"no run 'nope': not a run selector"):
        resolve_run("nope", runs.runs_dir)


def test_several_runs_once_each(runs):
    found, notes = resolve_runs(["best", "best:vgg", "light-cnn4-a"], runs.runs_dir, ["light"])
    assert [run.run_id for run in found] == ["light-vgg-a", "light-cnn4-a"] and notes == []
    found, notes = resolve_runs(None, runs.runs_dir, ["orientation"])
    assert [run.run_id for run in found] == ["orientation-cnn4-a"] and len(notes) == 1


def test_report_takes_several_tasks_like_every_other_command(runs):
    # Found by the walkthrough of 2026-12-06: `report -t light -t orientation` kept the last -t alone.
    both = runner.invoke(app, ["report", "-t", "light", "-t", "orientation", "--json", "-w", str(runs.path)])
    assert both.exit_code == 0, both.output
    assert {row["task"] for row in json.loads(both.stdout)["runs"]} == {"light", "orientation"}
    best = runner.invoke(app, ["report", "best", "-t", "light", "-t", "orientation", "--json", "-w", str(runs.path)])
    assert [row["run_id"] for row in json.loads(best.stdout)["runs"]] == ["light-vgg-a", "orientation-cnn4-a"]
    found, _ = resolve_runs(["light-cnn4-a"], runs.runs_dir, ["light", "orientation"])
    assert [run.run_id for run in found] == ["light-cnn4-a"]
    with pytest.raises(CelebaError, match="is a 'light' run, not 'orientation' or 'other': name a run"):
        resolve_runs(["light-cnn4-a"], runs.runs_dir, ["orientation", "other"])


def test_report_and_export_take_selectors(runs):
    result = runner.invoke(app, ["report", "best", "latest", "-t", "light", "--json", "-w", str(runs.path)])
    assert result.exit_code == 0, result.output
    assert [row["run_id"] for row in json.loads(result.stdout)["runs"]] == ["light-vgg-a", "light-cnn4-b"]
    result = runner.invoke(app, ["report", "best", "-w", str(runs.path)])
    assert result.exit_code == 2 and "add -t/--task" in result.output
    result = runner.invoke(app, ["export-onnx", "best", "-o", "x.onnx", "-w", str(runs.path)])
    assert result.exit_code == 2 and "ambiguous" in result.output
