"""Annotators as a whole: list, withdraw, rename (`celeba annotators`, the way out of a bad import).

A mixin of `celeba_tui.store.label_store.LabelStore` (which it relies on for
`transaction`, `query`, `revoke_labels` and the annotator-id cache), kept apart so the
store module stays about labels. Nothing here rewrites a decision: a withdrawal appends
undo rows, a rename changes the one `annotators` row the decisions point to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from celeba_tui.annotator_names import (
    MERGE_PREFIX,
    MODEL_ANNOTATOR,
    annotator_kind,
    annotator_name_problem,
    shown_name,
    unknown_annotator,
)
from celeba_tui.errors import StoreError
from celeba_tui.store.answers import ANSWERED, RESTORES
from celeba_tui.vocabulary import ANNOTATOR_SOURCES, HUMAN, MODEL, PEOPLE_SOURCES, REVIEW, sql_list

if TYPE_CHECKING:  # imported where used: `celeba stats` and `label` start without numpy and pandas
    import numpy as np
    import pandas as pd

NOT_RESTORED = (
    "a merge's decisions are not restored: they settled the people's labels as they were then; "
    "a merge decides again from the labels as they are now"
)

# The key of a withdrawal's undo rows' detail: `{"withdrawal": when, "by": who, "task": ...}`.
WITHDRAWAL = "withdrawal"


@dataclass(frozen=True)
class Withdrawal:
    """One `annotators withdraw`: its undo rows' detail, when, by whom, of which task (None: all)."""

    detail: str
    time: float
    by: str | None
    task: str | None


@dataclass(frozen=True)
class Restored:
    """What `restore_annotator` did: the withdrawal, labels live again, restored before, answered
    since, and automatic labels of tasks an `autolabel` decided since (left as it decided)."""

    withdrawal: Withdrawal
    restored: int
    already: int
    answered_since: int
    decided_since: int = 0


def _voice(alias: str) -> str:
    """SQL: whose voice a row of `alias` is: an annotator's own answers (human, import) are one
    (`human`), as the store counts them; a review and a model's label each their own."""
    return f"(CASE WHEN {alias}.source IN ({sql_list(ANNOTATOR_SOURCES)}) THEN '{HUMAN}' ELSE {alias}.source END)"


