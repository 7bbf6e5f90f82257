"""What `celeba browse` selects, for the screen and for `--json` alike.

`Browser` holds the store's browse index (selection.load_browse_index) and the inputs
some filters need from elsewhere, each loaded only when a filter first asks for it:
the ensemble's confidence (queues.ensemble_view, the uncertain queue's definition) and
the pairs a queue would ask (the queue's own `build`). The filtering itself is
selection.select_positions: one implementation for the screen, the script and the
label queues' shared parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from celeba_tui.errors import CelebaError
from celeba_tui.labelling.browse_filter import UNLABELLED, BrowseFilter
from celeba_tui.labelling.selection import (
    BrowseIndex,
    BrowseRow,
    browse_rows,
    load_browse_index,
    select_positions,
    sql_in_list,
)

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore
    from celeba_tui.workspace import Workspace

# The queue's British spelling (what the CLI says) and the American one (its registered name).
_QUEUE_SPELLINGS = {"unlabelled": "unlabeled", "unlabeled": "unlabelled"}


@dataclass(frozen=True)
class Selection:
    """The images a filter selected: positions into the browser's index, in order."""

    filter: BrowseFilter
    positions: np.ndarray
    index: BrowseIndex

    @property
    def total_images(self) -> int:
        return len(self.index.names)

    def rows(self, start: int, stop: int) -> list[BrowseRow]:
        """The selected rows start..stop (a page); pure."""
        return browse_rows(self.index, self.positions[start:stop])

    def names(self) -> list[str]:
        return [self.index.names[p] for p in self.positions.tolist()]

    def find(self, image: str) -> int | None:
        """The image's place in the selection (None: not selected)."""
        position = self.index.position(image)
        found = np.flatnonzero(self.positions == position) if position is not None else ()
        return int(found[0]) if len(found) else None

    def name_at(self, at: int) -> str:
        return self.index.names[int(self.positions[at])]

    def __len__(self) -> int:
        return len(self.positions)


class Browser:
    """The selection behind `celeba browse`; `annotator` is who browses (their queues, their relabels)."""

    def __init__(self, store: LabelStore, workspace: Workspace, annotator: str):
        self.store = store
        self.workspace = workspace
        self.annotator = annotator
        self.tasks = tuple(workspace.tasks)
        self.index: BrowseIndex | None = None
        self._queue_pairs: dict[str, np.ndarray] = {}
        self._seen_version = None

    # ------------------------------------------------------------- loading
    def load(self, first: int | None = None) -> BrowseIndex:
        """(Re)read the index from the store (with `first`: only that many images, by name, for
        a first page in milliseconds); what later filters needed is read again when asked."""
        self._seen_version = self.data_version()
        self.index = load_browse_index(self.store, self.tasks, first)
        self._queue_pairs = {}
        return self.index

    def data_version(self) -> int:
        """SQLite's counter of commits by *other* connections (cheap: no table is read)."""
        return self.store.query("PRAGMA data_version")[0][0]

    def changed_elsewhere(self) -> bool:
        """Another process wrote to the store since the last `load`."""
        return self.data_version() != self._seen_version

    # ----------------------------------------------------------- selecting
    def select(self, wanted: BrowseFilter) -> Selection:
        """The images `wanted` selects (a CelebaError names a task, class, annotator or queue it does not know)."""
        index = self.index if self.index is not None else self.load()
        self.check(wanted)
        if wanted.needs_confidence and index.confidence is None:
            index.confidence = self._confidence()
        queue_pairs = self._queue(wanted.queue) if wanted.queue is not None else None
        return Selection(wanted, select_positions(index, wanted, queue_pairs), index)

    def check(self, wanted: BrowseFilter) -> None:
        """A CelebaError for a task, class, annotator or queue the filter names that does not exist."""
        known = {task.name: task for task in self.tasks}
        for name in wanted.tasks:
            if name not in known:
                raise CelebaError(f"unknown task {name!r} (tasks: {', '.join(known)})")
        filtered = [known[name] for name in wanted.tasks] or list(self.tasks)
        if wanted.label not in (None, UNLABELLED) and not any(wanted.label in t.classes for t in filtered):
            classes = sorted({c for t in filtered for c in t.classes})
            raise CelebaError(
                f"label {wanted.label!r} is no class of {', '.join(t.name for t in filtered)} "
                f"(classes: {', '.join(classes)}, or {UNLABELLED})"
            )
        if wanted.annotator is not None and not self.store.query(
            "SELECT 1 FROM annotators WHERE name = ?", [wanted.annotator]
        ):
            names = [row[0] for row in self.store.query("SELECT name FROM annotators ORDER BY name LIMIT 13")]
            shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
            raise CelebaError(f"no annotator {wanted.annotator!r} in the store (annotators: {shown or 'none yet'})")
        if wanted.queue is not None:
            queue_object(wanted.queue)

    def _confidence(self) -> np.ndarray:
        """(images x tasks) ensemble confidence from the predictions (NaN where none)."""
        from celeba_tui.labelling.queues import ensemble_view

        index = self.index
        confidence = np.full((len(index.names), len(self.tasks)), np.nan)
        task_names = index.task_names
        predictions = self.store.frame(
            "SELECT i.name AS image, p.task, p.probs FROM predictions p JOIN images i ON i.id = p.image_id "
            f"WHERE i.present = 1 AND p.task IN {sql_in_list(task_names)}",
            task_names,
        )
        view = ensemble_view(predictions, {t.name: t.classes for t in self.tasks})
        if not view.empty:
            rows = view["image"].map(index.position).to_numpy()
            columns = view["task"].map({t: i for i, t in enumerate(task_names)}).to_numpy()
            confidence[rows.astype(np.int64), columns.astype(np.int64)] = view["confidence"].to_numpy(dtype=float)
        return confidence

    def _queue(self, name: str) -> np.ndarray:
        """(images x tasks) pairs the queue `name` would ask the browsing annotator (built once per load)."""
        if name not in self._queue_pairs:
            from celeba_tui.labelling.queue_items import QueueOptions

            built = queue_object(name).build(self.store, self.workspace, self.annotator, self.tasks, QueueOptions())
            columns = {t: i for i, t in enumerate(self.index.task_names)}
            pairs = np.zeros((len(self.index.names), len(self.tasks)), dtype=bool)
            for item in built.items:
                at = self.index.position(item.image)
                if at is not None:
                    pairs[at, [columns[t] for t in item.tasks]] = True
            self._queue_pairs[name] = pairs
        return self._queue_pairs[name]


def queue_object(name: str):
    """The labelling queue called `name` (British or American spelling of `unlabelled`)."""
    from celeba_tui.labelling.queues import QUEUES, get_queue

    if name not in QUEUES and _QUEUE_SPELLINGS.get(name) in QUEUES:
        name = _QUEUE_SPELLINGS[name]
    return get_queue(name)
