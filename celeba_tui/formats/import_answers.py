"""Which of an import's answers stand: an older answer never overrides a newer one, and
files of one import may not leave it to their order which answer is an annotator's."""

from __future__ import annotations

import numpy as np
import pandas as pd

from celeba_tui.annotator_names import shown_name
from celeba_tui.errors import FormatError
from celeba_tui.store.answer_times import answer_times
from celeba_tui.vocabulary import ANNOTATOR_SOURCES


def older_than_stored(frame: pd.DataFrame, stored: pd.DataFrame) -> np.ndarray:
    """Which annotators' answers of an import (`time`: when answered, NaN where the file did
    not say) are older than the same annotator's newest answer for the image and task in
    the store (`stored`: their live `human`/`import` labels): those would override a newer
    answer only because the file was imported later. Pure."""
    older = np.zeros(len(frame), dtype=bool)
    timed = (frame["source"].isin(ANNOTATOR_SOURCES) & frame["time"].notna()).to_numpy()
    if stored.empty or not timed.any():
        return older
    newest = stored.sort_values("id").drop_duplicates(["image", "task", "annotator"], keep="last")
    newest = newest.assign(_answered=answer_times(newest))[["image", "task", "annotator", "_answered"]]
    rows = frame.loc[timed, ["image", "task", "annotator", "time"]].merge(
        newest, on=["image", "task", "annotator"], how="left"
    )
    older[np.flatnonzero(timed)] = (rows["time"] < rows["_answered"]).to_numpy()
    return older


def refuse_answers_differing_between_files(prepared: list) -> None:
    """A FormatError when two files of one import give one annotator different answers
    for an image and task, unless both say when (then the newer stands, as against the
    store): which is theirs would depend on the order the files were named in, as the
    same two rows in one file would on the row order (refused there too). `prepared`:
    importing.PreparedImport items."""
    if len(prepared) < 2:
        return
    columns = ["image", "task", "annotator", "label"]
    answers = [
        item.frame.loc[item.frame["source"].isin(ANNOTATOR_SOURCES) & _untimed(item.frame), columns].assign(_file=index)
        for index, item in enumerate(prepared)
    ]
    rows = pd.concat(answers, ignore_index=True).drop_duplicates(columns)
    key = ["image", "task", "annotator"]
    clashing = rows[rows.duplicated(key, keep=False)]  # in different files: one file's are refused on reading
    if clashing.empty:
        return
    first = clashing.iloc[0]
    second = clashing[(clashing[key] == first[key]).all(axis=1)].iloc[1]
    raise FormatError(
        prepared[second["_file"]].path,
        f"{shown_name(second['image'])} has two different {second['task']} labels by "
        f"{shown_name(second['annotator'])}: {second['label']} here, {first['label']} in "
        f"{prepared[first['_file']].path}; which is theirs would depend on the order the files are named in: "
        "import them one at a time, the older first (or give a time column)",
    )


def _untimed(frame: pd.DataFrame) -> pd.Series:
    return frame["time"].isna() if "time" in frame else pd.Series(True, index=frame.index)
