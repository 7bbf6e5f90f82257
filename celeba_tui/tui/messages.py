"""Messages the TUI's workers and widgets post (one place, as harlequin does)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.message import Message


@dataclass(frozen=True)
class KeyStamp:
    """A key press as it arrived: the key, its monotonic time, the process CPU time then."""

    key: str
    time: float
    cpu: float

    def elapsed(self) -> tuple[float, float]:
        """(wall seconds, process CPU seconds) since the key arrived."""
        return time.monotonic() - self.time, time.process_time() - self.cpu


@dataclass(frozen=True)
class DisplayRequest:
    """An image to show: which, how, and (for the timing log) which key asked for it."""

    image: str
    mirrored: bool = False
    view: str = "original"
    stamp: KeyStamp | None = None


class QueueBuilt(Message):
    """The queue worker finished: the session to run (or an error to show)."""

    def __init__(self, session=None, error: str | None = None, seconds: float = 0.0):
        super().__init__()
        self.session = session
        self.error = error
        self.seconds = seconds


class QueueCompleted(Message):
    """The whole queue, built after the session started on its first page (or why not)."""

    def __init__(self, built, error: str | None, seconds: float):
        super().__init__()
        self.built = built
        self.error = error
        self.seconds = seconds


class ImagePrepared(Message):
    """A worker prepared `request` at `size`: strips/an image, or why not (`unreadable`: the file)."""

    def __init__(self, request: DisplayRequest, size: tuple[int, int], result, error: str | None, unreadable: bool):
        super().__init__()
        self.request = request
        self.size = size
        self.result = result
        self.error = error
        self.unreadable = unreadable


class ImageShown(Message):
    """The pane painted `request` (`elapsed` since its key, if any); why the file is unreadable."""

    def __init__(self, request: DisplayRequest, elapsed: tuple[float, float] | None, unreadable: str | None):
        super().__init__()
        self.request = request
        self.elapsed = elapsed
        self.unreadable = unreadable


class ContextLoaded(Message):
    """The answers and predictions known for `image` (queues.item_context)."""

    def __init__(self, image: str, context):
        super().__init__()
        self.image = image
        self.context = context
