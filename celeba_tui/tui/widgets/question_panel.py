"""The current question, large, with the keys that answer it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from celeba_tui.console import printable
from celeba_tui.tui.key_map import class_keys
from celeba_tui.tui.widgets.big_text import big_text


class QuestionPanel(Static):
    """Task name in big letters, the question, and one line per class with its keys."""

    _lines = -1

    def show_question(self, task, number: int, count: int, check: bool) -> None:
        text = Text()
        width = max(self.content_size.width, 20)
        heading = f"{'consistency check · mirrored · ' if check else ''}question {number} of {count}"
        text.append(heading + "\n", style="dim")
        rows = big_text(task.name, width)
        if rows:
            text.append("\n".join(rows) + "\n", style="bold")
        else:
            text.append(task.name.upper() + "\n", style="bold")
        text.append(printable(task.prompt) + "\n\n", style="bold")  # free text from the config
        for keys in class_keys(task.classes):
            text.append(f" {keys.display:<9}", style="reverse")
            text.append(f" {keys.label}\n")
        self._update_lines(text)

    def _update_lines(self, text: Text) -> None:
        # A new layout only when the height changes: most keys just swap the text.
        lines = text.plain.count("\n")
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    def show_done(self, message: str) -> None:
        self._update_lines(Text(message, style="bold"))
