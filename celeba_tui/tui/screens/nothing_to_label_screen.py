"""Shown when a queue is empty or finished: what happened and what to do next."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Static


class NothingToLabelScreen(Screen[str]):
    """Dismisses with "undo" when the annotator wants their last decision back."""

    BINDINGS = [
        Binding("q,escape", "app.quit", "quit"),
        Binding("backspace,u", "undo", "undo last decision"),
    ]

    def __init__(self, title: str, hint: str, *, can_undo: bool):
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.can_undo = can_undo

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            message = Text(self.title_text + "\n\n", style="bold")
            message.append(self.hint + "\n\nq: quit", style="")
            yield Static(message, id="nothing-message")
        yield Footer()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return self.can_undo if action == "undo" else True

    def action_undo(self) -> None:
        self.dismiss("undo")
