"""Which of an import's answers stand: an older answer never overrides a newer one, and
files of one import may not leave it to their order which answer is someone's.

An answer here is a person's label of an image for a task: an annotator's own (`human`
and `import` rows are one voice, as the store counts them) or a reviewer's decision
(`review`). When a file says when its answers were given (`time`), each is compared with
the same person's newest answer of that voice in the store (store.answers): older,
it is left out; the same class, it is nothing new; else it is written. Answers without a
time are written unless the same row is live already (`LabelStore.add_labels`), and never
over the person's live answer given here, typed or a review, or one whose time is known
(`against_given_answers`): one that repeats it is nothing new, one that differs cannot be
weighed against it, and the stored answer stands; one that differs from an untimed earlier
import of theirs replaces it (a corrected file imported again), and is counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from celeba_tui.annotator_names import shown_name
from celeba_tui.errors import FormatError
from celeba_tui.store.answers import answer_times, imported_with_time, newest_answers
from celeba_tui.vocabulary import ANNOTATOR_SOURCES, HUMAN, MODEL, REVIEW

# Exports keep microseconds, the store keeps a float: times this close are the same moment.
SAME_MOMENT_S = 0.001
KEY = ["image", "task", "annotator", "_voice"]


def voices(sources: pd.Series) -> pd.Series:
    """Whose answer a row is: `answer` (human, import), `review`, or None (a model's label)."""
    voice = np.where(sources.isin(ANNOTATOR_SOURCES), "answer", np.where(sources == REVIEW, REVIEW, None))
    return pd.Series(voice, index=sources.index, dtype=object)


def timed_answers(frame: pd.DataFrame) -> np.ndarray:
    """The rows of an import that are people's answers with a time."""
    if "time" not in frame:
        return np.zeros(len(frame), dtype=bool)
    return (voices(frame["source"]).notna() & frame["time"].notna()).to_numpy()


def compare_with_stored(
    frame: pd.DataFrame, newest: pd.DataFrame, timed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For an import's timed answers (`timed`: `timed_answers(frame)`): which are older than
    the same person's newest answer of that voice in the store (`newest`: `newest_by_voice`
    of their live rows of the people's sources), which give the class that answer gives
    (nothing new), and which would replace one (the rest are new). Pure."""
    older, same, replacing = (np.zeros(len(frame), dtype=bool) for _ in range(3))
    if newest.empty or not timed.any():
        return older, same, replacing
    newest = newest[[*KEY, "label", "_answered"]]
    rows = frame.loc[timed, ["image", "task", "annotator", "label", "time"]].assign(
        _voice=voices(frame.loc[timed, "source"])
    )
    rows = rows.merge(newest.rename(columns={"label": "_stored"}), on=KEY, how="left")
    older[np.flatnonzero(timed)] = (rows["time"] < rows["_answered"] - SAME_MOMENT_S).to_numpy()
    same[np.flatnonzero(timed)] = (rows["label"] == rows["_stored"]).to_numpy()
    replacing[np.flatnonzero(timed)] = rows["_stored"].notna().to_numpy()
    return older, same & ~older, replacing & ~older & ~same


def received_before_stored(
    frame: pd.DataFrame, newest: pd.DataFrame, received: pd.DataFrame, replacing: np.ndarray
) -> np.ndarray:
    """Which of an import's timed answers that would replace the same person's answer in the
    store (`replacing`; `newest` as for `compare_with_stored`) the store received before,
    the same class given at the same moment (`received`: `LabelStore.received_answers`),
    before the person gave the answer that stands (when they answered: typed after it came
    in): that answer is the newer one, whatever the clocks say (attack pass 39: a file whose
    times ran minutes ahead, within the clocks' slack, imported again replaced an answer
    typed after its first import). An answer that stands from a file that says it was given
    earlier does not count (attack pass 40: imported after a withdrawal, it kept the newer
    answer out). Pure."""
    found = np.zeros(len(frame), dtype=bool)
    if received.empty or not replacing.any():
        return found
    newest = newest[[*KEY, "_answered"]].rename(columns={"_answered": "_stands_since"})
    earlier = received.assign(_voice=voices(received["source"]), _answered=answer_times(received))
    earlier = earlier[[*KEY, "label", "_answered", "time"]].rename(columns={"time": "_received"})
    rows = frame.loc[replacing, ["image", "task", "annotator", "label", "time"]].assign(
        _voice=voices(frame.loc[replacing, "source"]), _row=np.flatnonzero(replacing)
    )
    rows = rows.merge(newest, on=KEY, how="inner").merge(earlier, on=[*KEY, "label"], how="inner")
    hit = ((rows["time"] - rows["_answered"]).abs() <= SAME_MOMENT_S) & (rows["_received"] < rows["_stands_since"])
    found[rows.loc[hit, "_row"].unique()] = True
    return found


def newest_by_voice(stored: pd.DataFrame) -> pd.DataFrame:
    """Each person's newest stored answer of each voice (`stored`: live rows with `id`), with
    `_voice` and when it was given (`_answered`)."""
    stored = stored.assign(_voice=voices(stored["source"]), _answered=answer_times(stored))
    return stored.sort_values("id").drop_duplicates(KEY, keep="last")


def older_model_labels(
    frame: pd.DataFrame, newest: pd.DataFrame, decided: dict[str, float], live: pd.DataFrame
) -> np.ndarray:
    """Which of an import's automatic labels (source `model`) with a time are older than the
    newest automatic row, a label or its undo, of their image, task and annotator in the store
    (`newest`: `LabelStore.newest_row_times`), or than the latest `autolabel` decision of
    their task (`decided`: task -> when; its ensemble decided every image it predicted, and
    sent some to people): an older export imported back would bring back labels a later
    ensemble withdrew, replaced or never gave (attack passes 26 and 27). One that is the live
    automatic label as it stands (`live`: image, task, annotator, label, model), the
    workspace's own export imported back, is not older: nothing new. One without a time
    counts as older than any of them: it cannot be weighed (attack pass 28: a file cut to its
    first seven columns brought the labels back). Pure."""
    older = np.zeros(len(frame), dtype=bool)
    rows = np.array(frame["source"] == MODEL, dtype=bool)  # a copy: written to below
    if not rows.any():
        return older
    key = ["image", "task", "annotator"]
    same = ["image", "task", "annotator", "label", "model"]
    if "model" in frame and not live.empty:
        standing = frame.loc[rows, same].merge(live[same].drop_duplicates().assign(_live=True), on=same, how="left")
        rows[np.flatnonzero(rows)] = standing["_live"].isna().to_numpy()
        if not rows.any():
            return older
    given = frame.loc[rows, key].assign(time=frame.loc[rows, "time"] if "time" in frame else np.nan)
    merged = given.merge(newest[[*key, "created"]], on=key, how="left")
    newer = np.fmax(merged["created"].to_numpy(dtype=float), merged["task"].map(decided).to_numpy(dtype=float))
    when = np.nan_to_num(merged["time"].to_numpy(dtype=float), nan=-np.inf)
    older[np.flatnonzero(rows)] = when < newer - SAME_MOMENT_S  # NaN newer (nothing stored): not older
    return older


def against_given_answers(
    frame: pd.DataFrame, stored: pd.DataFrame, timed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How an import's untimed answers (`timed`: `timed_answers(frame)`) stand to the same
    person's answer now (`stored`: their live `human`, `import` and `review` rows with `id`
    and `detail`; an annotator's newest answer, `store.answers.newest_answers`, or their
    review): which repeat it (nothing new: a workspace's own export imported back, whose
    `human` rows come back as `import`, would otherwise lapse the merge decisions over it),
    which differ from one that cannot be weighed against them and stands, and which replace
    an earlier imported answer (a corrected file imported again: written, and counted).

    An answer that says not when it was given never replaces one given here, typed or a
    review (the store cannot tell a review typed here from an imported one), nor one whose
    time is known (helper-77: a file imported under a person's name silently replaced seven
    answers they had typed; attack pass 37: a reviewer's decisions too; helper-80: the
    study's file without times undid a dated correction). Pure."""
    repeats, differs, replaces = (np.zeros(len(frame), dtype=bool) for _ in range(3))
    if stored.empty:
        return repeats, differs, replaces
    answers = voices(frame["source"]).notna().to_numpy() & ~timed
    key = ["image", "task", "annotator", "_voice"]
    now = newest_answers(stored)
    weighty = now["source"].isin([HUMAN, REVIEW]) | imported_with_time(now["detail"])
    now = now.assign(_voice=voices(now["source"]), _weighty=weighty)[[*key, "label", "_weighty"]]
    rows = frame.loc[answers, ["image", "task", "annotator", "label"]].assign(
        _voice=voices(frame.loc[answers, "source"])
    )
    rows = rows.merge(now.rename(columns={"label": "_now"}), on=key, how="left")
    known = rows["_now"].notna().to_numpy()
    same = (rows["label"] == rows["_now"]).to_numpy()
    standing = rows["_weighty"].fillna(False).to_numpy(dtype=bool)
    at = np.flatnonzero(answers)
    repeats[at] = known & same
    differs[at] = known & ~same & standing
    replaces[at] = known & ~same & ~standing
    return repeats, differs, replaces


def refuse_answers_differing_between_files(prepared: list) -> None:
    """A FormatError when files of one import give one person different answers (of one
    voice) for an image and task, unless every one of those answers says when, and no two
    different ones at the same moment (then the newer stands, as against the store): which
    is theirs would depend on the order the files were named in, as the same two rows in
    one file would on the row order (refused there too). `prepared`:
    importing.PreparedImport items."""
    if len(prepared) < 2:
        return
    answers = []
    for index, item in enumerate(prepared):
        frame = item.frame
        rows = frame[["image", "task", "annotator", "label"]].assign(
            _voice=voices(frame["source"]), _time=frame["time"] if "time" in frame else np.nan, _file=index
        )
        answers.append(rows[rows["_voice"].notna()])
    rows = pd.concat(answers, ignore_index=True)
    labels = rows.groupby(KEY, sort=False)["label"].transform("nunique")
    clashing = rows[labels > 1].sort_values("_time", kind="stable")  # in different files: one file's are checked
    for _, group in clashing.groupby(KEY, sort=False):
        changes = group["label"].ne(group["label"].shift()).iloc[1:]  # between rows in time order
        gaps = group["_time"].diff().iloc[1:]
        if group["_time"].notna().all() and (gaps[changes] > SAME_MOMENT_S).all():
            continue  # each says when, and different answers at different moments: the newer stands
        first = group.sort_values("_file", kind="stable").iloc[0]
        second = group[group["label"] != first["label"]].sort_values("_file", kind="stable").iloc[0]
        raise FormatError(
            prepared[second["_file"]].path,
            f"{shown_name(second['image'])} has two different {second['task']} labels by "
            f"{shown_name(second['annotator'])}: {second['label']} here, {first['label']} in "
            f"{prepared[first['_file']].path}; which is theirs would depend on the order the files are named "
            "in: import them one at a time, the older first (or give each a time)",
        )
