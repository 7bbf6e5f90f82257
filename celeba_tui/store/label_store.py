"""The label store: images, annotators and the append-only label history in SQLite (WAL).

Every write is one transaction, committed before the call returns, so a decision is on
disk the moment the TUI's key handler finishes. Nothing is ever deleted from the label
history: an undo appends a row that revokes an earlier one. The current label of an
image is derived (see `current_labels`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.annotator_names import MERGE_PREFIX, MODEL_ANNOTATOR, annotator_name_problem, shown_name
from celeba_tui.errors import DecidedMeanwhile, StoreError, StoreWriteError
from celeba_tui.store.annotators import AnnotatorRecords
from celeba_tui.store.schema import (
    APP_ID,
    COUNTS_SQL,
    CURRENT_REFRESH_SQL,
    LAPSED_MERGE_DECISIONS_SQL,
    LATER_INDEXES,
    LATER_TABLES,
    MANY_ROWS_GROUPS_SQL,
    MERGE_ANNOTATOR_IDS_SQL,
    MERGE_DECIDED_SQL,
    ONE_ROW_GROUPS_REFRESH_SQL,
    RETIRED_INDEXES,
    SCHEMA,
    SCHEMA_VERSION,
    SHOWN_STATUS_SQL,
    UNSETTLED_LAPSED_SQL,
)
from celeba_tui.store.side_tables import SideTables
from celeba_tui.vocabulary import (
    ANNOTATOR_SOURCES,
    HUMAN,
    IMPORT,
    MODEL,
    PEOPLE_SOURCES,
    RESOLVED,
    REVIEWED,
    SOURCES,
    shown_status,
    sql_list,
)

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported where a method needs it, not here: importing it costs about 0.4 s,
# which `celeba stats` (plain counts) would otherwise pay on every run.

# Which rules a store's `current` table follows (schema.CURRENT_REFRESH_SQL). 2: merge
# decisions lapse, a person's review outranks any merge's, an annotator counts once.
# A store made under older rules is recomputed once, on its first writable open.
CURRENT_RULES_KEY = "current_rules"
CURRENT_RULES = "2"
BUSY_TIMEOUT_S = 30.0
_LOCK_RETRIES = 50
_LOCK_PAUSE_S = 0.1
# SQLite's primary result codes for a write the machine refused, as a user reads them.
_WRITE_PROBLEMS = {
    sqlite3.SQLITE_FULL: "disk full",
    sqlite3.SQLITE_READONLY: "read-only (no write permission, or opened read-only)",
    sqlite3.SQLITE_IOERR: "disk I/O error",
    sqlite3.SQLITE_CANTOPEN: "unable to open the store file or its -wal/-shm files",
}


class LabelStore(SideTables, AnnotatorRecords):
    """One open label store. Thread-safe: calls are serialised on one connection."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, readonly: bool = False):
        self._conn = conn
        self.path = path
        self.readonly = readonly
        self._lock = threading.RLock()
        self._annotator_ids: dict[str, int] = {}
        # Which file was opened: a write into a store deleted or replaced since would be lost.
        # So would one into a -wal that was deleted (another process then starts a new one,
        # and the two write-ahead logs overwrite each other's pages on checkpoint).
        self._identity = _file_identity(path)
        self._side_identity = {suffix: _file_identity(Path(f"{path}{suffix}")) for suffix in _SIDE_FILES}

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, path: Path, *, create: bool = False, readonly: bool = False, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> "LabelStore":
        """Open (or with `create`, make) a store; with `readonly`, for commands that only read.

        A read-only store works where nobody may write (a shared, read-only workspace):
        it never creates the store, its schema or, where it can help it, -wal/-shm files.
        `busy_timeout_s` (read-only opens): how long a read waits for another process's lock
        (a reader that must answer at once, shell completion, waits a moment, not 30 s).
        """
        path = Path(path)
        if not create and not path.exists():
            raise StoreError(f"{path}: label store does not exist; run `celeba init` first")
        if not readonly and path.exists() and not os.access(path, os.W_OK):
            # Opening it for writing would leave read-only -wal/-shm files behind.
            raise StoreWriteError(path, "read-only (no write permission)")
        try:
            conn = _connect_readonly(path, busy_timeout_s) if readonly else _connect(path)
        except sqlite3.DatabaseError as exc:
            raise _store_error(path, exc, readonly) from None
        store = cls(conn, path, readonly=readonly)
        try:
            store._check_or_create_schema()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _store_error(path, exc, readonly) from None
        except StoreError:
            conn.close()
            raise
        return store

    def reader(self) -> "LabelStore":
        """A second connection to this store, read-only: reads through it never wait for
        this one's threads (a write held up by another process's lock, a long query)."""
        return LabelStore.open(self.path, readonly=True)

    def _check_or_create_schema(self) -> None:
        tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and self.readonly:
            raise StoreError(f"{self.path}: an empty SQLite file, not a celeba label store")
        if not tables:
            with self._lock:
                # executescript: the triggers contain semicolons. One transaction, so a
                # crash leaves no half-made store; IF NOT EXISTS / OR IGNORE let two
                # processes create the same new store at once.
                self._conn.executescript(
                    "BEGIN IMMEDIATE;"
                    + SCHEMA
                    + f"INSERT OR IGNORE INTO meta VALUES ('app', '{APP_ID}');"
                    + f"INSERT OR IGNORE INTO meta VALUES ('schema_version', '{SCHEMA_VERSION}');"
                    + f"INSERT OR IGNORE INTO meta VALUES ('created', '{time.time()}');"
                    + f"INSERT OR IGNORE INTO meta VALUES ('{CURRENT_RULES_KEY}', '{CURRENT_RULES}');"
                    + "COMMIT;"
                )
            return
        if "meta" not in tables:
            raise StoreError(f"{self.path}: an SQLite file, but not a celeba label store")
        meta = dict(self._conn.execute("SELECT key, value FROM meta"))
        if meta.get("app") != APP_ID:
            raise StoreError(f"{self.path}: an SQLite file, but not a celeba label store")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema version {version} is newer than this celeba-tui "
                f"supports ({SCHEMA_VERSION}); upgrade celeba-tui"
            )
        indexes = self._indexes()
        missing, retired = set(LATER_INDEXES) - indexes, set(RETIRED_INDEXES) & indexes
        if (missing or retired) and not self.readonly:
            with self.transaction() as conn:
                for name in sorted(missing):
                    conn.execute(LATER_INDEXES[name])
                for name in sorted(retired):
                    conn.execute(f"DROP INDEX IF EXISTS {name}")
        if set(LATER_TABLES) - tables and not self.readonly:
            with self.transaction() as conn:
                for name in sorted(set(LATER_TABLES) - tables):
                    conn.execute(LATER_TABLES[name])
        if meta.get(CURRENT_RULES_KEY) != CURRENT_RULES and not self.readonly:
            # Made under older rules: every current label once more, by today's.
            with self.transaction() as conn:
                conn.execute(CURRENT_REFRESH_SQL.format(where=""))
                conn.execute(f"INSERT OR REPLACE INTO meta VALUES ('{CURRENT_RULES_KEY}', '{CURRENT_RULES}')")

    def _indexes(self) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "LabelStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, retrying while another writer holds the lock.

        A write the machine refuses (disk full, read-only, I/O error) is rolled back and
        raised as one StoreWriteError; the store stays usable for the next write.
        """
        with self._lock:
            if self._conn.in_transaction:
                # Nested: join the caller's transaction, which commits or rolls back all of it.
                yield self._conn
                return
            known_annotators = set(self._annotator_ids)
            try:
                self._begin()
                self.check_in_place()
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                # SQLite may already have rolled back (a full disk often does): no
                # second ROLLBACK then, or its error would hide the real one.
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                # Ids of annotators created in the rolled-back transaction no longer
                # exist: cached, they would fail every later write by that annotator.
                for name in set(self._annotator_ids) - known_annotators:
                    del self._annotator_ids[name]
                problem = _write_problem(exc)
                if problem is None:
                    raise
                raise StoreWriteError(self.path, problem) from None

    def check_in_place(self) -> None:
        """A StoreWriteError if the store's file was deleted, moved or replaced since it was
        opened: the connection still writes to the old file, which nobody will read again."""
        if self._identity is not None and _file_identity(self.path) != self._identity:
            raise StoreWriteError(
                self.path, "the store file was deleted, moved or replaced after this command opened it"
            )
        for suffix, known in self._side_identity.items():
            now = _file_identity(Path(f"{self.path}{suffix}"))
            if known is None:  # made by SQLite after the open: this one is ours from now on
                self._side_identity[suffix] = now
            elif now != known:  # an open connection keeps its -wal and -shm: someone removed them
                raise StoreWriteError(
                    self.path, f"its {suffix} file was deleted or replaced while this command had the store open"
                )

    def lapsed_merge_decisions(self) -> set[int]:
        """Label ids of live merge decisions that no longer count: a person's row (a label,
        a review, or an undo of one) on their (image, task) is newer (schema.CURRENT_REFRESH_SQL)."""
        return {row[0] for row in self.query(LAPSED_MERGE_DECISIONS_SQL)} if self._has_merges() else set()

    def _has_merges(self) -> bool:
        """Whether any merge annotator exists: without one, nothing can have lapsed (the
        lapse query scans every live row; a store never merged skips it: stats at 200,000
        images keeps within its second)."""
        return bool(self.query(f"SELECT EXISTS ({MERGE_ANNOTATOR_IDS_SQL})")[0][0])

    def lapsed_merge_counts(self) -> list[tuple[str, str, int]]:
        """How many live merge decisions lapsed and wait to be decided again (not under a
        person's review, which settled their image), as rows (merge annotator, task, n), sorted."""
        if not self._has_merges():
            return []
        names = dict(self.query("SELECT id, name FROM annotators"))
        counts = Counter((names[annotator], task) for _, annotator, task in self.query(UNSETTLED_LAPSED_SQL))
        return sorted((annotator, task, n) for (annotator, task), n in counts.items())

    def _begin(self) -> None:
        for attempt in range(_LOCK_RETRIES):
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if attempt == _LOCK_RETRIES - 1:
                    raise StoreError(f"{self.path}: store stays locked by another writer") from None
                time.sleep(_LOCK_PAUSE_S)

    @contextlib.contextmanager
    def unless_busy(self) -> Iterator[bool]:
        """Whether this thread may read now without waiting: False at once while another
        thread of this process holds the connection (a write waiting for another process's
        lock can hold it for seconds). For reads a screen must not wait on."""
        free = self._lock.acquire(blocking=False)
        try:
            yield free
        finally:
            if free:
                self._lock.release()

    def query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def frame(self, sql: str, params: Iterable = ()) -> pd.DataFrame:
        import pandas as pd

        with self._lock:
            cursor = self._conn.execute(sql, tuple(params))
            columns = [d[0] for d in cursor.description]
            return pd.DataFrame(cursor.fetchall(), columns=columns)

    # ----------------------------------------------------------------- images
    def register_images(self, names: Iterable[str], *, complete: bool = False) -> int:
        """Add images found in the root; returns how many were new.

        With `complete`, `names` is the whole root: images not in it are marked absent
        (their labels are kept).
        """
        now = time.time()
        names = list(names)
        with self.transaction() as conn:
            before = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
            if complete:
                conn.execute("UPDATE images SET present = 0")
            conn.executemany(
                "INSERT INTO images(name, present, added) VALUES (?, 1, ?) ON CONFLICT(name) DO UPDATE SET present = 1",
                ((n, now) for n in names),
            )
            after = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        return after - before

    def image_count(self, *, present_only: bool = True) -> int:
        where = " WHERE present = 1" if present_only else ""
        return self.query("SELECT COUNT(*) FROM images" + where)[0][0]

    def image_names(self, *, present_only: bool = True) -> list[str]:
        where = " WHERE present = 1" if present_only else ""
        return [r[0] for r in self.query("SELECT name FROM images" + where + " ORDER BY name")]

    def _image_ids(self, conn: sqlite3.Connection, names: Iterable[str], now: float) -> dict[str, int]:
        """Ids for these names, adding unknown ones as absent images (labels are kept)."""
        wanted = set(names)
        if 0 < len(wanted) <= 500:
            # One decision in the TUI must not read 200,000 image names.
            ids = dict(
                conn.execute(
                    f"SELECT name, id FROM images WHERE name IN ({','.join('?' * len(wanted))})", tuple(wanted)
                )
            )
        elif 4 * len(wanted) < conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]:
            # A merge's 30,000 decisions: looking them up is faster than reading every name.
            ids = dict(
                conn.execute(
                    "SELECT i.name, i.id FROM json_each(?) j JOIN images i ON i.name = j.value",
                    (json.dumps(list(wanted)),),
                )
            )
        else:
            ids = dict(conn.execute("SELECT name, id FROM images"))
        missing = wanted.difference(ids)
        if missing:
            conn.executemany(
                "INSERT INTO images(name, present, added) VALUES (?, 0, ?)",
                ((n, now) for n in sorted(missing)),
            )
            ids.update(conn.execute("SELECT name, id FROM images WHERE present = 0"))
        return ids

    # ------------------------------------------------------------- annotators
    def _annotator_id(
        self, conn: sqlite3.Connection, name: str, *, as_merge: bool = False, as_model: bool = False
    ) -> int:
        """The id of annotator `name`, creating it if it is new.

        Every annotator is created here, so this is where names are checked: a new name
        must be safe in a terminal and a spreadsheet, `merge:` names are created only by
        the merge (`as_merge`), `autolabel` only for model labels (`as_model`). Names
        already stored stay usable.
        """
        if name in self._annotator_ids:
            return self._annotator_ids[name]
        row = conn.execute("SELECT id FROM annotators WHERE name = ?", (name,)).fetchone()
        if row is None:
            problem = annotator_name_problem(name, merge=as_merge, model=as_model)
            if problem:
                raise StoreError(f"annotator name {shown_name(name)} {problem}")
            conn.execute("INSERT OR IGNORE INTO annotators(name, created) VALUES (?, ?)", (name, time.time()))
            row = conn.execute("SELECT id FROM annotators WHERE name = ?", (name,)).fetchone()
        self._annotator_ids[name] = row[0]
        return row[0]

    def annotators(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM annotators ORDER BY name")]

    def count_annotators_with_labels(self) -> int:
        """How many annotators have a live label of their own (typed or imported): how
        many people `celeba agreement` compares."""
        sources = sql_list(ANNOTATOR_SOURCES)
        return self.query(f"SELECT COUNT(DISTINCT annotator_id) FROM live WHERE source IN ({sources})")[0][0]

    # ----------------------------------------------------------------- labels
    def add_label(
        self,
        image: str,
        task: str,
        label: str,
        annotator: str,
        source: str = "human",
        *,
        confidence: float | None = None,
        model: str | None = None,
        detail: dict | None = None,
        decided_since: int | None = None,
    ) -> int:
        """Append one decision and commit it; returns its id.

        `decided_since`: the newest history row id the decider had seen (a review's view of
        the image). If another person wrote a label or an undo for this image and task
        after it, nothing is written: DecidedMeanwhile, checked in the write's transaction,
        so two reviewers never silently replace each other's decision.
        """
        _check_source(source)
        now = time.time()
        with self.transaction() as conn:
            image_id = self._image_ids(conn, [image], now)[image]
            if decided_since is not None:
                _refuse_if_decided_since(conn, image, image_id, task, label, annotator, decided_since)
            cursor = conn.execute(
                "INSERT INTO labels(image_id, task, label, annotator_id, source, created, "
                "confidence, model, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    image_id,
                    task,
                    label,
                    self._annotator_id(conn, annotator, as_model=source == MODEL),
                    source,
                    now,
                    confidence,
                    model,
                    json.dumps(detail) if detail else None,
                ),
            )
            _refresh_current_for(conn, image_id, task)
            return cursor.lastrowid

    def revoke(self, label_id: int, annotator: str) -> int:
        """Undo a decision by appending a row that revokes it; returns the new row's id."""
        now = time.time()
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT image_id, task, source FROM labels WHERE id = ? AND label IS NOT NULL",
                (label_id,),
            ).fetchone()
            if row is None:
                raise StoreError(f"no label with id {label_id} to undo")
            cursor = conn.execute(
                "INSERT INTO labels(image_id, task, label, annotator_id, source, created, revokes) "
                "VALUES (?, ?, NULL, ?, ?, ?, ?)",
                (row[0], row[1], self._annotator_id(conn, annotator), row[2], now, label_id),
            )
            _refresh_current_for(conn, row[0], row[1])
            return cursor.lastrowid

    def revoke_labels(
        self, label_ids: Iterable[int], annotator: str, *, as_merge: bool = False, detail: str | None = None
    ) -> int:
        """Undo many decisions in one transaction (all or nothing); returns rows written.

        `as_merge`: the merge itself is writing, under its reserved `merge:` name. `detail`:
        the undo rows' provenance (a withdrawal's: who, when; `annotators restore` finds them by it).
        """
        ids = sorted({int(i) for i in label_ids})
        if not ids:
            return 0
        with self.transaction() as conn:
            self._append_revocations(conn, ids, annotator, as_merge=as_merge, detail=detail)
            # An undo can empty an (image, task) group: delete, then rebuild what remains.
            conn.execute(f"DELETE FROM current WHERE {_GROUPS_OF_IDS}", (json.dumps(ids),))
            conn.execute(CURRENT_REFRESH_SQL.format(where=f"WHERE {_GROUPS_OF_IDS}"), (json.dumps(ids),))
        return len(ids)

    def add_labels(self, labels: pd.DataFrame, *, skip_unchanged: bool = True, as_merge: bool = False) -> int:
        """Append many labels in one transaction (all or nothing); returns rows written.

        `labels` has columns image, task, label, annotator, source and optionally
        confidence, model, detail. With `skip_unchanged`, a row equal to the live label
        of the same (image, task, annotator, source) is not written again, so importing
        the same file twice changes nothing; where the rows name a model and a detail
        (an ensemble's decisions), another ensemble's or other thresholds' same class is a
        new decision and is written. The comparison is made inside the write transaction,
        so two processes writing the same rows at once write them once.
        `as_merge`: the merge itself is writing.
        """
        if labels.empty:
            return 0
        for source in labels["source"].unique():
            _check_source(source)
        frame = labels
        with self.transaction() as conn:
            if skip_unchanged:
                frame = self._without_unchanged(frame)
                if frame.empty:
                    return 0
            image_ids, tasks = self._append_labels(conn, frame, as_merge=as_merge)
            # Adding labels never empties a group: no deletions needed.
            _refresh_current(conn, image_ids, tasks)
        return len(frame)

    def labels_to_write(self, labels: pd.DataFrame) -> pd.DataFrame:
        """The rows of `labels` that `add_labels` would write now (a dry run's count)."""
        return labels if labels.empty else self._without_unchanged(labels)

    def _without_unchanged(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of `frame` that differ from the live label of their (image, task,
        annotator, source): in class, or in model and detail where `frame` has them (detail
        for the ensemble's labels only)."""
        live = self.live_labels(annotators=frame["annotator"].unique())
        if live.empty:
            return frame
        optional = [column for column in ("model", "detail") if column in frame.columns]
        key = ["image", "task", "annotator", "source", "label", *optional]
        left, right = _comparable(frame[key], optional), _comparable(live[key], optional).assign(_live=True)
        if "detail" in optional:
            import pandas as pd

            from celeba_tui.store.answers import answered_only

            # Only an ensemble's detail makes its same class a new decision; a person's (when
            # they answered: store.answers), when a file's model row was decided (the same
            # provenance), or none given, does not. Those rows match a live row whatever its
            # detail: both sides say "any" there.
            decided = (left["source"] == MODEL) & left["detail"].notna() & ~answered_only(left["detail"])
            left.loc[~decided, "detail"] = _ANY_DETAIL
            right = pd.concat([right, right.assign(detail=_ANY_DETAIL)])
        merged = left.merge(right.drop_duplicates(key), on=key, how="left")
        return frame[merged["_live"].isna().to_numpy()]

    def replace_labels(
        self, label_ids: Iterable[int], annotator: str, labels: pd.DataFrame, *, as_merge: bool = False
    ) -> tuple[int, int]:
        """Revoke `label_ids` as `annotator` and append `labels` as they are, in one transaction.

        What a merge does when its decisions change. Same as `revoke_labels` then
        `add_labels(skip_unchanged=False)` in one transaction, but the current labels
        are refreshed once for both (30,000 replaced decisions: 0.2 s less). Returns
        (revoked, written). `as_merge`: the merge itself is writing, under its `merge:` name.
        """
        ids = sorted({int(i) for i in label_ids})
        if not ids or labels.empty:
            with self.transaction():
                return (
                    self.revoke_labels(ids, annotator, as_merge=as_merge),
                    self.add_labels(labels, skip_unchanged=False, as_merge=as_merge),
                )
        for source in labels["source"].unique():
            _check_source(source)
        with self.transaction() as conn:
            self._append_revocations(conn, ids, annotator, as_merge=as_merge)
            image_ids, tasks = self._append_labels(conn, labels, as_merge=as_merge)
            revoked = conn.execute(
                "SELECT image_id, task FROM labels WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),)
            ).fetchall()
            # An undo can empty a group, unless a new label goes to it: delete the others.
            added = set(zip(image_ids, tasks))
            emptied = [group for group in revoked if group not in added]
            if emptied:
                conn.execute(
                    "DELETE FROM current WHERE (image_id, task) IN "
                    "(SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
                    (json.dumps(emptied),),
                )
            _refresh_current(conn, image_ids + [r[0] for r in revoked], tasks + [r[1] for r in revoked])
        return len(ids), len(labels)

    def _append_revocations(
        self, conn: sqlite3.Connection, ids: list[int], annotator: str, *, as_merge: bool = False, detail=None
    ) -> None:
        """Append an undo row for each of these label ids; StoreError if one is not a label."""
        found = conn.execute(
            "SELECT COUNT(*) FROM labels WHERE label IS NOT NULL AND id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        ).fetchone()[0]
        if found != len(ids):
            raise StoreError(f"{len(ids) - found} of {len(ids)} labels to undo do not exist")
        conn.execute(
            "INSERT INTO labels(image_id, task, label, annotator_id, source, created, revokes, detail) "
            "SELECT image_id, task, NULL, ?, source, ?, id, ? FROM labels "
            "WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (self._annotator_id(conn, annotator, as_merge=as_merge), time.time(), detail, json.dumps(ids)),
        )

    def _append_labels(
        self, conn: sqlite3.Connection, frame: pd.DataFrame, *, as_merge: bool = False
    ) -> tuple[list[int], list[str]]:
        """Append the rows of `frame` to the history; returns each row's image id and task."""
        now = time.time()
        # Columns go through their distinct values (pd.factorize): a few hundred
        # thousand rows hold a few thousand names and a handful of tasks and labels,
        # so mapping and converting those instead of every cell saves about 1 s per
        # 400,000 labels.
        image_codes, images = _factorize(frame["image"])
        image_ids = self._image_ids(conn, images, now)
        annotator_codes, annotators = _factorize(frame["annotator"])
        models_only = set()  # names whose every row here is a model's label
        if MODEL_ANNOTATOR in annotators:
            is_model = frame["source"] == MODEL
            models_only = set(frame.loc[is_model, "annotator"]) - set(frame.loc[~is_model, "annotator"])
        columns = {
            "image_id": _take([image_ids[name] for name in images], image_codes),
            "task": _as_list(frame["task"]),
            "label": _as_list(frame["label"]),
            "annotator_id": _take(
                [self._annotator_id(conn, a, as_merge=as_merge, as_model=a in models_only) for a in annotators],
                annotator_codes,
            ),
            "source": _as_list(frame["source"]),
        }
        for name in ("confidence", "model", "detail"):
            if name in frame and frame[name].notna().any():
                columns[name] = _nullable(frame[name])
        # One JSON document instead of bound parameters per row: SQLite unpacks it in
        # C, which makes bulk imports about a third faster than executemany.
        extract = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
        conn.execute(
            f"INSERT INTO labels({', '.join(columns)}, created) SELECT {extract}, ? FROM json_each(?)",
            (now, json.dumps(list(zip(*columns.values())))),
        )
        return columns["image_id"], columns["task"]

    def live_labels(
        self,
        task: str | None = None,
        sources: Iterable[str] | None = None,
        annotators: Iterable[str] | None = None,
        *,
        brief: bool = False,
    ) -> pd.DataFrame:
        """The latest non-revoked label per (image, task, annotator, source).

        With `brief`, only the columns image, task, label, annotator, source and id:
        no lookup in the history, about half the time.
        """
        where, params = [], []
        if annotators is not None:
            # The names as one JSON value: a file may name more people than SQL takes variables.
            where.append("a.name IN (SELECT value FROM json_each(?))")
            params.append(json.dumps([str(name) for name in annotators]))
        if task is not None:
            where.append("v.task = ?")
            params.append(task)
        if sources is not None:
            sources = list(sources)
            where.append("v.source IN (" + ",".join("?" * len(sources)) + ")")
            params.extend(sources)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        if brief:
            return self.frame(
                "SELECT i.name AS image, v.task, v.label, a.name AS annotator, v.source, v.label_id AS id "
                "FROM live v JOIN images i ON i.id = v.image_id JOIN annotators a ON a.id = v.annotator_id "
                f"{clause} ORDER BY v.label_id",
                params,
            )
        return self.frame(
            "SELECT i.name AS image, v.task, v.label, a.name AS annotator, v.source, "
            "l.confidence, l.model, l.detail, l.created AS time, v.label_id AS id "
            "FROM live v JOIN images i ON i.id = v.image_id "
            "JOIN annotators a ON a.id = v.annotator_id JOIN labels l ON l.id = v.label_id "
            f"{clause} ORDER BY v.label_id",
            params,
        )

    def live_label_codes(self, tasks: Iterable, sources: Iterable[str]) -> pd.DataFrame:
        """The live labels of `tasks` (objects with .name and .classes) in compact form.

        For statistics over 100,000s of labels (agreement, merge): several times faster
        than `live_labels` because SQLite returns only integers, in one scan. Columns
        image, task, annotator, label (Categoricals; label is missing where it is not
        one of its task's classes) and id.
        """
        import numpy as np
        import pandas as pd

        tasks, sources = list(tasks), list(sources)
        task_names = [t.name for t in tasks]
        classes = list(dict.fromkeys(c for t in tasks for c in t.classes))
        image_ids, image_names = self._id_columns("images")
        annotator_ids, annotator_names = self._id_columns("annotators")

        def case(column: str, values: list[str]) -> str:
            return f"CASE {column} " + " ".join(f"WHEN ? THEN {i}" for i in range(len(values))) + " ELSE -1 END"

        # One comma-separated text per column, parsed by numpy: Python builds no object
        # per row, about 2.5 times faster than fetching 400,000 rows of five integers.
        # (group_concat visits the rows in the same order for every column.)
        columns = ["image_id", "annotator_id", "label_id", case("task", task_names), case("label", classes)]
        row = self.query(
            f"SELECT {', '.join(f'group_concat({c})' for c in columns)} "
            f"FROM live WHERE task IN ({','.join('?' * len(task_names))}) "
            f"AND source IN ({','.join('?' * len(sources))})",
            [*task_names, *classes, *task_names, *sources],
        )[0]
        values = np.column_stack([_int_array(text) for text in row]).reshape(-1, len(columns))
        labels = values[:, 4]
        for t, task in enumerate(tasks):
            # A class of another task is not a label of this one.
            own = np.isin(labels, [classes.index(c) for c in task.classes])
            labels[(values[:, 3] == t) & ~own] = -1
        return pd.DataFrame(
            {
                "image": pd.Categorical.from_codes(np.searchsorted(image_ids, values[:, 0]), image_names),
                "task": pd.Categorical.from_codes(values[:, 3], task_names),
                "annotator": pd.Categorical.from_codes(np.searchsorted(annotator_ids, values[:, 1]), annotator_names),
                "label": pd.Categorical.from_codes(labels, classes),
                "id": values[:, 2],
            }
        )

    def _id_columns(self, table: str) -> tuple:
        """A table's ids (sorted int64 array) and names (list) in id order, without a row per object."""
        import numpy as np

        ids, names = self.query(
            f"SELECT group_concat(id), json_group_array(name) FROM (SELECT id, name FROM {table} ORDER BY id)"
        )[0]
        ids, names = _int_array(ids), json.loads(names)
        if np.any(ids[1:] < ids[:-1]):  # SQLite does not promise the subquery's order
            order = np.argsort(ids)
            ids, names = ids[order], [names[i] for i in order]
        return ids, names

    def history(self, image: str | None = None) -> pd.DataFrame:
        """Every row of the label history (undo rows included), oldest first."""
        where, params = "", []
        if image is not None:
            where, params = "WHERE i.name = ?", [image]
        return self.frame(
            "SELECT l.id, i.name AS image, l.task, l.label, a.name AS annotator, l.source, "
            "l.created AS time, l.confidence, l.model, l.revokes, l.detail "
            "FROM labels l JOIN images i ON i.id = l.image_id "
            f"JOIN annotators a ON a.id = l.annotator_id {where} ORDER BY l.id",
            params,
        )

    def current_labels(self, task: str | None = None, *, with_shown_status: bool = False) -> pd.DataFrame:
        """Each (image, task)'s current label.

        Columns image, task, label, source, status, n_annotators, present, and with
        `with_shown_status` `shown_status`, the status as people read it (`single`,
        `resolved`: SHOWN_STATUS_SQL). Precedence: the latest review decision (status
        `review`); else the human and imported labels if they agree (`agreed`), or no label
        if they disagree (`conflict`: the image waits in the review queue); else the latest
        automatic label (`model`).
        """
        where, params = ("WHERE c.task = ?", [task]) if task is not None else ("", [])
        shown = f"{SHOWN_STATUS_SQL} AS shown_status, " if with_shown_status else ""
        frame = self.frame(
            f"SELECT i.name AS image, c.task, c.label, c.source, c.status, c.n_annotators, {shown}"
            f"i.present FROM current c JOIN images i ON i.id = c.image_id {where} "
            "ORDER BY i.name, c.task",
            params,
        )
        frame["present"] = frame["present"].astype(bool)
        return frame

    def current_label_counts(self, *, absent_images: bool = False) -> list[tuple[str, str, str | None, int]]:
        """Counts of current labels as rows (task, status, label, n), by status as people
        read it: an `agreed` label of one annotator alone is counted as `single`, a merge's
        decision as `resolved` (SHOWN_STATUS_SQL).

        With `absent_images`, only images that are not in the image root are counted.
        Plain rows, not a DataFrame: `celeba stats` needs no pandas.
        """
        absent = "c.image_id IN (SELECT id FROM images WHERE present = 0)"
        # By the stored columns, in the order of the index that holds them (no row read),
        # then the few review rows a merge decided: 0.08 s for 400,000 labels, not 0.4 s.
        counts: Counter = Counter()
        for task, status, label, n_annotators, n in self.query(
            "SELECT task, status, label, n_annotators, COUNT(*) FROM current c "
            f"{'WHERE ' + absent if absent_images else ''} GROUP BY task, status, label, n_annotators"
        ):
            # Every review counted as a person's here; the merges' are moved to `resolved` below.
            counts[(task, shown_status(status, n_annotators, merge_decided=False), label)] += n
        for task, label, n in self.query(
            f"SELECT task, label, COUNT(*) FROM current c WHERE c.status = '{REVIEWED}' AND {MERGE_DECIDED_SQL} "
            f"{'AND ' + absent if absent_images else ''} GROUP BY task, label"
        ):
            counts[(task, REVIEWED, label)] -= n
            counts[(task, RESOLVED, label)] += n
        return [(task, status, label, n) for (task, status, label), n in counts.items() if n]

    def label_values(self) -> list[tuple[str, str]]:
        """The distinct (task, label) pairs of the live labels, sorted.

        Walks the `live_in_use` index one pair at a time: a few index seeks instead of
        a scan of every live label (400,000 labels: well under a millisecond against
        50-200 ms), cheap enough to run on every command that opens the store. A store
        opened read-only that predates the index is scanned.
        """
        if "live_in_use" not in self._indexes():
            return sorted(self.query("SELECT DISTINCT task, label FROM live"))
        first = "SELECT task, label FROM live INDEXED BY live_in_use {} ORDER BY task, label LIMIT 1"
        pairs: list[tuple[str, str]] = []
        row = self.query(first.format(""))
        while row:
            pairs.append(row[0])
            task, label = row[0]
            # Two seeks, not `(task, label) > (?, ?)`: SQLite seeks that to the task only
            # and then walks every entry of it.
            row = self.query(first.format("WHERE task = ? AND label > ?"), (task, label)) or self.query(
                first.format("WHERE task > ?"), (task,)
            )
        return pairs

    def label_value_annotators(self, task: str, label: str) -> list[tuple[str, int]]:
        """Who holds live labels `label` for `task`, and how many each: (annotator, n), by name."""
        return self.query(
            "SELECT a.name, COUNT(*) FROM live v JOIN annotators a ON a.id = v.annotator_id "
            "WHERE v.task = ? AND v.label = ? GROUP BY a.name ORDER BY a.name",
            (task, label),
        )

    def live_label_counts(self) -> list[tuple[str, str, str, int]]:
        """Counts of the live labels that count (schema.COUNTS_SQL: a merge's lapsed decisions
        are left out, `lapsed_merge_counts` counts them; an annotator's answer once, by its
        newest row) as rows (annotator, task, source, n), sorted."""
        names = dict(self.query("SELECT id, name FROM annotators"))
        # Grouping by ids and naming the few groups afterwards halves the time of a
        # join per label (400,000 labels: 0.26 s -> 0.14 s).
        counting = f"WHERE {COUNTS_SQL}" if self._has_merges() else ""
        rows = self.query(
            f"SELECT annotator_id, task, source, COUNT(*) FROM live {counting} GROUP BY task, annotator_id, source"
        )
        counts = {(a, task, source): n for a, task, source, n in rows}
        # Each annotator counts once per image, by their newest answer (schema.CURRENT_REFRESH_SQL):
        # a typed answer over their imported one is not two labels (helper-77: 37 on 30 images).
        # Looked for, in one pass, only where someone has both kinds of answer for a task.
        if any(source == HUMAN and (a, task, IMPORT) in counts for a, task, source in counts):
            for a, task, source, older in self.query(
                "SELECT v.annotator_id, v.task, v.source, COUNT(*) FROM live v JOIN live o "
                "ON o.image_id = v.image_id AND o.task = v.task AND o.annotator_id = v.annotator_id "
                "AND o.source IN (?, ?) AND o.source != v.source AND o.label_id > v.label_id "
                "WHERE v.source IN (?, ?) GROUP BY v.annotator_id, v.task, v.source",
                (HUMAN, IMPORT, HUMAN, IMPORT),
            ):
                counts[(a, task, source)] -= older
        return sorted((names[a], task, source, n) for (a, task, source), n in counts.items() if n)

    def last_label_id(self) -> int:
        """The newest history row's id (0 for none): a mark to find what was written after a read."""
        return self.query("SELECT COALESCE(MAX(id), 0) FROM labels")[0][0]

    def people_changed_since(self, label_id: int) -> pd.DataFrame:
        """The (image, task) keys that a person's row newer than `label_id` touched.

        A person's row: a label or an undo whose source is human, import or review, by
        an annotator that is not a merge. Rows after the mark are few, and the id is
        the primary key: a range read, cheap enough inside a merge's write transaction.
        """
        return self.frame(
            "SELECT DISTINCT i.name AS image, l.task FROM labels l "
            "JOIN images i ON i.id = l.image_id JOIN annotators a ON a.id = l.annotator_id "
            "WHERE l.id > ? AND l.source != 'model' AND substr(a.name, 1, ?) != ?",
            (label_id, len(MERGE_PREFIX), MERGE_PREFIX),
        )

    def newest_row_times(self, source: str, annotators: Iterable[str]) -> pd.DataFrame:
        """When each (image, task, annotator) of `annotators` last had a row of `source` in the
        history, a label or its undo: columns image, task, annotator, created (the time a
        file said the label was given, where an import kept it: store.answers)."""
        from celeba_tui.store.answers import ANSWERED, FUTURE_SLACK_S

        given = f"json_extract(l.detail, '$.{ANSWERED}')"
        # Nested: the inner CASE reads the JSON only where it is valid (json_type raises on
        # text that is not JSON, and AND does not promise to stop at json_valid).
        when = (
            f"CASE WHEN json_valid(l.detail) THEN (CASE WHEN json_type(l.detail, '$.{ANSWERED}') IN ('integer', 'real') "
            f"AND {given} BETWEEN 0 AND ? THEN {given} ELSE l.created END) ELSE l.created END"
        )
        return self.frame(
            f"SELECT i.name AS image, l.task, a.name AS annotator, MAX({when}) AS created FROM labels l "
            "JOIN images i ON i.id = l.image_id JOIN annotators a ON a.id = l.annotator_id "
            "WHERE l.source = ? AND a.name IN (SELECT value FROM json_each(?)) GROUP BY l.image_id, l.task, l.annotator_id",
            [time.time() + FUTURE_SLACK_S, source, json.dumps([str(name) for name in annotators])],
        )

    def received_answers(self, annotators: Iterable[str]) -> pd.DataFrame:
        """Every answer of `annotators` the store received with a time it was given (an
        import's `detail`: store.answers), live or since replaced: columns image, task,
        annotator, source, label, time (when the store received it), detail."""
        sources = sql_list(PEOPLE_SOURCES)
        return self.frame(
            "SELECT i.name AS image, l.task, a.name AS annotator, l.source, l.label, l.created AS time, l.detail "
            "FROM labels l JOIN images i ON i.id = l.image_id JOIN annotators a ON a.id = l.annotator_id "
            f"WHERE l.label IS NOT NULL AND l.detail IS NOT NULL AND l.source IN ({sources}) "
            "AND a.name IN (SELECT value FROM json_each(?)) ORDER BY l.id",
            [json.dumps([str(name) for name in annotators])],
        )

    def unrevoked_label_ids(self, annotator: str, task: str, images: Iterable[str], source: str = "model") -> list[int]:
        """Ids of `annotator`'s labels for these images that no undo has revoked (live or superseded)."""
        return [
            r[0]
            for r in self.query(
                "SELECT l.id FROM labels l JOIN images i ON i.id = l.image_id "
                "JOIN annotators a ON a.id = l.annotator_id "
                "WHERE a.name = ? AND l.task = ? AND l.source = ? AND l.label IS NOT NULL "
                "AND i.name IN (SELECT value FROM json_each(?)) "
                "AND NOT EXISTS (SELECT 1 FROM labels u WHERE u.revokes = l.id) ORDER BY l.id",
                (annotator, task, source, json.dumps(list(images))),
            )
        ]


def _refuse_if_decided_since(
    conn, image: str, image_id: int, task: str, label: str, annotator: str, label_id: int
) -> None:
    """DecidedMeanwhile when another person (not a merge, not a model) wrote a row for
    (image, task) after `label_id`, unless the newest such row chose `label` too (two
    reviewers agreeing replace nothing); the newest such row is named."""
    row = conn.execute(
        "SELECT a.name, l.label FROM labels l JOIN annotators a ON a.id = l.annotator_id "
        f"WHERE l.image_id = ? AND l.task = ? AND l.id > ? AND l.source IN ({sql_list(PEOPLE_SOURCES)}) "
        "AND a.name != ? AND substr(a.name, 1, ?) != ? ORDER BY l.id DESC LIMIT 1",
        (image_id, task, label_id, annotator, len(MERGE_PREFIX), MERGE_PREFIX),
    ).fetchone()
    if row is not None and row[1] != label:
        raise DecidedMeanwhile(image, task, row[0], row[1])


# The (image, task) groups of the labels whose ids are the JSON list bound to `?`.
_GROUPS_OF_IDS = "(image_id, task) IN (SELECT image_id, task FROM labels WHERE id IN (SELECT value FROM json_each(?)))"


def _refresh_current_for(conn: sqlite3.Connection, image_id: int, task: str) -> None:
    """Recompute one (image, task)'s current label (after a decision or an undo)."""
    conn.execute("DELETE FROM current WHERE image_id = ? AND task = ?", (image_id, task))
    conn.execute(CURRENT_REFRESH_SQL.format(where="WHERE image_id = ? AND task = ?"), (image_id, task))


def _factorize(column: pd.Series) -> tuple:
    """Codes of a column's values and its distinct values as a list of Python objects."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    # One conversion of the whole array: iterating Arrow-backed strings is slow.
    return codes, np.asarray(uniques, dtype=object).tolist()


def _as_list(column: pd.Series) -> list:
    """A column's values as a list of Python objects, converting each distinct value once."""
    import numpy as np

    codes, uniques = _factorize(column)
    return np.asarray(uniques, dtype=object)[codes].tolist()


def _int_array(text: str):
    """Comma-separated integers (SQLite's group_concat) as an int64 array."""
    import numpy as np

    if text is None:  # group_concat of no rows
        return np.empty(0, np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")


def _take(values: list, codes) -> list:
    """values[code] for each code, as a list."""
    import numpy as np

    return np.asarray(values, dtype=np.int64)[codes].tolist()


def _refresh_current(conn: sqlite3.Connection, image_ids: list[int], tasks: list[str]) -> None:
    """Recompute the current label of these (image, task) groups from their live labels.

    A group's current label depends on its own live labels only. A bulk import labels
    every task of its images: refreshing those images is cheapest, and the groups with one
    live label (new images) take theirs in one set-based statement (schema.ONE_ROW_GROUPS_
    REFRESH_SQL: 400,000 labels 3.6 s -> 1.2 s; where no group has one, the full rules as
    before, after one more scan of `live`: 0.2 s of 5.5 s at 400,000 groups). A
    merge decides one task here, another there: naming the groups refreshes half as many
    (0.33 s -> 0.22 s for 32,000 decisions), though for 400,000 labels that lookup costs
    0.5 s more; there the shortcut would cost 0.5 s of 0.7 (its groups have several rows).
    """
    import numpy as np
    import pandas as pd

    # pd.unique (hash-based) then sorting the few distinct ids: about 10 times faster
    # than np.unique, which sorts every id.
    ids = np.asarray(image_ids, dtype=np.int64)
    images = np.sort(pd.unique(ids))
    task_codes, task_names = pd.factorize(np.asarray(tasks, dtype=object))
    groups = np.sort(pd.unique(ids * len(task_names) + task_codes))
    if len(groups) == len(images) * len(task_names):
        # Exactly these groups (these tasks too): the count below is of them.
        where = "WHERE image_id IN (SELECT value FROM json_each(?)) AND task IN (SELECT value FROM json_each(?))"
        params = (json.dumps(images.tolist()), json.dumps([str(name) for name in task_names]))
        one_row = conn.execute(ONE_ROW_GROUPS_REFRESH_SQL.format(where=where), params).rowcount
        if one_row == len(groups):  # every group new: nothing left to rank
            return
        if one_row == 0:  # none: the full rules for all, without telling them apart again
            conn.execute(CURRENT_REFRESH_SQL.format(where=where), params)
            return
        many_rows = f"{where} AND (image_id, task) IN ({MANY_ROWS_GROUPS_SQL.format(where=where)})"
        conn.execute(CURRENT_REFRESH_SQL.format(where=many_rows), params + params)
        return
    where = (
        "WHERE (image_id, task) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))"
    )
    names = np.asarray(task_names, dtype=object)
    document = list(zip((groups // len(names)).tolist(), names[groups % len(names)].tolist()))
    conn.execute(CURRENT_REFRESH_SQL.format(where=where), (json.dumps(document),))


def _nullable(column: pd.Series) -> list:
    """A column as a list with missing values as None (SQL NULL)."""
    values = column.astype(object)
    return values.where(values.notna(), None).tolist()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk imports touch big indexes
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def _connect_readonly(path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection that cannot write, even where the files could be written.

    Where the store may be written, a plain connection with `query_only`: as the last
    one to close it removes the -wal/-shm files, which a `mode=ro` one leaves behind.
    Elsewhere `mode=ro`. A WAL store needs its -shm file, which a reader without write
    access to the folder cannot create. With no -wal file every change is in the main
    file, and `immutable` reads it without -shm; with one, reading the main file alone
    would miss recent decisions: a one-line error instead.
    """
    options = {"timeout": busy_timeout_s, "isolation_level": None, "check_same_thread": False}
    if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
        conn = sqlite3.connect(path, **options)
        conn.execute("PRAGMA query_only=ON")
        return conn
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, **options)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opens -shm if it must
    except sqlite3.OperationalError as exc:
        conn.close()
        if _write_problem(exc) is None:
            raise
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"store {path}: cannot be read without write access while {wal} holds changes "
                "not yet in the store; open it once with write access (any command that writes)"
            ) from None
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, **options)
    conn.execute("PRAGMA query_only=ON")
    return conn


_SIDE_FILES = ("-wal", "-shm")


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`; None where there is none."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _write_problem(exc: BaseException) -> str | None:
    """What stopped a write, as a user reads it; None for anything else (a bug, a constraint)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else _WRITE_PROBLEMS.get(code & 0xFF)


def _store_error(path: Path, exc: sqlite3.DatabaseError, readonly: bool = False) -> StoreError:
    """The one-line error for a store that could not be opened (opened to read only, it
    names no change: a command that only reads had none to save)."""
    problem = _write_problem(exc)
    if problem is not None and readonly:
        return StoreError(f"store {path}: cannot be read ({problem}); nothing was changed")
    if problem is not None:
        return StoreWriteError(path, problem)
    return StoreError(f"{path}: not a celeba label store ({exc})")


_ANY_DETAIL = "\x00any"  # no JSON detail is this


def _comparable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame` with every kind of "none" in `columns` as None: a missing value, NaN, and the
    empty text a CSV's empty cell reads as (a long CSV's empty `model` means no model)."""
    if not columns:
        return frame
    frame = frame.copy()
    for column in columns:
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna() & (values != ""), None)
    return frame


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise StoreError(f"unknown label source {source!r} (one of {', '.join(SOURCES)})")
