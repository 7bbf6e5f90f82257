"""Reading another celeba store, which may come from anyone: read-only, bounded, checked.

The source is opened as a read-only, immutable SQLite URI: nothing about the file
changes (no schema written, no journal mode switched, no -wal/-shm files made), and a
read-only file or folder is no obstacle. Only the base tables this version writes are
read, after checking that they are tables (not views) with the declared column types;
the source's views and triggers never run. Every value's type is checked per row, a
progress handler and a row budget bound the read, and SQLite's length limit bounds any
one value. The live labels are rebuilt here from the label history and its undo rows,
as the store's own triggers derive them, then checked as the CSV importers check theirs.
"""

from __future__ import annotations

import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from celeba_tui.errors import FormatError
from celeba_tui.formats.label_file import MAX_IMPORT_ROWS, regular_file_info
from celeba_tui.formats.long import split_merge_decisions, validate_long
from celeba_tui.store.answers import FUTURE_SLACK_S, answer_times, newest_answers
from celeba_tui.store.schema import APP_ID, SCHEMA_VERSION
from celeba_tui.workspace import Task

MAX_ROWS = MAX_IMPORT_ROWS  # per table
BUDGET_S = 120.0  # a 400,000-label store reads in about a second
MAX_VALUE_BYTES = 1 << 20  # no name, task or label comes near; a 2 GB "label" is refused unread
_PROGRESS_STEPS = 1000  # SQLite VM steps between deadline checks

_SQLITE_MAGIC = b"SQLite format 3\x00"

# The columns read from each base table, their declared types (store_schema.SCHEMA), and
# whether NULL is allowed. Integer ids are checked as integers, text as text: a BLOB or
# NULL where the store never writes one is a forgery or a corruption.
_READ = {
    "meta": {"key": ("TEXT", False), "value": ("TEXT", False)},
    "images": {"id": ("INTEGER", False), "name": ("TEXT", False)},
    "annotators": {"id": ("INTEGER", False), "name": ("TEXT", False)},
    "labels": {
        "id": ("INTEGER", False),
        "image_id": ("INTEGER", False),
        "task": ("TEXT", False),
        "label": ("TEXT", True),
        "annotator_id": ("INTEGER", False),
        "source": ("TEXT", False),
        "confidence": ("REAL", True),
        "model": ("TEXT", True),
        "revokes": ("INTEGER", True),
        "created": ("REAL", False),
        "detail": ("TEXT", True),
    },
}
# Tables of the schema that are not read: a view or virtual table under one of these
# names (a recursive `live` view, say) is not a store this program wrote.
_UNREAD = ("live", "current", "predictions", "models", "checks", "problems", "skips", "renames", "image_files")
# SQLite's typeof() names for each declared type; REAL columns hold integers as well.
_TYPEOF = {"TEXT": ("text",), "INTEGER": ("integer",), "REAL": ("real", "integer")}

COLUMNS = ["image", "task", "label", "annotator", "source", "confidence", "model"]


@dataclass(frozen=True)
class StoreSource:
    """A source store's live labels (columns COLUMNS), checked, without its merges' decisions
    (`merge_labels` says how many were left out; see formats.long.split_merge_decisions)."""

    labels: pd.DataFrame
    merge_labels: int


def read_store_source(
    path: Path, tasks: tuple[Task, ...], *, max_rows: int = MAX_ROWS, budget_s: float = BUDGET_S
) -> StoreSource:
    """The live labels of the store at `path`, checked as the CSV importers check theirs.

    FormatError (one line naming the file) for anything that is not a sound celeba store.
    """
    path = Path(path)
    _check_file(path)
    conn = _connect_read_only(path, budget_s)
    try:
        _check_schema(conn, path)
        frame = _live_frame(conn, path, max_rows)
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise FormatError(path, f"reading took longer than {budget_s:g} s (a huge or hostile store?)") from None
        raise FormatError(path, f"not a celeba label store ({exc})") from None
    except sqlite3.DataError:
        raise FormatError(path, f"not a celeba label store (a value too big: over {MAX_VALUE_BYTES:,} bytes)") from None
    except sqlite3.DatabaseError as exc:
        raise FormatError(path, f"not a celeba label store ({exc})") from None
    finally:
        conn.close()
    frame, merges = split_merge_decisions(frame, path)
    try:
        labels = validate_long(frame, path, tasks, line_word="label id")
    except FormatError as exc:
        if exc.line is None:
            raise
        raise FormatError(path, f"label id {exc.line}: {exc.problem}") from None
    return StoreSource(labels, merges)


