"""The stratified, seeded 70/30 train/validation split, stored per task in the workspace.

Every run of a task reads `<workspace>/splits/<task>.csv` (columns image, split), so all
models of a task are compared on the same validation images. Images labelled after the
split was made are split among themselves (stratified, seeded) and appended; existing
assignments never change until the user asks for a new split (`celeba train --new-split`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from celeba_tui.errors import CelebaError

if TYPE_CHECKING:
    from celeba_tui.workspace import Workspace

VAL_FRACTION = 0.3
SPLITS = ("train", "val")


def stratified_split(
    images: list[str] | pd.Series, labels: list[str] | pd.Series, *, val_fraction: float = VAL_FRACTION, seed: int = 0
) -> pd.DataFrame:
    """Assign each image to train or val, `val_fraction` of every class to val (rounded).

    Deterministic for a given seed and set of (image, label) pairs, whatever their order.
    """
    frame = pd.DataFrame({"image": list(images), "label": list(labels)})
    if frame["image"].duplicated().any():
        raise ValueError("each image must appear once")
    frame = frame.sort_values("image", kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    split = np.full(len(frame), "train", dtype=object)
    for label in sorted(frame["label"].unique()):
        members = np.flatnonzero((frame["label"] == label).to_numpy())
        n_val = int(np.floor(len(members) * val_fraction + 0.5))
        split[rng.permutation(members)[:n_val]] = "val"
    return pd.DataFrame({"image": frame["image"], "split": split})


def split_path(splits_dir: Path, task: str) -> Path:
    """Where a task's split is stored: `<workspace>/splits/<task>.csv`."""
    return Path(splits_dir) / f"{task}.csv"


def split_digest(splits_dir: Path, task: str) -> str | None:
    """The sha256 of a task's stored split file; None when it is missing, unreadable or not
    a regular file (reading a FIFO would block)."""
    import hashlib

    path = split_path(splits_dir, task)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def read_split(path: Path) -> pd.DataFrame:
    """A stored split; a CelebaError naming the file if it is not one."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read
            raise CelebaError(f"{path}: the stored split is not a regular file; use --new-split")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CelebaError(f"{path}: cannot read the stored split ({exc}); use --new-split") from None
    if list(frame.columns) != ["image", "split"] or not frame["split"].isin(SPLITS).all():
        raise CelebaError(f"{path}: not a split file (columns image,split; split train|val); use --new-split")
    if frame["image"].duplicated().any():
        raise CelebaError(f"{path}: an image is listed twice; use --new-split")
    return frame


def stored_split(splits_dir: Path, task: str) -> pd.DataFrame | None:
    """A task's stored split; None when there is none yet (a CelebaError if it is damaged)."""
    path = split_path(splits_dir, task)
    return read_split(path) if os.path.lexists(path) else None


def split_images(path: Path, part: str) -> list[str]:
    """The images of one part ("train" or "val") of a stored split; a CelebaError if it is not one."""
    if part not in SPLITS:
        raise ValueError(f"part must be one of {SPLITS}")
    frame = read_split(path)
    return frame.loc[frame["split"] == part, "image"].tolist()


def write_split(path: Path, frame: pd.DataFrame, workspace_path: Path) -> None:
    """The workspace's split file for a task (its own file: never written through a link)."""
    from celeba_tui.atomic import owned_path

    with owned_path(path, workspace_path) as tmp:
        frame[["image", "split"]].to_csv(tmp, index=False)


def extend_split(stored: pd.DataFrame, labelled: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """The stored split plus a stratified split of the labelled images it does not list."""
    new = labelled[~labelled["image"].isin(stored["image"])]
    if new.empty:
        return stored
    # A different stream per extension, so appended batches are not split alike.
    added = stratified_split(new["image"], new["label"], seed=seed + len(stored))
    return pd.concat([stored, added], ignore_index=True)


def task_split(
    workspace: Workspace, task: str, labelled: pd.DataFrame, *, seed: int, new: bool = False, write: bool = True
) -> pd.DataFrame:
    """The split of `labelled` (columns image, label) for a task: stored, extended, or new.

    Returns columns image, label, split for the labelled images only (images in the stored
    split that lost their label are kept in the file but not returned).
    """
    path = split_path(workspace.splits_dir, task)
    if new or not os.path.lexists(path):
        full = stratified_split(labelled["image"], labelled["label"], seed=seed)
    else:
        stored = read_split(path)
        full = extend_split(stored, labelled, seed=seed)
        if full is stored:
            write = False
    if write:
        write_split(path, full, workspace.path)
    merged = labelled[["image", "label"]].merge(full, on="image", how="left", validate="one_to_one")
    return merged.sort_values("image", kind="stable").reset_index(drop=True)
