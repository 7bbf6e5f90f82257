"""`celeba browse` driven by Textual's Pilot: what the grid shows for each filter (against
a direct store query), relabelling from the image view, and hostile input."""

from __future__ import annotations

import pytest

from celeba_tui.labelling.browse_filter import BrowseFilter
from celeba_tui.tui.browse_app import BrowseApp, BrowseConfig
from celeba_tui.tui.screens.browse_detail_screen import BrowseDetailScreen
from celeba_tui.tui.screens.browse_screen import BrowseScreen

from pilot import wait_for
from store_rows import add_prediction

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]
SIZE = (120, 40)


def make_app(workspace, store, wanted: BrowseFilter | None = None, me="me", **kwargs):
    return BrowseApp(BrowseConfig(workspace, me, wanted or BrowseFilter(), **kwargs), store)


def grid(app) -> BrowseScreen:
    return app.screen


def shown(app) -> list[str]:
    return [tile.image for tile in grid(app).tiles if tile.image is not None]


async def grid_ready(pilot, wanted: BrowseFilter | None = None):
    def ready():
        screen = pilot.app.screen
        return (
            isinstance(screen, BrowseScreen)
            and screen.selection is not None
            and not screen.selection.index.partial
            and screen.geometry is not None
            and (wanted is None or screen.filter == wanted)
            and len(screen.tiles) == screen.geometry.page_size
        )

    await wait_for(pilot, ready, "the grid to show a selection")
    await pilot.pause(0.05)


def thumbnails_done(app) -> bool:
    """Every tile shows pixels or why not (no tile still says "…")."""
    return all(tile.image is None or "…" not in tile.message_text for tile in grid(app).tiles)


@pytest.fixture
def labelled(store):
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "light", "left", "bob")
    store.add_label(IMAGES[1], "light", "left", "ann")
    store.add_label(IMAGES[1], "light", "right", "bob")
    store.add_label(IMAGES[2], "orientation", "center", "rev", "review")
    store.add_label(IMAGES[3], "light", "center", "old", "import")
    store.add_label(IMAGES[4], "light", "right", "ensemble", "model", confidence=0.95)
    add_prediction(store, IMAGES[6], "light", "m1", [0.5, 0.4, 0.1])
    return store


def expected(store, wanted: BrowseFilter) -> list[str]:
    """The same question asked of the store directly (pandas over its tables)."""
    current, live = store.current_labels(), store.live_labels()
    if wanted.label is not None:
        rows = current[current.label == wanted.label]
        if wanted.tasks:
            rows = rows[rows.task.isin(wanted.tasks)]
        return sorted(set(rows.image))
    if wanted.source is not None or wanted.annotator is not None:
        rows = live
        if wanted.source is not None:
            rows = rows[rows.source == wanted.source]
        if wanted.annotator is not None:
            rows = rows[rows.annotator == wanted.annotator]
        return sorted(set(rows.image))
    if wanted.disagreement:
        people = live[live.source.isin(["human", "import"])]
        spread = people.groupby(["image", "task"])["label"].nunique()
        return sorted(set(spread[spread > 1].reset_index().image))
    if wanted.confidence_below is not None:
        return [IMAGES[6]]
    if wanted.queue == "review":
        return sorted(set(current[current.status == "conflict"].image))
    if wanted.words:
        return [n for n in store.image_names() if all(w in n for w in wanted.words)]
    return store.image_names()


@pytest.mark.parametrize(
    "wanted",
    [
        BrowseFilter(),
        BrowseFilter(label="left"),
        BrowseFilter(label="center", tasks=("orientation",)),
        BrowseFilter(source="model"),
        BrowseFilter(source="import"),
        BrowseFilter(annotator="bob"),
        BrowseFilter(queue="review"),
        BrowseFilter(confidence_below=0.6),
        BrowseFilter(disagreement=True),
        BrowseFilter(words=("0003",)),
    ],
    ids=lambda f: f.__repr__().split("(")[1][:40],
)
async def test_each_filter_shows_what_the_store_says(workspace, labelled, wanted):
    app = make_app(workspace, labelled, wanted)
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        assert shown(app) == expected(labelled, wanted)
        assert f"{len(expected(labelled, wanted))} of 10 images" in str(app.screen.query_one("#browse-status").render())


