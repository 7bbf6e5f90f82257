"""`celeba label` arguments: errors name the problem, --count reports the queue."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app

runner = CliRunner()


def label(workspace, *args):
    return runner.invoke(app, ["label", "-w", str(workspace.path), "-a", "ann", *args])


def test_count_reports_the_queue(workspace, store):
    store.add_label("000001.jpg", "light", "left", "ann")
    store.add_label("000001.jpg", "orientation", "left", "ann")
    result = label(workspace, "--count", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"queue": "unlabeled", "annotator": "ann", "to_do": 9, "done": 1, "total": 10}
    share = json.loads(label(workspace, "--count", "--json", "--assign", "1/2", "--overlap", "0.2").output)
    assert 0 < share["total"] < 10
    review = label(workspace, "--count", "--queue", "review")
    assert review.exit_code == 0 and "review queue for ann: 0 to do" in review.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--queue", "nope"], "unknown queue 'nope'"),
        (["--overlap", "0.2"], "--overlap needs --assign"),
        (["--assign", "3/2"], "I must be between 1 and N"),
        (["--checks", "0.8"], "--checks 0.8"),
        (["--renderer", "ascii"], "--renderer 'ascii'"),
        (["--task", "mood"], "unknown task 'mood'"),
        ([], "needs a terminal"),
    ],
)
def test_errors_are_one_line(workspace, args, message):
    result = label(workspace, *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
