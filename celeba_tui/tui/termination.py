"""SIGTERM and SIGHUP end an app the way its quit key does.

Without this, `kill PID` (or a closed terminal or SSH session) ended the process where it
stood and left the terminal in the app's state: the alternate screen and mouse tracking
on. Every decision is stored when its key is pressed, so ending early loses nothing; it
only has to give the terminal back.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from textual.app import App

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def end_on_termination(app: App) -> None:
    """From now until `stop_ending_on_termination`, SIGTERM and SIGHUP call `app.exit()`
    in its event loop (call from the app's on_mount)."""
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        # Not the main thread, or a loop without signal support: the default stays.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, app.exit)


def stop_ending_on_termination() -> None:
    """Give SIGTERM and SIGHUP back their default (call from the app's on_unmount)."""
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(number)
