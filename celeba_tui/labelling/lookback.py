"""Going back (`b`/`[` in `celeba label`): this annotator's earlier decisions, newest first.

`past_decisions` reads a page of them from the store (across sessions); `Lookback` is the
cursor the screen moves with `[` and `]`. Changing a past decision appends a new label
(`redecide`): the history keeps both, as it keeps everything. Each time going back starts,
the list is read afresh, and a change is decided against what the store holds at that
moment, never against what was read earlier (an undo, or a change made meanwhile, would
otherwise make a key press look like "no change" and store nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from celeba_tui.labelling.selection import names_of_tasks, sql_in_list
from celeba_tui.vocabulary import HUMAN, REVIEW

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore

# What a person typed in `celeba label` (imports and merges are not theirs to step back to).
TYPED_SOURCES = (HUMAN, REVIEW)
PAGE = 50


@dataclass(frozen=True)
class PastDecision:
    """One live decision of the annotator: the label row that holds it."""

    label_id: int
    image: str
    task: str
    label: str
    source: str


def past_decisions(
    store: LabelStore, annotator: str, tasks: Sequence, *, before: int | None = None, limit: int = PAGE
) -> list[PastDecision]:
    """The annotator's live decisions on `tasks`, newest first, older than label id `before`."""
    names = names_of_tasks(tasks)
    rows = store.query(
        "SELECT v.label_id, i.name, v.task, v.label, v.source FROM live v JOIN images i ON i.id = v.image_id "
        "WHERE v.annotator_id = (SELECT id FROM annotators WHERE name = ?) "
        f"AND v.source IN {sql_in_list(TYPED_SOURCES)} AND v.task IN {sql_in_list(names)} AND v.label_id < ? "
        "ORDER BY v.label_id DESC LIMIT ?",
        [annotator, *TYPED_SOURCES, *names, before if before is not None else 2**62, limit],
    )
    return [PastDecision(*row) for row in rows]


def live_decision(store: LabelStore, annotator: str, entry: PastDecision) -> PastDecision | None:
    """What the store holds now for `entry`'s image, task and source from `annotator`:
    None if it was undone since."""
    rows = store.query(
        "SELECT v.label_id, i.name, v.task, v.label, v.source FROM live v JOIN images i ON i.id = v.image_id "
        "WHERE v.annotator_id = (SELECT id FROM annotators WHERE name = ?) AND i.name = ? AND v.task = ? "
        "AND v.source = ?",
        [annotator, entry.image, entry.task, entry.source],
    )
    return PastDecision(*rows[0]) if rows else None


@dataclass(frozen=True)
class Redecision:
    """What a class key on a past decision did: `decision` is what the store holds now;
    `before` the label it held just before (None: undone since); `stored` whether a new
    label was written (False: the store already held this one)."""

    decision: PastDecision
    before: str | None
    stored: bool
    replaced_id: int | None = None  # the label row that held `before`


class Lookback:
    """A cursor over past decisions: index 0 is the newest. Pages load as it goes back.

    The list is read when going back starts and then fixed, so a changed decision keeps
    its place (it is shown with its new label) instead of jumping to the front.
    """

    def __init__(self, load: Callable[[int | None], list[PastDecision]]):
        self._load = load
        self.entries: list[PastDecision] = []
        self.index = -1  # -1: not looking back (the queue's own item is on screen)
        self._exhausted = False
        self._before: int | None = None  # the oldest label id loaded so far

    @property
    def active(self) -> bool:
        return self.index >= 0

    @property
    def current(self) -> PastDecision | None:
        return self.entries[self.index] if self.active else None

    def older(self) -> PastDecision | None:
        """One decision further back; None (and no move) when there is none.

        Starting to go back reads the decisions afresh: the ones made, changed or undone
        since the last time count."""
        if not self.active:
            self.entries, self._exhausted, self._before = [], False, None
        if self.index + 1 >= len(self.entries) and not self._exhausted:
            page = self._load(self._before)
            self._exhausted = len(page) < PAGE
            if page:
                self._before = page[-1].label_id
            self.entries.extend(page)
        if self.index + 1 >= len(self.entries):
            return None
        self.index += 1
        return self.entries[self.index]

    def newer(self) -> PastDecision | None:
        """One decision forward; None when that leaves going back (the queue again)."""
        if self.index >= 0:
            self.index -= 1
        return self.current

    def leave(self) -> None:
        self.index = -1

    def redecide(self, store: LabelStore, annotator: str, label: str) -> Redecision:
        """Make `label` the current entry's decision (no move): a new label appended unless
        the store holds exactly that one now (read now, not when going back started)."""
        entry = self.current
        if entry is None:
            raise RuntimeError("not looking back")
        now = live_decision(store, annotator, entry)
        if now is not None and now.label == label:
            return Redecision(now, label, stored=False)
        label_id = store.add_label(entry.image, entry.task, label, annotator, entry.source)
        return Redecision(
            replace(entry, label_id=label_id, label=label),
            now and now.label,
            stored=True,
            replaced_id=now.label_id if now is not None else None,
        )

    def adopt(self, changed: PastDecision) -> None:
        """Show the stored change in place of the entry it changed."""
        self.entries[self.index] = changed
