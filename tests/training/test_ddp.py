"""`celeba train` under torchrun: two CPU processes on gloo write one run."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from training_data import make_labelled_workspace

TORCHRUN = Path(sys.executable).with_name("torchrun")


def torchrun(*args, timeout=120):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("CELEBA_WORKSPACE", None)
    command = [str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "celeba_tui", "train", *map(str, args)]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, cwd=Path(__file__).parents[2]
    )


@pytest.mark.slow
@pytest.mark.skipif(not TORCHRUN.exists() and shutil.which("torchrun") is None, reason="torchrun not installed")
def test_two_processes_write_one_run(tmp_path):
    workspace = make_labelled_workspace(tmp_path, n=40)[0]
    result = torchrun(
        "--plugin",
        "cnn4",
        "--task",
        "light",
        "--epochs",
        "2",
        "--patience-loss",
        "0",
        "--device",
        "cpu",
        "--json",
        "-w",
        workspace.path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list(workspace.runs_dir.iterdir())
    assert len(runs) == 1  # only rank 0 writes
    data = json.loads(result.stdout)  # and only rank 0 prints
    assert Path(data["run_dir"]) == runs[0] and data["config"]["world_size"] == 2
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["n_train"] == 28 and summary["n_val"] == 12
    assert sum(map(sum, summary["confusion"])) == 12  # validation shards reduced, each image once
    metrics = pd.read_csv(runs[0] / "metrics.csv")
    assert metrics["epoch"].tolist() == [1, 2]
    assert sorted(p.name for p in runs[0].iterdir()) == [
        "best.pt",
        "config.json",
        "confusion.png",
        "curves.png",
        "labels.json",
        "metrics.csv",
        "summary.json",
        "trained-on.json",
    ]

    # A user error found by rank 0 stops every rank with the same message (no rank left waiting).
    few = make_labelled_workspace(tmp_path / "few", n=12, labels_for=6)[0]
    result = torchrun("--plugin", "cnn4", "--task", "light", "--device", "cpu", "-w", few.path, timeout=90)
    assert result.returncode != 0
    assert "6 usable human labels" in result.stderr
    assert not few.runs_dir.exists()
