"""Label-quality lever (twenty-fourth round): renders beside the people's labels while fine-tuning.

The renders' start (eighteenth round) lifts head yaw on people a model never saw, and every
lever on its schedule since ties: the fine-tuning on five people's photographs redraws what
the start knew. Training on the renders' true classes *together with* the photographs'
labels (co-training with synthetic data, a standard lever of domain generalisation) keeps
thousands of heads in every epoch, so the features stay those of many people while the
photographs' labels move the boundary.

Each fold's workspace gets an image root holding the photographs' folders (links, so their
names do not change) and `renders/`, the first COUNT renders of the start's cache; the
renders' true yaw, cut by the photographs' own rule (|angle| <= CUT is center), is imported
as annotator `renders` beside the measured labels. The held-out people are scored as
before (the renders carry labels, so they are never auto-labelled). This script patches
the workspace and import functions in this process only and then runs
`benchmarks/synthetic_pretraining.py` with its arguments:

    python benchmarks/renders_beside.py --count 1000 --pretrain-images 3000 \\
        --pretrain-mix 0.33,0.34,0.33 -- --real ../shared/real-faces --set head-yaw --folds 6 --seed 0

docs/label-quality.md (twenty-fourth round) has the figures next to the recipe's.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic_pretraining import ANGLE_COLUMN, arguments, bin_labels, renders_cache  # noqa: E402

RENDERS = "renders"


def beside_root(photographs: Path, renders: Path, into: Path) -> Path:
    """A folder whose entries link to the photographs' and, as `renders/`, to the renders' images."""
    root = into / f"{photographs.name}-and-renders"
    if not root.exists():
        root.mkdir(parents=True)
        for entry in photographs.iterdir():
            if entry.name != "labels.csv":
                os.symlink(entry.resolve(), root / entry.name)
        os.symlink((renders / "img_align_celeba").resolve(), root / RENDERS)
    return root


def render_labels(renders: Path, task: str, count: int, cut: float, out: Path) -> Path:
    """The first `count` renders' true classes of `task`, cut at +-`cut` degrees, as a long CSV."""
    import pandas as pd

    truth = pd.read_csv(renders / "ground_truth.csv").head(count)
    classes = [c.split("_")[0] for c in bin_labels(truth[ANGLE_COLUMN[task]], [cut])]
    frame = pd.DataFrame(
        {
            "image": [f"{RENDERS}/{name}" for name in truth["image"]],
            "task": task,
            "label": classes,
            "annotator": RENDERS,
        }
    )
    frame.to_csv(out, index=False)
    print(f"renders beside: {count:,} renders, classes {frame['label'].value_counts().to_dict()}", flush=True)
    return out


def patch(renders: Path, count: int, cut: float, links: Path) -> None:
    """Every workspace the benchmark makes sees the renders; every measured import brings theirs."""
    import celeba_tui.formats.importing as importing
    import celeba_tui.workspace as workspace_module

    create_workspace, import_labels = workspace_module.create_workspace, importing.import_labels

    def creating(path, image_root, *args, **kwargs):
        return create_workspace(path, beside_root(Path(image_root), renders, links), *args, **kwargs)

    def importing_with_renders(store, workspace, path, **kwargs):
        report = import_labels(store, workspace, path, **kwargs)
        if Path(path).name == "measured.csv":  # label_quality.real_fold's file of the training people
            import pandas as pd

            task = pd.read_csv(path, nrows=1)["task"].iloc[0]
            import_labels(
                store, workspace, render_labels(renders, task, count, cut, Path(path).with_name("renders.csv"))
            )
        return report

    workspace_module.create_workspace = creating  # label_quality imports both where it calls them
    importing.import_labels = importing_with_renders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="renders beside each fold's labels")
    parser.add_argument("--cut", type=float, default=15.0, help="|true angle| <= CUT is center (the photographs' rule)")
    args, rest = parser.parse_known_args()
    links = Path(tempfile.mkdtemp(prefix="renders-beside-"))
    patch(renders_cache(arguments(rest, known_only=True))[0] / "synth", args.count, args.cut, links)
    sys.argv = [str(ROOT / "benchmarks" / "synthetic_pretraining.py"), *rest]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
