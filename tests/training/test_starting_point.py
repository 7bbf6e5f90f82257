"""`celeba train --start-from RUN`: a network begins at another run's weights, checked first."""

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from celeba_tui.training.starting_point import weights_digest

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
        "weights": weights_digest(parameters(start)),
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


def with_nan(state):
    return {**state, "0.weight": torch.full_like(state["0.weight"], float("nan"))}


def past_float32(state):  # finite as float64, infinite in the float32 network
    return {**state, "0.weight": torch.full(state["0.weight"].shape, 1e300, dtype=torch.float64)}


def sparse(state):
    return {**state, "0.bias": state["0.bias"].to_sparse()}


def not_a_tensor(state):
    return {**state, "0.weight": [1.0, 2.0]}


def head_only(state):  # the output layer fits, the rest is another network's
    return {name: value for name, value in state.items() if name.startswith("4.")} | {"x.weight": torch.zeros(1)}


def test_a_compressed_checkpoint_that_would_unpack_past_the_cap_is_refused_unread(
    two_workspaces, tiny_architecture, monkeypatch
):
    # Found by attack pass 21: torch unpacks deflated members; 950 KB asked for 1 GB.
    import zipfile

    from celeba_tui.models import model_io

    _, start, workspace = two_workspaces
    plain = start / "plain.pt"
    torch.save({**parameters(start), "zeros": torch.zeros(100_000)}, plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(start / "best.pt", "w", zipfile.ZIP_DEFLATED) as packed:
        for member in source.infolist():
            packed.writestr(member.filename, source.read(member.filename))
    assert (start / "best.pt").stat().st_size < 100_000  # the zeros pack to little
    monkeypatch.setattr(model_io, "MAX_CHECKPOINT_BYTES", 200_000)
    refused(workspace, tiny_architecture, start, "members unpack to")


def test_the_same_weights_have_one_digest_in_any_file_and_order():
    state = {"b": torch.arange(3.0), "a": torch.ones(2, 2, dtype=torch.bfloat16), "n": torch.tensor(7)}
    assert weights_digest(state) == weights_digest(dict(reversed(state.items())))
    assert weights_digest(state) != weights_digest({**state, "b": torch.tensor([0.0, 1.0, 2.5])})
    assert weights_digest(state) != weights_digest({**state, "b": torch.arange(3.0).reshape(3, 1)})


def test_a_checkpoint_that_is_no_regular_file_or_too_large_is_refused_unread(
    two_workspaces, tiny_architecture, monkeypatch
):
    import os

    from celeba_tui.models import model_io

    _, start, workspace = two_workspaces
    monkeypatch.setattr(model_io, "MAX_CHECKPOINT_BYTES", 100)
    refused(workspace, tiny_architecture, start, "too large (")
    monkeypatch.undo()
    (start / "best.pt").unlink()
    os.mkfifo(start / "best.pt")  # an open blocks for a writer, a read for ever: refused before either
    refused(workspace, tiny_architecture, start, "has no checkpoint")
    with pytest.raises(CelebaError, match="not a regular file \\(a FIFO\\)"):
        model_io.read_checkpoint(start / "best.pt")  # swapped in after the run was read


def meta(state):  # no values to copy (found by attack pass 21: a traceback, and an empty run folder)
    return {**state, "0.bias": torch.empty(state["0.bias"].shape, device="meta")}


def conjugate(state):
    return {**state, "extra": torch.randn(2, dtype=torch.complex64).conj()}


def nested(state):
    import warnings

    with warnings.catch_warnings():  # "nested tensors are in prototype stage"
        warnings.simplefilter("ignore")
        return {**state, "extra": torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)])}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (meta, "tensor '0.bias' is not a dense tensor of weights"),
        (conjugate, "tensor 'extra' is not a dense tensor of weights"),
        (nested, "tensor 'extra' is not a dense tensor of weights"),
        (with_nan, "tensor '0.weight' holds NaN or infinite weights (as float32)"),
        (past_float32, "tensor '0.weight' holds NaN or infinite weights (as float32)"),
        (sparse, "tensor '0.bias' is not a dense tensor of weights"),
        (not_a_tensor, "is not a named tensor"),
        (head_only, "only 2 of its 3 tensors fit the 4 of this tiny_test network"),
        (lambda state: {"elsewhere.weight": torch.zeros(2, 2)}, "only 0 of its 1 tensors fit"),
        (lambda state: {"0.weight": torch.zeros(4, 3, 3, 3)}, "only 0 of its 1 tensors fit"),
    ],
    ids=[
        "meta",
        "conj",
        "nested",
        "nan",
        "past-float32",
        "sparse",
        "not-a-tensor",
        "head-only",
        "other-names",
        "other-shapes",
    ],
)
def test_weights_that_cannot_start_a_network_are_refused(two_workspaces, tiny_architecture, change, expected):
    _, start, workspace = two_workspaces
    torch.save(change(parameters(start)), start / "best.pt")
    refused(workspace, tiny_architecture, start, expected)
    # The folder given is named, not only the run id its config.json claims (attack pass 30:
    # a copied, broken run read as the workspace's own healthy run).
    if expected.startswith(("tensor '0.weight' holds", "only")):
        refused(workspace, tiny_architecture, start, f"--start-from {start} (run {start.name})")


