"""What is known about the image on screen: its name, labels given, answers, predictions."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from celeba_tui.console import cell_width, middle_cut, printable, wrapped
from celeba_tui.labelling.queues import ItemContext


def _answer(answer, annotator: str) -> str:
    """ "bob: left", "ann: right (you)", "rev: left (review)", "merge:majority: left" (its
    name says it is a merge's)."""
    from celeba_tui.annotator_names import annotator_kind

    if answer.source == "review":  # a merge's decision is no person's review (helper-71)
        mark = "" if annotator_kind(answer.annotator) == "merge" else " (review)"
    else:
        mark = " (you)" if answer.annotator == annotator else ""
    return f"{printable(answer.annotator)}: {printable(answer.label)}{mark}"


def listed_lines(head: str, items: list[str], width: int | None) -> list[str]:
    """`head` then the items joined by ", ", broken between items to fit `width` columns
    (an item longer than a line is broken between its words), the lines after the first
    indented under the first item. Pure."""
    indent = " " * cell_width(head)
    lines, line = [], head
    for index, item in enumerate(items):
        piece = item + ("," if index < len(items) - 1 else "")
        if width and line.strip() and line != head and cell_width(line) + 1 + cell_width(piece) > width:
            lines.append(line)
            line = indent
        line += ("" if line in (head, indent) else " ") + piece
    return [part for line in [*lines, line] for part in wrapped(line, width)]


def info_text(
    image: str,
    annotator: str,
    queue: str,
    tasks: Sequence,
    given: dict[str, str],
    context: ItemContext | None,
    *,
    show_answers: bool,
    compact: bool = False,
    earlier: dict[str, str] | None = None,
    width: int | None = None,
) -> Text:
    """Pure: the panel's text (tested without a terminal). Names are shown as `printable`
    makes them: a file or annotator name must not send escape sequences to the terminal.

    Where the queue shows the annotators' answers (review, suspects) they come first:
    they are what the reviewer decides between, and must stay on a small screen.
    `earlier`: this person's stored answers to the questions asked now, shown until they
    answer again. In a panel `width` columns wide the image's name takes two lines at most
    and who and which queue one (cut in the middle): the answers below must stay in sight.
    """
    gap = "" if compact else "\n"
    text = Text()
    name, who = printable(image), f"annotator {printable(annotator)} · queue {printable(queue)}"
    if width:
        # The words go before the name does (helper-83: at 60x20 "annotator… · queue unlabelled").
        person, queue_name = printable(annotator), printable(queue)
        forms = (who, f"{person} · queue {queue_name}", f"{person} · {queue_name}")
        who = next((form for form in forms if cell_width(form) <= width), middle_cut(forms[-1], width))
        name = middle_cut(name, 2 * width - 1)
    text.append(f"{name}\n", style="bold")
    text.append(f"{who}\n", style="dim")
    if context is not None and show_answers and context.answers:
        text.append(f"{gap}annotators' answers\n", style="underline")
        own_side = False
        for task in tasks:
            answers = context.answers.get(task.name, ())
            if answers:
                own_side |= any(a.annotator == annotator and a.source != "review" for a in answers)
                # Lines broken under the answers, not at the panel's edge (helper-77), and
                # between answers, not inside one (helper-87: "(merge)" alone on a line).
                listed = [_answer(a, annotator) for a in answers]
                text.append("\n".join(listed_lines(f"  {task.name:<12} ", listed, width)) + "\n")
        if own_side and queue == "review":  # a party to the conflict deciding it: said, not refused
            text.append("  one side is yours: a reviewer who took no side settles it best\n", style="yellow")
    text.append(f"{gap}your labels\n", style="underline")
    for task in tasks:
        label = given.get(task.name)
        text.append(f"  {task.name:<12} ")
        before = (earlier or {}).get(task.name)
        if label is None and before is not None:
            text.append(f"{printable(before)} (earlier)\n", style="green")
            continue
        text.append(f"{printable(label)}\n" if label else "—\n", style="bold green" if label else "dim")
    if context is None or not context.suggestions:
        return text
    text.append(f"{gap}ensemble\n", style="underline")
    for task in tasks:
        suggestion = context.suggestions.get(task.name)
        if suggestion is None:
            continue
        how = "auto-labelled" if suggestion.decided else "suggests"
        text.append(f"  {task.name:<12} {how} ")
        text.append(f"{printable(suggestion.label)}", style="bold")
        text.append(f" ({suggestion.confidence:.0%})\n")
        for prediction in context.predictions.get(task.name, ()):
            model = model_label(prediction.model, task.name, 18)
            text.append(f"    {model:<18} {printable(prediction.label)} {prediction.confidence:.0%}\n", style="dim")
    return text


# A run's model as autolabel names it: ARCHITECTURE-YYYYMMDD-HHMMSS, perhaps more after.
_RUN_NAME = re.compile(r"(?P<architecture>.+?)-(?P<date>\d{8})-(?P<time>\d{6})(?P<rest>.*)")


def model_label(name: str, task: str, width: int) -> str:
    """A model's name in `width` characters that still tells it from the task's others:
    without the task's prefix and the .onnx suffix every model shares; when still too
    long, a run's name keeps its architecture (cut at its end if need be) and the run's
    time without its date; any other is cut in the middle, since the end (seed, run time)
    is what differs.

    `orientation-vgg19_variation-20261205-081105.onnx` -> `vgg19_variat…081105`."""
    shown = printable(name)
    shown = shown.removeprefix(f"{printable(task)}-").removesuffix(" (flip TTA)").removesuffix(".onnx")
    if len(shown) <= width:
        return shown
    run = _RUN_NAME.fullmatch(shown)
    if run is not None:
        tail = f"-{run['time']}{run['rest']}"
        architecture = run["architecture"]
        if len(architecture) + len(tail) <= width:
            return architecture + tail
        room = width - len(tail)  # the architecture's letters; "…" takes the dash's place
        if room >= 3:
            return architecture[:room] + "…" + tail[1:]
    return middle_cut(shown, width)


class ImageInfo(Static):
    """Panel beside the image; `show_info` takes the same arguments as `info_text`."""

    def show_info(self, *args, **kwargs) -> None:
        kwargs.setdefault("width", self.size.width or None)
        self.update(info_text(*args, **kwargs), layout=False)  # its height is set by the layout (1fr)
