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
file is imported last; exports write the answered time. An automatic label's time from a
file is kept the same way (`import_answers.older_model_labels` weighs it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from celeba_tui.vocabulary import ANNOTATOR_SOURCES

if TYPE_CHECKING:  # imported where used: `celeba stats` and `label` start without pandas
    import pandas as pd

ANSWERED = "answered"  # the `detail` key
FUTURE_SLACK_S = 600.0  # clocks disagree by minutes; an answer from later than that is no answer yet


def answered_details(times: pd.Series) -> pd.Series:
    """The `detail` JSON text of each row from its answered time (seconds since the epoch,
    NaN where a row's file did not say): None for those. Vectorised: 200,000 rows of a file."""
    text = f'{{"{ANSWERED}": ' + times.astype(float).map(repr) + "}"
    return text.astype(object).where(times.notna(), None)


def answer_times(labels: pd.DataFrame) -> pd.Series:
    """When each stored label was answered: `detail`'s `answered` where it has one an import
    could have written (exactly `answered_details`' text, from 1970 to now: a
    forged store's 1e308 is no time), else the time it was stored (`time`, as
    `LabelStore.live_labels` names `created`)."""
    import pandas as pd

    stored = labels["time"].astype(float)
    if "detail" not in labels:
        return stored
    details = labels["detail"].where(labels["detail"].map(lambda d: isinstance(d, str)), None).astype(object)
    found = details.str.extract(_ANSWERED_DETAIL, expand=False)
    answered = pd.to_numeric(found, errors="coerce")
    answered = answered.where(answered.between(0, time.time() + FUTURE_SLACK_S))
    return answered.fillna(stored)


RESTORES = "restores"  # the `detail` key of a label `annotators restore` wrote again: the id of the one it restores

# What `answered_details` writes: `{"answered": 1735725600.0}` (repr of a float), and what
# `annotators restore` writes for a person's label: `{"answered": 1735725600.0, "restores": 17}`.
_ANSWERED_DETAIL = r'^\{"' + ANSWERED + r'": (-?[0-9][0-9.eE+-]*)(?:, "' + RESTORES + r'": [0-9]+)?\}$'


def answered_only(details: pd.Series) -> pd.Series:
    """Which `detail` texts say only when a label was given (`answered_details`' text, a
    restore's id beside it): provenance, not a decision of its own."""
    text = details.where(details.map(lambda d: isinstance(d, str)), None).astype(object)
    return text.str.match(_ANSWERED_DETAIL).fillna(False).astype(bool)


def imported_with_time(details: pd.Series) -> pd.Series:
    """Which `detail` texts are an import's that said when the answer was given (exactly
    `answered_details`' text): not a restore's, which keeps the time of any answer it brings
    back, said or not (attack pass 38: a restored untimed import then stood against the
    corrected file, as if its time were known)."""
    text = details.where(details.map(lambda d: isinstance(d, str)), None).astype(object)
    return text.str.match(_IMPORTED_WITH_TIME).fillna(False).astype(bool)


_IMPORTED_WITH_TIME = r'^\{"' + ANSWERED + r'": (-?[0-9][0-9.eE+-]*)\}$'


def newest_answers(live: pd.DataFrame) -> pd.DataFrame:
    """`live` (live labels with their `id`) with each annotator's own answers (human, import)
    cut to their newest per image and task, as the store counts them: an imported label its
    annotator later changed by typing stays in the store's history but is not theirs now
    (exported or imported beside the new one, whichever row came last would become their
    answer). Pure."""
    import pandas as pd

    answers = live["source"].isin(ANNOTATOR_SOURCES)
    newest = live[answers].sort_values("id").drop_duplicates(["image", "task", "annotator"], keep="last")
    return pd.concat([newest, live[~answers]]).sort_index()
