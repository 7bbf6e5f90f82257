"""What an export of current labels takes: the tasks asked for and the stored sources asked for.

An image's current label (see `LabelStore.current_labels`) was settled by stored
sources: a person's review decision by `review`, a merge's by `merge` (status `resolved`),
an automatic label by `model`, and the people's agreeing labels by `human`, `import` or
both (whichever of the two the agreeing annotators' live labels have). `--source S` keeps
a current label when one of its sources is in S, so it means exactly the source names
`celeba stats` counts: `--source human` is the labels typed in `celeba label` here,
`--source import` those read from files or other stores, `--source human,import,review`
the people's labels only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from celeba_tui.store.answers import newest_answers
from celeba_tui.store.label_store import LabelStore
from celeba_tui.vocabulary import ANNOTATOR_SOURCES, AUTOMATIC, CONFLICT, MERGE, MODEL, RESOLVED, REVIEW, REVIEWED
from celeba_tui.workspace import Task

# Why a current row was not kept.
NOT_KEPT_CONFLICT = "conflict"
NOT_KEPT_SOURCE = "source"
# Statuses (as shown) settled by one source; the others (agreed, single, conflict) by the people's labels.
_SOURCE_OF_STATUS = {REVIEWED: REVIEW, RESOLVED: MERGE, AUTOMATIC: MODEL}


@dataclass(frozen=True)
class CurrentSelection:
    """The current rows of the selected tasks and the people's labels behind them.

    `current`: image, task, label (None for a conflict), status, shown_status, present,
    sources (a sorted tuple of sources: the stored ones, a merge's decision `merge`), asked
    (one of them asked for), kept (a label, and asked) and why_not (None, "conflict" or
    "source"). `people`: the annotators' live labels
    (image, task, label, annotator, source) of the selected tasks and sources.
    """

    tasks: tuple[Task, ...]
    current: pd.DataFrame
    people: pd.DataFrame | None


def select_current(
    store: LabelStore, tasks: tuple[Task, ...], sources: list[str] | None, *, with_people: bool = False
) -> CurrentSelection:
    """The current labels of `tasks`, each marked kept or not for `sources` (None: every source).

    The people's labels are read (a second query) only where needed: to filter by
    source, or `with_people` for formats that write them.
    """
    names = [t.name for t in tasks]
    current = store.current_labels(with_shown_status=True)
    if len(names) < current["task"].nunique():
        current = current[current["task"].isin(names)].reset_index(drop=True)
    people = None
    if with_people or sources is not None:
        people = store.live_labels(sources=ANNOTATOR_SOURCES, brief=True)
        # Each annotator's newest answer, the one that counts (attack pass 37: `--source human`
        # kept an image whose typed answer the same person's newer import replaced).
        people = newest_answers(people[people["task"].isin(names)])
        people = people.drop(columns="id").reset_index(drop=True)
    current = mark_kept(current, people, sources)
    if people is not None and sources is not None:
        people = people[people["source"].isin(sources)].reset_index(drop=True)
    return CurrentSelection(tasks, current, people)


def mark_kept(current: pd.DataFrame, people: pd.DataFrame | None, sources: list[str] | None) -> pd.DataFrame:
    """Add `sources`, `asked`, `kept` and `why_not` to current rows with their `shown_status`
    (pure: frames in, frame out).

    Without `people` (no source filter asked for) `sources` is not worked out (None).
    """
    current = current.copy()
    status = current["status"].to_numpy(dtype=object)
    shown = current["shown_status"].to_numpy(dtype=object)  # current_labels(with_shown_status=True)
    labelled = current["label"].notna().to_numpy()
    if people is None:
        if sources is not None:
            raise ValueError("a source filter needs the people's labels")
        current["sources"] = None
        wanted = np.ones(len(current), dtype=bool)
    else:
        flags = {}
        for source in ANNOTATOR_SOURCES:
            keys = people.loc[people["source"] == source, ["image", "task"]].drop_duplicates()
            merged = current[["image", "task"]].merge(keys.assign(_has=True), on=["image", "task"], how="left")
            flags[source] = merged["_has"].fillna(False).to_numpy(dtype=bool)
        current["sources"] = [
            (_SOURCE_OF_STATUS[state],)
            if state in _SOURCE_OF_STATUS
            else tuple(s for s in ANNOTATOR_SOURCES if flags[s][i])
            for i, state in enumerate(shown)
        ]
        if sources is None:
            wanted = np.ones(len(current), dtype=bool)
        else:
            asked = set(sources)
            wanted = np.array([bool(asked.intersection(s)) for s in current["sources"]], dtype=bool)
    current["asked"] = wanted
    current["kept"] = labelled & wanted
    why_not = np.full(len(current), None, dtype=object)
    why_not[status == CONFLICT] = NOT_KEPT_CONFLICT
    why_not[labelled & ~wanted] = NOT_KEPT_SOURCE
    current["why_not"] = why_not
    return current
