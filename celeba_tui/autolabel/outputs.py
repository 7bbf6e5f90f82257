"""What `celeba autolabel` reports and writes: per-task report, suspects, the study's ensemble
files and a tidy Parquet (--export), Figure 28 (--grid)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.atomic import atomic_path, owned_path
from celeba_tui.autolabel.rules import RULES, rule_names


# ------------------------------------------------------------------ report
@dataclass(frozen=True)
class TaskReport:
    """One task's figures: coverage, manual queue, thresholds and held-out precision, rules, suspects."""

    task: str
    ensemble: str
    models: list[str]
    images: int
    labelled_by_people: int
    automatic: int
    manual_queue: int
    coverage: float | None
    thresholds: dict  # ThresholdChoice.to_dict()
    rules: dict[str, int]
    labels_written: int
    labels_withdrawn: int
    suspects: int
    labels_changed: int = 0  # of labels_written, on images whose automatic label had another class
    labels_renewed: int = 0  # of labels_written, on images whose automatic label had this class
    model_keys: list[str] = field(default_factory=list)  # the store's prediction keys, in `models`' order

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AutolabelReport:
    """What one `celeba autolabel` run did (`to_dict()` is its --json)."""

    images: int
    predicted_now: int
    already_predicted: int
    skipped: int
    skipped_report: str
    provider: str
    seconds: float
    images_per_s: float | None
    tasks: list[TaskReport]
    suspects: list[dict]
    suspects_report: str
    files: list[str]
    execution_provider: str | None = None  # None: nothing was predicted this run
    provider_fallbacks: list[str] = field(default_factory=list)
    manual_images: int = 0  # images sent to people for at least one task (the manual queue's size)
    warnings: list[str] = field(default_factory=list)  # models that score what guessing scores
    dry_run: bool = False  # nothing was written: labels_written and labels_withdrawn say what would be

    def to_dict(self) -> dict:
        return asdict(self)

    def model_names(self) -> dict[str, str]:
        """The store's prediction key -> model name, over every task."""
        return {key: name for task in self.tasks for key, name in zip(task.model_keys, task.models)}


def task_report(outcome) -> TaskReport:
    """One task's figures from its outcome."""
    auto, manual = int(outcome.automatic.sum()), int(outcome.manual.sum())
    undecided_by_people = ~outcome.people
    rules = {}
    if outcome.choice.thresholds is not None:
        counts = np.bincount(outcome.decisions.rule[undecided_by_people].astype(np.int64), minlength=len(RULES))
        rules = {name: int(counts[RULES.index(name)]) for name in rule_names(len(outcome.members))}
    return TaskReport(
        task=outcome.task,
        ensemble=outcome.ensemble_id,
        models=[m.name for m in outcome.members],
        model_keys=[m.key for m in outcome.members],
        images=len(outcome.images),
        labelled_by_people=int(outcome.people.sum()),
        automatic=auto,
        manual_queue=manual,
        coverage=auto / (auto + manual) if auto + manual else None,
        thresholds=outcome.choice.to_dict(),
        rules=rules,
        labels_written=outcome.written,
        labels_withdrawn=outcome.withdrawn,
        labels_changed=outcome.changed,
        labels_renewed=outcome.renewed,
        suspects=int(outcome.suspects.sum()),
    )


def suspects(outcomes) -> list[dict]:
    """Suspects (see `rules.contradictions`), most confident first."""
    rows = []
    for outcome in outcomes:
        mask = outcome.suspects
        for i in np.flatnonzero(mask):
            rows.append(
                {
                    "image": outcome.images[i],
                    "task": outcome.task,
                    "human": outcome.classes[outcome.human[i]],
                    "ensemble": outcome.classes[outcome.decisions.label[i]],
                    "confidence": float(outcome.decisions.confidence[i]),
                }
            )
    return sorted_suspects(rows)


def sorted_suspects(rows: list[dict]) -> list[dict]:
    """Most confident first, then by image and task."""
    return sorted(rows, key=lambda r: (-r["confidence"], r["image"], r["task"]))


def write_table(path: Path, rows: list[dict], columns: list[str], workspace_path: Path) -> None:
    """One of the workspace's own report tables (skipped images, suspects)."""
    with owned_path(path, workspace_path) as tmp:
        _write_csv(tmp, pd.DataFrame(rows, columns=columns))


# ----------------------------------------------------------------- exports
def ensemble_table(outcome) -> pd.DataFrame:
    """The study's ensemble file for one task.

    Columns `Filename, Predictions_1, Confidence_1, ..., <task>, final_conf`: each
    model's class and confidence, then the automatic label and its confidence (both empty
    where the image goes to the manual queue, and where people labelled it: their label
    stands, and the tidy Parquet file has it beside the ensemble's). One row per predicted
    image; the filled `<task>` cells are the automatic labels the report counts.
    """
    columns: dict[str, object] = {"Filename": outcome.images}
    for i, _ in enumerate(outcome.members, 1):
        probs = outcome.probs[i - 1]
        columns[f"Predictions_{i}"] = np.asarray(outcome.classes, dtype=object)[probs.argmax(axis=1)]
        columns[f"Confidence_{i}"] = probs.max(axis=1).round(6)
    decided = outcome.automatic
    label = np.asarray(outcome.classes, dtype=object)[np.where(decided, outcome.decisions.label, 0)]
    columns[outcome.task] = np.where(decided, label, None)
    columns["final_conf"] = np.where(decided, outcome.decisions.confidence.round(6), np.nan)
    return pd.DataFrame(columns)


