"""Labelling queues: which images an annotator sees, in what order, with what context.

A queue is an object with a `name`, the label `source` its decisions are stored with,
and `build(store, workspace, annotator, tasks, options) -> QueueBuild` returning the
ordered items still to do. Selection is set-based (a few SQL aggregates over the
store's `live` and `current` tables, then numpy), never a loop over images. A queue
may also offer `first_page(...)`: the first items straight from SQL in milliseconds,
so the TUI shows an image while `build` counts the rest, and `open_tasks(...)`: an
item's tasks still open now, asked before each image is shown, so work others finished
since the queue was read is passed over. The TUI only calls these and
`item_context`; it never runs SQL itself.

Rules shared by all queues:

- An image is *done* for a task when this annotator has a live label for it, or
  enough people have (one; two for images an `--assign ... --overlap` share doubles),
  or a reviewer decided it. So resuming never shows what you labelled, and nobody
  relabels by accident.
- `review` walks the conflicts in each reviewer's own order (`personal_order`), the
  ones they answered themselves last.
- Model labels are not people's labels: they do not take an image out of `unlabelled`.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from celeba_tui.errors import CelebaError
from celeba_tui.labelling.assignment import personal_order
from celeba_tui.labelling.ensemble import class_order, mean_probability_view, probs_of_row, task_ensembles
from celeba_tui.labelling.queue_items import (  # noqa: F401  (re-exported: the queues' public types)
    Answer,
    ItemContext,
    Prediction,
    Queue,
    QueueBuild,
    QueueItem,
    QueueOptions,
    Suggestion,
)
from celeba_tui.labelling.selection import (
    conflicts_answered_by,
    current_pairs,
    int_codes,
    items_by_image,
    items_by_priority,
    items_from,
    labels_with_status,
    mask_to_share,
    names_of_tasks,
    open_items,
    ordered_items,
    present_images,
    reviewed_images,
    rows_of_ids,
    share_of,
    sql_in_list,
    still_open_tasks,
    tasks_decided_by_models,
    tasks_with_status,
)
from celeba_tui.vocabulary import AGREED, CONFLICT, PEOPLE_SOURCES

if TYPE_CHECKING:
    import pandas as pd  # imported where used: `celeba label` shows its first image without pandas

    from celeba_tui.store.label_store import LabelStore
    from celeba_tui.workspace import Workspace

SUSPECT_COLUMNS = ["image", "task", "human", "ensemble", "confidence"]


# ----------------------------------------------------------------- the queues
class UnlabelledQueue:
    name = "unlabelled"
    source = "human"
    shows_answers = False
    prioritized = False

    def build(self, store: LabelStore, workspace: Workspace, annotator, tasks, options):
        task_names = names_of_tasks(tasks)
        ids, names = present_images(store)
        items, done, by_others = open_items(store, annotator, task_names, ids, names, options)
        return QueueBuild(ordered_items(items, options, False), done, by_others)

    def open_tasks(self, store: LabelStore, workspace: Workspace, annotator, item, options) -> tuple[str, ...]:
        """The item's tasks people have not finished (others may have, since the queue was read)."""
        return still_open_tasks(store, annotator, item.image, item.tasks, options)

    def first_page(
        self, store: LabelStore, workspace: Workspace, annotator, tasks, options, limit: int
    ) -> list[QueueItem] | None:
        """The first `limit` items of `build` in one indexed SQL walk; None where that needs `build`."""
        if options.shuffle or options.assignment is not None:
            return None
        task_names = names_of_tasks(tasks)
        missing = " + ".join(
            f"(NOT EXISTS (SELECT 1 FROM live v WHERE v.image_id = i.id AND v.task = ? "
            f"AND v.source IN {sql_in_list(PEOPLE_SOURCES)})) * {1 << j}"
            for j in range(len(task_names))
        )
        params = [p for task in task_names for p in (task, *PEOPLE_SOURCES)]
        # Images this person passed over come after the others: `build` brings them at the end.
        skipped = store.skipped_images(annotator, task_names)
        not_skipped = "AND i.name NOT IN (SELECT value FROM json_each(?))" if skipped else ""
        rows = store.query(
            f"SELECT name, code FROM (SELECT i.name AS name, {missing} AS code FROM images i "
            f"WHERE i.present = 1 {not_skipped} ORDER BY i.name) WHERE code > 0 LIMIT ?",
            [*params, *([json.dumps(sorted(skipped))] if skipped else []), limit],
        )
        if not rows and skipped:  # only images passed over may be left: `build` says
            return None
        return [QueueItem(name, tuple(t for j, t in enumerate(task_names) if code >> j & 1)) for name, code in rows]


