"""The study's comparison on synthetic data: cnn4 and vgg19_variation on both tasks.

3,000 seeded synthetic images, ground truth imported as one annotator, the stored 70/30
split, the study's training policy (Adam at the architecture's lr: 1e-3, 1e-4 for
vgg19_variation; batch 32, early stopping 5/3, flip augmentation). Prints validation
accuracy, balanced accuracy, macro-F1 and training time next to the majority-class
baseline, as `celeba report` would.

    python benchmarks/study_models.py [-n 3000] [--epochs 50] [--threads 2] [--data DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from synthetic_workspace import synthetic_workspace

MODELS = ("cnn4", "vgg19_variation")
TASKS = ("light", "orientation")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=None, help="Cap on epochs (default: the architecture's, 50).")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument(
        "--data", type=Path, help="Reuse this folder (made by an earlier run) instead of a temporary one."
    )
    args = parser.parse_args()

    import torch

    from celeba_tui.progress import RichReporter
    from celeba_tui.training import report
    from celeba_tui.training.trainer import TrainOptions, train

    torch.set_num_threads(args.threads)
    root = args.data or Path(tempfile.mkdtemp(prefix="celeba-study-"))
    start = time.perf_counter()
    workspace = synthetic_workspace(root, args.n, seed=args.seed)
    print(f"synthetic workspace with {args.n} images: {time.perf_counter() - start:.1f} s ({root})")

    runs = []
    for model in args.models.split(","):
        for task in TASKS:
            options = TrainOptions(plugin=model, task=task, epochs=args.epochs, seed=args.seed, device="cpu")
            result = train(workspace, options, RichReporter())
            runs.append(result.run_path)
            s = result.summary
            print(
                f"{model} on {task}: val acc {s.val_acc:.3f}, balanced {s.val_balanced_acc:.3f}, "
                f"majority {s.majority_baseline:.3f}, epoch {s.best_epoch}/{s.epochs_run}, "
                f"{s.train_seconds:.0f} s",
                flush=True,
            )

    found, _ = report.find_runs(workspace, [str(path) for path in runs])
    print()
    print(report.markdown(report.report_rows(found)))


if __name__ == "__main__":
    main()