async def test_typed_filter_changes_the_grid(workspace, labelled):
    app = make_app(workspace, labelled)
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        await pilot.press("slash", *"label:left", "enter")
        await grid_ready(pilot, BrowseFilter(label="left"))
        assert shown(app) == expected(labelled, BrowseFilter(label="left"))
        await pilot.press("c")
        await grid_ready(pilot, BrowseFilter())
        assert shown(app) == IMAGES


async def test_bad_typed_filter_keeps_the_grid(workspace, labelled):
    app = make_app(workspace, labelled)
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        await pilot.press("slash", *"conf<9", "enter")
        await pilot.pause(0.1)
        assert shown(app) == IMAGES and app.screen.filtering
        await pilot.press("escape")
        assert not app.screen.filtering


async def open_first_image(pilot) -> None:
    """From the grid, the first image's view, its record read."""
    app = pilot.app
    await grid_ready(pilot)
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, BrowseDetailScreen) and app.screen.record is not None, "the image view"
    )


def current_of(store, image, task, column="label"):
    return store.current_labels().set_index(["image", "task"]).loc[(image, task), column]


async def test_relabel_from_the_image_view_appends_to_the_history(workspace, labelled):
    app = make_app(workspace, labelled, me="carol")
    async with app.run_test(size=SIZE) as pilot:
        await open_first_image(pilot)  # IMAGES[0]: ann and bob agreed on light = left
        assert "ann" in str(app.screen.query_one("#record").render())
        notes = []
        notify = app.screen.notify
        app.screen.notify = lambda message, **kw: (notes.append(message), notify(message, **kw))
        await pilot.press("right")  # light = right, over two other people's labels: a review decision
        await wait_for(
            pilot, lambda: current_of(labelled, IMAGES[0], "light", "status") == "review", "the review to be stored"
        )
        # The cursor stays on light (helper-87: it moved on, and the tab a person pressed to
        # move it took it back); the notice says where tab goes.
        assert notes == [f"stored light = right (review) for {IMAGES[0]}; tab for orientation"]
        await pilot.press("tab", "down")  # orientation = center: nobody labelled it, a human label
        await wait_for(pilot, lambda: len(labelled.history(IMAGES[0])) == 4, "the second label")
        history = labelled.history(IMAGES[0])
        assert history[["task", "label", "annotator", "source"]].values.tolist() == [
            ["light", "left", "ann", "human"],
            ["light", "left", "bob", "human"],
            ["light", "right", "carol", "review"],
            ["orientation", "center", "carol", "human"],
        ]
        await pilot.press("u")  # undo appends a revoking row
        await wait_for(pilot, lambda: len(labelled.history(IMAGES[0])) == 5, "the undo row")
        assert labelled.history(IMAGES[0])["revokes"].notna().sum() == 1
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), "the grid again")
        await grid_ready(pilot)
        assert "right" in str(app.screen.tiles[0].caption.render())


async def test_a_review_from_the_image_view_does_not_silently_replace_one_made_meanwhile(workspace, labelled):
    app = make_app(workspace, labelled, me="carol")
    async with app.run_test(size=SIZE) as pilot:
        await open_first_image(pilot)  # IMAGES[0]: ann and bob agreed on light = left
        labelled.add_label(IMAGES[0], "light", "center", "dave", "review")  # after carol's view was read
        await pilot.press("right")
        await wait_for(
            pilot,
            lambda: any("dave chose center" in str(n.message) for n in app._notifications),
            "the refusal naming dave's decision",
        )
        await wait_for(pilot, lambda: "dave" in str(app.screen.query_one("#record").render()), "dave's row shown")
        await pilot.press("right")  # seen now: carol decides over it
        await wait_for(pilot, lambda: current_of(labelled, IMAGES[0], "light") == "right", "carol's review stored")


