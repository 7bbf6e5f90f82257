"""Set-based selection shared by the queues: pending (image, task) pairs, shares, order."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from celeba_tui.labelling.queue_items import QueueItem, QueueOptions
from celeba_tui.vocabulary import PEOPLE_SOURCES

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


def sql_in_list(values: Sequence) -> str:
    return "(" + ",".join("?" * len(values)) + ")"


def sql_case(column: str, values: Sequence[str]) -> str:
    return f"CASE {column} " + " ".join(f"WHEN ? THEN {i}" for i in range(len(values))) + " END"


def names_of_tasks(tasks: Sequence) -> list[str]:
    return [getattr(t, "name", t) for t in tasks]


def present_images(store: LabelStore) -> tuple[np.ndarray, list[str]]:
    """(ids, names) of the images in the root, in name order."""
    rows = store.query("SELECT id, name FROM images WHERE present = 1 ORDER BY name")
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)), [r[1] for r in rows]


def people_status(store: LabelStore, annotator: str, task_names: Sequence[str]) -> np.ndarray:
    """Rows (image_id, task index, people, mine, reviewed) for every labelled (image, task)."""
    rows = store.query(
        f"SELECT v.image_id, {sql_case('v.task', task_names)}, COUNT(DISTINCT v.annotator_id), "
        "MAX(v.annotator_id = (SELECT id FROM annotators WHERE name = ?)) IS 1, MAX(v.source = 'review') "
        f"FROM live v WHERE v.source IN {sql_in_list(PEOPLE_SOURCES)} AND v.task IN {sql_in_list(task_names)} "
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


def items_from(names: Sequence[str], pending: np.ndarray, task_names: Sequence[str]) -> list[QueueItem]:
    """One item per image with a pending task; each task tuple is built once per pattern."""
    codes = pending.astype(np.int64) @ (1 << np.arange(len(task_names), dtype=np.int64))
    patterns = {code: tuple(t for j, t in enumerate(task_names) if code >> j & 1) for code in np.unique(codes)}
    rows = np.flatnonzero(codes)
    return [QueueItem(names[i], patterns[code]) for i, code in zip(rows.tolist(), codes[rows].tolist())]


def assigned_share(ids: np.ndarray, names: list[str], options: QueueOptions):
    """Images in this annotator's share and the number of people each one wants."""
    if options.assignment is None:
        return ids, names, np.ones(len(ids), dtype=np.int64)
    keep = options.assignment.mask(names)
    wanted = 1 + options.assignment.doubled(names).astype(np.int64)
    return ids[keep], [n for n, k in zip(names, keep) if k], wanted[keep]


def ordered_items(items: list[QueueItem], options: QueueOptions, prioritized: bool) -> list[QueueItem]:
    if not options.shuffle or prioritized:
        return items
    order = np.random.default_rng(options.seed).permutation(len(items))
    return [items[i] for i in order]


def open_items(store: LabelStore, annotator, task_names, ids, names, options) -> tuple[list[QueueItem], int]:
    """Items people have not finished among these images, and how many this annotator finished."""
    ids, names, wanted = assigned_share(ids, names, options)
    pending, mine = pending_matrix(ids, people_status(store, annotator, task_names), len(task_names), wanted)
    done = int((mine.all(axis=1) & ~pending.any(axis=1)).sum())
    return items_from(names, pending, task_names), done


def mask_to_share(pairs: pd.DataFrame, options: QueueOptions) -> pd.DataFrame:
    if options.assignment is None or pairs.empty:
        return pairs
    names = pairs["image"].drop_duplicates().tolist()
    keep = set(np.asarray(names, dtype=object)[options.assignment.mask(names)])
    return pairs[pairs["image"].isin(keep)]


def items_by_image(pairs: pd.DataFrame, task_names: Sequence[str]) -> list[QueueItem]:
    """One item per image from (image, task) rows, tasks in config order, images by name."""
    if pairs.empty:
        return []
    rank = {t: i for i, t in enumerate(task_names)}
    pairs = pairs.assign(_rank=pairs["task"].map(rank)).sort_values(["image", "_rank"])
    return [QueueItem(image, tuple(group["task"])) for image, group in pairs.groupby("image", sort=True)]


def items_by_priority(view: pd.DataFrame, column: str, task_names: Sequence[str]) -> list[QueueItem]:
    """Items ordered by each image's highest `column` over its tasks, highest first."""
    if view.empty:
        return []
    score = view.groupby("image")[column].max().sort_values(ascending=False, kind="stable")
    rank = {t: i for i, t in enumerate(task_names)}
    tasks = view.assign(_rank=view["task"].map(rank)).sort_values("_rank").groupby("image")["task"].agg(tuple)
    return [QueueItem(image, tasks[image]) for image in score.index]


def reviewed_count(store: LabelStore, annotator: str, task_names: Sequence[str]) -> int:
    return int(
        store.query(
            "SELECT COUNT(DISTINCT v.image_id) FROM live v JOIN annotators a ON a.id = v.annotator_id "
            f"WHERE a.name = ? AND v.source = 'review' AND v.task IN {sql_in_list(task_names)}",
            [annotator, *task_names],
        )[0][0]
    )


def current_pairs(store: LabelStore, status: str, task_names: Sequence[str]) -> pd.DataFrame:
    return store.frame(
        "SELECT i.name AS image, c.task, c.label FROM current c JOIN images i ON i.id = c.image_id "
        f"WHERE c.status = ? AND i.present = 1 AND c.task IN {sql_in_list(task_names)}",
        [status, *task_names],
    )