def _check_file(path: Path) -> None:
    """A regular, non-empty file with SQLite's header and no unfinished writes beside it."""
    info = regular_file_info(path)
    if info.st_size == 0:
        raise FormatError(path, "empty file, not a celeba label store")
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise FormatError(path, f"cannot read ({exc.strerror})") from None
    if head != _SQLITE_MAGIC:
        raise FormatError(path, "not an SQLite file, so not a celeba label store")
    # An immutable read sees only the main file: changes still in a write-ahead log, or
    # a write cut short (a hot rollback journal), would be missed or half-read.
    for suffix, why in (
        (
            "-wal",
            "holds changes not yet in the file (is it open in celeba?); close the program using it and import again",
        ),
        ("-journal", "is left from an interrupted write; open the store once with celeba or sqlite3 and import again"),
    ):
        side = Path(f"{path}{suffix}")
        if side.exists() and side.stat().st_size > 0:
            raise FormatError(path, f"{side.name} beside it {why}")


def _connect_read_only(path: Path, budget_s: float) -> sqlite3.Connection:
    """A connection that cannot write to the file, with its time and value size bounded."""
    # Quoted: '?', '#' and '%' in a file name are path characters, not URI syntax.
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise FormatError(path, f"cannot open as SQLite ({exc})") from None
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    deadline = time.monotonic() + budget_s
    conn.set_progress_handler(lambda: time.monotonic() > deadline, _PROGRESS_STEPS)
    try:
        # Functions in the source's schema (generated columns, views) get no power here.
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise FormatError(path, f"not a celeba label store ({exc})") from None
    return conn


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """The tables read are plain tables with the declared columns; the version is supported."""
    objects = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"))
    if not objects:
        raise FormatError(path, "an SQLite file without tables, not a celeba label store")
    for name in _READ:
        if name not in objects:
            raise FormatError(path, f"not a celeba label store (no table {name})")
    for name in (*_READ, *_UNREAD):
        if objects.get(name, "table") != "table":
            raise FormatError(path, f"not a celeba label store ({name} is a {objects[name]}, not a table)")
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
        if sql is not None and not str(sql[0]).upper().startswith("CREATE TABLE"):
            raise FormatError(path, f"not a celeba label store ({name} is not a plain table)")
    for table, columns in _READ.items():
        declared = {row[1]: (str(row[2]).upper(), row[6]) for row in conn.execute(f"PRAGMA table_xinfo({table})")}
        for column, (kind, _) in columns.items():
            if column not in declared:
                raise FormatError(path, f"not a celeba label store (table {table} has no column {column})")
            if declared[column] != (kind, 0):
                raise FormatError(
                    path, f"not a celeba label store (column {table}.{column} is not a plain {kind} column)"
                )
    _check_values(conn, path, "meta", "key")
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    if meta.get("app") != APP_ID:
        raise FormatError(path, "an SQLite file, but not a celeba label store")
    version = meta.get("schema_version")
    if not str(version).isdigit() or not str(version).isascii():
        raise FormatError(path, f"not a celeba label store (schema version {version!r} is not a number)")
    if int(version) > SCHEMA_VERSION:
        raise FormatError(
            path,
            f"store schema version {int(version)} is newer than this celeba-tui supports "
            f"({SCHEMA_VERSION}); upgrade celeba-tui",
        )
    if int(version) < 1:
        raise FormatError(path, f"not a celeba label store (schema version {int(version)})")


