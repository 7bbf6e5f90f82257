"""Merge policies (pure) and applying them to a label store (idempotent, re-runnable)."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from celeba_tui.agreement.apply_merge import plan_merge_writes, review_queue, run_merge
from celeba_tui.agreement.merge_policies import MergePolicy, merge_labels, parse_policy
from celeba_tui.errors import CelebaError
from celeba_tui.workspace import DEFAULT_TASKS, create_workspace

LIGHT = DEFAULT_TASKS[0]


def long_labels(rows: list[tuple[str, str, str]], task: str = "light") -> pd.DataFrame:
    """[(image, annotator, label)] -> the long table of one task."""
    return pd.DataFrame(
        [(image, task, annotator, label) for image, annotator, label in rows],
        columns=["image", "task", "annotator", "label"],
    )


THREE = long_labels(
    [
        ("agreed", "a", "left"),
        ("agreed", "b", "left"),
        ("agreed", "c", "left"),
        ("two-one", "a", "left"),
        ("two-one", "b", "left"),
        ("two-one", "c", "right"),
        ("three-way", "a", "left"),
        ("three-way", "b", "center"),
        ("three-way", "c", "right"),
        ("pair", "b", "center"),
        ("pair", "c", "right"),
        ("single", "a", "right"),
    ]
)


def decided(result) -> dict[str, tuple[str, str]]:
    return {r.image: (r.label, r.resolution) for r in result.decisions.itertuples()}


def test_parse_policy():
    assert parse_policy("majority", []) == MergePolicy("majority")
    assert parse_policy("prefer:bob", ["alice", "bob"]).name == "prefer:bob"
    with pytest.raises(CelebaError, match=r"no annotator named 'zed'; the annotators are 'alice', 'bob'"):
        parse_policy("prefer:zed", ["bob", "alice"])
    with pytest.raises(CelebaError, match=r"no annotator named 'ALICE'; did you mean 'alice'\?"):
        parse_policy("prefer:ALICE", ["bob", "alice"])  # attack pass 31: no hint for another case
    with pytest.raises(CelebaError, match="unknown merge policy 'vote'.*dawid-skene"):
        parse_policy("vote", ["alice"])


def test_review_accepts_agreement_and_leaves_every_conflict():
    result = merge_labels(THREE, (LIGHT,), MergePolicy("review"))
    assert decided(result) == {"agreed": ("left", "agreed")}
    assert set(result.conflicts["image"]) == {"two-one", "three-way", "pair"}
    pair = result.conflicts[result.conflicts["image"] == "pair"]
    assert pair[["annotator", "label"]].values.tolist() == [["b", "center"], ["c", "right"]]
    (summary,) = result.summary
    assert summary.to_dict() == {
        "task": "light",
        "images": 5,
        "single": 1,
        "compared": 4,
        "agreed": 1,
        "resolved": 0,
        "reviewed": 0,
        "open": 3,
    }


def test_majority_resolves_clear_majorities_and_leaves_ties():
    result = merge_labels(THREE, (LIGHT,), MergePolicy("majority"))
    assert decided(result) == {"agreed": ("left", "agreed"), "two-one": ("left", "policy")}
    row = result.decisions.set_index("image").loc["two-one"]
    assert row["confidence"] == pytest.approx(2 / 3)
    assert json.loads(row["votes"]) == {"a": "left", "b": "left", "c": "right"}
    assert json.loads(row["annotators"]) == ["a", "b", "c"]
    assert row["policy"] == "majority"
    assert set(result.conflicts["image"]) == {"three-way", "pair"}


def test_prefer_takes_the_named_annotator_where_they_labelled():
    result = merge_labels(THREE, (LIGHT,), MergePolicy("prefer", "a"))
    assert decided(result)["two-one"] == ("left", "policy")
    assert decided(result)["three-way"] == ("left", "policy")
    assert set(result.conflicts["image"]) == {"pair"}  # a did not label it
    result = merge_labels(THREE, (LIGHT,), MergePolicy("prefer", "c"))
    assert decided(result)["two-one"] == ("right", "policy")
    assert result.decisions.set_index("image").loc["two-one", "confidence"] == pytest.approx(1 / 3)


def test_dawid_skene_resolves_every_conflict_with_a_posterior():
    result = merge_labels(THREE, (LIGHT,), MergePolicy("dawid-skene"))
    assert result.conflicts.empty
    resolved = result.decisions[result.decisions["resolution"] == "policy"]
    assert set(resolved["image"]) == {"two-one", "three-way", "pair"}
    assert resolved["confidence"].between(0, 1).all()
    estimate = result.confusion["light"]
    assert estimate["classes"] == ["left", "center", "right"] and set(estimate["annotators"]) == {"a", "b", "c"}


def test_images_a_person_reviewed_are_left_alone():
    reviewed = pd.DataFrame({"image": ["three-way"], "task": ["light"]})
    result = merge_labels(THREE, (LIGHT,), MergePolicy("review"), reviewed=reviewed)
    assert set(result.conflicts["image"]) == {"two-one", "pair"}
    assert result.summary[0].reviewed == 1 and result.summary[0].open == 2


def test_tasks_are_merged_separately_and_empty_tasks_count_zero():
    both = pd.concat([THREE, long_labels([("x", "a", "left"), ("x", "b", "right")], task="orientation")])
    result = merge_labels(both, DEFAULT_TASKS, MergePolicy("review"))
    assert [s.open for s in result.summary] == [3, 1]
    empty = merge_labels(THREE.iloc[:0], DEFAULT_TASKS, MergePolicy("majority"))
    assert empty.decisions.empty and empty.conflicts.empty and empty.summary[0].images == 0


def test_plan_skips_unchanged_and_replaces_changed_decisions():
    decisions = merge_labels(THREE, (LIGHT,), MergePolicy("majority")).decisions
    none = pd.DataFrame(columns=["image", "task", "annotator", "label", "id"])
    plan = plan_merge_writes(decisions, none, "merge:majority")
    assert plan.add[["image", "label", "annotator", "source"]].values.tolist() == [
        ["two-one", "left", "merge:majority", "review"]
    ]
    detail = json.loads(plan.add["detail"][0])
    assert detail == {
        "policy": "majority",
        "annotators": ["a", "b", "c"],
        "votes": {"a": "left", "b": "left", "c": "right"},
    }
    same = pd.DataFrame([("two-one", "light", "merge:majority", "left", 10)], columns=none.columns)
    assert (
        len(plan_merge_writes(decisions, same, "merge:majority").add),
        plan_merge_writes(decisions, same, "merge:majority").unchanged,
    ) == (0, 1)
    other = pd.DataFrame(
        [("two-one", "light", "merge:prefer:c", "right", 11), ("pair", "light", "merge:prefer:c", "right", 12)],
        columns=none.columns,
    )
    plan = plan_merge_writes(decisions, other, "merge:majority")
    assert sorted(plan.revoke) == [11, 12] and len(plan.add) == 1


# ------------------------------------------------------------------ the store


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    workspace = create_workspace(tmp_path / "ws", root)
    with workspace.open_store(create=True) as opened:
        yield opened


def add(store, rows: list[tuple[str, str, str]], task: str = "light", source: str = "human") -> None:
    frame = long_labels(rows, task).assign(source=source)
    store.add_labels(frame)


def status(store) -> dict[str, tuple[str | None, str]]:
    current = store.current_labels("light")
    return {r.image: (None if pd.isna(r.label) else r.label, r.status) for r in current.itertuples()}


def test_run_merge_writes_resolved_conflicts_with_provenance(store):
    add(store, [(i, a, lab) for i, a, lab in THREE.drop(columns="task").values.tolist()])
    run = run_merge(store, (LIGHT,), "majority")
    assert (run.written, run.withdrawn, run.unchanged) == (1, 0, 0)
    assert status(store) == {
        "agreed": ("left", "agreed"),
        "two-one": ("left", "review"),
        "three-way": (None, "conflict"),
        "pair": (None, "conflict"),
        "single": ("right", "agreed"),
    }
    history = store.history("two-one")
    merged = history[history["annotator"] == "merge:majority"].iloc[0]
    assert merged["source"] == "review" and merged["confidence"] == pytest.approx(2 / 3)
    assert json.loads(merged["detail"]) == {
        "policy": "majority",
        "annotators": ["a", "b", "c"],
        "votes": {"a": "left", "b": "left", "c": "right"},
    }
    queue = review_queue(store)
    assert queue.columns.tolist() == ["image", "task", "annotator", "label"]
    assert sorted(set(queue["image"])) == ["pair", "three-way"] and len(queue) == 5


def test_run_merge_is_idempotent_and_follows_new_labels(store):
    add(store, [("x", "a", "left"), ("x", "b", "left"), ("x", "c", "right"), ("y", "a", "left"), ("y", "b", "right")])
    assert run_merge(store, (LIGHT,), "majority").written == 1
    rows_before = len(store.history())
    again = run_merge(store, (LIGHT,), "majority")
    assert (again.written, again.withdrawn, again.unchanged) == (1 - 1, 0, 1)
    assert len(store.history()) == rows_before
    # More labels arrive: x becomes a tie, y gets a majority for right.
    add(store, [("x", "d", "right"), ("y", "c", "right")])
    run = run_merge(store, (LIGHT,), "majority")
    assert (run.written, run.withdrawn) == (1, 1)
    assert status(store)["x"] == (None, "conflict")
    assert status(store)["y"] == ("right", "review")
    assert run_merge(store, (LIGHT,), "majority").written == 0


def test_a_later_policy_replaces_the_earlier_merge_and_review_withdraws_it(store):
    add(store, [("x", "a", "left"), ("x", "b", "right")])
    run_merge(store, (LIGHT,), "prefer:a")
    assert status(store)["x"] == ("left", "review")
    run_merge(store, (LIGHT,), "prefer:b")
    assert status(store)["x"] == ("right", "review")
    run = run_merge(store, (LIGHT,), "review")
    assert (run.written, run.withdrawn) == (0, 1)
    assert status(store)["x"] == (None, "conflict")
    # Back to prefer:a: the earlier prefer:a row was revoked, so it is written afresh.
    assert run_merge(store, (LIGHT,), "prefer:a").written == 1
    assert status(store)["x"] == ("left", "review")
    live_merges = store.live_labels("light", sources=["review"])
    assert live_merges["annotator"].tolist() == ["merge:prefer:a"]


def test_a_person_s_review_wins_over_any_merge(store):
    add(store, [("x", "a", "left"), ("x", "b", "right"), ("y", "a", "left"), ("y", "b", "right")])
    run_merge(store, (LIGHT,), "prefer:a")
    store.add_label("x", "light", "center", "rita", source="review")
    run = run_merge(store, (LIGHT,), "prefer:b")
    assert status(store)["x"] == ("center", "review")
    assert status(store)["y"] == ("right", "review")
    assert run.result.summary[0].reviewed == 1
    assert run_merge(store, (LIGHT,), "review").withdrawn == 1  # y only; x stays as rita decided
    assert status(store)["x"] == ("center", "review")
    assert set(review_queue(store)["image"]) == {"y"}


def test_dry_run_writes_nothing(store):
    add(store, [("x", "a", "left"), ("x", "b", "right")])
    run = run_merge(store, (LIGHT,), "prefer:b", dry_run=True)
    assert run.written == 1 and run.dry_run
    assert store.live_labels(sources=["review"]).empty


def test_unknown_preferred_annotator_lists_the_annotators(store):
    add(store, [("x", "alice", "left"), ("x", "bob", "right")])
    with pytest.raises(CelebaError, match="the annotators are .alice., .bob."):
        run_merge(store, (LIGHT,), "prefer:carol")


def test_typed_and_imported_labels_of_one_annotator_count_once(store):
    add(store, [("x", "a", "left"), ("x", "b", "right")], source="import")
    add(store, [("x", "a", "right")])  # a changes their mind in the TUI
    run = run_merge(store, (LIGHT,), "review")
    assert run.result.summary[0].compared == 1 and run.result.summary[0].agreed == 1


def test_a_failed_write_leaves_the_store_as_it_was(store):
    add(store, [("x", "a", "left"), ("x", "b", "right")])
    run_merge(store, (LIGHT,), "prefer:a")
    history = len(store.history())
    with store.transaction() as conn:
        # This connection only: appending a label (not an undo row) fails like a full disk.
        conn.execute(
            "CREATE TEMP TRIGGER full BEFORE INSERT ON labels WHEN NEW.revokes IS NULL "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(sqlite3.DatabaseError, match="disk full"):
        run_merge(store, (LIGHT,), "prefer:b")  # revokes prefer:a, then fails to add
    assert len(store.history()) == history
    assert status(store)["x"] == ("left", "review")
    assert store.live_labels(sources=["review"])["annotator"].tolist() == ["merge:prefer:a"]


def test_live_label_codes_matches_live_labels(store):
    add(store, [("x", "a", "left"), ("y", "b", "up"), ("x", "b", "right")])
    add(store, [("x", "a", "center")], task="orientation")
    add(store, [("x", "m", "left")], source="model")
    codes = store.live_label_codes(DEFAULT_TASKS, ("human", "import"))
    rows = sorted((r.image, r.task, r.annotator, None if pd.isna(r.label) else r.label) for r in codes.itertuples())
    assert rows == [
        ("x", "light", "a", "left"),
        ("x", "light", "b", "right"),
        ("x", "orientation", "a", "center"),
        ("y", "light", "b", None),
    ]
    live = store.live_labels(sources=["human"]).set_index(["image", "task", "annotator"])["id"]
    assert codes.set_index(["image", "task", "annotator"])["id"].sort_index().tolist() == live.sort_index().tolist()
    with pytest.raises(CelebaError, match="b gave y a label that is not a class of task 'light'"):
        merge_labels(codes, (LIGHT,), MergePolicy("review"))


def test_a_review_stored_while_the_merge_computes_stands(store, monkeypatch):
    """A person's review or label arriving between the merge's read and its write is left alone."""
    import celeba_tui.agreement.apply_merge as merge_run
    from celeba_tui.store.label_store import LabelStore

    add(store, [(i, a, lab) for i in ("x", "y", "z") for a, lab in (("a", "left"), ("b", "right"))])
    run_merge(store, (LIGHT,), "prefer:a")
    compute = merge_run.merge_labels

    def compute_while_people_work(*args, **kwargs):
        with LabelStore.open(store.path) as other:  # another process's connection
            other.add_label("x", "light", "center", "rita", source="review")
            other.add_label("y", "light", "center", "carl")
        return compute(*args, **kwargs)

    monkeypatch.setattr(merge_run, "merge_labels", compute_while_people_work)
    run = run_merge(store, (LIGHT,), "prefer:b")
    assert (run.written, run.withdrawn, run.deferred) == (1, 1, 2)
    # carl's new label on y came after prefer:a's decision there, which has lapsed: y is a
    # conflict again until the next merge (docs/formats.md, "current").
    assert status(store) == {"x": ("center", "review"), "y": (None, "conflict"), "z": ("right", "review")}
    monkeypatch.setattr(merge_run, "merge_labels", compute)
    assert run_merge(store, (LIGHT,), "prefer:b").deferred == 0
    assert status(store) == {"x": ("center", "review"), "y": ("right", "review"), "z": ("right", "review")}


def test_a_merge_decision_lapses_when_the_peoples_labels_under_it_change(store):
    """An attack pass: a merge's decision stayed current after both people changed their
    labels (1), after the annotator it preferred was withdrawn (2), and after a person's
    review over it was withdrawn (3), overruling what the people's labels now said."""
    add(store, [("p", "alice", "left"), ("p", "bob", "right")], source="import")
    add(store, [("q", "alice", "left"), ("q", "bob", "right")], source="import")
    add(store, [("r", "alice", "left"), ("r", "bob", "right")], source="import")
    run_merge(store, (LIGHT,), "prefer:alice")
    assert status(store) == {k: ("left", "review") for k in "pqr"}
    # 1. both people now say center
    add(store, [("p", "alice", "center"), ("p", "bob", "center")], source="import")
    assert status(store)["p"] == ("center", "agreed")
    # 2. the preferred annotator's labels withdrawn: bob alone says right
    store.withdraw_annotator("alice", "light")
    assert status(store)["q"] == ("right", "agreed")
    # 3. a person's review over the merge, then withdrawn: the people disagree again
    add(store, [("r", "alice", "left")], source="import")  # (alice's labels come back on r)
    store.add_label("r", "light", "center", "rev", source="review")
    assert status(store)["r"] == ("center", "review")
    store.withdraw_annotator("rev", "light")
    assert status(store)["r"] == (None, "conflict")
    assert set(review_queue(store, "light")["image"]) >= {"r"}
    # The next merge decides again from what the people say now.
    run_merge(store, (LIGHT,), "prefer:alice")
    assert status(store) == {"p": ("center", "agreed"), "q": ("right", "agreed"), "r": ("left", "review")}


