import sqlite3

import pandas as pd
import pytest

from celeba_tui.errors import StoreError
from celeba_tui.label_store import LabelStore
from celeba_tui.store_schema import SCHEMA_VERSION


def test_store_is_wal_and_label_is_committed_immediately(store, workspace):
    store.add_label("000001.jpg", "light", "left", "alice")
    # A second, independent connection sees it without any close/flush.
    other = sqlite3.connect(workspace.store_path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert other.execute("SELECT label FROM labels").fetchall() == [("left",)]


def test_undo_appends_and_restores_previous_decision(store):
    first = store.add_label("000001.jpg", "light", "left", "alice")
    second = store.add_label("000001.jpg", "light", "right", "alice")
    assert store.live_labels()["label"].tolist() == ["right"]
    store.revoke(second, "alice")
    assert store.live_labels()["label"].tolist() == ["left"]
    store.revoke(first, "alice")
    assert store.live_labels().empty
    history = store.history()
    assert len(history) == 4  # nothing deleted
    assert history["revokes"].notna().sum() == 2


def test_current_label_precedence_review_over_human_over_model(store):
    store.add_label("000001.jpg", "light", "left", "model-a", "model", confidence=0.9)
    cur = store.current_labels()
    assert cur[["label", "status"]].values.tolist() == [["left", "model"]]
    store.add_label("000001.jpg", "light", "center", "alice")
    assert store.current_labels()["label"].tolist() == ["center"]
    store.add_label("000001.jpg", "light", "right", "bob")
    cur = store.current_labels()
    assert cur["status"].tolist() == ["conflict"] and cur["label"].isna().all()
    store.add_label("000001.jpg", "light", "right", "carol", "review")
    cur = store.current_labels()
    assert cur[["label", "status"]].values.tolist() == [["right", "review"]]


def test_add_labels_is_atomic_and_idempotent(store):
    frame = pd.DataFrame(
        {"image": ["000001.jpg", "000002.jpg"], "task": "light", "label": ["left", "right"],
         "annotator": "alice", "source": "import"}
    )
    assert store.add_labels(frame) == 2
    assert store.add_labels(frame) == 0
    bad = frame.assign(source=["import", "nonsense"])
    with pytest.raises(StoreError):
        store.add_labels(bad)
    assert len(store.history()) == 2


def test_labels_for_unknown_images_are_kept_but_not_counted_as_present(store):
    store.add_label("elsewhere/x.jpg", "light", "left", "alice")
    assert store.image_count() == 10
    assert store.image_count(present_only=False) == 11


def test_not_sqlite_file_is_a_clear_error(tmp_path):
    path = tmp_path / "labels.sqlite"
    path.write_text("hello, this is not a database" * 100)
    with pytest.raises(StoreError, match="not a celeba label store"):
        LabelStore.open(path)


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a celeba label store"):
        LabelStore.open(path)


def test_newer_schema_is_refused(workspace):
    conn = sqlite3.connect(workspace.store_path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        LabelStore.open(workspace.store_path)


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        LabelStore.open(tmp_path / "nope.sqlite")


def test_register_images_marks_vanished_images_absent(store):
    names = store.image_names()
    store.register_images(names[:5], complete=True)
    assert store.image_count() == 5
    assert store.image_count(present_only=False) == 10


def test_checks_and_problems_are_not_labels(store):
    store.add_check("000001.jpg", "light", "alice", "right", "left")
    store.add_problem("000002.jpg", "decode", "corrupt JPEG", "alice")
    assert store.live_labels().empty
    assert store.checks()["answer"].tolist() == ["left"]
    assert store.problems()["kind"].tolist() == ["decode"]
