"""Exporting a store's labels: the study's one-hot CSV, long CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from celeba_tui.errors import CelebaError
from celeba_tui.formats.long import EXPORT_COLUMNS, write_long
from celeba_tui.formats.onehot import write_onehot
from celeba_tui.store.label_store import LabelStore
from celeba_tui.vocabulary import SOURCES
from celeba_tui.workspace import Workspace

EXPORT_FORMATS = ("onehot", "long", "parquet")


def parse_sources(text: str | None) -> list[str] | None:
    """`human,review` -> ['human', 'review']; None means every source."""
    if not text:
        return None
    sources = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise CelebaError(f"unknown source(s) {', '.join(unknown)} (one of {', '.join(SOURCES)})")
    return sources


def export_labels(
    store: LabelStore, workspace: Workspace, fmt: str, out, sources: list[str] | None = None, *, raw_cells: bool = False
) -> int:
    """Write labels in `fmt` to `out` (a path or a text stream); returns rows written.

    onehot: each image's current label (see `LabelStore.current_labels`), images with
    every task labelled. long / parquet: every annotator's live label, one row each.
    `sources` filters by source (current label's source for onehot). CSV cells that a
    spreadsheet would run as formulas are neutralised unless `raw_cells`: image names
    come from whatever files were scanned.
    """
    if fmt not in EXPORT_FORMATS:
        raise CelebaError(f"unknown export format {fmt!r} (one of {', '.join(EXPORT_FORMATS)})")
    if fmt == "parquet" and (out is None or hasattr(out, "write")):
        raise CelebaError("Parquet export needs --out FILE")
    if fmt == "onehot":
        current = store.current_labels()
        current = current[current["label"].notna()]
        if sources is not None:
            current = current[current["source"].isin(_current_sources(sources))]
        return write_onehot(current, out, workspace.tasks, raw_cells=raw_cells)
    live = store.live_labels()
    if sources is not None:
        live = live[live["source"].isin(sources)]
    live = live.sort_values(["image", "task", "annotator", "source"], ignore_index=True)
    if fmt == "long":
        write_long(live[EXPORT_COLUMNS], out, raw_cells=raw_cells)
    else:
        frame = live[EXPORT_COLUMNS + ["confidence", "model", "time"]].copy()
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        write_long(frame, Path(out), parquet=True)
    return len(live)


def _current_sources(sources: list[str]) -> set[str]:
    # current_labels reports imported labels as source "human"
    return {"human" if s == "import" else s for s in sources}