def _check_values(conn: sqlite3.Connection, path: Path, table: str, key: str) -> None:
    """Every row's values have their column's type (one scan in SQLite); else name the first bad one."""
    columns = _READ[table]
    bad = " OR ".join(
        f"typeof({c}) NOT IN ({', '.join(repr(t) for t in _TYPEOF[kind] + (('null',) if null else ()))})"
        for c, (kind, null) in columns.items()
    )
    row = conn.execute(
        f"SELECT {key}, {', '.join(f'typeof({c})' for c in columns)} FROM {table} WHERE {bad} LIMIT 1"
    ).fetchone()
    if row is None:
        return
    where = f"{table} row {row[0]!r}" if isinstance(row[0], (int, str)) else f"a {table} row"
    for (column, (kind, null)), found in zip(columns.items(), row[1:]):
        if found not in _TYPEOF[kind] + (("null",) if null else ()):
            shown = "NULL" if found == "null" else found.upper()
            raise FormatError(path, f"not a celeba label store ({where}: {column} is {shown}, expected {kind})")


def _live_frame(conn: sqlite3.Connection, path: Path, max_rows: int) -> pd.DataFrame:
    """The live labels of a checked store (columns COLUMNS, and `_line`: each label's id).

    The latest label per (image, task, annotator, source) that no undo row revokes: what
    the store's `live` triggers keep, rebuilt from the history, since `live` itself may
    be anything in a file from elsewhere.
    """
    for table in ("images", "annotators", "labels"):
        _check_values(conn, path, table, "id")
        # Counted before anything is fetched: a huge table is refused, not loaded.
        if conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] > max_rows:
            raise FormatError(path, f"more than {max_rows:,} rows in table {table}: too big to import")
    columns = list(_READ["labels"])  # every column read is one checked
    history = pd.DataFrame(
        conn.execute(f"SELECT {', '.join(columns)} FROM labels ORDER BY id").fetchall(), columns=columns
    )
    odd = history["label"].isna() == history["revokes"].isna()
    if odd.any():
        raise FormatError(
            path, f"label id {history['id'][odd].iloc[0]}: a row must hold a label or undo one, not both or neither"
        )
    live = history[history["label"].notna() & ~history["id"].isin(history["revokes"].dropna())]
    # Rows come in id order: the last of each group is its newest.
    live = live.drop_duplicates(["image_id", "task", "annotator_id", "source"], keep="last").copy()
    for name, table in (("image", "images"), ("annotator", "annotators")):
        live[name] = live[f"{name}_id"].map(dict(conn.execute(f"SELECT id, name FROM {table}")))
        missing = live[name].isna()
        if missing.any():
            row = live[missing].iloc[0]
            raise FormatError(
                path, f"label id {row['id']}: refers to {name} id {row[f'{name}_id']}, which does not exist"
            )
    live["_line"] = live["id"]
    live = newest_answers(live.reset_index(drop=True))  # as the store counts each annotator: once
    live["time"] = _answered(live.rename(columns={"created": "time"}), path)
    return live[[*COLUMNS, "time", "_line"]].astype(object).reset_index(drop=True)


def _answered(live: pd.DataFrame, path: Path) -> pd.Series:
    """When each label was answered (store.answers), as timestamps; a FormatError for a
    time no store writes (before 1970, or ahead of now)."""
    times = answer_times(live)
    now = time.time()
    bad = ~times.between(0, now + FUTURE_SLACK_S)
    if bad.any():
        row, when = live[bad].iloc[0], float(times[bad].iloc[0])
        raise FormatError(path, f"label id {row['id']}: {_not_a_time(when, now)}")
    return pd.to_datetime(times, unit="s", utc=True)


def _not_a_time(when: float, now: float) -> str:
    """Why a stored label's time `when` (seconds since 1970) is no moment an answer was given:
    before 1970, or ahead of now (in ISO form, and by how much: a clock set wrong; attack pass
    39 found "its time 1.7967e+09 is not a moment since 1970" for one two hours ahead)."""
    import math

    from celeba_tui.console import duration_text

    if not math.isfinite(when) or when < 0:
        return f"its time {when:g} is not a moment since 1970"
    try:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))
    except (OverflowError, ValueError, OSError):
        return f"its time {when:g} (seconds since 1970) is in the future"
    return f"its time {stamp} is {duration_text((when - now) / 60)} in the future (a clock set wrong?)"
