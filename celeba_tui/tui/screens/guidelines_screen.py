"""The workspace's labelling guidelines (guidelines.md), shown by `?`."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown


def guidelines_markdown(path: Path) -> str:
    """The guidelines text, or a note saying where it should be."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"# No guidelines\n\nCould not read `{path}` ({exc}). Write your team's rules there."


class GuidelinesScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "back to labelling"),
    ]

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="guidelines"):
            yield Markdown(guidelines_markdown(self.path))
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
