"""Annotators as a whole: list, withdraw, rename (`celeba annotators`, the way out of a bad import).

A mixin of `celeba_tui.store.label_store.LabelStore` (which it relies on for
`transaction`, `query`, `revoke_labels` and the annotator-id cache), kept apart so the
store module stays about labels. Nothing here rewrites a decision: a withdrawal appends
undo rows, a rename changes the one `annotators` row the decisions point to.
"""

from __future__ import annotations

from celeba_tui.annotator_names import (
    MERGE_PREFIX,
    MODEL_ANNOTATOR,
    annotator_name_problem,
    shown_name,
    unknown_annotator,
)
from celeba_tui.errors import StoreError


class AnnotatorRecords:
    def annotator_activity(self) -> list[tuple[str, int, float | None, float | None]]:
        """Each annotator (by name): decisions made, and the times of the first and last (None
        if none): when they were given, where an import's file said so (store.answers), else
        when they were stored."""
        answered = (
            "CASE WHEN l.detail LIKE '{\"answered\": %' AND json_valid(l.detail) "
            "THEN json_extract(l.detail, '$.answered') ELSE l.created END"
        )
        return self.query(
            f"SELECT a.name, COUNT(l.id), MIN({answered}), MAX({answered}) FROM annotators a "
            "LEFT JOIN labels l ON l.annotator_id = a.id AND l.label IS NOT NULL "
            "GROUP BY a.id ORDER BY a.name"
        )

    def withdraw_annotator(self, name: str, task: str | None = None) -> int:
        """Withdraw every live label of `name` (of `task`, or of all tasks); returns how many were live.

        Every label of theirs that no undo has revoked is revoked, the superseded ones
        too: an undo of a live label brings the one before it back to life. The undo
        rows are theirs (no new annotator appears); all in one transaction.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM annotators WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise StoreError(unknown_annotator(name, _names(conn)))
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
            self.revoke_labels(ids, name)
        return live

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
            if conn.execute("UPDATE annotators SET name = ? WHERE name = ?", (new, old)).rowcount == 0:
                raise StoreError(unknown_annotator(old, _names(conn)))
        self._annotator_ids.pop(old, None)


def _names(conn) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM annotators")]
