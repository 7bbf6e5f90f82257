"""`celeba stats`: what is in a store, per task, class, annotator and source."""

from __future__ import annotations

from celeba_tui.label_store import LabelStore
from celeba_tui.workspace import Workspace


def store_stats(store: LabelStore, workspace: Workspace) -> dict:
    """Counts of images and labels, aggregated inside SQLite (no per-row transfer)."""
    images = store.image_count(present_only=True)
    absent = store.image_count(present_only=False) - images
    counts = store.current_label_counts()
    absent_counts = store.current_label_counts(absent_images=True)
    tasks = {}
    for task in workspace.tasks:
        rows = counts[counts["task"] == task.name]
        labelled = rows[rows["label"].notna()]
        by_class = labelled.groupby("label")["n"].sum()
        absent_rows = absent_counts[(absent_counts["task"] == task.name) & absent_counts["label"].notna()]
        labelled_present = int(labelled["n"].sum() - absent_rows["n"].sum())
        tasks[task.name] = {
            "labelled": int(labelled["n"].sum()),
            "unlabelled": images - labelled_present,
            "conflicts": int(rows.loc[rows["status"] == "conflict", "n"].sum()),
            "classes": {c: int(by_class.get(c, 0)) for c in task.classes},
            "by_status": {str(k): int(v) for k, v in rows.groupby("status")["n"].sum().items()},
        }
    live = store.live_label_counts()
    annotators: dict[str, dict[str, int]] = {}
    for (annotator, task), n in live.groupby(["annotator", "task"])["n"].sum().items():
        annotators.setdefault(annotator, {})[task] = int(n)
    sources = {str(k): int(v) for k, v in live.groupby("source")["n"].sum().items()}
    return {
        "workspace": str(workspace.path),
        "image_root": str(workspace.image_root),
        "images": images,
        "images_not_in_root": absent,
        "tasks": tasks,
        "annotators": annotators,
        "sources": sources,
    }
