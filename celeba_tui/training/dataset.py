"""The labelled images of a task: which images, which class, and what cannot be used.

Training uses people's decisions: current labels with status `agreed` (the human and
imported labels agree) or `review` (a reviewer decided); conflicts (no current label)
wait for review. Model labels (status `model`) are trained on only when asked
(`--pseudo-labels`, a self-training round), and then only in the train split: the
validation split, which early stopping, calibration and the ensemble's thresholds rely
on, stays people's decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from celeba_tui.errors import CelebaError
from celeba_tui.vocabulary import AUTOMATIC, SETTLED_STATUSES

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore

MIN_LABELS = 10


@dataclass
class LabelledSet:
    """A task's usable labelled images, in name order, with the split of each."""

    images: list[str]
    labels: np.ndarray  # class indices, int64
    split: np.ndarray  # "train" / "val" per image
    classes: tuple[str, ...]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)
    # Standardised landmark cues per image (N, K; NaN where unknown), None without landmarks.
    cues: np.ndarray | None = None
    # Probability per class (N, C) to train on instead of `labels` (--soft-targets), else None.
    targets: np.ndarray | None = None

    def indices(self, which: str) -> np.ndarray:
        return np.flatnonzero(self.split == which)

    def __len__(self) -> int:
        return len(self.images)


def human_labels(store: LabelStore, task) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """(image, label) rows a model may learn from, and (image, reason) for labelled images left out."""
    return settled_labels(store.current_labels(task.name), task)


def settled_labels(current: pd.DataFrame, task) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """`human_labels` from the task's current labels (`LabelStore.current_labels`). Pure."""
    usable = current[current["status"].isin(SETTLED_STATUSES) & current["label"].notna()]
    unknown = ~usable["label"].isin(task.classes)
    skipped = [
        (image, f"label {label!r} is not a class of task {task.name}")
        for image, label in usable.loc[unknown, ["image", "label"]].itertuples(index=False)
    ]
    skipped += [(image, "not in the image root") for image in usable.loc[~unknown & ~usable["present"], "image"]]
    usable = usable[~unknown & usable["present"]]
    return usable[["image", "label"]].reset_index(drop=True), skipped


def automatic_labels(current: pd.DataFrame, task) -> pd.DataFrame:
    """(image, label) rows of the task's current labels (`LabelStore.current_labels`) that the
    ensemble labelled (status `model`), that exist and name a class. Pure."""
    rows = current[(current["status"] == AUTOMATIC) & current["label"].isin(task.classes) & current["present"]]
    return rows[["image", "label"]].reset_index(drop=True)


def with_train_only(split: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """`split` (image, label, split) plus the `rows` (image, label) of images it lacks, all in
    "train": automatic labels (--pseudo-labels) and conflicts (soft targets), which the
    validation split never holds."""
    extra = rows[~rows["image"].isin(split["image"])]
    return split if extra.empty else pd.concat([split, extra.assign(split="train")], ignore_index=True)


def check_trainable(labels: pd.Series, task, *, min_labels: int = MIN_LABELS, where: str = "") -> None:
    """Refuse, before any training, a task with too few labels or a class with none."""
    counts = labels.value_counts()
    total = int(counts.sum())
    suffix = f" {where}" if where else ""
    if total < min_labels:
        raise CelebaError(
            f"task {task.name!r} has {total} usable human labels{suffix}; training needs at least {min_labels} "
            f"(label more images with `celeba label`, or import labels)"
        )
    empty = [c for c in task.classes if counts.get(c, 0) == 0]
    if empty:
        have = ", ".join(f"{c} {int(counts.get(c, 0))}" for c in task.classes)
        raise CelebaError(
            f"task {task.name!r}: class {', '.join(map(repr, empty))} has no usable human labels{suffix} "
            f"({have}); every class needs examples"
        )


def subsample(frame: pd.DataFrame, max_images: int | None, *, seed: int) -> pd.DataFrame:
    """At most `max_images` rows, a seeded random choice (for quick runs)."""
    if max_images is None or len(frame) <= max_images:
        return frame
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(frame), size=max_images, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def labelled_set(frame: pd.DataFrame, task, skipped: list[tuple[str, str]]) -> LabelledSet:
    """A LabelledSet from rows image, label, split (already filtered to usable images)."""
    frame = frame.sort_values("image", kind="stable").reset_index(drop=True)
    index = {name: i for i, name in enumerate(task.classes)}
    return LabelledSet(
        images=frame["image"].tolist(),
        labels=frame["label"].map(index).to_numpy(dtype=np.int64),
        split=frame["split"].to_numpy(dtype=object),
        classes=tuple(task.classes),
        skipped=list(skipped),
    )
