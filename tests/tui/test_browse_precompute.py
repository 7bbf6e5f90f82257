"""`celeba browse` computes what `conf<` and `queue:` filters need in a background thread
once the first page is on screen: the grid then shows what a direct store query says, and
another process's write drops the precomputed answer (Pilot, real store)."""

from __future__ import annotations

import json

from celeba_tui.labelling.browse_filter import BrowseFilter, parse_filter
from celeba_tui.labelling.browsing import Browser
from celeba_tui.tui.browse_app import BrowseApp, BrowseConfig
from celeba_tui.tui.screens.browse_screen import BrowseScreen

from pilot import wait_for
from store_rows import add_prediction

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]
SIZE = (120, 40)
SLOW_KEYS = ("confidence", "queue:review")


def direct_low_confidence(store, below: float) -> list[str]:
    """Images whose models' mean probability for their best class is under `below` (straight from SQL)."""
    rows = store.query(
        "SELECT i.name, p.task, p.probs FROM predictions p JOIN images i ON i.id = p.image_id WHERE i.present = 1"
    )
    means: dict[tuple[str, str], list[list[float]]] = {}
    for image, task, probs in rows:
        means.setdefault((image, task), []).append(json.loads(probs))
    low = set()
    for (image, _), lists in means.items():
        best = max(sum(column) / len(column) for column in zip(*lists))
        if best < below:
            low.add(image)
    return sorted(low)


def direct_conflicts(store) -> list[str]:
    return [
        row[0]
        for row in store.query(
            "SELECT DISTINCT i.name FROM current c JOIN images i ON i.id = c.image_id "
            "WHERE c.status = 'conflict' AND i.present = 1 ORDER BY i.name"
        )
    ]


def shown(app) -> list[str]:
    return [tile.image for tile in app.screen.tiles if tile.image is not None]


def precomputed(app) -> bool:
    screen = app.screen
    return (
        isinstance(screen, BrowseScreen)
        and screen.selection is not None
        and not screen.selection.index.partial
        and screen.browser.index is screen.selection.index
        and all(screen.browser.ready(key) for key in SLOW_KEYS)
    )


async def apply(pilot, text: str) -> None:
    await pilot.press("slash", *text, "enter")
    wanted = parse_filter(text)

    def done():
        screen = pilot.app.screen
        return screen.filter == wanted and screen.selection.filter == wanted and not screen.filtering

    await wait_for(pilot, done, f"the filter {text!r}")
    await pilot.pause(0.05)


def seed(store) -> None:
    store.add_label(IMAGES[0], "light", "left", "ann")
    store.add_label(IMAGES[0], "light", "right", "bob")  # a conflict
    store.add_label(IMAGES[1], "light", "left", "ann")
    add_prediction(store, IMAGES[5], "light", "m1", [0.5, 0.4, 0.1])
    add_prediction(store, IMAGES[5], "light", "m2", [0.3, 0.6, 0.1])  # mean 0.4 / 0.5 / 0.1: confidence 0.5
    add_prediction(store, IMAGES[6], "light", "m1", [0.9, 0.05, 0.05])


async def test_precomputed_filters_match_the_store_and_follow_other_writes(workspace, store):
    seed(store)
    app = BrowseApp(BrowseConfig(workspace, "me", BrowseFilter()), store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: precomputed(app), "the background precompute")
        await apply(pilot, "conf<0.6")
        assert shown(app) == direct_low_confidence(store, 0.6) == [IMAGES[5]]
        await apply(pilot, "queue:review")
        assert shown(app) == direct_conflicts(store) == [IMAGES[0]]

        # Another process writes: a new conflict and a new unsure prediction.
        with workspace.open_store() as other:
            other.add_label(IMAGES[2], "orientation", "left", "ann")
            other.add_label(IMAGES[2], "orientation", "center", "bob")
            add_prediction(other, IMAGES[7], "light", "m1", [0.34, 0.33, 0.33])
        await wait_for(pilot, lambda: IMAGES[2] in shown(app), "the poll to pick up the write", timeout=8)
        assert shown(app) == direct_conflicts(store) == [IMAGES[0], IMAGES[2]]
        await wait_for(pilot, lambda: precomputed(app), "the precompute of the new state")
        await apply(pilot, "conf<0.6")
        assert shown(app) == direct_low_confidence(store, 0.6) == [IMAGES[5], IMAGES[7]]


def test_precompute_gives_what_a_filter_computes_itself(workspace, store):
    """The same arrays from the background path and from a filter that asks first."""
    seed(store)
    ahead, asked = Browser(store, workspace, "me"), Browser(store, workspace, "me")
    ahead.load(), asked.load()
    assert set(SLOW_KEYS) <= set(ahead.precompute())
    for text in ("conf<0.6", "queue:review", "queue:unlabeled", "sort:confidence"):
        assert ahead.select(parse_filter(text)).names() == asked.select(parse_filter(text)).names(), text
    store.add_label(IMAGES[3], "light", "left", "ann")
    store.add_label(IMAGES[3], "light", "center", "bob")
    ahead.load()  # a reload drops what was computed for the old state
    assert not ahead.ready("queue:review")
    # After a reload only what this session's filters asked for is computed again.
    assert ahead.precompute(only_asked=True) == ["confidence", "queue:review", "queue:unlabelled"]
    assert not ahead.ready("queue:manual")
    assert IMAGES[3] in ahead.select(parse_filter("queue:review")).names()
