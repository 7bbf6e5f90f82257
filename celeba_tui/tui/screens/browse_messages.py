"""Messages of `celeba browse`'s workers (beside the label app's tui/messages.py)."""

from __future__ import annotations

from textual.message import Message


class SelectionReady(Message):
    """A worker selected images for a filter (or says why it could not)."""

    def __init__(self, selection, error: str | None, started: float, kind: str, keep_image: str | None):
        super().__init__()
        self.selection = selection
        self.error = error
        self.started = started
        self.kind = kind
        self.keep_image = keep_image


class RecordLoaded(Message):
    """Everything known about `image` (labelling.image_history.ImageRecord), or why not."""

    def __init__(self, image: str, record, error: str | None):
        super().__init__()
        self.image = image
        self.record = record
        self.error = error