def test_a_store_made_under_older_rules_is_settled_once_on_open(store):
    from celeba_tui.store.label_store import CURRENT_RULES, CURRENT_RULES_KEY, LabelStore

    add(store, [("p", "alice", "left"), ("p", "bob", "right")], source="import")
    run_merge(store, (LIGHT,), "prefer:alice")
    add(store, [("p", "alice", "center"), ("p", "bob", "center")], source="import")
    # As an older celeba-tui left it: the stale merge decision current, no marker.
    store.query(f"DELETE FROM meta WHERE key = '{CURRENT_RULES_KEY}'")
    store.query("UPDATE current SET label = 'left', source = 'review', status = 'review' WHERE task = 'light'")
    store._conn.commit()
    with LabelStore.open(store.path, readonly=True) as reader:  # a reader changes nothing
        assert reader.current_labels("light")["status"].tolist() == ["review"]
    with LabelStore.open(store.path) as reopened:
        assert reopened.current_labels("light")[["label", "status"]].values.tolist() == [["center", "agreed"]]
        assert reopened.query(f"SELECT value FROM meta WHERE key = '{CURRENT_RULES_KEY}'") == [(CURRENT_RULES,)]


def test_an_annotator_is_never_in_conflict_with_themselves(store):
    """An attack pass: alice imported `left`, then typed `right`: two live rows of one
    annotator made a conflict no merge settled, and her newest answer never counted."""
    add(store, [("p", "alice", "left")], source="import")
    store.add_label("p", "light", "right", "alice")
    assert status(store) == {"p": ("right", "agreed")}
    assert store.current_labels("light")["n_annotators"].tolist() == [1]
    add(store, [("p", "bob", "left")])
    assert status(store) == {"p": (None, "conflict")}  # alice's newest (right) against bob's left


def test_a_persons_review_outranks_any_merge_decision_however_old(store):
    """A store an older race left with a merge row newer than a person's live review."""
    add(store, [("p", "alice", "left"), ("p", "bob", "right")], source="import")
    store.add_label("p", "light", "center", "carol", source="review")
    frame = pd.DataFrame([{"image": "p", "task": "light", "label": "left", "annotator": "merge:prefer:alice"}])
    store.add_labels(frame.assign(source="review"), as_merge=True)
    assert status(store) == {"p": ("center", "review")}
