"""Flip checks are blind: on screen a mirrored check looks like any other item; the store knows."""

from __future__ import annotations

import re

from celeba_tui.labelling.queues import QueueOptions
from celeba_tui.tui.app import LabelApp, LabelConfig
from celeba_tui.tui.screens.nothing_to_label_screen import NothingToLabelScreen
from celeba_tui.tui.widgets.image_info import ImageInfo
from celeba_tui.tui.widgets.image_pane import ImagePane
from celeba_tui.tui.widgets.question_panel import QuestionPanel

from pilot import image_on_screen, wait_for

IMAGES = [f"{i:06d}.jpg" for i in range(1, 11)]
SIZE = (120, 40)


def screen_text(app) -> str:
    """Everything the side panels show, with the image's name taken out (names differ per item anyway)."""
    screen = app.screen
    parts = [
        str(screen.query_one(QuestionPanel).render()),
        str(screen.query_one(ImageInfo).render()),
        str(screen.query_one("#stats-text").render()),
        str(app.screen.query_one("#store-status").render()),
    ]
    return "\n".join(parts).replace(app.session.current.image, "NAME")


def progress(app) -> tuple[int, int]:
    done, total = re.search(r"(\d+) / (\d+) images done", str(app.screen.query_one("#stats-text").render())).groups()
    return int(done), int(total)


async def test_a_check_looks_like_any_item_and_is_recorded_as_a_check(workspace, store):
    for image in IMAGES[7:]:
        store.add_label(image, "light", "left", "ann")
    app = LabelApp(
        LabelConfig(workspace, "ann", checks=0.5, options=QueueOptions(seed=1), tasks=workspace.tasks[:1]), store
    )
    seen = {True: [], False: []}
    steps = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: image_on_screen(app), "the first image")
        while not isinstance(app.screen, NothingToLabelScreen):
            await wait_for(pilot, lambda: app.screen.context is not None, "the context")
            item = app.session.current
            pane = app.screen.query_one(ImagePane)
            assert pane.shown.mirrored == item.check  # the picture is mirrored, nothing else says so
            text = screen_text(app)
            # The counters say nothing either way: the same words, numbers (and their plurals,
            # "1 label", "2 labels") moving alike.
            seen[item.check].append(re.sub(r"\d+", "N", text).replace("N labels", "N label"))
            steps.append(progress(app))
            await pilot.press("a")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, NothingToLabelScreen) or image_on_screen(app),
                "the next item",
            )
    assert seen[True] and seen[False]
    assert set(seen[True]) <= set(seen[False])  # every check screen is one a regular item also showed
    assert not any(word in "".join(seen[True]).lower() for word in ("mirror", "check", "consistency", "flip"))
    dones = [done for done, _ in steps]
    assert dones == list(range(dones[0], dones[0] + len(dones)))  # one step per answer, checks included
    assert len({total for _, total in steps}) == 1  # a check never changes the total
    checks = store.checks()
    assert len(checks) == len(seen[True]) and set(checks["expected"]) == {"right"}
    assert len(store.live_labels()) == 10  # check answers are not labels
