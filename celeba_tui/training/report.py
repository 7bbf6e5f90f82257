"""`celeba report`: the study's Table 9 for finished runs, with the scores it lacked.

Table 9 compared validation accuracy and loss per model and task. Accuracy alone hides
class imbalance (the study's 0.87 orientation accuracy must be read against a ~0.70
majority class), so every row also has balanced accuracy, macro-F1 and the accuracy of
always answering the majority class, plus epochs, parameters, time and throughput.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.console import printable
from celeba_tui.errors import CelebaError
from celeba_tui.models.run_files import CONFIG_FILE, Run, load_run

if TYPE_CHECKING:
    from celeba_tui.workspace import Workspace

ROW_COLUMNS = (
    ("architecture", "model"),
    ("task", "task"),
    ("val_acc", "val acc"),
    ("val_loss", "val loss"),
    ("val_balanced_acc", "balanced acc"),
    ("val_macro_f1", "macro-F1"),
    ("majority_baseline", "majority"),
    ("epochs", "epochs (best/run)"),
    ("params", "parameters"),
    ("train_seconds", "time"),
    ("images_per_s", "img/s"),
    ("run_id", "run"),
)


def find_runs(workspace: Workspace, selectors: list[str] | None = None) -> tuple[list[Run], list[str]]:
    """Runs named by path or run id (default: every run of the workspace) and notes on unfinished ones.

    A run named explicitly must be finished; unfinished runs met in the default listing are
    noted and left out (they may still be training).
    """
    if selectors:
        runs = []
        for selector in selectors:
            path = Path(selector)
            if not path.is_dir() and (workspace.runs_dir / selector).is_dir():
                path = workspace.runs_dir / selector
            runs.append(load_run(path))
        return runs, []
    runs, notes = [], []
    folders = sorted(p for p in workspace.runs_dir.iterdir() if p.is_dir()) if workspace.runs_dir.is_dir() else []
    for folder in folders:
        if not (folder / CONFIG_FILE).is_file():
            continue
        try:
            runs.append(load_run(folder))
        except CelebaError as exc:
            notes.append(f"left out {folder.name}: {exc}")
    return runs, notes


def report_rows(runs: list[Run], tasks: Sequence[str] | None = None) -> list[dict]:
    """One row per finished run (optionally of these tasks only), by task, then best first as
    the `best` selector ranks them (balanced accuracy, the newest of equals), so Table 9's
    run of a model is the run `best:ARCH` names."""
    from celeba_tui.training.run_selection import balanced_accuracy, finished_at

    rows = []
    runs = sorted(runs, key=lambda run: (balanced_accuracy(run), finished_at(run)), reverse=True)
    for run in runs:
        if tasks and run.task not in tasks:
            continue
        s = run.summary
        rows.append(
            {
                "run_id": run.run_id,
                "path": str(run.path),
                "architecture": run.architecture,
                "task": run.task,
                "val_acc": s.get("val_acc"),
                "val_loss": s.get("val_loss"),
                "val_balanced_acc": s.get("val_balanced_acc"),
                "val_macro_f1": s.get("val_macro_f1"),
                "majority_baseline": s.get("majority_baseline"),
                "best_epoch": s.get("best_epoch"),
                "epochs_run": s.get("epochs_run"),
                "params_trainable": s.get("params_trainable"),
                "params_non_trainable": s.get("params_non_trainable"),
                "train_seconds": s.get("train_seconds"),
                "images_per_s": s.get("images_per_s"),
                "n_train": s.get("n_train"),
                "n_val": s.get("n_val"),
                "preprocess": run.config.get("preprocess"),
                "augment": run.config.get("augment"),
            }
        )
    rows.sort(key=lambda r: r["task"])  # stable: best first within a task
    return rows


def table9(rows: list[dict]) -> tuple[list[str], list[dict]]:
    """The study's Table 9: per model, each task's validation accuracy and loss (its best run:
    highest balanced accuracy, as `best:ARCH` picks it)."""
    tasks = sorted({r["task"] for r in rows})
    models: dict[str, dict] = {}
    for row in rows:  # rows come best-first within a task
        entry = models.setdefault(row["architecture"], {"architecture": row["architecture"]})
        if row["task"] not in entry:
            entry[row["task"]] = {"val_acc": row["val_acc"], "val_loss": row["val_loss"], "run_id": row["run_id"]}
    return tasks, [models[name] for name in sorted(models)]


def cells(row: dict) -> list[str]:
    """A row's values as display text, in ROW_COLUMNS order."""
    values = dict(row)
    values["epochs"] = f"{row['best_epoch']}/{row['epochs_run']}"
    values["params"] = number(row["params_trainable"], "{:,}") + (
        f" + {row['params_non_trainable']:,}" if row.get("params_non_trainable") else ""
    )
    values["train_seconds"] = duration(row["train_seconds"])
    values["images_per_s"] = number(row["images_per_s"], "{:,.0f}")
    for key in ("val_acc", "val_loss", "val_balanced_acc", "val_macro_f1", "majority_baseline"):
        values[key] = number(row[key], "{:.3f}")
    # Run ids and names come from the runs' files: no control character reaches the terminal.
    return [printable(values[key]) for key, _ in ROW_COLUMNS]


def table9_cells(tasks: list[str], entry: dict) -> list[str]:
    out = [printable(entry["architecture"])]
    for task in tasks:
        found = entry.get(task)
        # Two decimals, as the study's Table 9 printed them; "-" where a model has no run of the task.
        out += [number(found["val_acc"], "{:.2f}"), number(found["val_loss"], "{:.2f}")] if found else ["-", "-"]
    return out


def table9_headers(tasks: list[str]) -> list[str]:
    # Task names come from the runs' config files: no control character reaches the terminal.
    return ["model"] + [f"{printable(task)} {what}" for task in tasks for what in ("acc.", "loss")]


def number(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return fmt.format(value)


def duration(seconds) -> str:
    if seconds is None or not math.isfinite(seconds):  # a summary.json may say NaN or Infinity
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s")


def markdown(rows: list[dict]) -> str:
    """Both tables as GitHub Markdown."""
    tasks, models = table9(rows)
    lines = ["Validation accuracy and loss per model and task (best run each; the study's Table 9):", ""]
    lines += _markdown_table(table9_headers(tasks), [table9_cells(tasks, m) for m in models])
    lines += ["", "All runs:", ""]
    lines += _markdown_table([title for _, title in ROW_COLUMNS], [cells(r) for r in rows])
    return "\n".join(lines) + "\n"


def _markdown_table(headers: list[str], body: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return out + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in body]
