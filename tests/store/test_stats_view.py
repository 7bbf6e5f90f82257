"""`celeba stats` at 80 and 120 columns: no number or name is ever cut, and the buckets add up."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.cli.stats_view import print_stats

CLASSES = {"looking_left": 101_234, "straight_ahead": 92_345, "looking_right": 9_020}
STATUS = {"review": 1_203, "agreed": 150_321, "model": 51_075}


def celeba_scale() -> dict:
    """What store_stats returns for a CelebA-sized store with long task and class names."""
    task = {"labelled": 202_599, "conflicts": 1_111, "unlabelled": 3_333, "classes": CLASSES, "status": STATUS}
    empty = {"labelled": 0, "conflicts": 0, "unlabelled": 0, "classes": dict.fromkeys(CLASSES, 0), "status": {}}
    tasks = {"head_orientation_yaw": task, "light_direction": task}
    return {
        "workspace": "/data/ws",
        "image_root": "/data/celeba/img_align_celeba",
        "images": 207_043,
        "images_not_in_root": 0,
        "tasks": tasks,
        "not_in_root": dict.fromkeys(tasks, empty),
        "annotators": {f"annotator_with_a_long_name_{i}": dict.fromkeys(tasks, 30_000 + i) for i in range(3)},
        "sources": {"human": 90_000, "import": 61_524, "model": 51_075, "review": 1_203},
    }


def rendered(data: dict, width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    print_stats(data, console)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 120])
def test_nothing_is_cut(width):
    text = rendered(celeba_scale(), width)
    lines = text.splitlines()
    assert max(map(len, lines)) <= width and "…" not in text
    words = {w for line in lines for w in line.replace("│", " ").replace("┃", " ").split()}
    data = celeba_scale()
    numbers = [202_599, 1_111, 3_333, 207_043, 90_000, 61_524, *CLASSES.values(), *STATUS.values(), 30_000, 30_002]
    assert {f"{n:,}" for n in numbers} <= words
    names = [*data["tasks"], *CLASSES, *STATUS, *data["annotators"], *data["sources"]]
    assert set(names) <= words


def test_wide_terminal_keeps_one_table_per_part():
    wide = rendered(celeba_scale(), 200)
    assert "looking_left 101,234  straight_ahead 92,345" in wide  # lists on one line
    assert ": classes" not in wide  # no separate class table
    narrow = rendered(celeba_scale(), 80)
    assert "Current labels per task: classes" in narrow  # the lists moved to tables of their own


@pytest.mark.parametrize("columns", ["40", "80", "120"])
def test_cli_stats_at_a_width(workspace, columns):
    with workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "left", "alice")
        store.add_label("000001.jpg", "light", "right", "bob")  # a conflict
        store.add_label("000002.jpg", "light", "center", "alice")
        store.add_label("000003.jpg", "orientation", "right", "ensemble", "model")
    runner = CliRunner(env={"COLUMNS": columns})
    result = runner.invoke(app, ["stats", "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    assert max(map(len, result.stdout.splitlines())) <= int(columns) and "…" not in result.stdout
    assert "unlabelled" in result.stdout and "unlabeled" not in result.stdout
    # Every task names its row of the first table (at 40 columns the task column was squeezed
    # to nothing: found by the CLI review of 2026-12-07).
    first = result.stdout.split("Current labels per task:")[0]
    assert "light" in first and "orientation" in first, result.stdout
    data = json.loads(runner.invoke(app, ["stats", "-w", str(workspace.path), "--json"]).stdout)
    for task in data["tasks"].values():
        assert list(task) == ["labelled", "conflicts", "unlabelled", "classes", "status"]
        assert task["labelled"] + task["conflicts"] + task["unlabelled"] == data["images"]
        assert sum(task["classes"].values()) == task["labelled"] == sum(task["status"].values())
    assert data["tasks"]["light"]["conflicts"] == 1 and data["tasks"]["light"]["labelled"] == 1
    for heading in ("labelled", "conflicts", "unlabelled", "classes", "status"):
        assert heading in result.stdout
