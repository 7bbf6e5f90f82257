"""Progress through the queue and this session's counts and pace."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static


def stats_text(done: int | None, total: int | None, counts, tasks: Sequence, decisions: int, per_minute: float) -> Text:
    """Pure: "done / total" and, per task, how often each class was chosen this session."""
    text = Text()
    if total is None:
        text.append("counting the queue…\n", style="bold")
    else:
        text.append(f"{done:,} / {total:,} images done\n", style="bold")
    labels = "1 label" if decisions == 1 else f"{decisions:,} labels"
    text.append(f"this session: {labels} · {per_minute:.1f}/min\n", style="dim")
    for task in tasks:
        parts = [f"{label} {counts.get((task.name, label), 0)}" for label in task.classes]
        text.append(f"  {task.name:<12} " + " · ".join(parts) + "\n")
    return text


class SessionStats(Vertical):
    """A progress bar over the queue and the session statistics under it."""

    _shown = False

    def compose(self) -> ComposeResult:
        yield ProgressBar(show_eta=False, id="progress")
        yield Static("", id="stats-text")

    def show_stats(
        self, done: int | None, total: int | None, counts, tasks: Sequence, decisions: int, per_minute: float
    ) -> None:
        bar = self.query_one(ProgressBar)
        # An unknown total would animate an indeterminate bar: repaints we do not want.
        bar.display = total is not None
        if total is not None:
            bar.update(total=max(total, 1), progress=done)
        # Same number of lines every time: no new layout needed after the first.
        text = stats_text(done, total, counts, tasks, decisions, per_minute)
        self.query_one("#stats-text", Static).update(text, layout=not self._shown)
        self._shown = True
