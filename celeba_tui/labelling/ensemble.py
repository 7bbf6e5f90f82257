"""The ensemble's view of the stored predictions: per image and task, the class with the
highest mean probability over the models, and that mean (the `uncertain` and `manual`
queues' definition, and `celeba browse`'s confidence).

Read set-based: two group_concat strings per task from SQL, checked and parsed with numpy
and one json.loads, never a DataFrame per row. Predictions whose probabilities are not a
list of one number (or null) per class are left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from celeba_tui.labelling.selection import int_codes

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


@dataclass(frozen=True)
class TaskEnsemble:
    """One task's ensemble: per image with a usable prediction (ids ascending), the class of
    the highest mean probability over the models and that mean (NaN where a class's mean is)."""

    task: str
    image_ids: np.ndarray
    best: np.ndarray
    confidence: np.ndarray


def task_ensembles(store: LabelStore, tasks: Sequence) -> list[TaskEnsemble]:
    """Each task's ensemble from the predictions table, tasks in config order (present or not: callers filter).

    Only the models that decided the task last speak for it (`latest_ensembles`), and each
    model's probabilities are read in the order of its own classes, so a task whose classes
    were reordered in celeba.toml since reads them right (a model whose classes are no
    longer the task's is left out). Two group_concat strings per task and model group,
    checked and parsed with numpy and one json.loads: no Python object per prediction row.
    """
    latest = store.latest_ensembles()
    ensembles = []
    for task in tasks:
        wanted = latest.get(task.name)  # None: every model that predicted the task
        orders = store.model_classes(task.name)
        moved = {key: classes for key, classes in orders.items() if classes is not None and classes != task.classes}
        named = [key for key in (orders if wanted is None else wanted) if key not in moved]
        parts = [_read_predictions(store, task, named, wanted is None)]
        for key, classes in moved.items():
            order = class_order(classes, task.classes)
            if order is not None and (wanted is None or key in wanted):
                ids, probs = _read_predictions(store, task, [key], False)
                parts.append((ids, probs[:, order]))
        ids = np.concatenate([part[0] for part in parts])
        probs = np.concatenate([part[1] for part in parts])
        keys, best, confidence = mean_probability_view(ids, probs)
        ensembles.append(TaskEnsemble(task.name, keys, best, confidence))
    return ensembles


def class_order(model_classes: Sequence[str], task_classes: Sequence[str]) -> np.ndarray | None:
    """Column indices that put a model's probabilities in the task's class order; None when
    the model's classes are not the task's in some order (renamed, added, removed). Pure."""
    if len(model_classes) != len(task_classes) or set(model_classes) != set(task_classes):
        return None
    return np.asarray([list(model_classes).index(name) for name in task_classes], dtype=np.int64)


def _read_predictions(store: LabelStore, task, models: list[str], every_other: bool) -> tuple[np.ndarray, np.ndarray]:
    """(image ids, probs) of the usable predictions of `task` by `models`, or, with
    `every_other`, by every model but those of the task registered with other classes."""
    n = len(task.classes)
    if every_other:
        where = (
            "task = ? AND model NOT IN (SELECT hash FROM models WHERE task = ? AND hash NOT IN "
            "(SELECT value FROM json_each(?)))"
        )
        args = [task.name, task.name, json.dumps(models)]
    else:
        where, args = "task = ? AND model IN (SELECT value FROM json_each(?))", [task.name, json.dumps(models)]
    ids_text, joined = store.query(
        f"SELECT group_concat(image_id), group_concat(probs, char(10)) FROM predictions WHERE {where}", args
    )[0]
    ids = int_codes(ids_text)
    if isinstance(joined, str) and joined.count("\n") + 1 == len(ids):
        probs, usable = _parse_lines(joined, None, len(ids), n)
    else:  # no rows, or a probs value holds a newline or is no text: read the rows one by one
        rows = store.query(f"SELECT image_id, probs FROM predictions WHERE {where}", args)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        probs, usable = parse_probs([r[1] for r in rows], n)
    return ids[usable], probs[usable]


def parse_probs(texts: Sequence[str], n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(probs: rows x n_classes float64, usable: bool per row) from the rows' JSON texts. Pure.

    A row is usable when its JSON is a list of `n_classes` numbers or nulls (a null is NaN;
    NaN and Infinity read as Python's json reads them); other rows (unreadable, another
    length, strings, booleans, no text) are left out: their row is NaN.
    """
    try:
        joined = "\n".join(texts)
    except TypeError:  # a value that is no text
        joined = None
    return _parse_lines(joined, texts, len(texts), n_classes)


def _parse_lines(joined: str | None, rows: Sequence | None, n_rows: int, n_classes: int):
    """`parse_probs` of `rows` (None: `joined` split at newlines), `joined` being them joined by newlines.

    The common case, every row a list of plain numbers, is one json.loads of all the
    numbers at once, the rows' shape checked on the bytes by numpy; anything else is read
    row by row.
    """
    if n_rows == 0:
        return np.empty((0, n_classes)), np.zeros(0, dtype=bool)
    plain = None if joined is None else _plain_rows(joined, n_rows, n_classes)
    if plain is not None:
        return plain, np.ones(n_rows, dtype=bool)
    probs = np.full((n_rows, n_classes), np.nan)
    usable = np.zeros(n_rows, dtype=bool)
    for i, text in enumerate(joined.split("\n") if rows is None else rows):
        values = probs_of_row(text, n_classes)
        if values is not None:
            probs[i], usable[i] = values, True
    return probs, usable


_PLAIN_BYTES = np.zeros(256, dtype=bool)
_PLAIN_BYTES[np.frombuffer(b"0123456789.eE+-, []\n", dtype=np.uint8)] = True


def _plain_rows(joined: str, n_rows: int, n_classes: int) -> np.ndarray | None:
    """Lines of `[number, ...]` (n_classes each) as an array; None where any line is not that plain."""
    try:
        data = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None
    if not len(data) or not _PLAIN_BYTES[data].all():  # letters (NaN, null, true, "...") and the rest: row by row
        return None
    breaks = np.flatnonzero(data == ord("\n"))
    if len(breaks) != n_rows - 1:
        return None
    starts, ends = np.concatenate(([0], breaks + 1)), np.concatenate((breaks - 1, [len(data) - 1]))
    opens, closes = np.flatnonzero(data == ord("[")), np.flatnonzero(data == ord("]"))
    if not (np.array_equal(opens, starts) and np.array_equal(closes, ends)):  # one [ at each start, one ] at each end
        return None
    if not (np.add.reduceat(data == ord(","), starts, dtype=np.int64) == n_classes - 1).all():
        return None
    body = joined.replace("[", "").replace("]", "").replace("\n", ",")
    try:  # json.loads: exactly JSON's numbers ("01", ".5", "1." are none here either)
        values = np.asarray(json.loads("[" + body + "]"), dtype=np.float64)
    except (ValueError, OverflowError):
        return None
    return values.reshape(n_rows, n_classes) if values.size == n_rows * n_classes else None


def probs_of_row(text, n_classes: int) -> list[float] | None:
    """One row's probabilities (null: NaN), or None where it is no list of n_classes numbers."""
    try:
        values = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(values, list) or len(values) != n_classes:
        return None
    if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
        return None
    try:
        return [np.nan if v is None else float(v) for v in values]
    except OverflowError:  # an integer too large for a float
        return None


def mean_probability_view(keys: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct keys ascending, best class, confidence): the models' mean probabilities per key. Pure.

    The mean of a class skips NaN (sums in row order); a class all NaN is NaN, and then wins
    the argmax and makes the confidence NaN (numpy's argmax/max: the view pandas gave).
    """
    if len(keys) == 0:
        return np.asarray(keys)[:0], np.empty(0, dtype=np.int64), np.empty(0)
    groups, at = np.unique(keys, return_inverse=True)
    at = at.reshape(-1)
    known = ~np.isnan(probs)
    values = np.where(known, probs, 0.0)
    counts = np.stack([np.bincount(at, weights=known[:, j], minlength=len(groups)) for j in range(probs.shape[1])], 1)
    sums = np.stack([np.bincount(at, weights=values[:, j], minlength=len(groups)) for j in range(probs.shape[1])], 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / counts, np.nan)
    return groups, mean.argmax(axis=1), mean.max(axis=1)
