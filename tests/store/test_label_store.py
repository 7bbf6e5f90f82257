import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from celeba_tui.errors import StoreError
from celeba_tui.store.label_store import LabelStore
from celeba_tui.store.schema import SCHEMA_VERSION


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
        {
            "image": ["000001.jpg", "000002.jpg"],
            "task": "light",
            "label": ["left", "right"],
            "annotator": "alice",
            "source": "import",
        }
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


def _recomputed_current(store) -> list[tuple]:
    """`current` derived from scratch: what the incremental refreshes must keep equal to."""
    from celeba_tui.store.schema import CURRENT_REFRESH_SQL

    with store.transaction() as conn:
        conn.execute("CREATE TEMP TABLE fresh AS SELECT * FROM current WHERE 0")
        conn.execute(CURRENT_REFRESH_SQL.replace("INTO current", "INTO fresh").format(where=""))
        rows = conn.execute("SELECT * FROM fresh ORDER BY image_id, task").fetchall()
        conn.execute("DROP TABLE fresh")
    return rows


def _frame(rows, source="human"):
    return pd.DataFrame(rows, columns=["image", "task", "label", "annotator"]).assign(source=source)


def test_current_stays_exact_through_bulk_adds_revokes_and_replacements(store):
    import random

    rng = random.Random(0)
    images = [f"{i:06d}.jpg" for i in range(1, 13)] + ["elsewhere/x.jpg"]
    classes = ["left", "center", "right"]
    for step in range(24):
        # A merge's reviews too (one that lapses when a person writes after it), and the
        # first label of a group (the one-row shortcut of the refresh) from every source.
        source = rng.choice(["human", "import", "review", "model", "merge"])
        as_merge = source == "merge"
        rows = [
            (
                rng.choice(images),
                rng.choice(["light", "orientation"]),
                rng.choice(classes),
                "merge:m" if as_merge else rng.choice("abc"),
            )
            for _ in range(rng.randint(1, 15))
        ]
        frame = _frame(rows, "review" if as_merge else source)
        live = store.live_labels()
        ids = live["id"].sample(min(len(live), rng.randint(0, 4)), random_state=step).tolist() if len(live) else []
        if step % 3 == 0:
            store.add_labels(frame, skip_unchanged=False, as_merge=as_merge)
        elif step % 3 == 1:
            store.revoke_labels(ids, "undo")
            store.add_labels(frame, as_merge=as_merge)
        else:
            undoer = "merge:m" if as_merge else "merger"
            assert store.replace_labels(ids, undoer, frame, as_merge=as_merge) == (len(set(ids)), len(rows))
        current = store.query("SELECT * FROM current ORDER BY image_id, task")
        assert current == _recomputed_current(store), f"step {step}"


def test_a_bulk_write_of_one_task_refreshes_that_task_where_the_other_has_one_label(store):
    # The full suite found it: the one-row shortcut counted the other task's one-label group
    # of the same image as one of the groups written, and left the task written stale.
    store.add_labels(_frame([("000001.jpg", "orientation", "left", "a"), ("000001.jpg", "light", "left", "a")]))
    store.add_labels(_frame([("000001.jpg", "light", "right", "b")]))  # light: a conflict now
    assert store.query("SELECT * FROM current ORDER BY image_id, task") == _recomputed_current(store)
    assert store.current_labels("light")["status"].tolist() == ["conflict"]


def test_replace_labels_equals_revoke_then_add(tmp_path):
    def fill(path):
        store = LabelStore.open(path, create=True)
        store.add_labels(
            _frame([("x", "light", "left", "a"), ("x", "light", "right", "b"), ("y", "light", "left", "a")])
        )
        store.add_labels(
            _frame([("x", "light", "left", "merge:m"), ("z", "light", "center", "merge:m")], "review"), as_merge=True
        )
        return store, store.live_labels(sources=["review"])["id"].tolist()

    new = _frame([("x", "light", "right", "merge:n"), ("y", "orientation", "center", "merge:n")], "review")
    one, ids = fill(tmp_path / "one.sqlite")
    two, _ = fill(tmp_path / "two.sqlite")
    assert one.replace_labels(ids, "merge:n", new, as_merge=True) == (2, 2)
    with two.transaction():
        two.revoke_labels(ids, "merge:n", as_merge=True)
        two.add_labels(new, skip_unchanged=False, as_merge=True)
    for method in ("current_labels", "live_labels"):
        mine, theirs = getattr(one, method)(), getattr(two, method)()
        assert mine.drop(columns=["time"], errors="ignore").equals(theirs.drop(columns=["time"], errors="ignore"))
    # z lost its only label: no current row is left for it.
    assert "z" not in set(one.current_labels()["image"])
    with pytest.raises(StoreError, match="do not exist"):
        one.replace_labels([10_000], "merge:n", new, as_merge=True)
    assert one.replace_labels([], "merge:n", new.iloc[:0], as_merge=True) == (0, 0)


