"""Deriving each image's current label from the live label rows (pure functions)."""

from __future__ import annotations

import pandas as pd

HUMAN_SOURCES = ("human", "import")
CURRENT_COLUMNS = ["image", "task", "label", "source", "status", "n_annotators"]


def derive_current_labels(live: pd.DataFrame) -> pd.DataFrame:
    """Current label per (image, task): review > agreeing human labels > model.

    `live` is `LabelStore.live_labels()`. Human labels typed in the TUI and labels
    imported from files count alike. Where the human labels disagree and no reviewer
    has decided, the status is `conflict` and the label is empty: such an image is in
    the review queue, not in the training set.
    """
    if live.empty:
        return pd.DataFrame(columns=CURRENT_COLUMNS)
    key = ["image", "task"]
    parts = []

    review = live[live["source"] == "review"].sort_values("id").drop_duplicates(key, keep="last")
    parts.append(review.assign(status="review", n_annotators=1)[CURRENT_COLUMNS])
    decided = review[key]

    human = _not_in(live[live["source"].isin(HUMAN_SOURCES)], decided, key)
    if not human.empty:
        grouped = human.groupby(key, sort=False)
        summary = grouped.agg(
            label=("label", "first"),
            n_labels=("label", "nunique"),
            n_annotators=("annotator", "nunique"),
        ).reset_index()
        summary["status"] = summary["n_labels"].map(lambda n: "agreed" if n == 1 else "conflict")
        summary["label"] = summary["label"].where(summary["status"] == "agreed", None)
        summary["source"] = "human"
        parts.append(summary[CURRENT_COLUMNS])
        decided = pd.concat([decided, summary[key]])

    model = _not_in(live[live["source"] == "model"], decided, key)
    model = model.sort_values("id").drop_duplicates(key, keep="last")
    parts.append(model.assign(status="model", n_annotators=0)[CURRENT_COLUMNS])

    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=CURRENT_COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values(key, ignore_index=True)


def _not_in(frame: pd.DataFrame, keys: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    if keys.empty or frame.empty:
        return frame
    marked = frame.merge(keys.drop_duplicates().assign(_hit=True), on=on, how="left")
    return frame[marked["_hit"].isna().to_numpy()]
