"""`celeba train` and its errors through the CLI (typer's CliRunner)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.training.split import read_split, split_path

from training_data import make_labelled_workspace

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")


def celeba(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_train_prints_the_run_directory_last(labelled_workspace, tiny_architecture):
    result = celeba(
        "train", "--plugin", tiny_architecture, "--task", "light", "--epochs", "2", "-w", labelled_workspace.path
    )
    assert result.exit_code == 0, result.output
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert run_dir.parent == labelled_workspace.runs_dir and (run_dir / "summary.json").is_file()


def test_train_json(labelled_workspace, tiny_architecture):
    result = celeba(
        "train",
        "--plugin",
        tiny_architecture,
        "--task",
        "orientation",
        "--epochs",
        "1",
        "--augment",
        "none",
        "--batch-size",
        "4",
        "--lr",
        "0.02",
        "--seed",
        "9",
        "--patience-acc",
        "2",
        "--patience-loss",
        "1",
        "--device",
        "cpu",
        "--no-amp",
        "--json",
        "-w",
        labelled_workspace.path,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    config = data["config"]
    assert (config["augment"], config["batch_size"], config["lr"], config["seed"]) == ("none", 4, 0.02, 9)
    assert (config["patience_acc"], config["patience_loss"], config["device"]) == (2, 1, "cpu")
    assert config["autocast"] == "none"
    assert "asked_schedule" not in config  # the options gave the schedule: the few-labels rule kept it
    assert Path(data["run_dir"]).is_dir() and data["summary"]["n_val"] == 12


def test_new_split_makes_a_new_one(labelled_workspace, tiny_architecture):
    base = (
        "train",
        "--plugin",
        tiny_architecture,
        "--task",
        "light",
        "--epochs",
        "1",
        "--json",
        "-w",
        labelled_workspace.path,
    )
    assert celeba(*base).exit_code == 0
    first = read_split(split_path(labelled_workspace.splits_dir, "light"))
    assert celeba(*base, "--seed", "4").exit_code == 0
    assert read_split(split_path(labelled_workspace.splits_dir, "light")).equals(first)  # reused
    assert celeba(*base, "--seed", "4", "--new-split").exit_code == 0
    assert not read_split(split_path(labelled_workspace.splits_dir, "light")).equals(first)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--plugin", "nope", "--task", "light"), "error: unknown architecture 'nope' (installed: "),
        # Attack pass 43: a 5,000-character name was quoted whole.
        (("--plugin", "x" * 5000, "--task", "light"), "xxxxxxxx...' (installed: "),
        (("--plugin", "tiny_test", "--task", "mood"), "error: unknown task 'mood'"),
        (
            ("--plugin", "tiny_test", "--task", "light", "--preprocess", "sharpen"),
            "error: unknown preprocessing op 'sharpen'",
        ),
        (("--plugin", "tiny_test", "--task", "light", "--lr", "inf"), "error: --lr must be positive and at most 10"),
        (("--plugin", "tiny_test", "--task", "light", "--lr", "1e300"), "error: --lr must be positive and at most 10"),
        (("--plugin", "tiny_test", "--task", "light", "--seed", "-1"), "error: --seed -1: must be between 0 and"),
        (("--plugin", "tiny_test", "--task", "light", "--seed", str(2**64)), "must be between 0 and 4294967295"),
    ],
)
def test_user_errors_are_one_line(labelled_workspace, tiny_architecture, args, message):
    result = celeba("train", *args, "-w", labelled_workspace.path)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (labelled_workspace.runs_dir).exists() or not any(labelled_workspace.runs_dir.iterdir())  # no run begun


def test_too_few_labels_through_the_cli(tmp_path, tiny_architecture):
    workspace = make_labelled_workspace(tmp_path, n=20, labels_for=5)[0]
    result = celeba("train", "--plugin", tiny_architecture, "--task", "light", "-w", workspace.path)
    assert result.exit_code == 2 and "5 usable human labels" in result.output
