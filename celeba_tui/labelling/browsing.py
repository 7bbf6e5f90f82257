"""What `celeba browse` selects, for the screen and for `--json` alike.

`Browser` holds the store's browse index (selection.load_browse_index) and the inputs
some filters need from elsewhere: the ensemble's confidence (labelling.ensemble, the
uncertain queue's definition) and the pairs a queue would ask (the queue's own `build`).
Each is computed once per state of the store: by the first filter that asks, or ahead
of time by `precompute` (the screen runs it in a background thread once the first page
is on screen, on a connection of its own). A (re)load of the index starts a new
generation and drops them, so another process's write is never hidden by a cache. The
filtering itself is selection.select_positions: one implementation for the screen, the
script and the label queues' shared parts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
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
    rows_of_ids,
    select_positions,
)

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore
    from celeba_tui.workspace import Workspace

# The order `precompute` builds the queues in: the cheapest first, so most filters are ready soonest.
CHEAP_QUEUES_FIRST = ("review", "suspects", "unlabelled", "uncertain", "manual")
# The queue's British spelling (what the CLI says) and the American one (its registered name).
_QUEUE_SPELLINGS = {"unlabelled": "unlabeled", "unlabeled": "unlabelled"}


@dataclass(frozen=True)
class Selection:
    """The images a filter selected: positions into the browser's index, in order."""

    filter: BrowseFilter
    positions: np.ndarray
    index: BrowseIndex
    queue_pairs: np.ndarray | None = None  # (images x tasks) a `queue:` filter's queue asks

    @property
    def total_images(self) -> int:
        return len(self.index.names)

    def rows(self, start: int, stop: int, *, with_people: bool = False) -> list[BrowseRow]:
        """The selected rows start..stop (a page); pure. `with_people`: each row says every
        annotator's own live label too (`--json`)."""
        return browse_rows(self.index, self.positions[start:stop], with_people=with_people)

    def names(self) -> list[str]:
        return [self.index.names[p] for p in self.positions.tolist()]

    def find(self, image: str) -> int | None:
        """The image's place in the selection (None: not selected)."""
        position = self.index.position(image)
        found = np.flatnonzero(self.positions == position) if position is not None else ()
        return int(found[0]) if len(found) else None

    def name_at(self, at: int) -> str:
        return self.index.names[int(self.positions[at])]

    def questions(self, image: str, tasks: tuple[str, ...]) -> tuple[str, ...]:
        """Which of `tasks` labelling the selection asks of `image`: under a `queue:` filter
        those its queue asks (a settled task of a review item is not asked again), else all."""
        position = self.index.position(image) if self.queue_pairs is not None else None
        if position is None:
            return tasks
        asked = {name for name, wanted in zip(self.index.task_names, self.queue_pairs[position]) if wanted}
        return tuple(task for task in tasks if task in asked) or tasks

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
        self._seen_version = None
        # What filters need besides the index, per generation (one per load): key -> array.
        self._generation = 0
        self._cache: dict[str, np.ndarray] = {}
        self._computing: dict[str, threading.Lock] = {}  # one lock per key: each is computed once
        self._guard = threading.Lock()
        self.asked: set[str] = set()  # the keys filters of this session needed

    # ------------------------------------------------------------- loading
    def load(self, first: int | None = None) -> BrowseIndex:
        """(Re)read the index from the store (with `first`: only that many images, by name, for
        a first page in milliseconds); what later filters needed is read again when asked."""
        self._seen_version = self.data_version()
        index = load_browse_index(self.store, self.tasks, first)
        with self._guard:
            self._generation += 1
            self._cache, self._computing = {}, {}
            self.index = index
        return index

    def data_version(self) -> int:
        """SQLite's counter of commits by *other* connections (cheap: no table is read)."""
        return self.store.query("PRAGMA data_version")[0][0]

    def changed_elsewhere(self) -> bool:
        """Another process wrote to the store since the last `load`."""
        return self.data_version() != self._seen_version

    # ----------------------------------------------------------- selecting
    def select(self, wanted: BrowseFilter, *, with_confidence: bool = False) -> Selection:
        """The images `wanted` selects (a CelebaError names a task, class, annotator or queue it
        does not know); `with_confidence`: the ensemble's confidence read even where no filter
        needs it (`--json` prints it for every row)."""
        index = self.index if self.index is not None else self.load()
        self.check(wanted)
        if (with_confidence or wanted.needs_confidence) and index.confidence is None:
            self.asked.add("confidence")
            index.confidence = self._cached(index, "confidence", self.store)
        queue_pairs = None
        if wanted.queue is not None:
            key = f"queue:{queue_object(wanted.queue).name}"
            self.asked.add(key)
            queue_pairs = self._cached(index, key, self.store)
        return Selection(wanted, select_positions(index, wanted, queue_pairs), index, queue_pairs)

    # ---------------------------------------------------- computed once per load
    def precompute(self, stop: Callable[[], bool] = lambda: False, *, only_asked: bool = False) -> list[str]:
        """Compute now what the slow filters need for the current index (the ensemble's
        confidence, then each queue's pairs), on a read-only connection of its own, so the
        screen's queries never wait behind these.

        Meant for a background thread; a filter asking meanwhile waits for the key being
        computed or computes it itself. Stops early when `stop()` says so or the index is
        reloaded. With `only_asked`, only what a filter of this session asked for (after a
        reload: a store that another process writes every few seconds must not keep a
        core busy with queues nobody looks at). Returns the keys now cached (a queue that
        cannot be built is skipped: its filter says why when asked).
        """
        from celeba_tui.labelling.queues import QUEUES

        index, done = self.index, []
        if index is None or index.partial:
            return done
        try:
            store = type(self.store).open(self.store.path, readonly=True)
        except (CelebaError, OSError):
            return done
        try:
            queues = [name for name in CHEAP_QUEUES_FIRST if name in QUEUES]
            queues += [name for name in QUEUES if name not in queues]
            for key in ("confidence", *(f"queue:{name}" for name in queues)):
                if only_asked and key not in self.asked:
                    continue
                if stop() or self.index is not index:
                    break
                try:
                    self._cached(index, key, store)
                except CelebaError:
                    continue
                done.append(key)
        finally:
            store.close()
        return done

    def ready(self, key: str) -> bool:
        """Whether `key` ("confidence", "queue:NAME") is computed for the current index."""
        with self._guard:
            return key in self._cache

    def _cached(self, index: BrowseIndex, key: str, store: LabelStore) -> np.ndarray:
        """`key` for `index`, computed at most once per generation (callers on other threads wait)."""
        with self._guard:
            generation = self._generation if self.index is index else None
            if generation is not None and key in self._cache:
                return self._cache[key]
            lock = self._computing.setdefault(key, threading.Lock()) if generation is not None else threading.Lock()
        with lock:
            with self._guard:
                if generation is not None and self._generation == generation and key in self._cache:
                    return self._cache[key]
            value = self._compute(index, key, store)
            with self._guard:
                if generation is not None and self._generation == generation:
                    self._cache[key] = value
            return value

    def _compute(self, index: BrowseIndex, key: str, store: LabelStore) -> np.ndarray:
        if key == "confidence":
            return ensemble_confidence(store, index, self.tasks)
        name = key.removeprefix("queue:")
        return queue_pairs(store, self.workspace, self.annotator, index, queue_object(name))

    def check(self, wanted: BrowseFilter) -> None:
        """A CelebaError for a task, class, annotator or queue the filter names that does not exist."""
        known = {task.name: task for task in self.tasks}
        for name in wanted.tasks:
            if name not in known:
                raise CelebaError(f"unknown task {name!r} (tasks: {', '.join(known)})")
        filtered = [known[name] for name in wanted.tasks] or list(self.tasks)
        if wanted.label not in (None, UNLABELLED) and not any(wanted.label in t.classes for t in filtered):
            classes = list(dict.fromkeys(c for t in filtered for c in t.classes))  # in the tasks' order
            raise CelebaError(
                f"label {wanted.label!r} is no class of {', '.join(t.name for t in filtered)} "
                f"(classes: {', '.join(classes)}, or {UNLABELLED})"
            )
        if wanted.annotator is not None and not self.store.query(
            "SELECT 1 FROM annotators WHERE name = ?", [wanted.annotator]
        ):
            from celeba_tui.annotator_names import unknown_annotator

            names = [row[0] for row in self.store.query("SELECT name FROM annotators")]
            raise CelebaError(unknown_annotator(wanted.annotator, names))
        if wanted.queue is not None:
            queue_object(wanted.queue)


