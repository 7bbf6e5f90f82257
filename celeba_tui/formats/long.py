"""Tidy long labels: one row per (image, task, label[, annotator, source]); CSV or Parquet."""

from __future__ import annotations

import datetime
import io
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.annotator_names import MERGE_PREFIX, annotator_name_problem, shown_name, shown_names
from celeba_tui.errors import FormatError
from celeba_tui.formats.csv_cells import read_records, text_cells, write_rows
from celeba_tui.formats.import_names import strip_name_prefix
from celeba_tui.formats.label_file import MAX_IMPORT_ROWS, read_text, refuse_conflicting_labels
from celeba_tui.store.answers import FUTURE_SLACK_S
from celeba_tui.vocabulary import ANNOTATOR_SOURCES, MODEL, REVIEW, SOURCES
from celeba_tui.workspace import Task

REQUIRED = ("image", "task", "label")
OPTIONAL = ("annotator", "source", "confidence", "model", "time")
TEXT_COLUMNS = ("image", "task", "label", "annotator", "source", "model")
EXPORT_COLUMNS = ["image", "task", "label", "annotator", "source"]


def read_long_csv(
    path: Path, tasks: tuple[Task, ...], text: str | None = None, strip_prefix: str | None = None
) -> tuple[pd.DataFrame, int]:
    """Read a long CSV with a header: its labels and how many merge decisions were left out
    (see `split_merge_decisions`); FormatError naming the line of the first problem.
    `strip_prefix` comes off the image names first (formats.import_names)."""
    if text is None:
        text = read_text(path)
    records = read_records(text, path)
    first = next(records, None)
    if first is None:
        raise FormatError(path, "empty file")
    header_line, header = first
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise FormatError(path, f"header lacks column(s) {', '.join(missing)}", header_line)
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise FormatError(path, f"unknown column(s) {shown_names(unknown)}", header_line)
    twice = [c for c, n in Counter(header).items() if n > 1]
    if twice:
        raise FormatError(path, f"header names column {shown_name(twice[0])} twice", header_line)
    body, lines = [], []
    for number, row in records:
        if not any(row):
            continue
        if len(row) != len(header):
            raise FormatError(path, f"expected {len(header)} columns, found {len(row)}", number)
        body.append(row)
        lines.append(number)
    frame = pd.DataFrame(body, columns=header, dtype=object)
    if "model" in frame:  # an empty cell is no model (a person's label), as in Parquet: None, not ''
        frame["model"] = frame["model"].where(frame["model"].str.strip() != "", None)
    frame["_line"] = lines
    if strip_prefix is not None:
        frame["image"] = strip_name_prefix(path, frame["image"], strip_prefix)
    frame, merges = split_merge_decisions(frame, path)
    return validate_long(frame, path, tasks), merges