async def test_another_process_writing_is_picked_up(workspace, labelled):
    app = make_app(workspace, labelled, BrowseFilter(label="right"))
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        before = shown(app)
        with workspace.open_store() as other:  # another connection, as another process would be
            other.add_label(IMAGES[9], "orientation", "right", "dan")
        await wait_for(pilot, lambda: IMAGES[9] in shown(app), "the poll to pick up the other write", timeout=8)
        assert shown(app) == sorted(before + [IMAGES[9]])


async def test_nothing_matches_says_how_to_widen(workspace, labelled):
    app = make_app(workspace, labelled, BrowseFilter(words=("nope",)))
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        message = str(app.screen.query_one("#grid-message").render())
        assert "No image matches: nope" in message and "c to clear" in message


async def test_question_mark_lists_the_keys_and_filter_terms(workspace, labelled):
    from celeba_tui.tui.screens.guidelines_screen import GuidelinesScreen

    app = make_app(workspace, labelled)
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, GuidelinesScreen), "the help")
        keys = str(app.screen.query_one("#keys-help").render())
        assert "left/right/up/down  move" in keys and "clear the filter" in keys and "annotator:NAME" in keys
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), "the grid again")


async def test_hostile_names_and_broken_files(tmp_path):
    from celeba_tui.workspace import create_workspace

    root = tmp_path / "images"
    root.mkdir()
    (root / "[red]x[-bad.png").write_bytes(b"\x89PNG not really")
    workspace = create_workspace(tmp_path / "ws", root)
    with workspace.open_store(create=True) as store:
        store.register_images(["[red]x[-bad.png", "esc\x1b]0;pwned\x07.jpg", "gone.jpg"])
        app = make_app(workspace, store)
        async with app.run_test(size=SIZE) as pilot:
            await grid_ready(pilot)
            await wait_for(pilot, lambda: thumbnails_done(app), "the placeholders")
            tiles = {tile.image: tile for tile in app.screen.tiles if tile.image}
            markup = tiles["[red]x[-bad.png"]
            assert "[red]x[-bad.png" in str(markup.caption.render())
            assert "not a readable image" in markup.message_text
            assert "file not found" in tiles["gone.jpg"].message_text
            escaped = str(tiles["esc\x1b]0;pwned\x07.jpg"].caption.render())
            assert "\x1b" not in escaped and "\\x1b" in escaped


async def test_terminal_too_small_says_so_until_resized(workspace, labelled):
    app = make_app(workspace, labelled)
    async with app.run_test(size=(30, 8)) as pilot:
        await wait_for(pilot, lambda: app.screen.has_class("too-small"), "the too-small message")
        assert "at least 40x12" in str(app.screen.query_one("#grid-message").render())
        await pilot.resize_terminal(*SIZE)
        await wait_for(
            pilot, lambda: not app.screen.has_class("too-small") and len(shown(app)) == 10, "the grid after resizing"
        )


async def test_paging_and_label_selection(workspace, labelled):
    app = make_app(workspace, labelled)
    async with app.run_test(size=(60, 20)) as pilot:  # a small page: 1 row of tiles
        await grid_ready(pilot)
        page = app.screen.geometry.page_size
        assert shown(app) == IMAGES[:page]
        await pilot.press("pagedown")
        await wait_for(pilot, lambda: shown(app)[:1] == [IMAGES[page]], "the next page")
        await pilot.press("pageup", "right")
        await wait_for(pilot, lambda: app.screen.cursor == 1 and shown(app)[0] == IMAGES[0], "the cursor to move")
        await pilot.press("L")
        from celeba_tui.tui.screens.browse_label_screen import BrowseLabelScreen

        await wait_for(pilot, lambda: isinstance(app.screen, BrowseLabelScreen), "the label screen")
        assert app.screen.session.current.image == IMAGES[1]
        await pilot.pause(0.3)
        # Found by the TUI review of 2026-12-06: `?` here listed only the class keys and q.
        from celeba_tui.tui.screens.guidelines_screen import GuidelinesScreen

        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, GuidelinesScreen), "the help")
        keys = str(app.screen.query_one("#keys-help").render())
        assert "back to browse" in keys and "undo" in keys and "unanswered" in keys, keys
        assert "quit" not in keys, keys  # the label screen's q is browse's "back"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseLabelScreen), "the label screen again")
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), "back to the grid")


