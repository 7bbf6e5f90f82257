"""A seeded synthetic CelebA workspace whose ground truth is imported as one annotator.

Shared by benchmarks/training_epoch.py and benchmarks/study_models.py (run as scripts,
so this folder is on sys.path).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd


def celeba(*args) -> None:
    subprocess.run([sys.executable, "-m", "celeba_tui", *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def synthetic_workspace(root: Path, n: int, seed: int = 0, workers: int = 2, synth_args: tuple = ()):
    """Render `n` images (`celeba synth` with `synth_args` too), make a workspace of them,
    import their ground truth as annotator `truth`."""
    from celeba_tui.workspace import load_workspace

    data, workspace_dir = root / "synth", root / "ws"
    if not (workspace_dir / "celeba.toml").exists():
        celeba("synth", "--out", data, "-n", n, "--seed", seed, "--workers", workers, *synth_args)
        celeba("init", workspace_dir, "--images", data)
        truth = pd.read_csv(data / "ground_truth.csv")
        long = truth.melt(id_vars="image", value_vars=["light", "orientation"], var_name="task", value_name="label")
        long.to_csv(root / "truth_long.csv", index=False)
        celeba("import", root / "truth_long.csv", "--format", "long", "--annotator", "truth", "-w", workspace_dir)
    return load_workspace(workspace_dir)