def read_parquet_labels(
    path: Path, tasks: tuple[Task, ...], *, max_rows: int = MAX_IMPORT_ROWS, strip_prefix: str | None = None
) -> tuple[pd.DataFrame, int]:
    """Read a Parquet file of long labels (and count the merge decisions left out, as
    `read_long_csv` does): its row count is checked in the file's footer first (a few KB of
    dictionary-encoded Parquet can hold hundreds of millions of rows), then only the
    columns of the long format are read."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        rows = parquet.metadata.num_rows
        if rows > max_rows:
            raise FormatError(path, f"{rows:,} rows, more than {max_rows:,}: too big to import")
        wanted = [c for c in parquet.schema_arrow.names if c in REQUIRED + OPTIONAL]
        frame = parquet.read(columns=wanted).to_pandas()
    except FormatError:
        raise
    except Exception as exc:  # noqa: BLE001  (pyarrow raises several types for bad files)
        raise FormatError(path, f"not a readable Parquet file ({exc})") from None
    missing = [c for c in REQUIRED if c not in frame]
    if missing:
        raise FormatError(path, f"lacks column(s) {', '.join(missing)}")
    frame = frame[[c for c in frame.columns if c in REQUIRED + OPTIONAL]].astype(object)
    frame = frame.where(frame.notna(), None)
    frame["_line"] = range(1, len(frame) + 1)
    for column in TEXT_COLUMNS:
        if column in frame:
            not_text = frame[column].map(lambda value: value is not None and not isinstance(value, str))
            if not_text.any():
                row = frame[not_text].iloc[0]
                raise FormatError(path, f"{column} holds a {type(row[column]).__name__}, not text", int(row["_line"]))
    for column in ("confidence", "time"):  # numbers, text or timestamps; bytes are none of them
        if column in frame:
            raw = frame[column].map(lambda value: isinstance(value, (bytes, bytearray)))
            if raw.any():
                raise FormatError(path, f"{column} holds bytes, not a value", int(frame[raw].iloc[0]["_line"]))
    if strip_prefix is not None:
        frame["image"] = strip_name_prefix(path, frame["image"], strip_prefix)
    frame, merges = split_merge_decisions(frame, path)
    return validate_long(frame, path, tasks, line_word="row"), merges


def split_merge_decisions(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, int]:
    """The labels without a merge's decisions (`review` rows by a `merge:POLICY` annotator),
    and how many those were.

    A merge's decisions belong to the workspace it ran in: imported, they would pose as
    the importing workspace's merge (which replaces every live `merge:*` row on its next
    run). The annotators' own labels come along, so a merge here reaches the same
    decisions. Any other row under a `merge:` name is refused by `validate_long`.
    """
    if "annotator" not in frame or "source" not in frame:
        return frame, 0
    # By distinct name: a few annotators, not a string test per label.
    names = [n for n in frame["annotator"].dropna().unique().tolist() if str(n).startswith(MERGE_PREFIX)]
    merges = (frame["annotator"].isin(names) & (frame["source"] == REVIEW)).to_numpy(dtype=bool)
    if merges.size and merges.all():  # nothing left to import: say why, not "no labels"
        raise FormatError(
            path, f"holds only a merge's decisions ({int(merges.sum()):,}): they belong to the workspace it ran in"
        )
    return frame[~merges].reset_index(drop=True), int(merges.sum())


def validate_long(frame: pd.DataFrame, path: Path, tasks: tuple[Task, ...], line_word: str = "line") -> pd.DataFrame:
    """Check names, tasks, classes, sources and duplicates; return the rows without `_line`."""
    classes = {t.name: set(t.classes) for t in tasks}

    def fail(mask, problem):
        row = frame[mask].iloc[0]
        raise FormatError(path, problem(row), int(row["_line"]))

    if frame.empty:
        raise FormatError(path, "no labels in file")
    for column in REQUIRED:
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if empty.any():
            fail(empty, lambda row, c=column: f"empty {c}")
    bad_task = ~frame["task"].isin(classes)
    if bad_task.any():
        fail(bad_task, lambda row: f"unknown task {shown_name(row['task'])} (tasks: {', '.join(classes)})")
    bad_class = ~pd.Series(
        [label in classes[task] for task, label in zip(frame["task"], frame["label"])], index=frame.index
    )
    if bad_class.any():
        fail(
            bad_class,
            lambda row: (
                f"unknown {row['task']} class {shown_name(row['label'])} "
                f"(classes: {', '.join(t for t in next(x.classes for x in tasks if x.name == row['task']))})"
            ),
        )
    if "source" in frame:
        bad_source = ~frame["source"].isin(SOURCES)
        if bad_source.any():
            fail(bad_source, lambda row: f"unknown source {shown_name(row['source'])} (one of {', '.join(SOURCES)})")
    if "annotator" in frame:
        # A missing value (None: Parquet's null) takes the importer's default name; every other
        # must be allowed (an empty CSV cell is text, and refused: helper-82 found the two read
        # as one in this comment).
        # The automatic labels' own name is, for model rows alone (an export of a store that auto-labelled).
        names = frame["annotator"].dropna()
        model_only: set = set()
        if "source" in frame:
            is_model = frame.loc[names.index, "source"] == MODEL
            model_only = set(names[is_model]) - set(names[~is_model])
        problems = {n: p for n in names.unique().tolist() if (p := annotator_name_problem(n, model=n in model_only))}
        if problems:
            fail(
                frame["annotator"].isin(list(problems)),
                lambda row: (
                    f"annotator name {shown_name(row['annotator'])} {problems[row['annotator']]}"
                    + (EMPTY_NAME_ADVICE if not str(row["annotator"]).strip() else "")
                ),
            )
    if "confidence" in frame:
        given = frame["confidence"].notna() & (frame["confidence"].astype(str).str.strip() != "")
        value = pd.to_numeric(frame["confidence"].where(given), errors="coerce")
        # NaN (unparsable, "nan") and infinities fail `between` as well as -5 or 7 do.
        bad = given & ~value.between(0, 1)
        if bad.any():
            fail(bad, lambda row: f"confidence {shown_name(row['confidence'])} is not a number between 0 and 1")
        frame["confidence"] = value.astype(float)
    if "time" in frame:
        # Not astype(str): a Parquet timestamp past year 9999 cannot be written as text (attack pass 39).
        given = frame["time"].map(
            lambda value: value is not None and not (isinstance(value, str) and not value.strip())
        )
        given = given.astype(bool)
        answered = parse_times(frame["time"].where(given))
        bad = given & answered.isna()
        if bad.any():
            fail(
                bad,
                lambda row: (
                    f"time {shown_time(row['time'])} is not a date and time (ISO 8601, as 2026-12-07T10:30:00Z)"
                ),
            )
        # Local time read as UTC would move an answer by hours, past or before another one.
        naive = given & ~has_zones(frame["time"])
        if naive.any():
            fail(
                naive,
                lambda row: (
                    f"time {shown_time(row['time'])} has no time zone: add Z for UTC, or an offset such as +01:00"
                ),
            )
        if (answered < 0).any():  # no store holds earlier answers (and pandas' years end at 1677)
            fail(answered < 0, lambda row: f"time {shown_time(row['time'])} is before 1970")
        # A later time would outrank every answer given until then.
        future = answered > time.time() + FUTURE_SLACK_S
        if future.any():
            fail(future, lambda row: f"time {shown_time(row['time'])} is in the future")
        frame["time"] = answered
    # An annotator's own answers (human, import) are one voice: the store counts each
    # annotator once, by their newest label, and imports them all as `import`. Two different
    # ones for an image would leave the file's order to decide which is theirs: refused.
    if "source" in frame:
        frame["_voice"] = frame["source"].where(~frame["source"].isin(ANNOTATOR_SOURCES), "annotator")
    if "model" in frame:
        # A model names an automatic label's ensemble; a person's answer is theirs whatever
        # model a row names (attack pass 38: two answers of one person told apart by `model`
        # were both written, and the file's row order chose which stood).
        automatic = frame["source"].eq(MODEL) if "source" in frame else pd.Series(False, index=frame.index)
        frame["_model"] = frame["model"].where(automatic, None)
    key = ["image", "task"] + [c for c in ("annotator", "_voice", "_model") if c in frame]
    return refuse_conflicting_labels(frame, key, path, line_word).drop(columns=["_voice", "_model"], errors="ignore")


EMPTY_NAME_ADVICE = " (fill it in; a file without the annotator column takes --annotator NAME)"


def shown_time(value) -> str:
    """A time cell as an error names it: a text as written (quoted), a timestamp in ISO form,
    or its year where Python's dates end (a Parquet timestamp of year 36,812)."""
    if isinstance(value, str):
        return shown_name(value)
    try:
        return str(value)
    except (ValueError, OverflowError, NotImplementedError):
        return f"of year {value.year:,}"


