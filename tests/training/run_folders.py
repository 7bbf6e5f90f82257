"""Hand-written run folders: as much of a finished run as selection and `celeba report` read."""

from __future__ import annotations

import json


def write_run_folder(runs_dir, run_id, task, architecture, summary, *, input_size=64, created=None):
    """config.json, summary.json and an empty best.pt under runs_dir/run_id; returns the folder."""
    path = runs_dir / run_id
    path.mkdir(parents=True)
    config = {
        "run_id": run_id,
        "architecture": architecture,
        "task": task,
        "classes": ["left", "center", "right"],
        "input_size": input_size,
        "preprocess": f"resize:{input_size}",
    }
    if created is not None:
        config["created"] = created
    (path / "config.json").write_text(json.dumps(config))
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "best.pt").write_bytes(b"")
    return path
