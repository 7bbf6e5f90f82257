"""Going back (`b`/`[`, `]`) and `--image` driven by Pilot: what the screen shows, what the store appends."""

from __future__ import annotations

from celeba_tui.tui.app import LabelApp, LabelConfig
from celeba_tui.tui.screens.label_screen import LabelScreen
from celeba_tui.tui.screens.nothing_to_label_screen import NothingToLabelScreen
from celeba_tui.tui.widgets.image_info import ImageInfo
from celeba_tui.tui.widgets.image_pane import ImagePane
from celeba_tui.tui.widgets.question_panel import QuestionPanel

from pilot import image_on_screen, wait_for

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]
SIZE = (120, 40)


async def settle(pilot):
    await pilot.pause(0.01)
    await wait_for(
        pilot,
        lambda: isinstance(pilot.app.screen, NothingToLabelScreen) or image_on_screen(pilot.app),
        "the image to appear",
    )


async def press(pilot, *keys):
    for key in keys:
        await settle(pilot)
        await pilot.press(key)
    await settle(pilot)


def question(app) -> str:
    return str(app.screen.query_one(QuestionPanel).render())


def shown_image(app) -> str:
    return app.screen.query_one(ImagePane).request.image


def history(store, image):
    frame = store.history(image)
    return list(zip(frame["task"], frame["label"], frame["annotator"]))


async def test_back_steps_through_earlier_sessions_and_a_key_appends(workspace, store):
    store.add_label(IMAGES[0], "light", "left", "ann")  # an earlier session
    store.add_label(IMAGES[0], "orientation", "center", "ann")
    app = LabelApp(LabelConfig(workspace, "ann", tasks=workspace.tasks), store)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "d")  # this session: image 2, light right, orientation right
        assert app.session.current.image == IMAGES[2]
        await press(pilot, "b")
        assert shown_image(app) == IMAGES[1] and "Where is the face turned?" in question(app)
        assert "right ◀ your decision" in question(app)
        await press(pilot, "left_square_bracket", "b")
        assert shown_image(app) == IMAGES[0] and "center ◀ your decision" in question(app)
        await press(pilot, "a")  # orientation of image 1, center -> left: appended
        assert "left ◀ your decision" in question(app)
        await press(pilot, "b")
        assert "Where does the light come from?" in question(app) and "left ◀ your decision" in question(app)
        await press(pilot, "b")  # nothing older: stays
        assert app.screen.lookback.index == 3
        await press(pilot, "right_square_bracket")
        assert "Where is the face turned?" in question(app) and "left ◀ your decision" in question(app)
        await press(pilot, "right_square_bracket", "right_square_bracket", "right_square_bracket")
        assert not app.screen.lookback.active and app.session.current.image == IMAGES[2]
        await press(pilot, "a")  # the queue goes on where it was
        await pilot.press("q")
    assert history(store, IMAGES[0]) == [
        ("light", "left", "ann"),
        ("orientation", "center", "ann"),
        ("orientation", "left", "ann"),
    ]
    live = store.live_labels()
    assert set(zip(live["image"], live["task"], live["label"])) >= {
        (IMAGES[0], "orientation", "left"),
        (IMAGES[2], "light", "left"),
    }
    outcome = app.return_value
    assert outcome.counts == {
        ("light", "right"): 1,
        ("orientation", "right"): 1,
        ("orientation", "left"): 1,
        ("light", "left"): 1,
    }
    assert outcome.changes == 1


async def test_escape_returns_to_the_queue_and_back_works_on_the_finished_screen(workspace, store):
    store.add_label(IMAGES[4], "light", "left", "ann")
    app = LabelApp(LabelConfig(workspace, "ann", "review"), store)  # empty queue
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, NothingToLabelScreen)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, LabelScreen) and image_on_screen_back(app), "going back")
        assert shown_image(app) == IMAGES[4]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, NothingToLabelScreen), "the finished screen again")
        # Found by the TUI review of 2026-12-06: a second esc (going back once more) ended the session.
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert isinstance(app.screen, NothingToLabelScreen) and app.is_running


def image_on_screen_back(app) -> bool:
    pane = app.screen.query_one(ImagePane)
    return app.screen.lookback.active and pane.request is not None and pane.shown == pane.request


async def test_image_opens_exactly_that_image_in_any_state(workspace, store):
    store.add_label(IMAGES[6], "light", "left", "bob")
    store.add_label(IMAGES[6], "orientation", "right", "ann")
    app = LabelApp(LabelConfig(workspace, "ann", image=IMAGES[6]), store)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert [item.image for item in app.session.items] == [IMAGES[6]]
        assert app.session.current.tasks == ("light", "orientation")
        # ann's stored answer shows as hers, earlier (bob's is not hers).
        info = app.screen.query_one(ImageInfo)
        await wait_for(pilot, lambda: "right (earlier)" in str(info.render()), "ann's earlier answer")
        assert "left (earlier)" not in str(info.render())
        await press(pilot, "d", "s")
        assert isinstance(app.screen, NothingToLabelScreen)
        await wait_for(
            pilot, lambda: "Every question about" in str(app.screen.query_one("#nothing-message").render()), "hint"
        )
        await pilot.press("q")
    assert history(store, IMAGES[6])[2:] == [("light", "right", "ann"), ("orientation", "center", "ann")]
    assert app.return_value.counts == {("light", "right"): 1, ("orientation", "center"): 1}