def test_a_selector_picks_among_the_runs_of_the_task_trained(two_workspaces, tiny_architecture):
    # Found by attack pass 20: renders' workspaces hold runs of both tasks, and `best:ARCH`
    # was refused as ambiguous, its hint (add -t) already followed.
    first, start, _ = two_workspaces
    other = train_task(first, tiny_architecture, "orientation")
    run = train(first, tiny_architecture, "--epochs", "1", "--start-from", f"best:{tiny_architecture}")
    assert json.loads((run / "config.json").read_text())["started_from"]["run_id"] == start.name
    # A run named by folder starts any task.
    run = train(first, tiny_architecture, "--epochs", "1", "--start-from", other)
    assert json.loads((run / "config.json").read_text())["started_from"]["task"] == "orientation"


def train_task(workspace, architecture, task) -> Path:
    result = celeba("train", "-p", architecture, "-t", task, "--epochs", "1", "-w", workspace.path)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def test_another_runs_names_reach_the_terminal_printable():
    from celeba_tui.training.starting_point import Started, StartingPoint

    start = StartingPoint(Path("/r"), "ID\x1b[31mRED\nsecond", "light\x07", "tiny_test", {})
    line = Started(start, ("a",), ("b",)).line()
    assert "\x1b" not in line and "\n" not in line and "\x07" not in line and "\\x1b[31mRED" in line


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
    # The same folder holding other weights is another start (its best.pt rewritten in place).
    torch.save({name: value + 1 for name, value in parameters(start).items()}, start / "best.pt")
    rewritten = cycle(workspace, "-p", tiny_architecture, "--start-from", start, "--dry-run")
    assert [step["action"] for step in rewritten["plan"]["steps"]] == ["train"]


def test_a_cycle_checks_its_starts_before_anything_runs(two_workspaces, tiny_architecture):
    # Found by attack pass 20: a damaged start was found only after the architectures
    # before it had trained, and --dry-run printed a plan for it.
    _, start, workspace = two_workspaces
    torch.save(with_nan(parameters(start)), start / "best.pt")
    for dry in (("--dry-run",), ()):
        result = celeba(
            "cycle", "-t", "light", "-p", tiny_architecture, "--start-from", start, *dry, "-w", workspace.path
        )
        assert result.exit_code == 2 and "holds NaN or infinite weights" in result.output
    assert not workspace.runs_dir.is_dir() or not any(workspace.runs_dir.iterdir())


def test_a_cycle_refuses_a_start_for_an_architecture_it_does_not_train(two_workspaces, tiny_architecture):
    _, start, workspace = two_workspaces
    result = celeba("cycle", "-t", "light", "-p", "cnn4", "--start-from", start, "--dry-run", "-w", workspace.path)
    assert result.exit_code == 2
    assert "is a tiny_test run, and this cycle trains cnn4" in result.output


def add_task(workspace, name: str, classes: tuple[str, ...], labels_from: dict[str, str]) -> None:
    """A task `name` of `classes` whose labels are light's, renamed by `labels_from`."""
    from training_data import CLASSES, add_labels

    with workspace.config_path.open("a") as config:
        shown = ", ".join(f'"{c}"' for c in classes)
        config.write(f'\n[[tasks]]\nname = "{name}"\nclasses = [{shown}]\nquestion = "Which?"\n')
    names = sorted(p.name for p in workspace.image_root.iterdir())  # make_labelled_workspace's order
    with workspace.open_store() as store:
        add_labels(store, names, [labels_from[CLASSES[i % 3]] for i in range(len(names))], tasks=(name,))


@pytest.mark.parametrize(
    ("classes", "labels_from", "expected"),
    [
        (("right", "center", "left"), {"left": "left", "center": "center", "right": "right"}, "reordered"),
        (("sad", "neutral", "happy"), {"left": "sad", "center": "neutral", "right": "happy"}, "fresh"),
    ],
    ids=["same-classes-other-order", "other-classes"],
)
def test_the_output_layer_is_taken_only_where_its_outputs_mean_this_runs(
    two_workspaces, tiny_architecture, classes, labels_from, expected
):
    # The start's head answers light's left, center, right in that order. A task asking for
    # the same classes in another order gets those rows reordered; one of other classes as
    # many (before: their rows taken as they were, without a word) gets a fresh head.
    _, start, workspace = two_workspaces
    add_task(workspace, "other", classes, labels_from)
    still = ("--epochs", "1", "--lr", "1e-9", "--augment", "none")
    result = celeba(
        "train", "-p", tiny_architecture, "-t", "other", "-w", workspace.path, *still, "--start-from", start
    )
    assert result.exit_code == 0, result.output
    started = Path(result.stdout.strip().splitlines()[-1])
    origin, weights = parameters(start), parameters(started)
    assert torch.allclose(weights["0.weight"], origin["0.weight"], atol=1e-4)  # the body is taken either way
    config = json.loads((started / "config.json").read_text())
    said = " ".join(result.output.split())  # the progress line wraps at the terminal's width
    if expected == "reordered":
        assert "its outputs reordered to this run's: right, center, left" in said
        assert config["started_from"]["tensors"] == "4/4"
        for name in ("4.weight", "4.bias"):
            assert torch.allclose(weights[name], origin[name].flip(0), atol=1e-4), name
    else:
        assert "output layer fresh: the start's outputs are left, center, right" in said
        assert config["started_from"]["tensors"] == "2/4"
        assert not torch.allclose(weights["4.weight"], origin["4.weight"], atol=1e-2)
