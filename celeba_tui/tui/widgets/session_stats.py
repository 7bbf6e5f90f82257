"""Progress through the queue and this session's counts and pace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from celeba_tui.console import counted, distinct_prefixes, middle_cut, printable
from celeba_tui.labelling.pace import time_left_text

MAX_OTHERS_SHOWN = 26  # characters of "NAME, NAME" before the rest is "+N": one line of the side panel


@dataclass(frozen=True)
class PanelFigures:
    """What the side panel shows: progress through the queue, this session's counts by
    (task, class) and pace, and who else labels here now."""

    done: int | None
    total: int | None  # None while the queue is still being counted
    counts: Mapping[tuple[str, str], int]
    tasks: Sequence
    decisions: int
    per_minute: float
    others: Sequence[str] = ()
    changes: int = 0  # of `decisions`, earlier answers changed by going back
    minutes_left: float | None = None  # the rest of the queue at this session's pace (None: too soon to say)
    skipped: int = 0  # questions this session left open (space)
    last: tuple[str, str, str] | None = None  # (image, task, label) of the last answer standing, where there is room


def stats_text(figures: PanelFigures, width: int | None = None) -> Text:
    """Pure: "done / total", who else labels here now, and per task how often each class
    was chosen this session. In a panel `width` columns wide, lines that would wrap (and
    push the last task's counts off a 60x16 screen) take their short form:
    "light l:0 c:0 r:0", "session: 2 labels · 3.0/min" (every task's line the same form)."""
    done, total, decisions = figures.done, figures.total, figures.decisions
    counts, others = figures.counts, figures.others
    fits = (lambda line: len(line) <= width) if width else (lambda line: True)
    text = Text()
    if total is None:
        text.append("counting the queue…\n", style="bold")
    else:
        text.append(f"{done:,} / {counted(total, 'image')} done\n", style="bold")
    if figures.minutes_left is not None and total is not None and done < total:
        text.append(f"{time_left_text(figures.minutes_left)} at this pace\n", style="dim")
    # New answers, then the answers changed by going back (the walkthrough of 2026-12-07:
    # "9 labels, 1 changed" counted the change as a label given too).
    given = counted(decisions - figures.changes, "label") + (  # SessionStats.new_answers
        f", {figures.changes:,} changed" if figures.changes else ""
    )
    given += f", {figures.skipped:,} skipped" if figures.skipped else ""  # helper-87: said only on quitting
    pace = f"{given} · {figures.per_minute:.1f}/min"
    session = next((line for line in (f"this session: {pace}", f"session: {pace}") if fits(line)), pace)
    text.append(session + "\n", style="dim")
    if figures.last is not None:  # helper-87: nothing said which answer the last key stored
        image, task, label = figures.last
        line = f"last: {printable(task)} {printable(label)} · {printable(image)}"
        text.append((middle_cut(line, width) if width else line) + "\n", style="dim")
    numbers = {task.name: [counts.get((task.name, label), 0) for label in task.classes] for task in figures.tasks}
    lines = [
        f"  {task.name:<12} " + " · ".join(f"{label} {n}" for label, n in zip(task.classes, numbers[task.name]))
        for task in figures.tasks
    ]
    if not all(fits(line) for line in lines):  # the short form for all, so the lines read alike
        lines = [
            f"{task.name} "
            # the shortest prefixes that tell the classes apart
            + " ".join(f"{tag}:{n}" for tag, n in zip(distinct_prefixes(task.classes), numbers[task.name]))
            for task in figures.tasks
        ]
    for line in lines:
        text.append(line + "\n")
    if others:
        text.append(f"labelling too: {others_line(others)}\n", style="dim")
    return text


def others_line(names: Sequence[str]) -> str:
    """ "bob, carol" for the names of others labelling now, cut to a line's room ("bob +3")."""
    shown = [printable(names[0])]
    for name in names[1:]:
        if len(", ".join([*shown, printable(name)])) > MAX_OTHERS_SHOWN:
            break
        shown.append(printable(name))
    line = ", ".join(shown)
    if len(line) > MAX_OTHERS_SHOWN:
        line = line[: MAX_OTHERS_SHOWN - 1] + "…"
    rest = len(names) - len(shown)
    return f"{line} +{rest}" if rest else line


class SessionStats(Vertical):
    """A progress bar over the queue and the session statistics under it."""

    _lines = 0  # lines of text shown: laid out again only when that changes
    _figures: PanelFigures | None = None  # the last shown, drawn again at a new width

    def compose(self) -> ComposeResult:
        yield ProgressBar(show_eta=False, id="progress")
        yield Static("", id="stats-text")

    def show_stats(self, figures: PanelFigures) -> None:
        bar = self.query_one(ProgressBar)
        # An unknown total would animate an indeterminate bar: repaints we do not want.
        bar.display = figures.total is not None
        if figures.total is not None:
            bar.update(total=max(figures.total, 1), progress=figures.done)
        # The same number of lines key after key: a new layout only when others come or go.
        self._figures = figures
        text = stats_text(figures, self.size.width or None)
        lines = text.plain.count("\n")
        self.query_one("#stats-text", Static).update(text, layout=lines != self._lines)
        self._lines = lines

    def on_resize(self) -> None:
        if self._figures is not None:
            self.show_stats(self._figures)
