"""Going back (`b`/`[` in `celeba label`): this annotator's earlier decisions, newest first.

`past_decisions` reads a page of them from the store (across sessions); `Lookback` is the
cursor the screen moves with `[` and `]`. Changing a past decision appends a new label
(`redecide`): the history keeps both, as it keeps everything.
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


class Lookback:
    """A cursor over past decisions: index 0 is the newest. Pages load as it goes back.

    The list is fixed when going back starts, so a changed decision keeps its place
    (it is shown with its new label) instead of jumping to the front.
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
        """One decision further back; None (and no move) when there is none."""
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

    def redecide(self, store: LabelStore, annotator: str, label: str) -> PastDecision:
        """Append `label` as a new decision for the current entry (a store write; no move)."""
        entry = self.current
        if entry is None:
            raise RuntimeError("not looking back")
        label_id = store.add_label(entry.image, entry.task, label, annotator, entry.source)
        return replace(entry, label_id=label_id, label=label)

    def adopt(self, changed: PastDecision) -> None:
        """Show the stored change in place of the entry it changed."""
        self.entries[self.index] = changed