class ReviewQueue:
    name = "review"
    source = "review"
    shows_answers = True
    prioritized = False

    def build(self, store: LabelStore, workspace: Workspace, annotator, tasks, options):
        """The conflicts in the reviewer's own order (see `personal_order`), the ones they
        answered themselves last: a neutral reviewer settles those first."""
        task_names = names_of_tasks(tasks)
        conflicts = mask_to_share(current_pairs(store, "conflict", task_names), options)
        items = items_by_image(conflicts, task_names)
        if options.shuffle:  # the seed's order, asked for
            items = ordered_items(items, options, False)
        else:
            items = [items[i] for i in personal_order([item.image for item in items], annotator).tolist()]
        parties = conflicts_answered_by(store, annotator, task_names)
        items = [item for item in items if item.image not in parties] + [i for i in items if i.image in parties]
        mine, others = reviewed_images(store, annotator, task_names, disputed_only=True)
        still_open = {item.image for item in items}
        return QueueBuild(items, len(mine - still_open), len(share_of(others - still_open, options)))

    def open_tasks(self, store: LabelStore, workspace: Workspace, annotator, item, options) -> tuple[str, ...]:
        """The item's tasks still in conflict (another reviewer may have settled some meanwhile)."""
        return tasks_with_status(store, item.image, item.tasks, CONFLICT)


# ------------------------------------------------------------ the ensemble
class _PredictionQueue:
    """Shared part of the queues built from the predictions table."""

    source = "human"
    shows_answers = False
    prioritized = False

    def _open_pairs(
        self, store: LabelStore, annotator, task_names, options
    ) -> tuple[list[str], np.ndarray, np.ndarray, tuple[int, int]]:
        """(names, ids, open pairs, counts): the present images with a prediction in name order,
        their (images x tasks) pairs with a prediction people have not finished, and how many
        of them this annotator finished and others finished."""
        ids_text, names_json = store.query(
            "SELECT group_concat(id), json_group_array(name) FROM (SELECT id, name FROM images WHERE present = 1 "
            f"AND id IN (SELECT image_id FROM predictions WHERE task IN {sql_in_list(task_names)}) ORDER BY name)",
            task_names,
        )[0]
        ids, names = int_codes(ids_text), json.loads(names_json)
        if len(ids) != len(names):  # group_concat and json_group_array saw different rows: never expected
            raise CelebaError("the store changed while it was read; try again")
        pairs = np.zeros((len(ids), len(task_names)), dtype=bool)
        if not len(ids):
            return names, ids, pairs, (0, 0)
        for t, task in enumerate(task_names):
            predicted = store.query("SELECT group_concat(DISTINCT image_id) FROM predictions WHERE task = ?", [task])
            pairs[rows_of_ids(ids, int_codes(predicted[0][0]))[0], t] = True
        # Done and done by others: over the tasks some image has a prediction for (an autolabel
        # of one task must not leave its images unfinished for want of the other's labels).
        predicted_tasks = [task for t, task in enumerate(task_names) if pairs[:, t].any()]
        before = settled_before_predicted(store, predicted_tasks)
        items, *counts = open_items(store, annotator, predicted_tasks, ids, names, options, uncounted=before)
        # The items back to a matrix: a row per item, its tasks as a bit mask (one per distinct task tuple).
        row_of = {name: i for i, name in enumerate(names)}
        code_of = {tasks: sum(1 << task_names.index(t) for t in tasks) for tasks in {item.tasks for item in items}}
        rows = np.fromiter((row_of[item.image] for item in items), dtype=np.int64, count=len(items))
        codes = np.fromiter((code_of[item.tasks] for item in items), dtype=np.int64, count=len(items))
        pending = np.zeros_like(pairs)
        pending[rows] = ((codes[:, None] >> np.arange(len(task_names))) & 1).astype(bool)
        return names, ids, pairs & pending, tuple(counts)

    def open_tasks(self, store: LabelStore, workspace: Workspace, annotator, item, options) -> tuple[str, ...]:
        """The item's tasks people have not finished (others may have, since the queue was read)."""
        return still_open_tasks(store, annotator, item.image, item.tasks, options)


