"""Exporting a store's labels in the format training code reads.

Which labels each format takes:

- `onehot` (the study's CSV), `jsonl`, `imagefolder`, `hf`: each image's *current*
  label per task (see `LabelStore.current_labels` and `export_selection`).
- `long`, `parquet`: every annotator's *live* label, one row each (of an annotator's own
  answers, human and import, the newest: the one the store counts).

`--source` keeps labels of those sources (human, review, merge, model, import: the stored
sources, a merge's review rows as `merge`; for a current label, the sources that settled
it); `--task` keeps those tasks. Every export reports what it left out and why
(`ExportReport.left_out`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.annotator_names import are_merges
from celeba_tui.errors import CelebaError
from celeba_tui.formats.export_formats import EXPORT_FORMATS, FILE_ONLY_FORMATS, FOLDER_FORMATS
from celeba_tui.formats.export_report import CONFLICT, OTHER_SOURCE, SOME_TASKS, ExportReport, count_reasons
from celeba_tui.formats.export_selection import NOT_KEPT_CONFLICT, NOT_KEPT_SOURCE, CurrentSelection, select_current
from celeba_tui.formats.long import EXPORT_COLUMNS, iso_times, write_long
from celeba_tui.formats.onehot import write_onehot
from celeba_tui.store.answers import answer_times, newest_answers
from celeba_tui.store.label_store import LabelStore
from celeba_tui.vocabulary import AUTOMATIC, FILTER_SOURCES, MERGE, REVIEW
from celeba_tui.workspace import Task, Workspace


def parse_sources(text: str | None) -> list[str] | None:
    """`human,review` -> ['human', 'review']; None means every source. `review` is a
    person's decision, `merge` a merge's (vocabulary.FILTER_SOURCES)."""
    if text is None:
        return None
    sources = [s.strip() for s in text.split(",") if s.strip()]
    if not sources:  # `--source ,` kept nothing and said "wrote 0 rows" (attack pass 34)
        raise CelebaError(f"--source {text!r}: no source named (one or more of {', '.join(FILTER_SOURCES)})")
    unknown = [s for s in sources if s not in FILTER_SOURCES]
    if unknown:
        raise CelebaError(f"unknown source(s) {', '.join(unknown)} (one of {', '.join(FILTER_SOURCES)})")
    return sources


def check_export_request(fmt: str, out) -> None:
    """One line now for a format that is unknown or needs an output it was not given."""
    if fmt not in EXPORT_FORMATS:
        from celeba_tui.annotator_names import shown_name
        from celeba_tui.console import did_you_mean

        meant = did_you_mean(fmt, EXPORT_FORMATS, {"csv": "long", "json": "jsonl", "huggingface": "hf"})
        raise CelebaError(f"unknown export format {shown_name(fmt)} ({meant}one of {', '.join(EXPORT_FORMATS)})")
    to_stream = out is None or hasattr(out, "write")
    if fmt in FOLDER_FORMATS and to_stream:
        raise CelebaError(f"--format {fmt} writes a folder: give it with -o/--out DIR")
    if fmt in FILE_ONLY_FORMATS and to_stream:
        raise CelebaError("Parquet export needs -o/--out FILE")


def export_labels(
    store: LabelStore,
    workspace: Workspace,
    fmt: str,
    out,
    sources: list[str] | None = None,
    *,
    tasks: tuple[Task, ...] | None = None,
    raw_cells: bool = False,
    header: bool = False,
    copy: bool = False,
) -> ExportReport:
    """Write labels in `fmt` to `out` (a path, a folder, or a text stream); see the module.

    CSV cells that a spreadsheet would run as formulas are neutralised unless
    `raw_cells`: image names come from whatever files were scanned. `header` adds the
    column names to a one-hot CSV; `copy` copies image files into an image-folder
    export instead of linking them.
    """
    check_export_request(fmt, out)
    tasks = _unique(tasks if tasks else workspace.tasks)
    destination = None
    if fmt in FOLDER_FORMATS:
        from celeba_tui.formats.export_folder import check_destination

        destination = check_destination(Path(out), workspace.image_root)
    path = "-" if hasattr(out, "write") else str(out)
    names = [t.name for t in tasks]
    if fmt in ("long", "parquet"):
        rows, images = _export_live(store, fmt, out, names, sources, raw_cells)
        return ExportReport(fmt, rows, images, names, sources, [path])
    selection = select_current(store, tasks, sources, with_people=fmt == "jsonl")
    if fmt == "onehot":
        return _export_onehot(selection, out, path, sources, raw_cells=raw_cells, header=header)
    if fmt == "jsonl":
        from celeba_tui.formats.jsonl import jsonl_records, write_jsonl

        records, left_out = jsonl_records(selection)
        write_jsonl(records, out)
        return ExportReport(fmt, len(records), len(records), names, sources, [path], left_out)
    from celeba_tui.formats.export_folder import FileWriter
    from celeba_tui.formats.image_folders import write_hf, write_imagefolder

    writer = FileWriter(workspace.image_root, copy=copy)
    write = write_imagefolder if fmt == "imagefolder" else write_hf
    result = write(selection, destination, writer)
    return ExportReport(
        fmt,
        result.files,
        result.images,
        names,
        sources,
        [path],
        result.left_out,
        dict(sorted(writer.methods.items())),
        result.empty_values,
    )


def _unique(tasks: tuple[Task, ...]) -> tuple[Task, ...]:
    return tuple({t.name: t for t in tasks}.values())


def _export_live(store: LabelStore, fmt: str, out, tasks: list[str], sources, raw_cells: bool) -> tuple[int, int]:
    live = newest_answers(store.live_labels())
    live = live[~live["id"].isin(store.lapsed_merge_decisions())]  # people answered since: no longer counts
    by_merge = (live["source"] == REVIEW).to_numpy(dtype=bool) & are_merges(live["annotator"])
    kind = live["source"].where(~by_merge, MERGE)  # the filter's word; the rows keep their stored source
    live = live[live["task"].isin(tasks) & kind.isin(FILTER_SOURCES if sources is None else sources)]
    live = live.sort_values(["image", "task", "annotator", "source"], ignore_index=True)
    frame = live[EXPORT_COLUMNS + ["confidence", "model"]].copy()
    answered = answer_times(live)  # when answered
    if fmt == "long":
        frame["time"] = iso_times(answered)
        write_long(frame, out, raw_cells=raw_cells)
    else:
        frame["time"] = pd.to_datetime(answered, unit="s", utc=True)
        write_long(frame, Path(out), parquet=True)
    return len(live), live["image"].nunique()


def _export_onehot(
    selection: CurrentSelection, out, path: str, sources, *, raw_cells: bool, header: bool
) -> ExportReport:
    """Images with a kept current label for every task; the others are left out, with why."""
    current = selection.current
    # Per image counts over the factorised names: numpy, not `isin` over 200,000 names.
    codes, images = pd.factorize(current["image"])
    kept = current["kept"].to_numpy(dtype=bool)
    why_not = current["why_not"].to_numpy(dtype=object)

    def per_image(mask: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=mask, minlength=len(images))

    complete = per_image(kept) == len(selection.tasks)
    rows = write_onehot(current[complete[codes]], out, selection.tasks, raw_cells=raw_cells, header=header)
    conflict = per_image(why_not == NOT_KEPT_CONFLICT) > 0
    other_source = per_image(why_not == NOT_KEPT_SOURCE) > 0
    reasons = np.where(conflict, CONFLICT, np.where(other_source, OTHER_SOURCE, SOME_TASKS))[~complete]
    automatic = kept & (current["status"] == AUTOMATIC).to_numpy(dtype=bool)
    return ExportReport(
        "onehot",
        rows,
        rows,
        [t.name for t in selection.tasks],
        sources,
        [path],
        count_reasons(reasons.tolist()),
        automatic=int(((per_image(automatic) > 0) & complete).sum()),
    )
