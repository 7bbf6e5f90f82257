"""Labelling queues: which images an annotator sees, in what order, with what context.

A queue is an object with a `name`, the label `source` its decisions are stored with,
and `build(store, workspace, annotator, tasks, options) -> QueueBuild` returning the
ordered items still to do. Selection is set-based (a few SQL aggregates over the
store's `live` and `current` tables, then numpy), never a loop over images. A queue
may also offer `first_page(...)`: the first items straight from SQL in milliseconds,
so the TUI shows an image while `build` counts the rest. The TUI only calls these
and `item_context`; it never runs SQL itself.

Rules shared by all queues:

- An image is *done* for a task when this annotator has a live label for it, or
  enough people have (one; two for images an `--assign ... --overlap` share doubles),
  or a reviewer decided it. So resuming never shows what you labelled, and nobody
  relabels by accident.
- Model labels are not people's labels: they do not take an image out of `unlabeled`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

import numpy as np
import pandas as pd

from celeba_tui.assignment import Assignment
from celeba_tui.errors import CelebaError

PEOPLE_SOURCES = ("human", "import", "review")
# The ensemble must be at least this sure before a disagreeing human label is a suspect.
SUSPECT_MIN_CONFIDENCE = 0.7


# ------------------------------------------------------------------ items
class QueueItem(NamedTuple):
    """One image and the tasks to ask for it (config order). A tuple: 150,000 are cheap.

    A flip-consistency check is shown mirrored; `expected` holds the expected answer
    per task (the annotator's own earlier label, left and right swapped).
    """

    image: str
    tasks: tuple[str, ...]
    check: bool = False
    expected: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    annotator: str
    label: str
    source: str


@dataclass(frozen=True)
class Prediction:
    model: str
    label: str
    confidence: float


@dataclass(frozen=True)
class Suggestion:
    """The ensemble's view of one task: its label and confidence; `decided` if stored."""

    label: str
    confidence: float
    decided: bool


@dataclass(frozen=True)
class ItemContext:
    """What is known about an image, per task: people's answers and model predictions."""

    answers: dict[str, tuple[Answer, ...]] = field(default_factory=dict)
    predictions: dict[str, tuple[Prediction, ...]] = field(default_factory=dict)
    suggestions: dict[str, Suggestion] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueOptions:
    shuffle: bool = False
    seed: int = 0
    assignment: Assignment | None = None


@dataclass
class QueueBuild:
    """The ordered items to do, and how many images of the queue are already done."""

    items: list[QueueItem]
    done: int = 0

    @property
    def total(self) -> int:
        return self.done + len(self.items)


class Queue(Protocol):
    name: str
    source: str
    empty_hint: str
    shows_answers: bool
    prioritized: bool

    def build(self, store, workspace, annotator: str, tasks: Sequence, options: QueueOptions) -> QueueBuild:
        """The items still to do for this annotator, in order."""
        ...


# ------------------------------------------------------------ shared selection
def _in_list(values: Sequence) -> str:
    return "(" + ",".join("?" * len(values)) + ")"


def _case(column: str, values: Sequence[str]) -> str:
    return f"CASE {column} " + " ".join(f"WHEN ? THEN {i}" for i in range(len(values))) + " END"


def _task_names(tasks: Sequence) -> list[str]:
    return [getattr(t, "name", t) for t in tasks]


def _present_images(store) -> tuple[np.ndarray, list[str]]:
    """(ids, names) of the images in the root, in name order."""
    rows = store.query("SELECT id, name FROM images WHERE present = 1 ORDER BY name")
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [r[1] for r in rows]


def _people_status(store, annotator: str, task_names: Sequence[str]) -> np.ndarray:
    """Rows (image_id, task index, people, mine, reviewed) for every labelled (image, task)."""
    rows = store.query(
        f"SELECT v.image_id, {_case('v.task', task_names)}, COUNT(DISTINCT v.annotator_id), "
        "MAX(v.annotator_id = (SELECT id FROM annotators WHERE name = ?)) IS 1, MAX(v.source = 'review') "
        f"FROM live v WHERE v.source IN {_in_list(PEOPLE_SOURCES)} AND v.task IN {_in_list(task_names)} "
        "GROUP BY v.image_id, v.task",
        [*task_names, annotator, *PEOPLE_SOURCES, *task_names],
    )
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=5 * len(rows))
    return flat.reshape(-1, 5)