async def test_a_key_after_undo_and_back_again_is_stored_not_called_unchanged(workspace, store):
    """An attack pass found: a, b, esc, u, b, a said "light stays left" and stored nothing
    (going back showed the undone decision from a list read before the undo)."""
    app = LabelApp(LabelConfig(workspace, "ann", tasks=workspace.tasks[:1]), store)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "a", "b", "escape", "u")
        assert store.live_labels().empty
        await press(pilot, "a", "b")  # a new decision (image 1 again), then back to it
        assert shown_image(app) == IMAGES[0] and app.screen.lookback.index == 0
        await press(pilot, "escape", "u", "b")  # undone again: nothing of ann's is live
        assert not app.screen.lookback.active  # nothing to go back to
        await press(pilot, "a", "d", "b")  # image 1 left, image 2 right; back shows the newest
        assert shown_image(app) == IMAGES[1]
        [(label_id,)] = store.query(
            "SELECT label_id FROM live v JOIN images i ON i.id = v.image_id WHERE i.name = ?", [IMAGES[1]]
        )
        store.revoke(label_id, "ann")  # undone by another process while it is on screen
        await press(pilot, "d")  # the same key as the (since undone) label shown: stored
        await pilot.press("q")
    live = store.live_labels()
    assert sorted(zip(live["image"], live["label"])) == [(IMAGES[0], "left"), (IMAGES[1], "right")]


async def test_changing_this_sessions_decision_moves_its_count(workspace, store):
    # right, then back and left: the session's tally says left 1 (it said left 1 and right 1).
    app = LabelApp(LabelConfig(workspace, "ann", tasks=workspace.tasks[:1]), store)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "b", "a")
        assert "left ◀ your decision" in question(app)
        await pilot.press("q")
    assert app.return_value.counts == {("light", "left"): 1}
    assert app.return_value.changes == 1
    # Found by the walkthrough of 2026-12-06: the panel said 2 labels, the summary "1 decision
    # stored (1 of them changes ...)". Both count the two labels stored now.
    assert app.return_value.stored == app.session.stats.decisions == 2
    from celeba_tui.labelling.session_summary import SessionSummary, summary_lines

    summary = SessionSummary("ann", "unlabelled", app.return_value, tuple(workspace.tasks[:1]), None, None, [])
    assert summary_lines(summary)[0] == "Session of ann: 2 decisions stored (1 of them changes an earlier one)."


async def test_undo_after_a_change_withdraws_the_answer_that_stands(workspace, store):
    # Found by the TUI review of 2026-12-06: after `b` and a new class, `u` said "undone:
    # orientation = left" and withdrew the replaced answer; the new `right` stayed live.
    # Now it withdraws `right`, the change, and the answer before it stands again.
    app = LabelApp(LabelConfig(workspace, "ann", tasks=workspace.tasks), store)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "a")  # image 1: light right, orientation left
        await press(pilot, "b")
        assert "left ◀ your decision" in question(app)
        await press(pilot, "d")  # orientation left -> right
        await press(pilot, "escape", "u")
        # Helper-83: the screen then asked the question again and counted it open, while the
        # store kept `left`; a space then called it skipped. `left` stands, as stored: the
        # cursor stays where it was, and the tally is of the answers as they stand.
        assert app.session.current.image == IMAGES[1] and app.session.current_task.name == "light"
        await press(pilot, "u")  # then the decision before: orientation left itself
        assert app.session.current.image == IMAGES[0] and app.session.current_task.name == "orientation"
        await press(pilot, "a")  # answered again
        await pilot.press("q")
    live = store.live_labels()
    assert set(zip(live["image"], live["task"], live["label"])) == {
        (IMAGES[0], "light", "right"),
        (IMAGES[0], "orientation", "left"),
    }
    assert app.return_value.counts == {("light", "right"): 1, ("orientation", "left"): 1}
    assert (app.return_value.changes, app.return_value.skipped) == (0, 0)


async def test_undoing_a_change_says_which_answer_stands_and_counts_it_done(workspace, store):
    app = LabelApp(LabelConfig(workspace, "ann", tasks=workspace.tasks[:1]), store)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "d", "b")  # image 1 right; back to it
        await press(pilot, "a", "a")  # right -> left, then left again: one change
        await press(pilot, "escape")
        done_before = app.session.done
        notes = []
        app.screen.notify = lambda message, **_: notes.append(message)
        await press(pilot, "u")
        assert notes == [f"undone: light = left for {IMAGES[0]}; right stands again"]
        assert app.session.done == done_before and app.session.current.image == IMAGES[1]
        await pilot.press("q")
    assert app.return_value.counts == {("light", "right"): 1} and app.return_value.changes == 0


async def test_u_takes_back_a_change_of_an_older_decision_before_the_newer_decisions(workspace, store):
    # Attack pass 40 (helper-84): the change of image 1 was the last action, but `u` withdrew
    # image 2's answer (the newest decision); a change of an earlier session's decision could
    # not be undone at all.
    store.add_label(IMAGES[9], "light", "right", "ann")  # an earlier session's decision
    app = LabelApp(LabelConfig(workspace, "ann", tasks=workspace.tasks[:1]), store)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "a", "d", "b", "b")  # image 1 left, image 2 right; back to image 1
        await press(pilot, "s", "escape")  # image 1: left -> center
        notes = []
        app.screen.notify = lambda message, **_: notes.append(message)
        await press(pilot, "u")
        assert notes[-1] == f"undone: light = center for {IMAGES[0]}; left stands again"
        await press(pilot, "b", "b", "b", "a", "escape", "u")  # the earlier session's: right -> left, undone
        assert notes[-1] == f"undone: light = left for {IMAGES[9]}; right stands again"
        await press(pilot, "u")  # then the newest decision of this session itself
        assert notes[-1] == f"undone: light = right for {IMAGES[1]}"
        await pilot.press("q")
    live = store.live_labels()
    assert sorted(zip(live["image"], live["label"])) == [(IMAGES[0], "left"), (IMAGES[9], "right")]
    assert app.return_value.counts == {("light", "left"): 1} and app.return_value.changes == 0
