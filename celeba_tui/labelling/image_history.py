"""Everything known about one image, for `celeba browse`'s image view (no terminal here).

Per task: the current label and how it was settled (in words), the whole history
(undone and replaced rows included, marked as such), the ensemble's rule for an
automatic label; each model's prediction and the ensemble's view (queues.item_context,
the label screen's definition); the flip-check answers given for the image. Also the
source a relabel from the image view is stored with (`relabel_source`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from celeba_tui.annotator_names import annotator_kind
from celeba_tui.labelling.queue_items import ItemContext
from celeba_tui.store.schema import SHOWN_STATUS_SQL
from celeba_tui.vocabulary import (
    AGREED,
    ANNOTATOR_SOURCES,
    AUTOMATIC,
    CONFLICT,
    PEOPLE_SOURCES,
    REVIEW,
    REVIEWED,
)

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore

LIVE, REPLACED, WITHDRAWN, UNDO = "live", "replaced", "withdrawn", "undo"


@dataclass(frozen=True)
class HistoryEntry:
    """One row of the label history; `state` says whether it still counts and why not."""

    id: int
    task: str
    label: str | None
    annotator: str
    source: str
    time: float
    confidence: float | None
    model: str | None
    revokes: int | None
    detail: dict | None
    state: str


@dataclass(frozen=True)
class CheckAnswer:
    """A flip-consistency answer for this image (never a label)."""

    task: str
    annotator: str
    expected: str
    answer: str
    time: float

    @property
    def consistent(self) -> bool:
        return self.expected == self.answer


@dataclass(frozen=True)
class TaskRecord:
    task: str
    label: str | None
    status: str | None
    n_annotators: int
    history: tuple[HistoryEntry, ...]
    # The status as people read it, as `celeba stats` counts it (store.schema.SHOWN_STATUS_SQL):
    # `single` for one annotator's `agreed` label, `resolved` for a merge's `review`.
    status_shown: str | None = None

    @property
    def live(self) -> list[HistoryEntry]:
        return [entry for entry in self.history if entry.state == LIVE]


@dataclass(frozen=True)
class ImageRecord:
    image: str
    known: bool  # registered in the store
    present: bool  # its file is in the image root
    tasks: dict[str, TaskRecord]
    context: ItemContext = field(default_factory=ItemContext)
    checks: tuple[CheckAnswer, ...] = ()


def image_record(store: LabelStore, image: str, tasks: Sequence) -> ImageRecord:
    """Read everything the store knows about `image` (a few indexed queries)."""
    from celeba_tui.labelling.queues import item_context

    found = store.query("SELECT id, present FROM images WHERE name = ?", [image])
    if not found:
        return ImageRecord(image, False, False, {t.name: TaskRecord(t.name, None, None, 0, ()) for t in tasks})
    image_id, present = found[0]
    rows = store.query(
        "SELECT l.id, l.task, l.label, a.name, l.source, l.created, l.confidence, l.model, l.revokes, l.detail, "
        "EXISTS (SELECT 1 FROM live v WHERE v.label_id = l.id AND v.image_id = l.image_id AND v.task = l.task) "
        "FROM labels l JOIN annotators a ON a.id = l.annotator_id WHERE l.image_id = ? ORDER BY l.id",
        [image_id],
    )
    current = {
        task: (label, status, n, shown)
        for task, label, status, n, shown in store.query(
            f"SELECT c.task, c.label, c.status, c.n_annotators, {SHOWN_STATUS_SQL} FROM current c WHERE c.image_id = ?",
            [image_id],
        )
    }
    revoked = {row[8] for row in rows if row[8] is not None}
    history: dict[str, list[HistoryEntry]] = {}
    for row_id, task, label, who, source, created, confidence, model, revokes, detail, is_live in rows:
        state = UNDO if revokes is not None else LIVE if is_live else WITHDRAWN if row_id in revoked else REPLACED
        entry = HistoryEntry(
            row_id, task, label, who, source, created, confidence, model, revokes, _detail(detail), state
        )
        history.setdefault(task, []).append(entry)
    checks = tuple(
        CheckAnswer(*row)
        for row in store.query(
            "SELECT c.task, a.name, c.expected, c.answer, c.created FROM checks c "
            "JOIN annotators a ON a.id = c.annotator_id WHERE c.image_id = ? ORDER BY c.id",
            [image_id],
        )
    )
    records = {}
    for task in tasks:
        label, status, n, shown = current.get(task.name, (None, None, 0, None))
        records[task.name] = TaskRecord(task.name, label, status, n, tuple(history.get(task.name, ())), shown)
    return ImageRecord(image, True, bool(present), records, item_context(store, image, tasks), checks)


def _detail(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {"text": text}
    return value if isinstance(value, dict) else {"value": value}


def settled_how(record: TaskRecord) -> str:
    """In words: how the current label was settled and why (the merge's policy and votes,
    the ensemble's rule, the annotators' answers). Pure."""
    live = record.live
    people = [e for e in live if e.source in ANNOTATOR_SOURCES]
    answers = ", ".join(f"{e.annotator}: {e.label}" for e in people)
    if record.status == REVIEWED:
        reviews = [e for e in live if e.source == REVIEW]
        merges = [e for e in reviews if annotator_kind(e.annotator) == "merge"]
        by_people = [e for e in reviews if annotator_kind(e.annotator) != "merge"]
        decision = max(by_people or reviews, key=lambda e: e.id, default=None)  # a person's outranks a merge's
        if decision is None:
            return "settled by a review decision"
        if annotator_kind(decision.annotator) == "merge" and decision.detail:
            policy = decision.detail.get("policy")
            votes = decision.detail.get("votes")
            if isinstance(votes, dict):  # who voted what (a Python dict's braces and quotes were shown)
                votes = ", ".join(f"{who}: {what}" for who, what in votes.items())
            said = f"; answers {answers}" if answers and answers != votes else ""  # helper-71: the same twice
            return f"settled by `celeba merge` (policy {policy}; votes {votes}){said}"
        overruled = "; ".join(f"{e.annotator}'s {e.label}" for e in merges if e.label != decision.label)
        return (
            f"settled by a review decision of {decision.annotator}"
            + (f" over {answers}" if answers else "")
            + (f" (overruling {overruled})" if overruled else "")  # helper-71: the merge it overruled went unsaid
        )
    if record.status == AGREED:
        if len(people) == 1:
            return f"labelled by {people[0].annotator} alone: no second annotator to compare with ({answers})"
        return f"{len(people)} annotators agree ({answers})"
    if record.status == CONFLICT:
        return f"annotators disagree ({answers}): waits in the review queue"
    if record.status == AUTOMATIC:
        decision = max((e for e in live if e.source == "model"), key=lambda e: e.id, default=None)
        detail = (decision.detail or {}) if decision else {}
        rule = detail.get("rule", "?")
        high, low = detail.get("high"), detail.get("low")
        thresholds = (
            f", thresholds high {high:.2f} / low {low:.2f}"
            if isinstance(high, float) and isinstance(low, float)
            else ""
        )
        return f"labelled automatically by the ensemble (rule {rule}{thresholds})"
    return "nobody has labelled it yet"


def relabel_source(record: TaskRecord, annotator: str) -> str:
    """`review` when the new label must settle someone else's (or a review) decision, else `human`.

    A `human` label beside another person's would only make a conflict; replacing one's
    own label, or labelling over a model's, is a plain `human` label. Pure.
    """
    for entry in record.live:
        if entry.source in PEOPLE_SOURCES and (entry.annotator != annotator or entry.source == REVIEW):
            return REVIEW
    return "human"