def settled_before_predicted(store: LabelStore, task_names: list[str]) -> np.ndarray:
    """Ids of the images people had labelled (any of these tasks) before the latest autolabel
    decided (or, where a store does not record when, before the image's latest prediction):
    what the models learnt from or the latest autolabel found settled, never in its queue,
    whoever labels them since; and labels given in an earlier autolabel's queue, that queue's
    work, not this one's. The rest counts as done once people finish it."""
    if not task_names:
        return np.empty(0, dtype=np.int64)
    people = sql_in_list(PEOPLE_SOURCES)
    tasks = sql_in_list(task_names)
    decided = store.latest_decision_time(list(task_names)) or 0.0
    text = store.query(
        "SELECT group_concat(image_id) FROM (SELECT v.image_id FROM live v JOIN labels l ON l.id = v.label_id "
        f"WHERE v.source IN {people} AND v.task IN {tasks} GROUP BY v.image_id "
        "HAVING MIN(l.created) < MAX(?, COALESCE((SELECT MAX(p.created) FROM predictions p "
        f"WHERE p.image_id = v.image_id AND p.task IN {tasks}), 0)))",
        [*PEOPLE_SOURCES, *task_names, decided, *task_names],
    )[0][0]
    return int_codes(text)


def decided_tasks(store: LabelStore, task_names: list[str]) -> list[str]:
    """The tasks of `task_names` an `autolabel` decided: it recorded its ensemble (last, once
    every decision was stored), or a model decision of the task is in the history (a store
    auto-labelled before runs recorded their ensemble)."""
    finished = store.latest_ensembles()
    return [
        name
        for name in task_names
        if name in finished
        or store.query("SELECT EXISTS (SELECT 1 FROM labels WHERE source = 'model' AND task = ?)", [name])[0][0]
    ]


class ManualQueue(_PredictionQueue):
    name = "manual"

    def build(self, store: LabelStore, workspace: Workspace, annotator, tasks, options):
        # Only tasks an `autolabel` finished deciding: one stopped after storing its
        # predictions (killed, a full disk) decided nothing, and would send every image.
        task_names = decided_tasks(store, names_of_tasks(tasks))
        if not task_names:
            return QueueBuild([], 0, 0)
        names, ids, pairs, counts = self._open_pairs(store, annotator, task_names, options)
        for t, task in enumerate(task_names):  # a stored model decision takes the pair out
            decided = store.query(
                "SELECT group_concat(DISTINCT image_id) FROM live WHERE source = 'model' AND task = ?", [task]
            )
            pairs[rows_of_ids(ids, int_codes(decided[0][0]))[0], t] = False
        return QueueBuild(ordered_items(items_from(names, pairs, task_names), options, False), *counts)

    def open_tasks(self, store: LabelStore, workspace: Workspace, annotator, item, options) -> tuple[str, ...]:
        """The item's tasks people have not finished and no model decided (autolabel may have, meanwhile)."""
        decided = set(tasks_decided_by_models(store, item.image))
        return tuple(t for t in still_open_tasks(store, annotator, item.image, item.tasks, options) if t not in decided)


class UncertainQueue(_PredictionQueue):
    name = "uncertain"
    prioritized = True

    def build(self, store: LabelStore, workspace: Workspace, annotator, tasks, options):
        """Most uncertain first: each image by its highest uncertainty over its open tasks (ties by name, NaN last)."""
        task_names = names_of_tasks(tasks)
        names, ids, pairs, counts = self._open_pairs(store, annotator, task_names, options)
        if not pairs.any():
            return QueueBuild([], *counts)
        uncertainty = np.full(pairs.shape, np.nan)
        viewed = np.zeros_like(pairs)
        for t, ensemble in enumerate(task_ensembles(store, tasks)):
            rows, present = rows_of_ids(ids, ensemble.image_ids)
            uncertainty[rows, t] = 1.0 - ensemble.confidence[present]
            viewed[rows, t] = True
        pairs &= viewed
        score = np.fmax.reduce(np.where(pairs, uncertainty, np.nan), axis=1)  # fmax: a NaN loses
        rows = np.flatnonzero(pairs.any(axis=1))
        order = np.argsort(np.where(np.isnan(score[rows]), np.inf, -score[rows]), kind="stable")  # NaN last
        items = items_from(names, pairs, task_names)  # the rows in name order
        return QueueBuild([items[i] for i in order.tolist()], *counts)


