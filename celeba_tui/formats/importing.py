"""Importing label files and other stores into a workspace's store, all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from celeba_tui.errors import FormatError
from celeba_tui.formats.long import read_long_csv, read_parquet_labels
from celeba_tui.formats.onehot import read_onehot, read_text
from celeba_tui.store.label_store import LabelStore
from celeba_tui.workspace import Task, Workspace

FORMATS = ("auto", "onehot", "long", "parquet", "store")
_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class ImportReport:
    path: str
    format: str
    rows: int = 0
    written: int = 0
    images: int = 0
    unknown_images: int = 0
    annotators: list[str] = field(default_factory=list)
    per_task: dict[str, dict[str, int]] = field(default_factory=dict)


def detect_format(path: Path, tasks: tuple[Task, ...]) -> str:
    """Tell a store, Parquet, long CSV or one-hot CSV apart by content, not by suffix."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({exc.strerror})") from None
    if head.startswith(_SQLITE_MAGIC):
        return "store"
    if head.startswith(b"PAR1"):
        return "parquet"
    if not head.strip():
        raise FormatError(path, "empty file")
    if b"\x00" in head:
        raise FormatError(path, "not a label file (binary content)")
    first = head.decode("utf-8", "replace").lstrip("\ufeff").splitlines()[0]
    cells = [c.strip().lower() for c in next(csv.reader(io.StringIO(first)), [])]
    if {"image", "task", "label"} <= set(cells):
        return "long"
    if len(cells) == 1 + sum(len(t.classes) for t in tasks):
        return "onehot"
    raise FormatError(
        path,
        "not a recognised label file (expected the study's one-hot CSV with "
        f"{1 + sum(len(t.classes) for t in tasks)} columns, a long CSV with an "
        "image,task,label header, Parquet or a celeba store)",
        1,
    )


def read_label_file(path: Path, workspace: Workspace, fmt: str = "auto", annotator: str | None = None) -> tuple[str, pd.DataFrame]:
    """Read any supported file into rows (image, task, label, annotator, source, ...)."""
    path = Path(path)
    if fmt not in FORMATS:
        raise FormatError(path, f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt == "auto":
        fmt = detect_format(path, workspace.tasks)
    if fmt == "store":
        frame = read_store_labels(path)
    elif fmt == "parquet":
        frame = read_parquet_labels(path, workspace.tasks)
    elif fmt == "long":
        frame = read_long_csv(path, workspace.tasks, read_text(path))
    else:
        frame = read_onehot(path, workspace.tasks, read_text(path))
    if "annotator" not in frame or frame["annotator"].isna().any():
        name = annotator or path.stem
        frame["annotator"] = frame["annotator"].fillna(name) if "annotator" in frame else name
    elif annotator:
        frame["annotator"] = annotator
    if "source" not in frame:
        frame["source"] = "import"
    # Typed-in labels from elsewhere become imports here; review and model rows keep theirs.
    frame["source"] = frame["source"].replace({"human": "import"})
    return fmt, frame


def read_store_labels(path: Path) -> pd.DataFrame:
    """The live labels of another celeba store (annotator identity kept)."""
    with LabelStore.open(path) as other:
        live = other.live_labels()
    return live[["image", "task", "label", "annotator", "source", "confidence", "model"]]


def import_labels(store: LabelStore, workspace: Workspace, path: Path, *, fmt: str = "auto", annotator: str | None = None) -> ImportReport:
    """Read, validate and append a file's labels in one transaction."""
    fmt, frame = read_label_file(path, workspace, fmt, annotator)
    unknown_tasks = set(frame["task"].unique().tolist()) - set(workspace.task_names)
    if unknown_tasks:
        raise FormatError(path, f"labels for unknown task(s) {', '.join(sorted(unknown_tasks))}")
    known = store.image_names(present_only=True)
    # As Python strings: iterating pandas' Arrow-backed strings one by one is slow.
    images = set(frame["image"].unique().tolist())
    written = store.add_labels(frame, skip_unchanged=True)
    per_task = {
        task: {str(k): int(v) for k, v in group["label"].value_counts().items()}
        for task, group in frame.groupby("task")
    }
    return ImportReport(
        path=str(path),
        format=fmt,
        rows=len(frame),
        written=written,
        images=len(images),
        unknown_images=len(images.difference(known)),
        annotators=sorted(frame["annotator"].unique()),
        per_task=per_task,
    )
