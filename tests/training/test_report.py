"""`celeba report`: Table 9 plus balanced accuracy, macro-F1 and the majority baseline."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.training.report import duration, find_runs, markdown, report_rows, table9
from celeba_tui.training.trainer import TrainOptions, train

from training_data import make_labelled_workspace, registered_tiny_architecture, torch_threads

runner = CliRunner()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Three finished runs, trained once for the module."""
    root = tmp_path_factory.mktemp("report")
    workspace = make_labelled_workspace(root)[0]
    with torch_threads(1), registered_tiny_architecture("tiny-report-plugin"):
        for task, epochs, seed in (("light", 1, 0), ("light", 4, 1), ("orientation", 2, 0)):
            train(workspace, TrainOptions(plugin="tiny_test", task=task, epochs=epochs, seed=seed))
    return root


@pytest.fixture
def runs(trained, tmp_path):
    """A private copy of the trained workspace (tests may damage it)."""
    from celeba_tui.workspace import load_workspace

    shutil.copytree(trained, tmp_path / "copy")
    workspace = load_workspace(tmp_path / "copy" / "ws")
    return workspace, sorted(p for p in workspace.runs_dir.iterdir())


def test_rows_and_table9(runs):
    workspace, paths = runs
    found, notes = find_runs(workspace)
    assert notes == [] and sorted(r.path for r in found) == paths
    rows = report_rows(found)
    assert [r["task"] for r in rows] == ["light", "light", "orientation"]
    assert rows[0]["val_balanced_acc"] >= rows[1]["val_balanced_acc"]
    for row in rows:
        assert 0 <= row["val_balanced_acc"] <= 1 and 0 <= row["val_macro_f1"] <= 1
        assert row["majority_baseline"] == pytest.approx(1 / 3)
        assert row["params_trainable"] == 611 and row["images_per_s"] > 0
    tasks, models = table9(rows)
    assert tasks == ["light", "orientation"] and len(models) == 1
    assert models[0]["light"]["val_acc"] == rows[0]["val_acc"]  # the best light run
    assert len(report_rows(found, ["orientation"])) == 1
    # The run Table 9 shows is the run `best:ARCH` names (found by an ML walkthrough: Table 9
    # ranked by accuracy, the selector by balanced accuracy, and they named different runs).
    from celeba_tui.training.run_selection import list_runs, parse_selector, pick

    best = pick(list_runs(workspace.runs_dir), parse_selector("best:tiny_test"), "light")
    assert models[0]["light"]["run_id"] == best.run_id


def test_unfinished_runs_are_noted_and_named_runs_selected(runs):
    workspace, paths = runs
    (paths[0] / "summary.json").unlink()
    found, notes = find_runs(workspace)
    assert len(found) == 2 and len(notes) == 1 and "unfinished" in notes[0]
    only, _ = find_runs(workspace, [paths[1].name, str(paths[2])])
    assert [r.path for r in only] == [paths[1], paths[2]]


def test_markdown_has_both_tables(runs):
    workspace, _ = runs
    text = markdown(report_rows(find_runs(workspace)[0]))
    assert "| model | light acc. | light loss | orientation acc. | orientation loss |" in text
    assert "| model | task | val acc | val loss | balanced acc | macro-F1 | majority |" in text
    assert text.count("| tiny_test |") == 4


def test_cli_json_markdown_and_table(runs):
    workspace, paths = runs
    result = runner.invoke(app, ["report", "--json", "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["runs"]) == 3 and data["tasks"] == ["light", "orientation"]
    assert {
        "val_acc",
        "val_loss",
        "val_balanced_acc",
        "val_macro_f1",
        "majority_baseline",
        "epochs_run",
        "params_trainable",
        "train_seconds",
        "images_per_s",
    } <= set(data["runs"][0])
    result = runner.invoke(app, ["report", paths[2].name, "--markdown", "-w", str(workspace.path)])
    assert result.exit_code == 0 and result.stdout.count("| tiny_test |") == 2
    result = runner.invoke(app, ["report", "--task", "light", "-w", str(workspace.path)])
    assert result.exit_code == 0 and "Table 9" in result.stdout and "orientation" not in result.stdout


def test_cli_errors(runs, tmp_path):
    workspace, paths = runs
    result = runner.invoke(app, ["report", "--task", "mood", "-w", str(workspace.path)])
    assert result.exit_code == 2 and "unknown task 'mood'" in result.output
    result = runner.invoke(app, ["report", str(tmp_path), "-w", str(workspace.path)])
    assert result.exit_code == 2 and "not a training run" in result.output
    shutil.rmtree(workspace.runs_dir)
    result = runner.invoke(app, ["report", "-w", str(workspace.path)])
    assert result.exit_code == 0 and "no finished runs" in result.output


def test_duration():
    assert duration(5.04) == "5.0s" and duration(125) == "2m05s" and duration(3 * 3600 + 60) == "3h01m"


def test_progress_messages_are_plain_text_not_markup(capsys):
    """The onnxruntime fallback hint names `celeba-tui[gpu]`: rich markup swallowed `[gpu]`."""
    from celeba_tui.progress import RichReporter

    reporter = RichReporter()
    reporter.message("pip install 'celeba-tui[gpu]' for [bold]CUDA[/bold]")
    reporter.close()
    err = capsys.readouterr().err
    assert "celeba-tui[gpu]" in err and "[bold]CUDA[/bold]" in err


def test_each_epoch_says_of_how_many_and_how_long_the_rest_takes(capsys):
    # helper-91: a log without a bar told a 14-epoch run from a 25-epoch one by nothing.
    from celeba_tui.progress import RichReporter

    reporter = RichReporter()
    for epoch in (1, 2, 3):
        record = {
            "epoch": epoch, "train_loss": 1.0, "train_acc": 0.5, "val_loss": 1.0, "val_acc": 0.5,
            "val_balanced_acc": 0.4, "seconds": 60.0, "images_per_s": 100.0,
        }  # fmt: skip
        reporter.epoch_start(epoch, 3, 10)
        reporter.epoch_end(record, epoch == 1, "")
    reporter.close()
    # As printed, whatever the console's width (a narrow one wraps the lines).
    lines = [" ".join(line.split()) for line in capsys.readouterr().err.split("epoch ")[1:]]
    assert lines[0].startswith("1/3 train loss") and lines[0].endswith("100 img/s 2 min left *best"), lines
    assert lines[1].endswith("1 min left") and lines[2].endswith("100 img/s"), lines
