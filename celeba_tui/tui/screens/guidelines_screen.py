"""`?`: the keys of the screen it was opened from, then the workspace's labelling
guidelines (guidelines.md)."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, Static

from celeba_tui.console import printable
from celeba_tui.labelling.guidelines import read_guidelines
from celeba_tui.tui.keys_help import KeyRow, keys_text


def shown_text(text: str) -> str:
    """The text with every control character but the line breaks written as its escape:
    nothing in the file can reach the terminal as a control sequence."""
    return "\n".join(printable(line.expandtabs(4)) for line in text.replace("\r\n", "\n").split("\n"))


class KeysHelp(Static):
    """The keys' rows, what each does wrapped beside its keys at the width the widget has,
    then a note (plain text, markup off)."""

    def __init__(self, rows: list[KeyRow], note: str = "", **kwargs):
        super().__init__(self._text(rows, note, None), markup=False, **kwargs)
        self.rows, self.note = rows, note

    @staticmethod
    def _text(rows: list[KeyRow], note: str, width: int | None) -> str:
        return keys_text(rows, width) + (f"\n\n{note}" if note else "")

    def on_resize(self, event) -> None:
        self.update(self._text(self.rows, self.note, event.size.width))


class GuidelinesScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "close"),
        # Said in the footer: the walkthrough of 2026-12-07 found nothing telling that it scrolls.
        Binding("pagedown,space", "page(1)", "scroll", key_display="PgUp/PgDn"),
        Binding("pageup", "page(-1)", "scroll", show=False),
    ]

    def __init__(self, path: Path, keys: list[KeyRow] = (), note: str = ""):
        super().__init__()
        self.path = path
        self.keys = list(keys)  # the keys of the screen underneath (keys_help)
        self.note = note  # said under them

    def compose(self) -> ComposeResult:
        guidelines = read_guidelines(self.path)
        text = shown_text(guidelines.text)
        with VerticalScroll(id="guidelines"):
            if self.keys:
                yield Static("Keys", classes="help-heading")
                yield KeysHelp(self.keys, self.note, id="keys-help")
                yield Static("Guidelines", classes="help-heading")
            if guidelines.markdown:
                # Links are shown, not followed: the file is the team's, a click must not open anything.
                yield Markdown(text, open_links=False)
            else:
                yield Static(text, markup=False, id="guidelines-text")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_page(self, direction: int) -> None:
        scroll = self.query_one("#guidelines", VerticalScroll)
        if direction > 0:
            scroll.scroll_page_down()
        else:
            scroll.scroll_page_up()
