"""The current question, large, with the keys that answer it."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from celeba_tui.console import printable
from celeba_tui.tui.key_map import class_keys
from celeba_tui.tui.widgets.big_text import big_text


def question_text(task, heading: str, width: int, *, big: bool = True, chosen: str | None = None) -> Text:
    """Pure: the heading, the task's name (big letters when `big`), its prompt, one line per class.

    `chosen` marks the class an earlier decision gave (going back). The same for every
    item of a queue: a flip check is not announced (checks are blind).
    """
    text = Text()
    text.append(heading + "\n", style="dim")
    rows = big_text(task.name, width) if big else None
    if rows:
        text.append("\n".join(rows) + "\n", style="bold")
    else:
        text.append(task.name.upper() + "\n", style="bold")
    text.append(printable(task.prompt) + ("\n\n" if big else "\n"), style="bold")  # free text from the config
    for keys in class_keys(task.classes):
        text.append(f" {keys.display:<9}", style="reverse")
        mark = " ◀ your decision" if keys.label == chosen else ""
        text.append(f" {keys.label}{mark}\n", style="bold green" if mark else "")
    text.rstrip()
    return text


class QuestionPanel(Static):
    """Task name in big letters (plain on short terminals), the question, the class keys."""

    _lines = -1

    def show_question(self, task, heading: str, *, chosen: str | None = None) -> None:
        width = max(self.content_size.width, 20)
        big = not self.screen.has_class("compact")
        self._update_lines(question_text(task, heading, width, big=big, chosen=chosen))

    def _update_lines(self, text: Text) -> None:
        # A new layout only when the height changes: most keys just swap the text.
        width = max(self.content_size.width, 1)
        lines = sum(max(1, -(-cell_len(line) // width)) for line in text.plain.split("\n"))
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    def show_done(self, message: str) -> None:
        self._update_lines(Text(message, style="bold"))