def ensemble_confidence(store: LabelStore, index: BrowseIndex, tasks: Sequence) -> np.ndarray:
    """(images x tasks) ensemble confidence from the predictions (NaN where none); no pandas."""
    from celeba_tui.labelling.ensemble import task_ensembles

    confidence = np.full((len(index.names), len(tasks)), np.nan)
    for t, ensemble in enumerate(task_ensembles(store, tasks)):  # tasks in config order, ids ascending
        rows, present = rows_of_ids(index.image_ids, ensemble.image_ids)
        confidence[rows, t] = ensemble.confidence[present]
    return confidence


def queue_pairs(store: LabelStore, workspace: Workspace, annotator: str, index: BrowseIndex, queue) -> np.ndarray:
    """(images x tasks) pairs `queue` would ask `annotator` (its own `build`: one definition)."""
    from celeba_tui.labelling.queue_items import QueueOptions

    built = queue.build(store, workspace, annotator, index.tasks, QueueOptions())
    columns = {t: i for i, t in enumerate(index.task_names)}
    pairs = np.zeros((len(index.names), len(index.tasks)), dtype=bool)
    rows, cols = [], []
    for item in built.items:
        at = index.position(item.image)
        if at is not None:
            rows.extend([at] * len(item.tasks))
            cols.extend(columns[t] for t in item.tasks)
    pairs[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)] = True
    return pairs


def queue_object(name: str):
    """The labelling queue called `name` (British or American spelling of `unlabelled`)."""
    from celeba_tui.labelling.queues import QUEUES, get_queue

    if name not in QUEUES and _QUEUE_SPELLINGS.get(name) in QUEUES:
        name = _QUEUE_SPELLINGS[name]
    return get_queue(name)
