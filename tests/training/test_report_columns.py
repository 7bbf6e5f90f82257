"""`celeba report` at 80 and 120 columns: whole columns go, values are never cut."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.training.report_layout import DROP_ORDER, fit_columns
from tests.training.run_folders import write_run_folder

RUN_IDS = ("orientation-residual_blocks_dropout-20240501-101500", "light-cnn4-20240501-101500")


def write_run(runs_dir, run_id, task, architecture):
    summary = {
        "val_acc": 0.8734,
        "val_loss": 0.4321,
        "val_balanced_acc": 0.6543,
        "val_macro_f1": 0.6123,
        "majority_baseline": 0.7012,
        "best_epoch": 12,
        "epochs_run": 17,
        "params_trainable": 20_024_003,
        "params_non_trainable": 0,
        "train_seconds": 3725.0,
        "images_per_s": 6432.0,
    }
    write_run_folder(runs_dir, run_id, task, architecture, summary)


@pytest.fixture
def runs(workspace):
    write_run(workspace.runs_dir, RUN_IDS[0], "orientation", "residual_blocks_dropout")
    write_run(workspace.runs_dir, RUN_IDS[1], "light", "cnn4")
    return workspace


@pytest.mark.parametrize("columns", [80, 120])
def test_values_whole_at_any_width(runs, columns):
    result = CliRunner().invoke(app, ["report", "-w", str(runs.path)], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "…" not in result.stdout
    for value in (*RUN_IDS, "0.873", "0.654"):
        assert value in result.stdout
    if columns == 80:
        assert "left out at 80 columns" in result.stdout and "img/s" in result.stdout


def test_columns_go_in_the_stated_order():
    keys = ["architecture", "task", "val_acc", "val_loss", "val_balanced_acc", "val_macro_f1", "run_id"]
    body = [["residual_blocks", "orientation", "0.873", "0.432", "0.654", "0.612", "x" * 40]]
    wide = fit_columns(keys, keys, body, 200, DROP_ORDER)
    assert wide.dropped == () and wide.width <= 200
    narrow = fit_columns(keys, keys, body, 80, DROP_ORDER)
    present = [key for key in DROP_ORDER if key in keys]
    assert narrow.width <= 80 and set(narrow.dropped) == set(present[: len(narrow.dropped)])
    assert {"val_acc", "val_balanced_acc", "run_id"} <= set(narrow.keys)
    tiny = fit_columns(keys, keys, body, 40, DROP_ORDER)
    assert tiny.keys == ("val_acc", "val_balanced_acc", "run_id")  # the run id wraps: nothing is cut
