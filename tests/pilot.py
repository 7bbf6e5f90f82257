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
