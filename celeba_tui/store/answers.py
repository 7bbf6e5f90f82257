"""A person's answers: which label is theirs now, and when they gave it.

Each annotator counts once per image and task, by their newest answer (`human` and
`import` rows are one voice): `newest_answers`.

When a person gave an answer can differ from when the store received it.

A label typed in `celeba label` is stored the moment it is given (`labels.created`). A label
imported from a file that says when it was given (a long CSV's or Parquet file's `time`,
another store's history) keeps that moment in its provenance (`detail`, key `answered`):
`created` stays the moment of the import, which the store's order and the queues rely on.
An import leaves out an answer older than the one its annotator already has in the store
(`importing.write_imports`), so an older file never overrides a newer answer, whichever
file is imported last; exports write the answered time.
"""

from __future__ import annotations

import json
import time

import pandas as pd

from celeba_tui.vocabulary import ANNOTATOR_SOURCES

ANSWERED = "answered"  # the `detail` key


def answered_details(times: pd.Series) -> pd.Series:
    """The `detail` JSON text of each row from its answered time (seconds since the epoch,
    NaN where a row's file did not say): None for those."""
    return times.map(lambda t: None if pd.isna(t) else json.dumps({ANSWERED: float(t)}))


def answer_times(labels: pd.DataFrame) -> pd.Series:
    """When each stored label was answered: `detail`'s `answered` where it has one, else the
    time it was stored (`time`, as `LabelStore.live_labels` names `created`)."""
    answered = labels["detail"].map(_answered) if "detail" in labels else None
    stored = labels["time"].astype(float)
    return stored if answered is None else answered.astype(float).fillna(stored)


def _answered(detail) -> float | None:
    """The `answered` time in a detail, where it is one an import could have written (from
    1970 to a day ahead of now: a forged store's 1e308 is no time)."""
    if not isinstance(detail, str) or ANSWERED not in detail:
        return None
    try:
        value = json.loads(detail).get(ANSWERED)
    except (ValueError, AttributeError):  # a detail that is not a JSON object
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= time.time() + 86_400:
        return None
    return float(value)


def newest_answers(live: pd.DataFrame) -> pd.DataFrame:
    """`live` (live labels with their `id`) with each annotator's own answers (human, import)
    cut to their newest per image and task, as the store counts them: an imported label its
    annotator later changed by typing stays in the store's history but is not theirs now
    (exported or imported beside the new one, whichever row came last would become their
    answer). Pure."""
    answers = live["source"].isin(ANNOTATOR_SOURCES)
    newest = live[answers].sort_values("id").drop_duplicates(["image", "task", "annotator"], keep="last")
    return pd.concat([newest, live[~answers]]).sort_index()
