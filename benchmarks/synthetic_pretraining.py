"""Label-quality lever: start from a network trained on the project's own renders.

The real photographs' limit is how many people a model has seen (docs/label-quality.md,
"Real photographs": from three people to five, precision at 80% coverage rose 0.904 ->
0.938). `celeba synth` renders as many different faces as asked, each with its true head
yaw and light direction. This script renders N of them, trains the architecture on their
true classes of one task (what `celeba synth --truth-labels`, `import` and `train` do),
then runs `benchmarks/label_quality.py` with its arguments plus `--start-from` that run:
every network of that architecture starts from its weights (`celeba train --start-from`:
every tensor whose name and shape fit) instead of from random ones. The recipe, the labels
and the folds are the benchmark's own: only the starting point moves.

    python benchmarks/synthetic_pretraining.py --pretrain-images 3000 -- \
        --real ../shared/real-faces --set head-yaw --folds 6 --seed 0
    python benchmarks/synthetic_pretraining.py --pretrain-mix 0.33,0.34,0.33 -- ...   # classes rendered evenly
    python benchmarks/synthetic_pretraining.py --pretrain-max-yaw 90 --pretrain-max-pitch 60 -- ...   # wider poses
    python benchmarks/synthetic_pretraining.py --pretrain-bins 4,12,22 -- ...   # the angle in 7 bins, not 3 classes

The renders are the project's own (never the real photographs): the starting point is
one anyone can rebuild with `celeba synth`. docs/label-quality.md (eighteenth round) has
the figures next to the plain recipe's.
"""

from __future__ import annotations

import argparse
import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic_workspace import celeba, synthetic_workspace  # noqa: E402

# The true angle behind each task's classes, in `celeba synth`'s ground_truth.csv.
ANGLE_COLUMN = {"orientation": "yaw_deg", "light": "light_azimuth_deg"}


def bin_classes(edges: list[float]) -> list[str]:
    """Class names for the angle cut at +-edges: center, then left_1/right_1 outwards (the
    mirror rule pairs them by name, so flips swap them)."""
    sides = [str(i) for i in range(1, len(edges) + 1)]
    return [*(f"left_{k}" for k in reversed(sides)), "center", *(f"right_{k}" for k in sides)]


def bin_labels(angles, edges: list[float]) -> list[str]:
    """Each signed angle's bin: |angle| <= edges[0] is center, each edge passed one bin further out."""
    labels = []
    for angle in angles:
        passed = sum(abs(angle) > edge for edge in edges)
        labels.append("center" if not passed else f"{'left' if angle < 0 else 'right'}_{passed}")
    return labels


def add_bin_task(cache: Path, workspace, task: str, edges: list[float]) -> str:
    """A task of the renders' `task` angle cut into bins, its true labels imported; its name."""
    import pandas as pd

    name = f"{task}_bins_" + "_".join(f"{e:g}" for e in edges)
    config = workspace.config_path
    if f'name = "{name}"' not in config.read_text():
        classes = ", ".join(f'"{c}"' for c in bin_classes(edges))
        with config.open("a") as out:
            out.write(f'\n[[tasks]]\nname = "{name}"\nclasses = [{classes}]\nquestion = "Which bin?"\n')
        truth = pd.read_csv(cache / "synth" / "ground_truth.csv")
        labels = pd.DataFrame(
            {"image": truth["image"], "task": name, "label": bin_labels(truth[ANGLE_COLUMN[task]], edges)}
        )
        labels.to_csv(cache / f"{name}.csv", index=False)
        celeba("import", cache / f"{name}.csv", "--format", "long", "--annotator", "truth", "-w", workspace.path)
    return name


def pretrain(
    cache: Path,
    images: int,
    task: str,
    architecture: str,
    seed: int,
    epochs: int | None,
    synth_args: tuple = (),
    bins: list[float] | None = None,
) -> Path:
    """Train `architecture` on `images` renders' true `task` classes (or its angle's `bins`;
    once per cache); its run folder."""
    from celeba_tui.progress import SilentReporter
    from celeba_tui.training.trainer import TrainOptions, train
    from celeba_tui.workspace import load_workspace

    workspace = synthetic_workspace(cache, images, seed=seed, synth_args=synth_args)
    if bins:
        task = add_bin_task(cache, workspace, task, bins)
        workspace = load_workspace(workspace.path)
    marker = cache / f"{task}-{architecture}-seed{seed}-epochs{epochs or 'default'}.run"
    if marker.exists() and Path(marker.read_text().strip()).is_dir():
        return Path(marker.read_text().strip())
    started = time.perf_counter()
    trained = train(workspace, TrainOptions(plugin=architecture, task=task, seed=seed, epochs=epochs), SilentReporter())
    marker.write_text(f"{trained.run_path}\n")
    print(f"pretrained {architecture} on {images:,} renders' true {task} in {time.perf_counter() - started:.0f} s")
    return trained.run_path


def renders_cache(args) -> tuple[Path, tuple]:
    """The cache folder of these arguments' renders (and their start), and the `celeba
    synth` options that render them."""
    synth_args, folder = (), f"n{args.pretrain_images}-seed{args.pretrain_seed}"
    for option, value in (
        ("--orientation-mix", args.pretrain_mix),
        ("--max-yaw", args.pretrain_max_yaw),
        ("--max-pitch", args.pretrain_max_pitch),
    ):
        if value is not None:
            synth_args += (option, value)
            folder += f"-{option.lstrip('-')}{value}"
    return args.cache / folder.replace("orientation-mix", "mix"), synth_args


def arguments(argv: list[str] | None = None, *, known_only: bool = False) -> argparse.Namespace:
    """This script's arguments (`known_only`: leave the others, as a wrapper reads them)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], add_help=not known_only)
    parser.add_argument("--pretrain-images", type=int, default=3000)
    parser.add_argument("--pretrain-task", default="orientation")
    parser.add_argument("--pretrain-epochs", type=int)
    parser.add_argument("--architecture", default="small_resnet")
    parser.add_argument("--pretrain-seed", type=int, default=0)
    parser.add_argument(
        "--pretrain-mix", metavar="L,C,R", help="the renders' orientation classes' shares (default: synth's, CelebA's)"
    )
    parser.add_argument("--pretrain-max-yaw", type=float, help="the renders' largest yaw (default: synth's, 45)")
    parser.add_argument("--pretrain-max-pitch", type=float, help="the renders' largest pitch (default: synth's, 15)")
    parser.add_argument(
        "--pretrain-bins",
        metavar="E1,E2,..",
        help="train on the true angle cut at +-E1, +-E2, .. degrees (2k+1 classes) instead of the task's 3",
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/celeba-synthetic-pretraining"))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="-- then benchmarks/label_quality.py's arguments")
    return parser.parse_known_args(argv)[0] if known_only else parser.parse_args(argv)


def main() -> None:
    args = arguments()
    cache, synth_args = renders_cache(args)
    cache.mkdir(parents=True, exist_ok=True)
    run = pretrain(
        cache,
        args.pretrain_images,
        args.pretrain_task,
        args.architecture,
        args.pretrain_seed,
        args.pretrain_epochs,
        synth_args,
        [float(e) for e in args.pretrain_bins.split(",")] if args.pretrain_bins else None,
    )
    print(f"networks of {args.architecture} start from {run}")
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    sys.argv = [str(ROOT / "benchmarks" / "label_quality.py"), *rest, "--start-from", str(run)]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