def test_grid_geometry_fills_the_terminal():
    from celeba_tui.tui.screens.browse_grid import default_rows, grid_geometry

    geometry = grid_geometry(120, 37, default_rows(37))
    assert (geometry.columns, geometry.rows) == (6, 3) and geometry.tile_width * 6 <= 120
    assert grid_geometry(120, 37, 1).page_size < geometry.page_size < grid_geometry(120, 37, 5).page_size
    assert grid_geometry(40, 9, 3).page_size >= 1


async def test_a_filter_change_does_not_rebuild_the_footer(workspace, labelled):
    """Focus goes to the filter box and back; the footer's keys stay the same widgets."""
    from textual.widgets._footer import FooterKey

    app = make_app(workspace, labelled)
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        keys = list(app.screen.query(FooterKey))
        await pilot.press("slash", *"label:left", "enter")
        await grid_ready(pilot, BrowseFilter(label="left"))
        await pilot.press("slash", "escape")
        await pilot.pause(0.1)
        assert keys and list(app.screen.query(FooterKey)) == keys


async def test_no_relabel_is_written_under_a_label_session_of_the_same_name(workspace, labelled):
    """An attack pass relabelled from `browse --as alice` while `label -a alice` ran: the
    label session, whose queue was read before, then answered over it. Browse's writes now
    take the annotator's lock and are refused (NOT saved) while such a session runs."""
    from celeba_tui.labelling.session_lock import annotator_session
    from celeba_tui.tui.screens.browse_label_screen import BrowseLabelScreen

    app = make_app(workspace, labelled, me="carol")
    before = len(labelled.history())
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        with annotator_session(workspace.path, "carol"):  # carol is in `celeba label` elsewhere
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, BrowseDetailScreen) and app.screen.record is not None,
                "the image view",
            )
            await pilot.press("right")
            await pilot.pause(0.3)
            assert len(labelled.history()) == before
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, BrowseScreen), "the grid again")
            await grid_ready(pilot)
            await pilot.press("L")
            await wait_for(pilot, lambda: isinstance(app.screen, BrowseLabelScreen), "the label screen")
            await wait_for(pilot, lambda: app.screen.pane.ready, "the image")
            await pilot.press("a")
            await pilot.pause(0.3)
            assert len(labelled.history()) == before
            assert "NOT saved" in str(app.screen.query_one("#store-status").render())
        await pilot.press("a")  # the session ended: the same key stores the answer
        await wait_for(pilot, lambda: len(labelled.history()) == before + 1, "the answer")
        await pilot.press("q")
    assert labelled.history().iloc[-1][["annotator", "source"]].tolist() == ["carol", "review"]


async def test_a_filter_the_store_refuses_stays_in_the_box_to_mend(workspace, labelled):
    # Found by the TUI review of 2026-12-06: `label:lft` was refused in a toast and the box
    # closed, so the whole filter had to be typed again.
    from textual.widgets import Input

    app = make_app(workspace, labelled)
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        await pilot.press("slash", *"label:lft", "enter")
        box = app.screen.query_one("#filter", Input)
        await wait_for(pilot, lambda: app.screen.filtering and box.value == "label:lft", "the box again")
        assert app.screen.focused is box
        await pilot.press("escape")
        assert not app.screen.filtering and box.value == ""