def parse_times(values: pd.Series) -> pd.Series:
    """Seconds since the epoch of ISO 8601 texts (`2026-12-07T10:30:00Z`; a date alone is
    its midnight) or timestamps (a Parquet file's), UTC where no zone is given; NaN for None
    and for anything else (`now`, `2024-1-1`, numbers: an epoch's unit is a guess)."""
    texts = values.map(lambda value: value if isinstance(value, str) and _ISO_DATE.match(value) else None)
    # ISO 8601 allows a comma before the fraction of a second (`10:30:00,5Z`); pandas reads a point.
    texts = texts.str.replace(_COMMA_FRACTION, r"\1.", regex=True) if texts.notna().any() else texts
    parsed = pd.to_datetime(texts, utc=True, errors="coerce", format="ISO8601")
    seconds = _epoch_seconds(parsed)
    stamps = values.map(lambda value: isinstance(value, (datetime.date, np.datetime64))).astype(bool)
    if stamps.any():  # a Parquet file's or another store's: one conversion, else value by value
        try:
            converted = pd.to_datetime(values[stamps], utc=True, errors="coerce")
            seconds[stamps] = _epoch_seconds(converted)
            # pandas wraps a timestamp past its year 2262 around without a word (attack pass
            # 39: a Parquet file's year 36,812 was stored as 1972): those value by value.
            years = values[stamps].map(lambda value: getattr(value, "year", np.nan)).astype(float).to_numpy()
            wrapped = ~np.isnan(years) & (converted.dt.year.astype(float).to_numpy() != years)
            if wrapped.any():  # by position: a file's index may repeat (helper-85)
                at = np.flatnonzero(stamps.to_numpy())[wrapped]
                seconds.iloc[at] = values.iloc[at].map(_timestamp_seconds).to_numpy()
        except (ValueError, TypeError, OverflowError, NotImplementedError):
            seconds[stamps] = values[stamps].map(_timestamp_seconds)
    return seconds