def test_counts_and_codes_of_an_empty_store(store):
    from celeba_tui.workspace import DEFAULT_TASKS

    assert store.current_label_counts() == [] and store.live_label_counts() == []
    codes = store.live_label_codes(DEFAULT_TASKS, ("human", "import"))
    assert codes.empty and list(codes.columns) == ["image", "task", "annotator", "label", "id"]


def test_label_counts_are_plain_rows(store):
    store.add_labels(
        _frame(
            [
                ("000001.jpg", "light", "left", "b"),
                ("000001.jpg", "light", "right", "a"),
                ("000002.jpg", "light", "left", "a"),
                ("gone.jpg", "light", "left", "a"),
            ]
        )
    )
    assert store.live_label_counts() == [("a", "light", "human", 3), ("b", "light", "human", 1)]
    assert sorted(store.current_label_counts(), key=str) == sorted(
        [("light", "single", "left", 2), ("light", "conflict", None, 1)], key=str
    )  # one annotator alone is `single`, not `agreed`
    assert store.current_label_counts(absent_images=True) == [("light", "single", "left", 1)]
    brief = store.live_labels(annotators=["a"], brief=True)
    assert list(brief.columns) == ["image", "task", "label", "annotator", "source", "id"]
    assert brief["id"].tolist() == store.live_labels(annotators=["a"])["id"].tolist()


def test_an_annotator_counts_once_per_image_by_their_newest_answer(store):
    # Helper-77: a typed answer over the same person's imported one counted as two labels.
    store.add_label("000001.jpg", "light", "left", "a", "import")
    store.add_label("000002.jpg", "light", "left", "a", "import")
    store.add_label("000001.jpg", "light", "right", "a", "human")  # a changes their mind in the TUI
    store.add_label("000003.jpg", "light", "center", "a", "human")
    assert store.live_label_counts() == [("a", "light", "human", 2), ("a", "light", "import", 1)]
    store.add_label("000003.jpg", "light", "right", "a", "import")  # an import since, newer than the typed one
    assert store.live_label_counts() == [("a", "light", "human", 1), ("a", "light", "import", 2)]


def test_store_stats_counts_present_absent_conflicts_and_sources(store, workspace):
    from celeba_tui.store.stats import store_stats

    store.add_labels(
        _frame(
            [
                ("000001.jpg", "light", "left", "a"),
                ("000001.jpg", "light", "right", "b"),
                ("000002.jpg", "light", "center", "a"),
                ("000004.jpg", "light", "left", "a"),
                ("000004.jpg", "light", "left", "b"),
                ("gone.jpg", "orientation", "left", "a"),
            ]
        )
    )
    store.add_label("000003.jpg", "light", "right", "m", "model")
    stats = store_stats(store, workspace)
    assert stats["images"] == 10 and stats["images_not_in_root"] == 1
    # Each image in exactly one bucket per task: labelled + conflicts + unlabelled = images.
    assert stats["tasks"]["light"] == {
        "labelled": 3,
        "conflicts": 1,
        "unlabelled": 6,
        "classes": {"left": 1, "center": 1, "right": 1},
        "status": {"review": 0, "resolved": 0, "single": 1, "agreed": 1, "model": 1},
    }
    assert stats["tasks"]["orientation"]["labelled"] == 0
    assert stats["tasks"]["orientation"]["unlabelled"] == 10  # its one label is for an absent image
    assert stats["not_in_root"]["orientation"] == {
        "labelled": 1,
        "conflicts": 0,
        "unlabelled": 0,
        "classes": {"left": 1, "center": 0, "right": 0},
        "status": {"review": 0, "resolved": 0, "single": 1, "agreed": 0, "model": 0},
    }
    assert stats["not_in_root"]["light"]["unlabelled"] == 1
    assert stats["annotators"] == {"a": {"light": 3, "orientation": 1}, "b": {"light": 2}, "m": {"light": 1}}
    assert stats["sources"] == {"human": 6, "model": 1}


