"""A workspace whose labels exercise every way a current label is settled (or not)."""

from __future__ import annotations

import pandas as pd

ROWS = [
    # image, task, label, annotator, source
    ("000001.jpg", "light", "left", "alice", "human"),
    ("000001.jpg", "orientation", "center", "alice", "human"),
    ("000002.jpg", "light", "right", "alice", "human"),  # agreed by a human and an import
    ("000002.jpg", "light", "right", "bob", "import"),
    ("000002.jpg", "orientation", "left", "bob", "import"),
    ("000003.jpg", "light", "left", "alice", "human"),  # a conflict
    ("000003.jpg", "light", "right", "bob", "human"),
    ("000003.jpg", "orientation", "center", "alice", "human"),
    ("000004.jpg", "light", "center", "alice", "human"),  # one task only
    ("000005.jpg", "light", "left", "ensemble", "model"),
    ("000005.jpg", "orientation", "right", "ensemble", "model"),
    ("000006.jpg", "light", "center", "bob", "import"),
    ("000006.jpg", "light", "right", "rev", "review"),  # a review overrides the import
    ("000006.jpg", "orientation", "left", "bob", "import"),
    ("gone.jpg", "light", "left", "alice", "human"),  # not in the image root
    ("gone.jpg", "orientation", "left", "alice", "human"),
]


def add_labels(workspace) -> None:
    frame = pd.DataFrame(ROWS, columns=["image", "task", "label", "annotator", "source"])
    with workspace.open_store() as store:
        store.add_labels(frame)


def export(workspace, *args, ok=True):
    """`celeba export -w WORKSPACE ARGS...` through the CLI; asserts success unless ok=False."""
    from typer.testing import CliRunner

    from celeba_tui.cli import app

    result = CliRunner().invoke(app, ["export", "-w", str(workspace.path), *map(str, args)])
    if ok:
        assert result.exit_code == 0, result.output
    return result
