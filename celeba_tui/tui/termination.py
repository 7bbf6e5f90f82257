"""SIGTERM and SIGHUP end an app the way its quit key does; a terminal that is gone ends it at once.

Without this, `kill PID` (or a closed terminal or SSH session) ended the process where it
stood and left the terminal in the app's state: the alternate screen and mouse tracking
on. Every decision is stored when its key is pressed, so ending early loses nothing; it
only has to give the terminal back.

When the terminal itself has gone (an SSH connection dropped, tmux's server killed), there
is nothing to give back, and giving it back can hang: the kernel sends SIGHUP and SIGCONT,
Textual answers SIGCONT by starting its output thread again (as after Ctrl+Z and `fg`),
writes to the dead terminal fail, and its shutdown waited forever on an output queue
nobody empties (about 1 run in 10 in tests/tui/test_tui_terminal.py). So then the process
ends at once, from the event loop (never inside a write), as `kill -9` would: every
decision is already in the store, the session lock goes with the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys

from textual.app import App

SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_resume = {}  # what SIGCONT did before end_on_termination (Textual's resume), to give it back


def end_on_termination(app: App) -> None:
    """From now until `stop_ending_on_termination`, SIGTERM and SIGHUP call `app.exit()`
    in its event loop, or end the process where the terminal it started on is gone (call
    from the app's on_mount)."""
    had_terminal = _terminal_there()
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        # Not the main thread, or a loop without signal support: the default stays.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, _end, app, had_terminal)
    with contextlib.suppress(ValueError, OSError):  # not the main thread
        previous = signal.getsignal(signal.SIGCONT)
        _resume["handler"] = previous

        def on_continue(number, frame) -> None:
            if had_terminal and not _terminal_there():
                return  # the terminal hung up: the SIGHUP that came with it ends the app
            if callable(previous):
                previous(number, frame)

        signal.signal(signal.SIGCONT, on_continue)


def stop_ending_on_termination() -> None:
    """Give SIGTERM, SIGHUP and SIGCONT back what they did (call from the app's on_unmount)."""
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(number)
    if "handler" in _resume:
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(signal.SIGCONT, _resume.pop("handler"))


def _end(app: App, had_terminal: bool) -> None:
    if had_terminal and not _terminal_there():
        os._exit(0)  # nothing to give back, and nothing unstored: see the module's docstring
    app.exit()


def _terminal_there() -> bool:
    """Whether stdout is a terminal that still answers (a hung-up one does not)."""
    try:
        return os.isatty(sys.__stdout__.fileno())
    except (AttributeError, ValueError, OSError):
        return False