@pytest.mark.parametrize(
    "name",
    [
        "=cmd|' /C calc'!A0",
        "+1",
        "-bob",
        "@SUM(A1)",  # spreadsheet formulas
        "eve\x1b]0;pwned\x07",
        "a\nb",
        "tab\there",
        "c1\x9bcontrol",
        "nul\x00",  # terminal control
        "bob\u202egnp.exe",
        "a\u2066b",  # text-direction controls
        "line\u2028break",
        "para\u2029break",
        "",
        "   ",
        "merge:majority",
        "merge:prefer:alice",
        "autolabel",  # the automatic labels' name (attack pass 13: a person's labels mixed with the model's)
        "AutoLabel",
        "\uff41\uff55\uff54\uff4f\uff4c\uff41\uff42\uff45\uff4c",  # fullwidth letters
        "auto\u200blabel",  # a zero-width space
        "ali\u200bce",  # read as alice in every table (attack pass 31)
        "bob\u00ad",  # a soft hyphen
        "\ufeffcarol",  # a byte-order mark
    ],
)
def test_unsafe_or_reserved_annotator_names_are_refused_at_creation(store, name):
    before = len(store.history())
    with pytest.raises(StoreError, match=r"^annotator name ") as caught:
        store.add_label("000001.jpg", "light", "left", name)
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)
    with pytest.raises(StoreError, match=r"^annotator name "):
        store.add_labels(
            pd.DataFrame(
                [("000001.jpg", "light", "left", name, "import")],
                columns=["image", "task", "label", "annotator", "source"],
            )
        )
    assert len(store.history()) == before and name not in store.annotators()


def test_ordinary_names_and_the_merge_s_own_name_are_accepted(store):
    for name in ("alice", "Bob Smith", "ann-x", "o'brien", "名前", "x=1", "merge-bot"):
        store.add_label("000001.jpg", "light", "left", name)
    frame = pd.DataFrame(
        [("000001.jpg", "light", "left", "merge:majority", "review")],
        columns=["image", "task", "label", "annotator", "source"],
    )
    store.replace_labels([], "merge:majority", frame, as_merge=True)
    assert "merge:majority" in store.annotators()


def test_a_write_to_a_store_deleted_moved_or_replaced_since_it_was_opened_is_refused(workspace):
    """An attack pass deleted labels.sqlite while a person labelled: every later decision
    went into the unlinked file and the session still said "5 decisions stored"."""
    from celeba_tui.errors import StoreWriteError
    from celeba_tui.store.label_store import LabelStore

    path = workspace.store_path
    for change in ("delete", "replace"):
        with LabelStore.open(path) as store:
            store.add_label("000001.jpg", "light", "left", "ann")
            if change == "delete":
                for side in ("", "-wal", "-shm"):
                    Path(f"{path}{side}").unlink(missing_ok=True)
            else:
                copy = path.with_name("copy.sqlite")
                with LabelStore.open(copy, create=True):
                    pass
                copy.replace(path)
            with pytest.raises(StoreWriteError, match="deleted, moved or replaced after this command opened it"):
                store.add_label("000002.jpg", "light", "right", "ann")
        with LabelStore.open(path, create=True) as fresh:  # the file there now holds no such label
            assert fresh.live_labels().query("image == '000002.jpg'").empty


