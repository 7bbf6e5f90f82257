"""`classes` edited in celeba.toml after labelling: one line naming the orphaned labels.

Before, agreement and merge refused deep inside their statistics and `export --format
onehot` died with an IndexError. Now every command that reads labels says which stored
labels no class covers any more, and how to fix it; `celeba annotators` still works,
since it is the way out.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.workspace import CONFIG_NAME

pytestmark = pytest.mark.reliability
runner = CliRunner()


def invoke(ws, *args: str):
    return runner.invoke(app, [*args, "--workspace", str(ws.path)])


@pytest.fixture
def edited(workspace):
    """Alice and bob labelled light; then `center` was removed from light's classes."""
    with workspace.open_store() as store:
        store.add_labels(
            pd.DataFrame(
                [
                    ("000001.jpg", "light", "left", "alice"),
                    ("000001.jpg", "light", "center", "bob"),
                    ("000002.jpg", "light", "center", "alice"),
                    ("000002.jpg", "light", "center", "bob"),
                    ("000003.jpg", "light", "center", "bob"),
                    ("000001.jpg", "orientation", "center", "bob"),
                ],
                columns=["image", "task", "label", "annotator"],
            ).assign(source="human")
        )
    config = workspace.config_path.read_text()
    assert config.count('classes = ["left", "center", "right"]') == 2
    edited = config.replace('classes = ["left", "center", "right"]', 'classes = ["left", "right"]', 1)
    workspace.config_path.write_text(edited)
    return workspace


@pytest.mark.parametrize(
    "command",
    [
        ["stats"],
        ["agreement"],
        ["merge"],
        ["merge", "--dry-run"],
        ["export", "--format", "onehot"],
        ["export", "--format", "long"],
        ["label", "--count"],
    ],
)
def test_every_command_reading_labels_names_the_orphans_and_the_fix(edited, command):
    result = invoke(edited, *command)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "light 'center': 4 by 'alice', 'bob'" in result.output
    assert "orientation" not in result.output  # its classes were not edited
    assert f"restore the class in {CONFIG_NAME}" in result.output
    assert "celeba annotators withdraw NAME --task TASK" in result.output


def test_withdrawing_or_restoring_clears_the_error(edited):
    assert invoke(edited, "annotators").exit_code == 0
    assert invoke(edited, "annotators", "withdraw", "bob", "--task", "light", "--yes").exit_code == 0
    result = invoke(edited, "stats")
    assert result.exit_code == 2 and "light 'center': 1 by 'alice'" in result.output
    edited.config_path.write_text(
        edited.config_path.read_text().replace('classes = ["left", "right"]', 'classes = ["left", "center", "right"]')
    )
    for command in (["stats"], ["agreement"], ["export", "--format", "onehot"], ["merge"]):
        assert invoke(edited, *command).exit_code == 0, command


def test_the_check_is_a_few_index_seeks(workspace):
    """It runs on every command: it must not visit every live label (100,000 here)."""
    names = [f"{i:06d}.jpg" for i in range(25_000)]
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "image": names,
                    "task": task,
                    "label": ["left", "center", "right", "left"] * 6_250,
                    "annotator": who,
                    "source": "human",
                }
            )
            for task in ("light", "orientation")
            for who in ("alice", "bob")
        ]
    )
    with workspace.open_store() as store:
        store.add_labels(frame, skip_unchanged=False)
        steps = []
        # SQLite's virtual machine instructions, in thousands: machine-independent work.
        store._conn.set_progress_handler(lambda: steps.append(1) and 0, 1000)
        workspace.check_stored_classes(store)
        store._conn.set_progress_handler(None, 0)
        assert store.label_values() == [(t, c) for t in ("light", "orientation") for c in ("center", "left", "right")]
    assert len(steps) < 10  # a scan of the live labels takes over 500
