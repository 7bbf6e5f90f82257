"""`celeba stats`: what is in a store, per task, class, annotator and source."""

from __future__ import annotations

from celeba_tui.label_store import LabelStore
from celeba_tui.workspace import Workspace


def store_stats(store: LabelStore, workspace: Workspace) -> dict:
    """Counts of images and labels; one pass over the live labels."""
    present = set(store.image_names(present_only=True))
    images = len(present)
    absent = store.image_count(present_only=False) - images
    live = store.live_labels()
    current = store.current_labels()
    tasks = {}
    for task in workspace.tasks:
        cur = current[current["task"] == task.name]
        labelled = cur[cur["label"].notna()]
        counts = labelled["label"].value_counts()
        tasks[task.name] = {
            "labelled": int(len(labelled)),
            "unlabelled": int(images - labelled["image"].isin(present).sum()),
            "conflicts": int((cur["status"] == "conflict").sum()),
            "classes": {c: int(counts.get(c, 0)) for c in task.classes},
            "by_status": {str(k): int(v) for k, v in cur["status"].value_counts().items()},
        }
    annotators: dict[str, dict[str, int]] = {}
    for (annotator, task), n in live.groupby(["annotator", "task"]).size().items():
        annotators.setdefault(annotator, {})[task] = int(n)
    sources = {str(k): int(v) for k, v in live["source"].value_counts().items()} if len(live) else {}
    return {
        "workspace": str(workspace.path),
        "image_root": str(workspace.image_root),
        "images": images,
        "images_not_in_root": absent,
        "tasks": tasks,
        "annotators": annotators,
        "sources": sources,
    }