def test_label_says_when_its_store_went_away_instead_of_counting_lost_decisions(workspace, monkeypatch):
    from typer.testing import CliRunner

    from celeba_tui.cli import app, label_commands

    def labels_then_store_deleted(store, run):
        store.add_label("000001.jpg", "light", "left", "ann")
        workspace.store_path.unlink()
        return None

    monkeypatch.setattr(label_commands, "_run_tui", labels_then_store_deleted)
    result = CliRunner().invoke(app, ["label", "-w", str(workspace.path), "-a", "ann"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"error: {workspace.store_path} was deleted, moved or replaced while this session labelled: "
        "the decisions the session stored before that are not in the file there now"
    ]


def test_a_write_after_the_stores_wal_was_deleted_is_refused(workspace):
    """An attack pass deleted labels.sqlite-wal and -shm under an open writer: another
    process then committed into a new WAL, and the first one's checkpoint overwrote it."""
    from celeba_tui.errors import StoreWriteError
    from celeba_tui.store.label_store import LabelStore

    path = workspace.store_path
    with LabelStore.open(path) as store:
        store.add_label("000001.jpg", "light", "left", "ann")
        for side in ("-wal", "-shm"):
            Path(f"{path}{side}").unlink()
        with pytest.raises(StoreWriteError, match="its -wal file was deleted or replaced"):
            store.add_label("000002.jpg", "light", "right", "ann")
    with LabelStore.open(path) as fresh:  # a new connection starts a new WAL and writes
        fresh.add_label("000003.jpg", "light", "right", "bob")
        fresh.add_label("000004.jpg", "light", "right", "bob")  # its own WAL is kept track of


def test_a_review_is_refused_when_another_person_decided_after_the_reviewers_view(store):
    from celeba_tui.errors import DecidedMeanwhile

    store.add_label("000001.jpg", "light", "left", "ann")
    seen = store.last_label_id()
    # Rows that do not make the reviewer's view stale: their own, a merge's, a model's.
    store.add_label("000001.jpg", "light", "left", "rev", "review")
    merge_row = {"image": "000001.jpg", "task": "light", "label": "left", "annotator": "merge:majority"}
    store.add_labels(pd.DataFrame([merge_row | {"source": "review"}]), as_merge=True)
    store.add_label("000001.jpg", "light", "right", "ensemble", "model", confidence=0.9)
    store.add_label("000002.jpg", "light", "right", "bob")  # another image
    store.add_label("000001.jpg", "orientation", "right", "bob")  # another task
    store.add_label("000001.jpg", "light", "center", "rev", "review", decided_since=seen)
    # Another person's label, review or undo after the view: refused, named, nothing written.
    undo_of = store.add_label("000001.jpg", "light", "right", "bob")
    for written in ("bob's label", "bob's undo"):
        before = len(store.history())
        with pytest.raises(DecidedMeanwhile, match="bob .* 000001.jpg.* while you were on it"):
            store.add_label("000001.jpg", "light", "center", "rev", "review", decided_since=seen)
        assert len(store.history()) == before, written
        if written == "bob's label":
            store.revoke(undo_of, "bob")
    store.add_label("000001.jpg", "light", "center", "rev", "review", decided_since=store.last_label_id())
    # Agreeing with the decision made meanwhile replaces nothing: written.
    seen = store.last_label_id()
    store.add_label("000001.jpg", "light", "left", "bob", "review")
    store.add_label("000001.jpg", "light", "left", "rev", "review", decided_since=seen)


def test_only_model_labels_may_be_stored_under_the_automatic_labels_name(store):
    def rows(source):
        return pd.DataFrame(
            [("000001.jpg", "light", "left", "autolabel", source), ("000002.jpg", "light", "left", "ann", "human")],
            columns=["image", "task", "label", "annotator", "source"],
        )

    with pytest.raises(StoreError, match="automatic labels are stored under"):
        store.add_labels(rows("human"))
    assert store.annotators() == []
    store.add_labels(rows("model"))
    assert store.annotators() == ["ann", "autolabel"]


def test_two_processes_writing_the_same_labels_at_once_write_them_once(workspace):
    """The unchanged rows are found inside the write transaction: two `autolabel` runs (or
    imports) of the same decisions at the same moment leave one row each, not two."""
    import threading

    frame = pd.DataFrame(
        {
            "image": [f"{i:06d}.jpg" for i in range(1, 9)],
            "task": "light",
            "label": "left",
            "annotator": "autolabel",
            "source": "model",
            "model": "ensemble-1",
            "detail": '{"high": 0.9}',
        }
    )
    stores = [workspace.open_store() for _ in range(2)]
    start = threading.Barrier(2)
    written = []

    def write(store):
        start.wait()
        written.append(store.add_labels(frame))

    threads = [threading.Thread(target=write, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert sorted(written) == [0, 8]
    with workspace.open_store() as store:
        assert len(store.history()) == 8


def test_a_file_of_more_people_than_sql_takes_variables_is_compared_in_one_value(store):
    # Found by attack pass 16: 250,001 annotator names made "too many SQL variables".
    import sqlite3

    store._conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)
    frame = pd.DataFrame(
        {"image": "000001.jpg", "task": "light", "label": "left", "annotator": [f"p{i}" for i in range(30)]}
    ).assign(source="import")
    assert store.add_labels(frame) == 30
    assert store.add_labels(frame) == 0


def test_an_empty_model_cell_is_no_model_so_a_reimport_never_overtakes_a_later_decision(store):
    # Found by attack pass 16: a long CSV's empty `model` cell ('') never equalled the stored
    # NULL, so re-importing the file wrote every row again, over ann's later decision.
    first = pd.DataFrame(
        [{"image": "000001.jpg", "task": "light", "label": "left", "annotator": "ann", "source": "import"}]
    )
    assert store.add_labels(first) == 1
    store.add_label("000001.jpg", "light", "right", "ann")  # she changes her mind in the TUI
    again = first.assign(model="", detail="")
    assert store.add_labels(again) == 0
    assert store.current_labels("light")["label"].tolist() == ["right"]


def test_skips_are_kept_per_person_and_task_until_answered_and_an_older_store_gets_their_table(tmp_path):
    import sqlite3

    both = ("light", "orientation")
    path = tmp_path / "labels.sqlite"
    with LabelStore.open(path, create=True) as store:
        store.add_skip("a.jpg", "light", "ann")
        store.add_skip("a.jpg", "light", "ann")  # again: one skip
        store.add_skip("b.jpg", "orientation", "ann")
        store.add_skip("a.jpg", "light", "bob")
        store.remove_skip("b.jpg", "orientation", "ann")
        assert store.skipped_images("ann", both) == {"a.jpg"} and store.skipped_images("bob", both) == {"a.jpg"}
        assert store.skipped_images("nobody", both) == frozenset() and store.live_labels().empty  # not labels
        # Per task: a skip of light says nothing of orientation (attack pass 25).
        assert store.skipped_images("ann", ["orientation"]) == frozenset()
        # Answered since, however (here by an import): no longer skipped; bob's skip stays.
        store.add_label("a.jpg", "light", "left", "ann", "import")
        assert store.skipped_images("ann", both) == frozenset() and store.skipped_images("bob", both) == {"a.jpg"}
        store.add_label("a.jpg", "light", "left", "ensemble", "model")  # a model's label is no answer of bob's
        assert store.skipped_images("bob", both) == {"a.jpg"}
    with sqlite3.connect(path) as conn:  # a store made before skips were kept
        conn.execute("DROP TABLE skips")
    with LabelStore.open(path, readonly=True) as old:
        assert old.skipped_images("ann", both) == frozenset()
    with LabelStore.open(path) as store:  # the first writable open adds the table
        store.add_skip("a.jpg", "orientation", "ann")
        assert store.skipped_images("ann", both) == {"a.jpg"}
        store.add_label("a.jpg", "orientation", "right", "ann")
        assert store.skipped_images("ann", both) == frozenset()
        store.add_skip("a.jpg", "orientation", "ann")  # skipped again after the answer: skipped
        assert store.skipped_images("ann", both) == {"a.jpg"}


def test_an_older_stores_count_index_is_replaced_on_its_first_writable_open(workspace):
    # stats read every row of `current` to tell `single` (0.4 s of its 1 s at 200,000 images):
    # the index now holds n_annotators, and a store made before gets it when next opened to write.
    with workspace.open_store(create=True) as store:
        store.add_label("000001.jpg", "light", "left", "ann")
        store.add_label("000002.jpg", "light", "left", "ann")
        store.add_label("000002.jpg", "light", "left", "bob")
    with sqlite3.connect(workspace.store_path) as conn:  # as a store made before looks
        conn.executescript(
            "DROP INDEX current_counts_by_people; CREATE INDEX current_counts ON current(task, status, label);"
        )
    conn.close()
    with workspace.open_store(readonly=True) as store:  # read as it is: right, if slower
        assert ("light", "single", "left", 1) in store.current_label_counts()
        assert "current_counts_by_people" not in store._indexes()
    with workspace.open_store() as store:
        assert {"current_counts_by_people"} <= store._indexes() and "current_counts" not in store._indexes()
        assert sorted(store.current_label_counts()) == [("light", "agreed", "left", 1), ("light", "single", "left", 1)]
