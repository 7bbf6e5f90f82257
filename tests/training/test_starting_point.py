"""`celeba train --start-from RUN`: a network begins at another run's weights, checked first."""

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from celeba_tui.cli import app

from training_data import make_labelled_workspace

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")


def celeba(*args):
    return runner.invoke(app, [str(a) for a in args])


def train(workspace, architecture, *more) -> Path:
    result = celeba("train", "-p", architecture, "-t", "light", "--seed", "3", "-w", workspace.path, *more)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def two_workspaces(tmp_path, tiny_architecture):
    """(a workspace with a finished tiny_test run, that run, a second workspace with its own labels)."""
    first, _, _ = make_labelled_workspace(tmp_path / "renders")
    run = train(first, tiny_architecture, "--epochs", "2")
    second, _, _ = make_labelled_workspace(tmp_path / "people", n=30, seed=1)
    return first, run, second


def parameters(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "best.pt", weights_only=True)


def test_training_starts_from_the_named_runs_weights(two_workspaces, tiny_architecture):
    _, start, workspace = two_workspaces
    # A learning rate this small leaves the weights where they started: the start is what is compared.
    still = ("--epochs", "1", "--lr", "1e-9", "--augment", "none")
    started = train(workspace, tiny_architecture, *still, "--start-from", start)
    fresh = train(workspace, tiny_architecture, *still)

    config = json.loads((started / "config.json").read_text())
    assert config["started_from"] == {
        "run": str(start.resolve()),
        "run_id": start.name,
        "task": "light",
        "tensors": "4/4",
    }
    assert json.loads((fresh / "config.json").read_text())["started_from"] is None
    origin = parameters(start)
    for name, value in parameters(started).items():
        assert torch.allclose(value, origin[name], atol=1e-4), name
    assert not torch.allclose(parameters(fresh)["0.weight"], origin["0.weight"], atol=1e-2)


def test_a_run_is_named_as_everywhere_else(two_workspaces, tiny_architecture):
    first, start, _ = two_workspaces
    run = train(first, tiny_architecture, "--epochs", "1", "--start-from", f"latest:{tiny_architecture}")
    assert json.loads((run / "config.json").read_text())["started_from"]["run_id"] == start.name


def refused(workspace, architecture, start, expected: str) -> None:
    before = sorted(p.name for p in workspace.runs_dir.iterdir()) if workspace.runs_dir.is_dir() else []
    result = celeba("train", "-p", architecture, "-t", "light", "-w", workspace.path, "--start-from", start)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0], result.output
    after = sorted(p.name for p in workspace.runs_dir.iterdir()) if workspace.runs_dir.is_dir() else []
    assert after == before  # refused before any run folder is made


def test_a_run_of_another_architecture_is_refused(two_workspaces):
    _, start, workspace = two_workspaces
    refused(workspace, "cnn4", start, "is a tiny_test run; start cnn4 from a cnn4 run")


def test_a_missing_run_is_refused(two_workspaces, tiny_architecture):
    _, start, workspace = two_workspaces
    refused(workspace, tiny_architecture, start.parent / "no-such-run", "no run")


def test_a_checkpoint_holding_python_objects_is_refused_unread(two_workspaces, tiny_architecture, tmp_path):
    _, start, workspace = two_workspaces
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"0.weight": Payload()}, start / "best.pt")
    refused(workspace, tiny_architecture, start, "holds Python objects")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"0.weight": torch.full((8, 3, 3, 3), float("nan"))}, "holds NaN or infinite weights"),
        ({"0.weight": [1.0, 2.0]}, "is not a named tensor"),
        ({"elsewhere.weight": torch.zeros(2, 2)}, "none of its 1 tensors fit"),
        ({"0.weight": torch.zeros(4, 3, 3, 3)}, "none of its 1 tensors fit"),
    ],
    ids=["nan", "not-a-tensor", "other-names", "other-shapes"],
)
def test_weights_that_cannot_start_a_network_are_refused(two_workspaces, tiny_architecture, state, expected):
    _, start, workspace = two_workspaces
    torch.save(state, start / "best.pt")
    refused(workspace, tiny_architecture, start, expected)


def cycle(workspace, *args):
    result = celeba("cycle", "-t", "light", "--epochs", "1", "--json", "-w", workspace.path, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_a_cycle_starts_its_architecture_there_and_reuses_only_a_run_started_alike(two_workspaces, tiny_architecture):
    _, start, workspace = two_workspaces
    first = cycle(workspace, "-p", tiny_architecture, "--start-from", start)
    run = workspace.runs_dir / first["runs"][0]["run"]
    assert json.loads((run / "config.json").read_text())["started_from"]["run"] == str(start.resolve())
    again = cycle(workspace, "-p", tiny_architecture, "--start-from", start, "--dry-run")
    assert [step["action"] for step in again["plan"]["steps"]] == ["reuse"]
    # Random weights are another setting: that run is not what a plain cycle would train.
    plain = cycle(workspace, "-p", tiny_architecture, "--dry-run")
    assert [step["action"] for step in plain["plan"]["steps"]] == ["train"]


def test_a_cycle_refuses_a_start_for_an_architecture_it_does_not_train(two_workspaces, tiny_architecture):
    _, start, workspace = two_workspaces
    result = celeba("cycle", "-t", "light", "-p", "cnn4", "--start-from", start, "--dry-run", "-w", workspace.path)
    assert result.exit_code == 2
    assert "is a tiny_test run, and this cycle trains cnn4" in result.output