def _withdrawn_rows(conn, name: str, withdrawal: Withdrawal, task: str | None) -> list[dict]:
    """The labels `withdrawal` took back (of `task`), the newest per image, task and voice:
    the one live then (the superseded ones were withdrawn with it), each with `since` (`name`
    has a newer row of that image, task and voice: an answer typed or imported since, either
    way; attack pass 28) and `again` (one of them restores it)."""
    same = f"n.annotator_id = o.annotator_id AND n.image_id = o.image_id AND n.task = o.task AND {_voice('n')} = {_voice('o')}"
    cursor = conn.execute(
        "SELECT o.id, o.image_id, o.task, o.label, o.source, o.confidence, o.model, o.detail, o.created, "
        f"  EXISTS (SELECT 1 FROM labels n WHERE {same} AND n.id > u.id) AS since, "
        f"  EXISTS (SELECT 1 FROM labels n WHERE {same} AND n.id > u.id AND json_valid(n.detail) "
        f"          AND json_extract(n.detail, '$.{RESTORES}') = o.id) AS again "
        "FROM labels u JOIN labels o ON o.id = u.revokes JOIN annotators a ON a.id = u.annotator_id "
        f"WHERE a.name = ? AND u.detail = ? {'AND u.task = ?' if task is not None else ''} "
        "AND o.id = (SELECT MAX(x.id) FROM labels x JOIN labels ux ON ux.revokes = x.id "
        "            WHERE ux.detail = u.detail AND ux.annotator_id = u.annotator_id "
        f"              AND x.image_id = o.image_id AND x.task = o.task AND {_voice('x')} = {_voice('o')})",
        [name, withdrawal.detail, *([task] if task is not None else [])],
    )
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _restored_rows(conn, name: str, rows: list[dict]) -> pd.DataFrame:
    """The labels to append for `restore_annotator`'s rows (`_withdrawn_rows`): a person's
    keeps when it was answered (its answer time, else when it was stored), a model's its provenance."""
    import pandas as pd

    from celeba_tui.store.answers import answer_times

    ids = sorted({r["image_id"] for r in rows})
    names = dict(
        conn.execute("SELECT id, name FROM images WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(ids)])
    )
    columns = ["task", "label", "source", "confidence", "model", "detail"]
    frame = pd.DataFrame(
        [(names[r["image_id"]], name, r["created"], *(r[c] for c in columns)) for r in rows],
        columns=["image", "annotator", "time", *columns],
    )
    people = frame["source"].isin(PEOPLE_SOURCES).to_numpy()
    answered = answer_times(frame)
    restores = [r["id"] for r in rows]
    frame["detail"] = [
        json.dumps({ANSWERED: when, RESTORES: original} if person else {**_as_object(detail), RESTORES: original})
        for person, when, detail, original in zip(people, answered, frame["detail"], restores)
    ]
    return frame.drop(columns="time")


def _as_object(detail) -> dict:
    """A stored detail as a JSON object ({} for none, or one that is not an object)."""
    try:
        value = json.loads(detail) if isinstance(detail, str) else None
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {}


class AnnotatorRecords:
    def annotator_activity(self, since: float = float("inf")) -> list[tuple[str, int, float | None, float | None, int]]:
        """Each annotator (by name): decisions made, the times of the first and last (None
        if none), and how many they typed or reviewed at or after `since` (epoch s; an import
        is no work done today): when they were given, where an import's file said so
        (store.answers), else when they were stored."""
        answered = (
            "CASE WHEN l.detail LIKE '{\"answered\": %' AND json_valid(l.detail) "
            "THEN json_extract(l.detail, '$.answered') ELSE l.created END"
        )
        restored = f"l.detail LIKE '%\"{RESTORES}\": %' AND json_valid(l.detail) AND json_extract(l.detail, '$.{RESTORES}') IS NOT NULL"
        return self.query(
            f"SELECT a.name, COUNT(l.id) - COUNT(CASE WHEN {restored} THEN 1 END), MIN({answered}), MAX({answered}), "
            f"COUNT(CASE WHEN l.source IN ('{HUMAN}', '{REVIEW}') AND {answered} >= ? AND NOT ({restored}) "
            f"AND substr(a.name, 1, {len(MERGE_PREFIX)}) != '{MERGE_PREFIX}' THEN 1 END) "
            "FROM annotators a "
            "LEFT JOIN labels l ON l.annotator_id = a.id AND l.label IS NOT NULL "
            "GROUP BY a.id ORDER BY a.name",
            [since],
        )

    def labelling_times(self) -> dict[str, np.ndarray]:
        """Each annotator's times of the decisions they gave in `celeba label` (source human;
        not undos, not labels a restore wrote again), sorted: how fast each person labels."""
        import numpy as np

        names = dict(self.query("SELECT id, name FROM annotators"))
        rows = self.query(
            f"SELECT annotator_id, CAST(created AS REAL) FROM labels WHERE source = '{HUMAN}' AND label IS NOT NULL "
            f"AND (detail IS NULL OR detail NOT LIKE '%\"{RESTORES}\": %') ORDER BY annotator_id, created"
        )
        if not rows:
            return {}
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        times = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        return {names[ids[a]]: times[a:b] for a, b in zip(starts, [*starts[1:], len(ids)])}

    def withdraw_annotator(self, name: str, task: str | None = None, by: str | None = None) -> int:
        """Withdraw every live label of `name` (of `task`, or of all tasks); returns how many were live.

        Every label of theirs that no undo has revoked is revoked, the superseded ones
        too: an undo of a live label brings the one before it back to life. The undo
        rows are theirs (no new annotator appears), marked as this withdrawal's (when, and
        `by` whom: `withdrawal`), so `restore_annotator` can take it back; all in one transaction.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM annotators WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise StoreError(unknown_annotator(name, _names(conn), self.names_now_of(name)))
            where, params = ("AND l.task = ?", [row[0], task]) if task is not None else ("", [row[0]])
            live = conn.execute(f"SELECT COUNT(*) FROM live l WHERE l.annotator_id = ? {where}", params).fetchone()[0]
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT l.id FROM labels l WHERE l.annotator_id = ? AND l.label IS NOT NULL {where} "
                    "AND NOT EXISTS (SELECT 1 FROM labels u WHERE u.revokes = l.id)",
                    params,
                )
            ]
            self.revoke_labels(ids, name, detail=json.dumps({WITHDRAWAL: time.time(), "by": by, "task": task}))
        return live

    def withdrawals(self, name: str, task: str | None = None) -> list[Withdrawal]:
        """`name`'s withdrawals (of `task`: those that covered it), the latest first."""
        rows = self.query(
            "SELECT DISTINCT l.detail FROM labels l JOIN annotators a ON a.id = l.annotator_id "
            f"WHERE a.name = ? AND l.revokes IS NOT NULL AND l.detail LIKE '{{\"{WITHDRAWAL}\": %' "
            "AND json_valid(l.detail) AND (? IS NULL OR l.task = ?) "
            f"ORDER BY json_extract(l.detail, '$.{WITHDRAWAL}') DESC",
            [name, task, task],
        )
        found = []
        for (detail,) in rows:
            data = json.loads(detail)
            found.append(Withdrawal(detail, float(data[WITHDRAWAL]), data.get("by"), data.get("task")))
        return found

    def restore_annotator(self, name: str, task: str | None = None) -> Restored:
        """Make live again what `name`'s latest withdrawal (of `task`, or of any) took back, or,
        where everything of it is live again or overtaken, the one before: per image, task and
        source the label that was live then, appended anew with its answer time and the id it
        restores (`restores` in its detail). Not where `name` answered (or undid) since: their
        newer answer stands; nor an automatic label of a task an `autolabel` decided since:
        its ensemble sent the image to people or labelled it anew (attack pass 27). All in one
        transaction."""
        with self.transaction() as conn:
            if not conn.execute("SELECT 1 FROM annotators WHERE name = ?", (name,)).fetchone():
                raise StoreError(unknown_annotator(name, _names(conn), self.names_now_of(name)))
            if annotator_kind(name) == "merge":
                # A merge's decision settled the people's labels as they were when it was made:
                # written anew it would pose as newer than what people answered since, and
                # overrule it (attack pass 34). The merge decides again from the labels as they are.
                raise StoreError(NOT_RESTORED)
            found = self.withdrawals(name, task)
            if not found:
                raise StoreError(
                    f"no withdrawal of the labels of {shown_name(name)}{f' for {task}' if task else ''} to restore"
                )
            outcomes = []
            for withdrawal in found:
                rows = _withdrawn_rows(conn, name, withdrawal, task)
                decided = {t: self.latest_decision_time([t]) or 0.0 for t in {r["task"] for r in rows}}
                # Each row counted once: restored before, else answered since, else decided since, else back.
                again = [r for r in rows if r["again"]]
                since = [r for r in rows if r["since"] and not r["again"]]
                open_rows = [r for r in rows if not r["since"]]
                later = [r for r in open_rows if r["source"] == MODEL and decided[r["task"]] > withdrawal.time]
                back = [r for r in open_rows if not (r["source"] == MODEL and decided[r["task"]] > withdrawal.time)]
                outcomes.append(Restored(withdrawal, len(back), len(again), len(since), len(later)))
                if back:
                    self.add_labels(_restored_rows(conn, name, back), skip_unchanged=False)
                    break
        return outcomes[-1] if outcomes[-1].restored else outcomes[0]

    def rename_annotator(self, old: str, new: str) -> None:
        """Give annotator `old` the name `new`; StoreError if `new` is taken or not allowed.

        A merge's name, or the automatic labels', is not renamed either way: its
        decisions would pose as a person's, or a person's as a merge's or a model's. A
        process still running under the old name keeps writing to the same annotator (it
        holds the id), now called `new`.
        """
        problem = annotator_name_problem(new)
        if problem:
            raise StoreError(f"cannot rename {old!r} to {shown_name(new)}: the new name {problem}")
        if old.startswith(MERGE_PREFIX):
            raise StoreError(f"cannot rename {old!r}: it names a merge's decisions")
        if old == MODEL_ANNOTATOR:  # a person could then label under the model labels' new name
            raise StoreError(f"cannot rename {old!r}: it names the automatic labels")
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM annotators WHERE name = ?", (new,)).fetchone():
                raise StoreError(f"cannot rename {old!r} to {new!r}: an annotator of that name exists")
            # Files of that time name the other person by it (attack pass 40: their old exports
            # then became this person's answers).
            other = [now for now in self.names_now_of(new) if now != old]  # renaming back is one's own
            if other:
                raise StoreError(
                    f"cannot rename {old!r} to {shown_name(new)}: {shown_name(other[0])} was called so before a "
                    "rename, and files of that time name them by it; pick another name"
                )
            if conn.execute("UPDATE annotators SET name = ? WHERE name = ?", (new, old)).rowcount == 0:
                raise StoreError(unknown_annotator(old, _names(conn), self.names_now_of(old)))
            conn.execute("INSERT INTO renames SELECT id, ?, ? FROM annotators WHERE name = ?", (old, time.time(), new))
        self._annotator_ids.pop(old, None)

    def with_live_labels(self, names: Iterable[str]) -> set[str]:
        """Of `names`, the annotators with a live label (a person whose labels were all
        withdrawn has none). One scan of `live` per name at most: for a did-you-mean's few."""
        return {
            row[0]
            for row in self.query(
                "SELECT name FROM annotators a WHERE name IN (SELECT value FROM json_each(?)) "
                "AND EXISTS (SELECT 1 FROM live WHERE annotator_id = a.id)",
                [json.dumps([str(name) for name in names])],
            )
        }

    def names_now_of(self, name: str) -> list[str]:
        """The names now of the annotators once called `name` (and not now), latest first."""
        return [now for now, _ in self.renamed_annotators([name]).get(name, [])]

    def renamed_annotators(self, names: Iterable[str]) -> dict[str, list[tuple[str, float]]]:
        """Of `names`, those annotators had before a rename and do not have now: old name ->
        [(each such annotator's name now, when they were renamed from it)], latest first."""
        if not self.query("SELECT 1 FROM sqlite_master WHERE name = 'renames'"):
            return {}  # an older store opened to read
        rows = self.query(
            "SELECT r.old_name, a.name, MAX(r.created) FROM renames r JOIN annotators a ON a.id = r.annotator_id "
            "WHERE r.old_name IN (SELECT value FROM json_each(?)) AND a.name != r.old_name "
            "GROUP BY r.old_name, r.annotator_id ORDER BY 3 DESC",
            [json.dumps([str(name) for name in names])],
        )
        found: dict[str, list[tuple[str, float]]] = {}
        for old, now, when in rows:
            found.setdefault(old, []).append((now, when))
        return found


def _names(conn) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM annotators")]
