"""The stored, stratified, seeded 70/30 split."""

import pandas as pd
import pytest

from celeba_tui.errors import CelebaError
from celeba_tui.training.split import read_split, split_path, stratified_split, task_split


def labelled(n_per_class=(70, 20, 10)):
    rows = []
    for label, n in zip(("left", "center", "right"), n_per_class):
        rows += [(f"{label}{i:03d}.jpg", label) for i in range(n)]
    return pd.DataFrame(rows, columns=["image", "label"])


def test_every_class_is_split_70_30():
    frame = labelled()
    split = stratified_split(frame["image"], frame["label"], seed=3).merge(frame, on="image")
    val = split[split["split"] == "val"]["label"].value_counts().to_dict()
    assert val == {"left": 21, "center": 6, "right": 3}
    assert len(split) == 100 and set(split["split"]) == {"train", "val"}


def test_split_is_reproducible_whatever_the_row_order_and_changes_with_the_seed():
    frame = labelled()
    first = stratified_split(frame["image"], frame["label"], seed=7)
    shuffled = frame.sample(frac=1, random_state=1)
    again = stratified_split(shuffled["image"], shuffled["label"], seed=7)
    assert first.equals(again)
    other = stratified_split(frame["image"], frame["label"], seed=8)
    assert not first["split"].equals(other["split"])


def test_small_classes_round_to_the_nearest_count():
    frame = labelled((1, 2, 4))
    split = stratified_split(frame["image"], frame["label"], seed=0).merge(frame, on="image")
    val = split[split["split"] == "val"]["label"].value_counts().to_dict()
    assert val == {"center": 1, "right": 1}  # 0.3 -> 0, 0.6 -> 1, 1.2 -> 1


def test_stored_split_is_reused_and_extended(workspace):
    frame = labelled()
    first = task_split(workspace, "light", frame, seed=1)
    stored = pd.read_csv(split_path(workspace.splits_dir, "light"))
    assert list(stored.columns) == ["image", "split"] and len(stored) == 100
    # Another seed does not matter while the split is stored: every run compares on it.
    again = task_split(workspace, "light", frame, seed=99)
    assert again.equals(first)
    # Newly labelled images are split among themselves; old assignments never move.
    more = pd.concat([frame, pd.DataFrame({"image": [f"new{i}.jpg" for i in range(10)], "label": "left"})])
    extended = task_split(workspace, "light", more, seed=1)
    assert len(extended) == 110 and (extended["split"][extended["image"].str.startswith("new")] == "val").sum() == 3
    merged = extended.merge(first, on="image", suffixes=("", "_before"))
    assert (merged["split"] == merged["split_before"]).all()
    # Images that lost their label stay in the file but are not returned.
    fewer = task_split(workspace, "light", frame.iloc[:50], seed=1)
    assert len(fewer) == 50 and len(read_split(split_path(workspace.splits_dir, "light"))) == 110


def test_new_split_replaces_the_stored_one(workspace):
    frame = labelled()
    first = task_split(workspace, "light", frame, seed=1)
    renewed = task_split(workspace, "light", frame, seed=2, new=True)
    assert not first["split"].equals(renewed["split"])
    assert (
        read_split(split_path(workspace.splits_dir, "light"))["split"].tolist()
        == renewed.sort_values("image")["split"].tolist()
    )


def test_a_damaged_split_file_is_a_clear_error(workspace):
    path = split_path(workspace.splits_dir, "light")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("image,fold\na.jpg,3\n")
    with pytest.raises(CelebaError, match="not a split file.*--new-split"):
        task_split(workspace, "light", labelled(), seed=0)
    path.write_text("")
    with pytest.raises(CelebaError, match="cannot read the stored split.*--new-split"):
        task_split(workspace, "light", labelled(), seed=0)


def test_a_split_that_is_no_regular_file_is_an_error_not_a_hang(workspace):
    import os
    import re
    import threading

    path = split_path(workspace.splits_dir, "light")
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)  # reading it would block until a writer came
    errors: list[Exception] = []

    def read() -> None:
        try:
            task_split(workspace, "light", labelled(), seed=0)
        except CelebaError as exc:
            errors.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():  # blocked on the FIFO: a writer that closes at once frees it
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading the stored split blocked on a FIFO")
    assert len(errors) == 1 and re.search("not a regular file.*--new-split", str(errors[0])), errors
