"""Going back through an annotator's earlier decisions (the store query and the cursor)."""

from __future__ import annotations

from celeba_tui.labelling import lookback
from celeba_tui.labelling.lookback import Lookback, past_decisions

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]


def cursor(store, workspace, annotator="ann"):
    return Lookback(lambda before: past_decisions(store, annotator, workspace.tasks, before=before))


def test_newest_first_only_this_annotators_live_typed_decisions(store, workspace):
    store.add_label(IMAGES[0], "light", "left", "ann")
    undone = store.add_label(IMAGES[1], "light", "right", "ann")
    store.revoke(undone, "ann")
    store.add_label(IMAGES[2], "light", "center", "bob")
    store.add_label(IMAGES[3], "light", "left", "ensemble", source="model")
    store.add_label(IMAGES[4], "orientation", "right", "ann", source="review")
    found = past_decisions(store, "ann", workspace.tasks)
    assert [(d.image, d.task, d.label, d.source) for d in found] == [
        (IMAGES[4], "orientation", "right", "review"),
        (IMAGES[0], "light", "left", "human"),
    ]
    assert past_decisions(store, "nobody", workspace.tasks) == []


def test_cursor_pages_back_and_forward(store, workspace, monkeypatch):
    monkeypatch.setattr(lookback, "PAGE", 3)
    for image in IMAGES[:7]:
        store.add_label(image, "light", "left", "ann")
    back = cursor(store, workspace)
    seen = []
    while (entry := back.older()) is not None:
        seen.append(entry.image)
    assert seen == IMAGES[:7][::-1] and back.index == 6
    assert back.newer().image == IMAGES[1]
    for _ in range(6):
        back.newer()
    assert not back.active and back.current is None


def test_redecide_appends_and_keeps_the_place(store, workspace):
    first = store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[1], "light", "left", "ann")
    back = cursor(store, workspace)
    back.older()
    assert back.older().image == IMAGES[0]
    outcome = back.redecide(store, "ann", "right")
    assert outcome.stored and outcome.before == "left"
    back.adopt(outcome.decision)
    assert back.current.label == "right" and back.current.label_id > first
    history = store.history(IMAGES[0])
    assert history["label"].tolist() == ["left", "right"]  # appended, nothing rewritten
    assert back.older() is None  # no duplicate of the changed one further back
    live = store.live_labels()
    assert live[live["image"] == IMAGES[0]]["label"].tolist() == ["right"]


def test_going_back_again_reads_what_was_decided_and_undone_since(store, workspace):
    first = store.add_label(IMAGES[0], "light", "left", "ann")
    back = cursor(store, workspace)
    assert back.older().label_id == first
    back.leave()
    store.revoke(first, "ann")  # undone in the queue, after the list was first read
    newer = store.add_label(IMAGES[1], "light", "center", "ann")
    assert back.older().label_id == newer  # the newest decision first, not the undone one
    assert back.older() is None


def test_a_key_equal_to_a_stale_label_still_stores_the_decision(store, workspace):
    """The attack: back, esc, undo, back, the same key: "stays" and nothing stored. The
    decision is now checked against the store when the key is pressed."""
    first = store.add_label(IMAGES[0], "light", "left", "ann")
    back = cursor(store, workspace)
    back.older()
    store.revoke(first, "ann")  # undone (or changed by another process) while on screen
    outcome = back.redecide(store, "ann", "left")
    assert outcome.stored and outcome.before is None
    live = store.live_labels()
    assert live[live["image"] == IMAGES[0]]["label"].tolist() == ["left"]
    again = back.redecide(store, "ann", "left")  # now it does stay: nothing more is written
    assert not again.stored and len(store.history(IMAGES[0])) == 3