async def test_labelling_a_selection_filtered_by_task_asks_that_task_only(workspace, labelled):
    # Found by the TUI review of 2026-12-06: `task:light` then L asked orientation as well.
    from celeba_tui.tui.screens.browse_label_screen import BrowseLabelScreen

    app = make_app(workspace, labelled, BrowseFilter(tasks=("light",)))
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseLabelScreen), "the label screen")
        assert [task.name for task in app.screen.session.tasks.values()] == ["light"]
        assert all(item.tasks == ("light",) for item in app.screen.session.items)


async def test_labelling_the_review_queue_from_browse_asks_its_open_conflicts_only(workspace, labelled):
    # Found by a new-user walkthrough: `--queue review` then L asked light of an image whose
    # light a review had settled (`celeba label --queue review` asks the conflict only).
    from celeba_tui.tui.screens.browse_label_screen import BrowseLabelScreen

    for task, second in (("light", "right"), ("orientation", "right")):
        labelled.add_label(IMAGES[5], task, "left", "ann")
        labelled.add_label(IMAGES[5], task, second, "bob")
    labelled.add_label(IMAGES[5], "light", "center", "rev", "review")
    app = make_app(workspace, labelled, BrowseFilter(queue="review"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: grid(app).selection is not None and shown(app) == [IMAGES[1], IMAGES[5]], "grid")
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, BrowseLabelScreen), "the label screen")
        asked = {item.image: item.tasks for item in app.screen.session.items}
        assert asked == {IMAGES[1]: ("light",), IMAGES[5]: ("orientation",)}


async def test_the_image_view_starts_on_the_task_the_selection_asks(workspace, labelled):
    # Found by the walkthrough of 2026-12-07: `browse -t glasses --disagreement`, Enter, and
    # the class keys stood on light: one key stored a light decision nobody asked for.
    app = make_app(workspace, labelled, BrowseFilter(tasks=("orientation",)), me="carol")
    async with app.run_test(size=SIZE) as pilot:
        await open_first_image(pilot)  # IMAGES[0]: ann and bob labelled its light only
        assert app.screen.task.name == "orientation" and app.screen.image == IMAGES[0]
        await pilot.press("left")
        await wait_for(pilot, lambda: len(labelled.history(IMAGES[0])) == 3, "the stored label")
        assert labelled.history(IMAGES[0]).iloc[-1][["task", "label", "annotator"]].tolist() == [
            "orientation",
            "left",
            "carol",
        ]
        assert app.screen.task.name == "orientation"  # no other task is asked: the cursor stays
        await pilot.press("tab")  # tab still reaches every task
        assert app.screen.task.name == "light"


async def test_whose_name_relabels_go_under_is_said_when_the_grid_opens(workspace, labelled):
    hint = "your decisions go under 'root', the OS user's name (no --as given); people here: 'ann'"
    app = make_app(workspace, labelled, me="root", name_hint=hint)
    async with app.run_test(size=SIZE) as pilot:
        await grid_ready(pilot)
        assert ("Check your name", hint, "warning") in [(n.title, n.message, n.severity) for n in app._notifications]


async def test_the_image_view_starts_on_the_first_task_the_filter_names(workspace, labelled):
    # Attack pass 33: `-t orientation -t light` started on light, the config's first.
    app = make_app(workspace, labelled, BrowseFilter(tasks=("orientation", "light")), me="carol")
    async with app.run_test(size=SIZE) as pilot:
        await open_first_image(pilot)
        assert app.screen.task.name == "orientation"
        await pilot.press("left")  # answered: the cursor stays (helper-87), tab moves it
        await wait_for(pilot, lambda: len(labelled.history(IMAGES[0])) == 3, "the answer stored")
        assert app.screen.task.name == "orientation"
        await pilot.press("tab")
        await wait_for(pilot, lambda: app.screen.task.name == "light", "the next task")