def pending_matrix(
    image_ids: np.ndarray, status: np.ndarray, n_tasks: int, wanted: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(pending, mine): boolean (images x tasks) arrays. Pure.

    `status` rows are (image_id, task index, people, mine, reviewed); `wanted` is the
    number of people each image needs.
    """
    pending = np.ones((len(image_ids), n_tasks), dtype=bool)
    mine = np.zeros_like(pending)
    if len(image_ids) == 0 or len(status) == 0:
        return pending, mine
    order = np.argsort(image_ids, kind="stable")
    found = np.searchsorted(image_ids[order], status[:, 0]).clip(max=len(order) - 1)
    known = image_ids[order][found] == status[:, 0]  # labels of absent images are ignored
    at, rows = order[found[known]], status[known]
    is_mine = rows[:, 3].astype(bool)
    done = is_mine | (rows[:, 2] >= wanted[at]) | rows[:, 4].astype(bool)
    pending[at, rows[:, 1]] = ~done
    mine[at, rows[:, 1]] = is_mine
    return pending, mine


def _items_from(names: Sequence[str], pending: np.ndarray, task_names: Sequence[str]) -> list[QueueItem]:
    """One item per image with a pending task; each task tuple is built once per pattern."""
    codes = pending.astype(np.int64) @ (1 << np.arange(len(task_names), dtype=np.int64))
    patterns = {code: tuple(t for j, t in enumerate(task_names) if code >> j & 1) for code in np.unique(codes)}
    rows = np.flatnonzero(codes)
    return [QueueItem(names[i], patterns[code]) for i, code in zip(rows.tolist(), codes[rows].tolist())]


def _share(ids: np.ndarray, names: list[str], options: QueueOptions):
    """Images in this annotator's share and the number of people each one wants."""
    if options.assignment is None:
        return ids, names, np.ones(len(ids), dtype=np.int64)
    keep = options.assignment.mask(names)
    wanted = 1 + options.assignment.doubled(names).astype(np.int64)
    return ids[keep], [n for n, k in zip(names, keep) if k], wanted[keep]


def _order(items: list[QueueItem], options: QueueOptions, prioritized: bool) -> list[QueueItem]:
    if not options.shuffle or prioritized:
        return items
    order = np.random.default_rng(options.seed).permutation(len(items))
    return [items[i] for i in order]


def _open_items(store, annotator, task_names, ids, names, options) -> tuple[list[QueueItem], int]:
    """Items people have not finished among these images, and how many this annotator finished."""
    ids, names, wanted = _share(ids, names, options)
    pending, mine = pending_matrix(ids, _people_status(store, annotator, task_names), len(task_names), wanted)
    done = int((mine.all(axis=1) & ~pending.any(axis=1)).sum())
    return _items_from(names, pending, task_names), done


def _mask_pairs(pairs: pd.DataFrame, options: QueueOptions) -> pd.DataFrame:
    if options.assignment is None or pairs.empty:
        return pairs
    names = pairs["image"].drop_duplicates().tolist()
    keep = set(np.asarray(names, dtype=object)[options.assignment.mask(names)])
    return pairs[pairs["image"].isin(keep)]


def _items_by_image(pairs: pd.DataFrame, task_names: Sequence[str]) -> list[QueueItem]:
    """One item per image from (image, task) rows, tasks in config order, images by name."""
    if pairs.empty:
        return []
    rank = {t: i for i, t in enumerate(task_names)}
    pairs = pairs.assign(_rank=pairs["task"].map(rank)).sort_values(["image", "_rank"])
    return [QueueItem(image, tuple(group["task"])) for image, group in pairs.groupby("image", sort=True)]


def _by_priority(view: pd.DataFrame, column: str, task_names: Sequence[str]) -> list[QueueItem]:
    """Items ordered by each image's highest `column` over its tasks, highest first."""
    if view.empty:
        return []
    score = view.groupby("image")[column].max().sort_values(ascending=False, kind="stable")
    rank = {t: i for i, t in enumerate(task_names)}
    tasks = view.assign(_rank=view["task"].map(rank)).sort_values("_rank").groupby("image")["task"].agg(tuple)
    return [QueueItem(image, tasks[image]) for image in score.index]


def _reviewed_count(store, annotator: str, task_names: Sequence[str]) -> int:
    return int(store.query(
        "SELECT COUNT(DISTINCT v.image_id) FROM live v JOIN annotators a ON a.id = v.annotator_id "
        f"WHERE a.name = ? AND v.source = 'review' AND v.task IN {_in_list(task_names)}",
        [annotator, *task_names],
    )[0][0])


def _current_pairs(store, status: str, task_names: Sequence[str]) -> pd.DataFrame:
    return store.frame(
        "SELECT i.name AS image, c.task, c.label FROM current c JOIN images i ON i.id = c.image_id "
        f"WHERE c.status = ? AND i.present = 1 AND c.task IN {_in_list(task_names)}",
        [status, *task_names],
    )


# ----------------------------------------------------------------- the queues
class UnlabeledQueue:
    name = "unlabeled"
    source = "human"
    empty_hint = (
        "Every image in your share is labelled. Next: `celeba agreement` to compare "
        "annotators, `celeba merge`, or `celeba label --queue review` for conflicts."
    )
    shows_answers = False
    prioritized = False

    def build(self, store, workspace, annotator, tasks, options):
        task_names = _task_names(tasks)
        ids, names = _present_images(store)
        items, done = _open_items(store, annotator, task_names, ids, names, options)
        return QueueBuild(_order(items, options, False), done)

    def first_page(self, store, workspace, annotator, tasks, options, limit: int) -> list[QueueItem] | None:
        """The first `limit` items of `build` in one indexed SQL walk; None where that needs `build`."""
        if options.shuffle or options.assignment is not None:
            return None
        task_names = _task_names(tasks)
        missing = " + ".join(
            f"(NOT EXISTS (SELECT 1 FROM live v WHERE v.image_id = i.id AND v.task = ? "
            f"AND v.source IN {_in_list(PEOPLE_SOURCES)})) * {1 << j}"
            for j in range(len(task_names))
        )
        params = [p for task in task_names for p in (task, *PEOPLE_SOURCES)]
        rows = store.query(
            f"SELECT name, code FROM (SELECT i.name AS name, {missing} AS code FROM images i "
            "WHERE i.present = 1 ORDER BY i.name) WHERE code > 0 LIMIT ?",
            [*params, limit],
        )
        return [QueueItem(name, tuple(t for j, t in enumerate(task_names) if code >> j & 1)) for name, code in rows]


class ReviewQueue:
    name = "review"
    source = "review"
    empty_hint = (
        "No conflicts to review. Conflicts appear when two annotators label the same image "
        "differently (`celeba merge --policy review`, or `celeba label --assign I/N --overlap F`)."
    )
    shows_answers = True
    prioritized = False

    def build(self, store, workspace, annotator, tasks, options):
        task_names = _task_names(tasks)
        conflicts = _mask_pairs(_current_pairs(store, "conflict", task_names), options)
        items = _items_by_image(conflicts, task_names)
        return QueueBuild(_order(items, options, False), _reviewed_count(store, annotator, task_names))


def _prediction_rows(store, task_names: Sequence[str]) -> pd.DataFrame:
    return store.frame(
        "SELECT p.image_id, i.name AS image, p.task, p.probs FROM predictions p "
        f"JOIN images i ON i.id = p.image_id WHERE i.present = 1 AND p.task IN {_in_list(task_names)}",
        task_names,
    )


def ensemble_view(predictions: pd.DataFrame, classes: dict[str, Sequence[str]]) -> pd.DataFrame:
    """Per (image, task): the mean-probability label, its probability and the uncertainty.

    Pure: `predictions` has image, task, probs (JSON lists in the task's class order).
    """
    columns = ["image", "task", "label", "confidence", "uncertainty"]
    if predictions.empty:
        return pd.DataFrame(columns=columns)
    parts = []
    for task, rows in predictions.groupby("task", sort=False):
        probs = np.asarray(json.loads("[" + ",".join(rows["probs"]) + "]"), dtype=np.float64)
        mean = pd.DataFrame(probs).groupby(rows["image"].to_numpy()).mean()
        best = mean.to_numpy().argmax(axis=1)
        confidence = mean.to_numpy().max(axis=1)
        parts.append(pd.DataFrame({
            "image": mean.index, "task": task, "label": np.asarray(classes[task], dtype=object)[best],
            "confidence": confidence, "uncertainty": 1.0 - confidence,
        }))
    return pd.concat(parts, ignore_index=True)


class _PredictionQueue:
    """Shared part of the queues built from the predictions table."""

    source = "human"
    shows_answers = False
    prioritized = False
    empty_hint = (
        "No predictions to work from yet. Run `celeba autolabel` (after `celeba train` and "
        "`celeba export-onnx`); until then use `celeba label` (the unlabeled queue)."
    )

    def _open_pairs(self, store, annotator, task_names, options) -> tuple[pd.DataFrame, int, pd.DataFrame]:
        """(predictions, done images, predicted (image, task) pairs people have not finished)."""
        predictions = _prediction_rows(store, task_names)
        if predictions.empty:
            return predictions, 0, pd.DataFrame(columns=["image", "task"])
        images = predictions[["image_id", "image"]].drop_duplicates().sort_values("image")
        items, done = _open_items(
            store, annotator, task_names, images["image_id"].to_numpy(), images["image"].tolist(), options
        )
        open_pairs = pd.DataFrame([(item.image, task) for item in items for task in item.tasks], columns=["image", "task"])
        return predictions, done, open_pairs.merge(predictions[["image", "task"]].drop_duplicates())


class ManualQueue(_PredictionQueue):
    name = "manual"

    def build(self, store, workspace, annotator, tasks, options):
        task_names = _task_names(tasks)
        _, done, open_pairs = self._open_pairs(store, annotator, task_names, options)
        decided = store.frame(
            "SELECT DISTINCT i.name AS image, v.task, 1 AS decided FROM live v JOIN images i ON i.id = v.image_id "
            f"WHERE v.source = 'model' AND v.task IN {_in_list(task_names)}",
            task_names,
        )
        if not open_pairs.empty and not decided.empty:
            open_pairs = open_pairs.merge(decided, how="left")
            open_pairs = open_pairs[open_pairs["decided"].isna()]
        return QueueBuild(_order(_items_by_image(open_pairs, task_names), options, False), done)


class UncertainQueue(_PredictionQueue):
    name = "uncertain"
    prioritized = True

    def build(self, store, workspace, annotator, tasks, options):
        task_names = _task_names(tasks)
        predictions, done, open_pairs = self._open_pairs(store, annotator, task_names, options)
        if open_pairs.empty:
            return QueueBuild([], done)
        view = ensemble_view(predictions, {t.name: t.classes for t in tasks}).merge(open_pairs)
        return QueueBuild(_by_priority(view, "uncertainty", task_names), done)


class SuspectsQueue(_PredictionQueue):
    name = "suspects"
    source = "review"
    shows_answers = True
    prioritized = True
    empty_hint = (
        "No suspect labels: wherever people agreed, the ensemble does not confidently disagree "
        "(or no predictions exist yet: run `celeba autolabel`)."
    )

    def build(self, store, workspace, annotator, tasks, options):
        task_names = _task_names(tasks)
        predictions = _prediction_rows(store, task_names)
        reviewed = _reviewed_count(store, annotator, task_names)
        if predictions.empty:
            return QueueBuild([], reviewed)
        view = ensemble_view(predictions, {t.name: t.classes for t in tasks})
        agreed = _current_pairs(store, "agreed", task_names)
        joined = view.merge(agreed, on=["image", "task"], suffixes=("", "_people"))
        suspects = joined[(joined["label"] != joined["label_people"]) & (joined["confidence"] >= SUSPECT_MIN_CONFIDENCE)]
        return QueueBuild(_by_priority(_mask_pairs(suspects, options), "confidence", task_names), reviewed)


# ------------------------------------------------------------ per-image context
def item_context(store, image: str, tasks: Sequence) -> ItemContext:
    """Everyone's live answers, each model's prediction and the ensemble's view of `image`."""
    image_id = "(SELECT id FROM images WHERE name = ?)"
    labels = store.query(
        "SELECT v.task, a.name, v.label, v.source, l.confidence FROM live v "
        "JOIN annotators a ON a.id = v.annotator_id JOIN labels l ON l.id = v.label_id "
        f"WHERE v.image_id = {image_id} ORDER BY a.name, v.label_id",
        [image],
    )
    predictions = store.query(
        "SELECT p.task, COALESCE(m.name, p.model), p.label, p.confidence, p.probs FROM predictions p "
        f"LEFT JOIN models m ON m.hash = p.model WHERE p.image_id = {image_id} ORDER BY p.model",
        [image],
    )
    answers: dict[str, list[Answer]] = {}
    suggestions: dict[str, Suggestion] = {}
    for task, who, label, source, confidence in labels:
        if source == "model":
            suggestions[task] = Suggestion(label, float(confidence or 0.0), decided=True)
        else:
            answers.setdefault(task, []).append(Answer(who, label, source))
    by_task: dict[str, list[Prediction]] = {}
    probs: dict[str, list[list[float]]] = {}
    for task, model, label, confidence, probs_json in predictions:
        by_task.setdefault(task, []).append(Prediction(model, label, float(confidence)))
        probs.setdefault(task, []).append(json.loads(probs_json))
    for task in tasks:
        if task.name in probs and task.name not in suggestions:
            mean = np.mean(np.asarray(probs[task.name], dtype=np.float64), axis=0)
            best = int(mean.argmax())
            if best < len(task.classes):
                suggestions[task.name] = Suggestion(task.classes[best], float(mean[best]), decided=False)
    return ItemContext(
        {t: tuple(a) for t, a in answers.items()}, {t: tuple(p) for t, p in by_task.items()}, suggestions
    )


def my_live_labels(store, annotator: str, task_names: Sequence[str]) -> pd.DataFrame:
    """This annotator's own live labels (source human): image, task, label."""
    mine = store.live_labels(sources=["human"], annotators=[annotator])
    return mine[mine["task"].isin(list(task_names))][["image", "task", "label"]].reset_index(drop=True)


QUEUES: dict[str, Queue] = {
    q.name: q for q in (UnlabeledQueue(), ReviewQueue(), ManualQueue(), UncertainQueue(), SuspectsQueue())
}


def get_queue(name: str) -> Queue:
    """The queue called `name`; a CelebaError listing the known queues otherwise."""
    try:
        return QUEUES[name]
    except KeyError:
        raise CelebaError(f"unknown queue {name!r} (queues: {', '.join(QUEUES)})") from None
