"""Label-quality lever: batch-norm statistics re-estimated on the images nobody labelled (AdaBN).

Runs `benchmarks/label_quality.py` with its arguments, every exported model's batch-norm
layers given the mean and variance of the task's unlabelled images (the images the ensemble
will label) instead of the labelled ones' (Li et al., "Revisiting batch normalization for
practical domain adaptation", 2016). The weights stay as trained; only the normalisation
moves, so a network trained on some people sees the people held out as it saw its own.

Where labelled and unlabelled images come from one population (the synthetic demo) the
statistics hardly move; across people (`--real`: trained on five people, labelling the
sixth) they are the person's own.

    python benchmarks/adapt_batchnorm.py --real ../shared/real-faces --set head-yaw --folds 6

docs/label-quality.md (sixteenth round) has the figures next to the plain models'.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import celeba_tui.models.model_io as model_io  # noqa: E402

BATCH = 64
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def workspace_of(run_path: Path):
    """The workspace a run folder (WS/runs/RUN) belongs to."""
    from celeba_tui.workspace import load_workspace

    return load_workspace(Path(run_path).resolve().parents[1])


def unlabelled_pixels(run) -> np.ndarray:
    """The run's task's images nobody labelled, as the model sees them."""
    from celeba_tui.onnx.export import metadata_for_run
    from celeba_tui.onnx.runtime import model_input
    from celeba_tui.training.dataset import human_labels

    workspace = workspace_of(run.path)
    task = workspace.task(run.task)
    with workspace.open_store() as store:
        labelled = set(human_labels(store, task)[0]["image"])
        names = [name for name in store.image_names() if name not in labelled]
    meta = metadata_for_run(run)
    return np.stack([model_input(workspace.image_root / name, meta) for name in names])


@torch.no_grad()
def adapt_batchnorm(classifier: model_io.ImageClassifier, pixels: np.ndarray) -> int:
    """Replace every batch-norm layer's running statistics by `pixels`' (a cumulative average
    over batches); the weights stay. How many layers moved."""
    norms = [m for m in classifier.modules() if isinstance(m, NORMS)]
    if not norms or not len(pixels):
        return 0
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative: every batch counts alike
    classifier.train()
    for start in range(0, len(pixels), BATCH):
        classifier(torch.from_numpy(pixels[start : start + BATCH]))
    classifier.eval()
    return len(norms)


def with_adapted_batchnorm(build_classifier):
    def patched(run, device="cpu"):
        classifier = build_classifier(run, device)
        pixels = unlabelled_pixels(run)
        moved = adapt_batchnorm(classifier, pixels)
        print(f"  adapt-batchnorm: {run.architecture} {run.run_id}: {moved} layers on {len(pixels)} unlabelled images")
        return classifier

    return patched


if __name__ == "__main__":
    model_io.build_classifier = with_adapted_batchnorm(model_io.build_classifier)
    sys.argv = [str(ROOT / "benchmarks" / "label_quality.py"), *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
