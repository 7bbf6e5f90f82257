"""Driving the Textual app in tests: wait for a condition, or fail naming what never happened."""

from __future__ import annotations

import time


async def wait_for(pilot, predicate, description: str, timeout: float = 10.0) -> None:
    """Let the app run until `predicate()` holds; an AssertionError naming `description` after `timeout` s.

    A widget the predicate queries may not be mounted yet: that counts as "not yet".
    """
    from textual.css.query import NoMatches

    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause(0.01)
        try:
            if predicate():
                return
        except NoMatches:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {description}")


def image_on_screen(app) -> bool:
    """The labelling screen shows the image it asked for (or its placeholder), painted with
    its question (a key pressed before then is refused: LabelScreen.seen_when_pressed), and
    the queue is counted."""
    from celeba_tui.tui.screens.label_screen import LabelScreen
    from celeba_tui.tui.widgets.image_pane import ImagePane

    screen = app.screen
    if not isinstance(screen, LabelScreen):
        return False
    pane = screen.query_one(ImagePane)
    painted = pane.error is not None or screen.question_on_screen
    return pane.request is not None and pane.shown == pane.request and painted and app.session.complete
