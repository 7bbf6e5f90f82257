"""Shown when a queue is empty or finished: what happened and what to do next."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Static


class NothingToLabelScreen(Screen[str]):
    """Dismisses with "undo" (the last decision back) or "back" (earlier decisions, `b`)."""

    BINDINGS = [
        # Not esc: it leaves the earlier decisions back to this screen, and a second press
        # (as lazygit and k9s users do to go back) must not end the session.
        Binding("q", "app.quit", "quit"),
        Binding("backspace,u", "undo", "undo last decision", key_display="u/⌫"),
        Binding("b,left_square_bracket", "back", "go back to earlier decisions", key_display="b/["),
    ]

    def __init__(self, title: str, hint: str, *, can_undo: bool, can_go_back: bool = False):
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.can_undo = can_undo
        self.can_go_back = can_go_back

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(self._message(), id="nothing-message")
        yield Footer()

    def _message(self) -> Text:
        message = Text(self.title_text + "\n\n", style="bold")
        message.append(self.hint + "\n\nq: quit", style="")
        return message

    def show_hint(self, hint: str) -> None:
        """The hint, once computed from the store (it starts as a placeholder)."""
        self.hint = hint
        self.query_one("#nothing-message", Static).update(self._message())

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "undo":
            return self.can_undo
        if action == "back":
            return self.can_go_back
        return True

    def action_undo(self) -> None:
        self.dismiss("undo")

    def action_back(self) -> None:
        self.dismiss("back")