def tidy_table(outcomes) -> pd.DataFrame:
    """One row per (image, task, model) with the ensemble's decision beside each prediction."""
    parts = []
    for outcome in outcomes:
        classes = np.asarray(outcome.classes, dtype=object)
        decided = outcome.decisions.automatic
        decision = np.where(decided, classes[np.where(decided, outcome.decisions.label, 0)], None)
        human = np.where(outcome.human >= 0, classes[np.maximum(outcome.human, 0)], None)
        # Rule -1 (no thresholds: the target precision was out of reach) indexes the None.
        rule = np.asarray([*RULES, None], dtype=object)[outcome.decisions.rule]
        for model, probs in zip(outcome.members, outcome.probs):
            parts.append(
                pd.DataFrame(
                    {
                        "image": outcome.images,
                        "task": outcome.task,
                        "model": model.key,
                        "model_name": model.name,
                        "label": classes[probs.argmax(axis=1)],
                        "confidence": probs.max(axis=1),
                        "probs": list(probs.astype(np.float32)),
                        "ensemble": outcome.ensemble_id,
                        "decision": decision,
                        "rule": rule,
                        "final_conf": outcome.decisions.confidence,
                        "human_label": human,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def export_paths(prefix: Path, tasks) -> list[Path]:
    """The files --export PREFIX writes: `PREFIX-<task>.csv` per task, then `PREFIX.parquet`."""
    prefix = Path(prefix)
    return [
        *(prefix.with_name(f"{prefix.name}-{task}.csv") for task in tasks),
        prefix.with_name(f"{prefix.name}.parquet"),
    ]


def write_exports(prefix: Path, outcomes) -> list[str]:
    """`PREFIX-<task>.csv` (the study's ensemble file per task) and `PREFIX.parquet` (tidy)."""
    *csv_paths, parquet_path = export_paths(prefix, [outcome.task for outcome in outcomes])
    for outcome, path in zip(outcomes, csv_paths):
        with atomic_path(path) as tmp:
            _write_csv(tmp, ensemble_table(outcome))
    with atomic_path(parquet_path) as tmp:
        tidy_table(outcomes).to_parquet(tmp, index=False)
    return [str(path) for path in (*csv_paths, parquet_path)]


def grid_samples(outcome, per_class: int = 1, seed: int = 0) -> list[tuple[str, str, float]]:
    """Seeded random automatically labelled images of each class: (image, label, confidence)."""
    rng = np.random.default_rng(seed)
    picks = []
    for index, name in enumerate(outcome.classes):
        rows = np.flatnonzero(outcome.automatic & (outcome.decisions.label == index))
        for row in rng.permutation(rows)[:per_class]:
            picks.append((str(outcome.images[row]), name, float(outcome.decisions.confidence[row])))
    return picks


def write_grid(path: Path, root: Path, outcomes, per_class: int = 1, seed: int = 0) -> None:
    """The study's Figure 28: sample images with their automatic label and confidence, a row per task."""
    from celeba_tui.figures import pyplot
    from celeba_tui.images import ImageDecodeError, decode_full

    plt = pyplot()

    rows = [(o.task, grid_samples(o, per_class, seed)) for o in outcomes]
    # At least three columns: the title and a row's "no automatic labels" fit (one column cut both).
    n_cols = max([len(samples) for _, samples in rows] + [3])
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.2 * n_cols, 2.9 * len(rows)), squeeze=False)
    letters = iter("abcdefghijklmnopqrstuvwxyz" * 4)
    for r, (task, samples) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.axis("off")
            if c >= len(samples):
                continue
            image, label, confidence = samples[c]
            try:
                ax.imshow(decode_full(Path(root) / image))
            except (ImageDecodeError, OSError):
                ax.text(0.5, 0.5, "unreadable", ha="center", va="center")
            ax.set_title(f"({next(letters)}) {task}: {label}\n{confidence:.2f}  {image}", fontsize=8)
        if not samples:
            axes[r][n_cols // 2].text(0.5, 0.5, f"{task}: no automatic labels", ha="center", va="center")
    fig.suptitle("Automatic labels and their confidence")
    fig.tight_layout()
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    """CSV under the export's rules: odd names quoted, formula-like cells neutralised."""
    from celeba_tui.formats.csv_cells import write_frame

    with open(path, "w", newline="", encoding="utf-8") as handle:
        write_frame(handle, frame)