class SuspectsQueue(_PredictionQueue):
    """The suspects the latest `celeba autolabel` found (one definition: see
    `celeba_tui.autolabel.rules.contradictions`), while the annotators' agreed label
    they contradict still stands; a review decision takes an image out."""

    name = "suspects"
    source = "review"
    shows_answers = True
    prioritized = True

    def build(self, store: LabelStore, workspace: Workspace, annotator, tasks, options):
        task_names = names_of_tasks(tasks)
        mine, others = reviewed_images(store, annotator, task_names)
        suspects = read_suspects(workspace.suspects_path)
        suspected = set(suspects["image"])
        items = []
        if not suspects.empty:
            agreed = current_pairs(store, "agreed", task_names)
            standing = suspects.merge(agreed, on=["image", "task"])
            standing = standing[standing["label"] == standing["human"]]
            items = items_by_priority(mask_to_share(standing, options), "confidence", task_names)
        # Done: suspects reviewed, and no longer open (one task of an image reviewed, another open).
        reviewed = suspected - {item.image for item in items}
        return QueueBuild(items, len(mine & reviewed), len(share_of(others & reviewed, options)))

    def open_tasks(self, store: LabelStore, workspace: Workspace, annotator, item, options) -> tuple[str, ...]:
        """The item's tasks whose suspected agreed label still stands (a reviewer, or the
        annotators changing their answers, may have settled it meanwhile)."""
        suspected = suspected_labels(workspace.suspects_path)
        agreed = dict(labels_with_status(store, item.image, AGREED))
        return tuple(t for t in item.tasks if t in agreed and agreed[t] == suspected.get((item.image, t)))


def suspected_labels(path) -> dict[tuple[str, str], str]:
    """(image, task) -> the agreed label the suspects file contradicts, read once per version of the file."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return {}
    return _suspected_labels(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _suspected_labels(path: str, _mtime_ns: int, _size: int) -> dict[tuple[str, str], str]:
    frame = read_suspects(path)
    return dict(zip(zip(frame["image"], frame["task"]), frame["human"]))


def read_suspects(path) -> pd.DataFrame:
    """`celeba autolabel`'s suspects file (empty when it has not run); a damaged file is a one-line error."""
    import pandas as pd

    try:
        # Names as written: "NA", "null" or "None" are names here, not missing values.
        frame = pd.read_csv(
            path,
            dtype={"image": str, "task": str, "human": str, "ensemble": str},
            keep_default_na=False,
            na_values={"confidence": ["", "nan", "NaN"]},
        )
    except FileNotFoundError:
        return pd.DataFrame(columns=SUSPECT_COLUMNS)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise CelebaError(f"{path}: unreadable suspects file ({exc}); rerun `celeba autolabel`") from None
    if list(frame.columns) != SUSPECT_COLUMNS:
        raise CelebaError(f"{path}: not a suspects file written by `celeba autolabel`; rerun it")
    if frame.empty:  # autolabel found none: it writes the header alone
        return pd.DataFrame(columns=SUSPECT_COLUMNS)
    if not pd.api.types.is_numeric_dtype(frame["confidence"]):
        raise CelebaError(f"{path}: not a suspects file written by `celeba autolabel`; rerun it")
    return frame