def iso_times(seconds: pd.Series) -> np.ndarray:
    """ISO 8601 texts in UTC to the microsecond (`2026-12-07T10:30:00.123456Z`) of seconds
    since the epoch, None where not known: what `parse_times` reads back as the same moment.
    numpy's formatting: pandas' strftime took 1 s of a 400,000-row export, this 0.2 s."""
    values = pd.to_numeric(seconds, errors="coerce").to_numpy(dtype=np.float64)
    known = np.isfinite(values)
    micros = np.where(known, np.round(values * 1e6), 0).astype(np.int64)
    texts = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us", timezone="UTC").astype(object)
    texts[~known] = None
    return texts


def _epoch_seconds(stamps: pd.Series) -> pd.Series:
    """Seconds since the epoch of UTC timestamps (NaN for NaT), to year 294,000."""
    return (stamps.dt.as_unit("us") - pd.Timestamp(0, tz="UTC").as_unit("us")).dt.total_seconds()


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]|$)")
_COMMA_FRACTION = re.compile(r"(:\d{2}),(?=\d)")
_ZONE = re.compile(r"[T ]\d{2}(?::?\d{2})*(?:[.,]\d+)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def has_zones(values: pd.Series) -> pd.Series:
    """Whether each time says its zone: text ending in `Z` or an offset (`+01:00`), a
    timestamp that is zone-aware. A date alone, or a naive time, could be anyone's local
    time. Vectorised over the text: 200,000 rows of a file."""
    text = values.map(lambda value: value.strip() if isinstance(value, str) else None)
    zoned = text.str.contains(_ZONE, na=False).astype(bool)
    stamps = text.isna() & values.notna()
    if stamps.any():
        zoned[stamps] = values[stamps].map(lambda value: getattr(value, "tzinfo", None) is not None)
    return zoned


def _timestamp_seconds(value) -> float:
    """Seconds since the epoch of a date or timestamp value (UTC when naive); NaN when
    pandas cannot hold it."""
    try:
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    except (ValueError, TypeError, OverflowError, NotImplementedError):
        return float("nan")
    try:
        return float(stamp.timestamp())
    except (ValueError, OverflowError, NotImplementedError):  # past Python's year 9999: its own unit holds it
        return float(stamp.asm8.astype("datetime64[us]").astype(np.int64)) / 1e6


def write_long(frame: pd.DataFrame, out, *, parquet: bool = False, raw_cells: bool = False) -> None:
    """Write labels as CSV (to a path or a text stream) or as Parquet (to a path).

    CSV cells are quoted where needed and, unless `raw_cells`, neutralised against
    spreadsheet formulas (see `csv_cells`); Parquet keeps its typed values as they are.
    """
    from celeba_tui.atomic import atomic_path

    if parquet:
        with atomic_path(Path(out)) as tmp:
            frame.to_parquet(tmp, index=False)
        return
    cells = [text_cells(frame[column], raw=raw_cells) for column in frame]
    quote_all = np.logical_or.reduce([quotes for _, quotes in cells]) if cells else np.zeros(0, dtype=bool)
    buffer = io.StringIO()
    rows = [list(frame.columns), *zip(*(texts for texts, _ in cells))]
    write_rows(buffer, rows, np.concatenate([[False], quote_all]))
    if hasattr(out, "write"):
        out.write(buffer.getvalue())
        return
    with atomic_path(Path(out)) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8", newline="")
