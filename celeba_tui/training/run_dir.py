"""Writing a run directory (see the run contract): config, metrics, checkpoint, summary, figures.

    <workspace>/runs/<task>-<architecture>-<YYYYmmdd-HHMMSS>/
        config.json  metrics.csv  best.pt  summary.json  curves.png  confusion.png
        labels.json  trained-on.json  (run_labels.py, trained_on.py: what it learnt from)

metrics.csv is appended after every epoch and best.pt replaced whenever an epoch is the
best so far, so an interrupted run still shows its history and its best weights. These
are the workspace's own files (atomic.owned_path): never written through a link, and
refused if the run folder was swapped for one meanwhile.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import numpy as np

from celeba_tui.atomic import append_owned, owned_folder, owned_path
from celeba_tui.models.run_files import CHECKPOINT_FILE, CONFIG_FILE, METRICS_FILE, SUMMARY_FILE

METRIC_COLUMNS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "val_balanced_acc",
    "seconds",
    "images_per_s",
)


def create_run_dir(runs_dir: Path, task: str, architecture: str, now: float | None = None) -> tuple[str, Path]:
    """Make a new, unique run folder; returns (run_id, path)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    base = f"{task}-{architecture}-{stamp}"
    owned_folder(runs_dir, runs_dir.parent)
    for attempt in range(1, 1000):
        run_id = base if attempt == 1 else f"{base}-{attempt}"
        try:
            (runs_dir / run_id).mkdir()
        except FileExistsError:
            continue
        return run_id, runs_dir / run_id
    raise RuntimeError(f"cannot find a free run name for {base} in {runs_dir}")


def _run_file(path: Path):
    """Write `path`, a file of a run folder at <workspace>/runs/<run id>/ (see the module)."""
    return owned_path(path, Path(path).parents[2])


def write_json(path: Path, data: dict) -> None:
    with _run_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def write_config(run_path: Path, config: dict) -> None:
    write_json(run_path / CONFIG_FILE, config)


def write_summary(run_path: Path, summary: dict) -> None:
    write_json(run_path / SUMMARY_FILE, summary)


def append_metrics(run_path: Path, record: dict) -> None:
    """Add one epoch's row to metrics.csv (header written with the first row)."""
    path = Path(run_path) / METRICS_FILE
    row, header = io.StringIO(), io.StringIO()
    csv.DictWriter(row, fieldnames=METRIC_COLUMNS, extrasaction="ignore").writerow(
        {key: _rounded(record[key]) for key in METRIC_COLUMNS}
    )
    csv.DictWriter(header, fieldnames=METRIC_COLUMNS).writeheader()
    new = not path.exists()
    append_owned(path, path.parents[2], (header.getvalue() if new else "") + row.getvalue())


def _rounded(value):
    return round(value, 6) if isinstance(value, float) else value


def save_checkpoint(run_path: Path, state_dict: dict) -> None:
    """best.pt: the state dict only, loadable with torch.load(weights_only=True)."""
    import torch

    with _run_file(Path(run_path) / CHECKPOINT_FILE) as tmp:
        try:
            torch.save(state_dict, tmp)
        except RuntimeError as exc:  # how torch's writer reports a full disk or a file-size limit
            raise OSError(str(exc).strip().splitlines()[0] if str(exc).strip() else "torch.save failed") from None


def plot_curves(path: Path, metrics: list[dict], title: str, best_epoch: int | None = None) -> None:
    """Accuracy and loss per epoch, training vs validation, side by side (the study's figures),
    with the validation balanced accuracy beside the accuracy where the metrics have it."""
    from matplotlib.ticker import MaxNLocator

    from celeba_tui.figures import pyplot

    plt = pyplot()

    epochs = [m["epoch"] for m in metrics]
    figure, (acc_axes, loss_axes) = plt.subplots(1, 2, figsize=(11, 4.2))
    for axes, key, name in ((acc_axes, "acc", "accuracy"), (loss_axes, "loss", "loss")):
        axes.plot(epochs, [m[f"train_{key}"] for m in metrics], marker="o", markersize=3, label="train")
        axes.plot(epochs, [m[f"val_{key}"] for m in metrics], marker="o", markersize=3, label="validation")
        if key == "acc" and all(m.get("val_balanced_acc") is not None for m in metrics):
            # What `best` ranks runs by: accuracy alone flatters a model that answers the common class.
            balanced = [m["val_balanced_acc"] for m in metrics]
            axes.plot(epochs, balanced, linestyle="--", marker="o", markersize=3, label="validation, balanced")
        if best_epoch is not None:
            axes.axvline(best_epoch, color="grey", linestyle=":", linewidth=1, label=f"best (epoch {best_epoch})")
        axes.set_title(f"model {name}")
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(name)
        axes.grid(alpha=0.3)
        axes.legend()
    figure.suptitle(title)
    figure.tight_layout()
    with _run_file(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)


def plot_confusion(path: Path, confusion: np.ndarray, classes: list[str], title: str) -> None:
    """Validation confusion matrix: counts, with each row's share as colour."""
    from celeba_tui.figures import pyplot

    plt = pyplot()

    confusion = np.asarray(confusion, dtype=np.int64)
    totals = confusion.sum(axis=1, keepdims=True)
    shares = np.divide(confusion, totals, out=np.zeros(confusion.shape), where=totals > 0)
    size = 1.2 + 1.1 * len(classes)
    figure, axes = plt.subplots(figsize=(size + 1.2, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, col), count in np.ndenumerate(confusion):
        axes.text(
            col,
            row,
            f"{count}\n{shares[row, col]:.0%}",
            ha="center",
            va="center",
            color="white" if shares[row, col] > 0.5 else "black",
            fontsize=9,
        )
    axes.set_xticks(range(len(classes)), classes)
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of true class")
    figure.tight_layout()
    with _run_file(path) as tmp:
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)