# ------------------------------------------------------------ per-image context
def item_context(store: LabelStore, image: str, tasks: Sequence) -> ItemContext:
    """Everyone's live answers, each model's prediction and the ensemble's view of `image`."""
    image_id = "(SELECT id FROM images WHERE name = ?)"
    labels = store.query(
        "SELECT v.task, a.name, v.label, v.source, l.confidence FROM live v "
        "JOIN annotators a ON a.id = v.annotator_id JOIN labels l ON l.id = v.label_id "
        f"WHERE v.image_id = {image_id} ORDER BY a.name, v.label_id",
        [image],
    )
    predictions = store.query(
        "SELECT p.task, p.model, COALESCE(m.name, p.model), p.label, p.confidence, p.probs FROM predictions p "
        f"LEFT JOIN models m ON m.hash = p.model WHERE p.image_id = {image_id} ORDER BY p.model",
        [image],
    )
    # After a later round (self-training, another ensemble) only its models speak for a task.
    latest = store.latest_ensembles()
    answers: dict[str, list[Answer]] = {}
    suggestions: dict[str, Suggestion] = {}
    for task, who, label, source, confidence in labels:
        if source == "model":
            suggestions[task] = Suggestion(label, float(confidence or 0.0), decided=True)
        else:
            answers.setdefault(task, []).append(Answer(who, label, source))
    by_task: dict[str, list[Prediction]] = {}
    probs: dict[str, list[list[float]]] = {}
    known = {task.name: task for task in tasks}
    orders: dict[str, dict] = {}  # asked only for the tasks this image has predictions of
    for task, key, model, label, confidence, probs_json in predictions:
        if task not in known or (task in latest and key not in latest[task]):
            continue
        if task not in orders:
            orders[task] = store.model_classes(task)
        classes = orders[task].get(key) or known[task].classes
        values = probs_of_row(probs_json, len(classes))  # as the ensemble view reads them
        if values is None:
            continue
        if classes != known[task].classes:
            # Classes reordered in celeba.toml since: read in the model's order, or not at all.
            order = class_order(classes, known[task].classes)
            if order is None:
                continue
            values = [values[i] for i in order]
        by_task.setdefault(task, []).append(Prediction(model, label, float(confidence)))
        probs.setdefault(task, []).append(values)
    for task in tasks:
        if task.name in probs and task.name not in suggestions:
            # The mean over the models as the uncertain queue and browse take it (NaN skipped).
            rows = np.asarray(probs[task.name], dtype=np.float64)
            _, best, confidence = mean_probability_view(np.zeros(len(rows), dtype=np.int64), rows)
            suggestions[task.name] = Suggestion(task.classes[int(best[0])], float(confidence[0]), decided=False)
    return ItemContext(
        {t: tuple(a) for t, a in answers.items()}, {t: tuple(p) for t, p in by_task.items()}, suggestions
    )


def my_live_labels(store: LabelStore, annotator: str, task_names: Sequence[str]) -> pd.DataFrame:
    """This annotator's own live labels (source human): image, task, label."""
    mine = store.live_labels(sources=["human"], annotators=[annotator])
    return mine[mine["task"].isin(list(task_names))][["image", "task", "label"]].reset_index(drop=True)


class OneImageQueue:
    """`celeba label --image NAME`: exactly that image, every task, whatever its state.

    Its decisions are stored with the source of the queue it was opened from (a reviewer
    opening an image from the review queue decides as a reviewer).
    """

    prioritized = False

    def __init__(self, image: str, like: Queue):
        self.image = image
        self.name = f"image {image}"
        self.source = like.source
        self.shows_answers = True

    def build(self, store: LabelStore, workspace: Workspace, annotator, tasks, options):
        return QueueBuild([QueueItem(self.image, tuple(names_of_tasks(tasks)))], 0)


QUEUES: dict[str, Queue] = {
    q.name: q for q in (UnlabelledQueue(), ReviewQueue(), ManualQueue(), UncertainQueue(), SuspectsQueue())
}
# Other spellings a person may type for a queue's name.
QUEUE_ALIASES = {"unlabeled": "unlabelled"}


def queue_name(name: str) -> str:
    """The queue's own name for `name` (an alias such as "unlabeled" included); a CelebaError if none."""
    name = QUEUE_ALIASES.get(name, name)
    if name not in QUEUES:
        from celeba_tui.annotator_names import shown_name
        from celeba_tui.console import did_you_mean

        meant = did_you_mean(name, QUEUES, QUEUE_ALIASES)
        raise CelebaError(f"unknown queue {shown_name(name)} ({meant}queues: {', '.join(QUEUES)})")
    return name


def get_queue(name: str) -> Queue:
    """The queue called `name` (or an alias of it); a CelebaError listing the known queues otherwise."""
    return QUEUES[queue_name(name)]
