"""What `celeba browse` writes on screen, as rich Text (pure: tested without a terminal).

Every name (image, annotator, model, label) goes through `printable`, and Text is
never parsed as markup: a file called `[red]x` or one holding an escape sequence is
shown, not obeyed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text

from celeba_tui.annotator_names import source_word
from celeba_tui.console import cell_width, distinct_prefixes, padded, printable, wrapped
from celeba_tui.labelling.browse_filter import BrowseFilter, describe_filter
from celeba_tui.labelling.image_history import LIVE, UNDO, ImageRecord, settled_how
from celeba_tui.labelling.selection import BrowseRow
from celeba_tui.tui.widgets.image_info import model_label

# One colour per class index (left, center, right, ...): the same on every tile.
CLASS_COLOURS = ("bright_cyan", "bright_yellow", "bright_magenta", "bright_green", "bright_red", "bright_blue")
STATE_STYLES = {LIVE: "", "replaced": "dim", "withdrawn": "dim strike", UNDO: "dim italic"}


def class_colour(classes: Sequence[str], label: str | None) -> str:
    if label is None or label not in classes:
        return "dim"
    return CLASS_COLOURS[list(classes).index(label) % len(CLASS_COLOURS)]


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells with an ellipsis (names are kept on one line)."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def task_tags(names: Sequence[str]) -> list[str]:
    """The shortest prefix of each task name that no other task's name starts with
    (light, orientation: l, o), to say under a thumbnail which label is which."""
    return distinct_prefixes(names)


def tagged(tasks: Sequence, tags: Sequence[str], slot: int) -> bool:
    """Whether a caption's labels carry their task's tag in a `slot` of cells each: where
    every class name fits after its tag; else not where every class name fits without one
    (center right: the tasks come in the status line's order, and no label is cut); else
    where a label keeps four letters after its tag (cut either way). Decided by the
    tasks' class names, not the labels shown, so every tile of a page reads alike."""
    longest = [max((len(printable(name)) for name in task.classes), default=1) for task in tasks]
    if all(slot - len(tag) - 1 >= size for tag, size in zip(tags, longest)):
        return True
    if all(slot >= size for size in longest):
        return False
    return all(slot - len(tag) - 1 >= 4 for tag in tags)


def caption(row: BrowseRow, tasks: Sequence, width: int) -> Text:
    """Two lines under a thumbnail: the name, then each task's current label in its class
    colour, after the task's tag (l:left o:center) where there is room for it (`tagged`);
    a conflict says so in red, in its task's place, without the tag where only the word fits."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(fit(printable(row.image), width) + "\n", style="bold")
    slot = max((width - len(tasks) + 1) // max(len(tasks), 1), 1)
    tags = task_tags([task.name for task in tasks])
    with_tags = tagged(tasks, tags, slot)
    for i, (task, tag) in enumerate(zip(tasks, tags)):
        label, status = row.labels.get(task.name), row.status.get(task.name)
        if i:
            text.append(" ")
        room = slot
        if status == "conflict" and with_tags and slot - len(tag) - 1 < len("conflict") <= slot:
            # The word whole in the task's place, not "l:confl…" (the walkthrough of 2026-12-07).
            text.append("conflict".ljust(slot), style="bold red")
            continue
        if with_tags:
            shown_tag = printable(tag) + ":"
            text.append(shown_tag, style="dim")
            room = slot - len(shown_tag)
        if status == "conflict":
            text.append(fit("conflict", room).ljust(room), style="bold red")
        elif label is None:
            text.append(fit("·", room).ljust(room), style="dim")
        else:
            style = class_colour(task.classes, label) + (" italic" if status == "model" else " bold")
            text.append(fit(printable(label), room).ljust(room), style=style)
    return text


def status_line(
    shown: int,
    total: int,
    start: int,
    page_size: int,
    wanted: BrowseFilter,
    tasks: Sequence,
    *,
    counting=False,
    width: int | None = None,
) -> Text:
    """The line over the grid: how many images match, which page, the filter, the colour key.

    `counting`: only the first images are read yet (start-up); the totals follow. In `width`
    columns the colour key is left out whole where it does not fit (helper-83: at 60 columns
    the line ended in "│ l:")."""
    text = Text(no_wrap=True, overflow="ellipsis")
    page = start // page_size + 1 if page_size else 1
    pages = max((shown + page_size - 1) // page_size, 1) if page_size else 1
    # The defaults (no filter, name order) go unsaid: at 120 columns they cut the colour key.
    # Another order is a term of the filter (sort:time).
    if counting:
        text.append("first images · counting the rest…", style="bold")
        text.append(f" · page {page}")
    else:
        text.append(f"{shown:,} of {total:,} images", style="bold")
        text.append(f" · page {page}/{pages}")
    described = describe_filter(wanted)
    if described:
        text.append(" · filter: ")
        text.append(printable(described), style="bold")
    tags = task_tags([task.name for task in tasks])
    named = " · ".join(printable(f"{tag}: {task.name}") for tag, task in zip(tags, tasks))
    key = Text()
    key.append(f"  │ {named} │ ", style="dim")
    classes = list(dict.fromkeys(c for task in tasks for c in task.classes))
    for label in classes:
        key.append(
            printable(label) + " ", style=class_colour(next(t.classes for t in tasks if label in t.classes), label)
        )
    key.append("(italic: model)", style="dim italic")
    if width is None or text.cell_len + key.cell_len <= width:
        text.append_text(key)
    return text


# The terms `/` takes (celeba_tui.labelling.browse_filter reads them).
FILTER_TERMS = (
    "task:T label:CLASS status:review|resolved|single|agreed|conflict|model source:human|review|merge|model|import "
    "annotator:NAME queue:NAME conf<X "
    "disagreement sort:name|confidence|time, other words: part of the image name."
)


def no_match_hint(wanted: BrowseFilter) -> str:
    """What to say when a filter matches nothing, and how to widen it."""
    described = describe_filter(wanted)
    return (
        f"No image matches: {printable(described)}\n\n"
        "Widen it: press / and remove a term (each term must hold), or press c to clear the filter.\n"
        f"Terms: {FILTER_TERMS}"
    )


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def record_text(
    record: ImageRecord,
    tasks: Sequence,
    annotator: str,
    task_name: str,
    sources: dict[str, str],
    width: int | None = None,
) -> Text:
    """The image view's side panel: per task the current label, how it was settled, the
    history (undone and replaced rows marked), models and the ensemble; the flip checks. In
    `width` columns a history row too long for one line goes on under its annotator, not at
    the panel's edge (the walkthrough of 2026-12-08: "withdrew ALICE's left of" / "2026-...")."""
    text = Text()
    text.append(printable(record.image) + "\n", style="bold")
    if not record.known:
        text.append("not in the store\n", style="bold red")
    elif not record.present:
        text.append("registered, but the file is not in the image root\n", style="yellow")
    context = record.context
    for task in tasks:
        entry = record.tasks[task.name]
        cursor = task.name == task_name
        text.append("\n")
        text.append(("▶ " if cursor else "  ") + task.name, style="bold reverse" if cursor else "bold underline")
        text.append("  ")
        if entry.status == "conflict":
            text.append("conflict", style="bold red")
        elif entry.label is None:
            text.append("unlabelled", style="dim")
        else:
            text.append(printable(entry.label), style="bold " + class_colour(task.classes, entry.label))
            text.append(f" ({entry.status_shown})", style="dim")
        text.append("\n" + "\n".join(wrapped("  " + printable(settled_how(entry)), width)) + "\n", style="italic")
        if cursor:
            keys = sources.get(task.name, "human")
            text.append(f"  your key stores a {keys} label as {printable(annotator)}\n", style="green")
        rows = {row.id: row for row in entry.history}
        # As wide as the longest name here, to a point (helper-77: merge:dawid-skene pushed its row out of line).
        name_width = min(max((cell_width(printable(r.annotator)) for r in entry.history), default=0), 24)
        for row in entry.history:
            style = STATE_STYLES.get(row.state, "")
            if row.state == UNDO:  # which row it undid, as the history shows it (helper-71: "undid #1929")
                undone = rows.get(row.revokes)
                what = (
                    f"{printable(undone.annotator)}'s {printable(undone.label)} of {when(undone.time)}"
                    if undone is not None
                    else f"label #{row.revokes}"
                )
                line = f"    {when(row.time)}  {printable(row.annotator)} withdrew {what}"
            else:
                line = (
                    f"    {when(row.time)}  {padded(printable(row.annotator), max(name_width, 14))} "
                    f"{printable(row.label):<8} "
                    f"{source_word(row.source, row.annotator)}"
                )
                if row.confidence is not None:
                    line += f" {row.confidence:.0%}"
                if row.state != LIVE:
                    line += f" ({row.state})"
            text.append("\n".join(wrapped(line, width, " " * 18)) + "\n", style=style)
        suggestion = context.suggestions.get(task.name)
        if suggestion is not None:
            how = "auto-labelled" if suggestion.decided else "suggests"
            text.append(f"    ensemble {how} ")
            text.append(printable(suggestion.label), style="bold " + class_colour(task.classes, suggestion.label))
            text.append(f" ({suggestion.confidence:.0%})\n")
        for prediction in context.predictions.get(task.name, ()):
            model = model_label(prediction.model, task.name, 22)
            text.append(f"      {model:<22} {printable(prediction.label)} {prediction.confidence:.0%}\n", style="dim")
    if record.checks:
        text.append("\nflip checks\n", style="bold underline")
        for check in record.checks:
            verdict = "consistent" if check.consistent else "INCONSISTENT"
            text.append(
                f"  {check.task:<12} {printable(check.annotator)}: {printable(check.answer)} "
                f"(expected {printable(check.expected)}) ",
            )
            text.append(verdict + "\n", style="green" if check.consistent else "bold red")
    return text
