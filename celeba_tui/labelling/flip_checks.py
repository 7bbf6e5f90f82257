"""Flip-consistency checks (`celeba label --checks F`): pure scheduling, no terminal.

A check re-shows an image the annotator already labelled, mirrored horizontally; the
expected answer is their own earlier label, mirrored by the one mirror rule
(celeba_tui/mirror.py). Only tasks whose every class has a mirror get checks.

Checks are blind: on screen a check looks like any other item (no heading, the same
counters, the context mirrored like the picture); only the store records that it was
one (the `checks` table, never a label).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import replace

from celeba_tui.labelling.queues import ItemContext, QueueItem
from celeba_tui.mirror import flippable, mirrored_name
from celeba_tui.vocabulary import HUMAN

# A check never shows an image among the last few shown: recall would be too easy.
MIN_GAP = 5


def check_tasks(fraction: float, tasks: Iterable, source: str) -> tuple[str, ...]:
    """The tasks a session's checks ask about: those whose classes all mirror, when checks
    were asked for (`fraction` > 0) on a queue of people's decisions; else none."""
    if fraction <= 0 or source != HUMAN:
        return ()
    return tuple(task.name for task in tasks if flippable(task.classes))


def no_checks_because(tasks: Iterable, source: str) -> str:
    """Why a session asked for checks gets none ("" where it gets some). Pure."""
    if source != HUMAN:
        return "this queue asks for reviews, and checks re-show your own labels"
    if not check_tasks(1.0, tasks, source):
        names = ", ".join(task.name for task in tasks)
        return (
            f"a check shows an image mirrored and expects the mirrored class, and a flip changes no class of "
            f"{names} (only classes named left and right swap, and each needs its partner)"
        )
    return ""


def check_chance(fraction: float) -> float:
    """The chance of a check after each regular item: F / (1 - F) makes checks F of all
    items shown."""
    return fraction / (1.0 - fraction)


def expected_checks(regular_items: int, fraction: float) -> int:
    """How many checks a queue of `regular_items` images brings with `--checks fraction`."""
    return round(regular_items * check_chance(fraction))


class CheckScheduler:
    """Decides, item by item, whether a mirrored check comes next, and which image.

    `pool` is what the annotator has labelled: image -> {task: label}. It grows as
    they label (`remember`) so a first session gets checks too.
    """

    def __init__(self, fraction: float, tasks: Iterable[str], seed: int = 0):
        if not 0.0 <= fraction <= 0.5:
            raise ValueError("check fraction must be between 0 and 0.5")
        self.fraction = fraction
        self.chance = check_chance(fraction)  # drawn after each regular item
        self.tasks = tuple(tasks)
        self._rng = random.Random(seed)
        self._labels: dict[str, dict[str, str]] = {}
        self._images: list[str] = []
        self._checked: set[str] = set()
        self._recent: list[str] = []

    def remember(self, image: str, task: str, label: str) -> None:
        """An own label the annotator gave (and may be checked on later)."""
        if task not in self.tasks:
            return
        if image not in self._labels:
            self._labels[image] = {}
            self._images.append(image)
        self._labels[image][task] = label

    def forget(self, image: str, task: str) -> None:
        """An own label was undone: do not check against it."""
        self._labels.get(image, {}).pop(task, None)

    def shown(self, image: str) -> None:
        self._recent = (self._recent + [image])[-MIN_GAP:]

    def next_check(self) -> QueueItem | None:
        """A check item to show now, or None (most of the time)."""
        if not self._images or self._rng.random() >= self.chance:
            return None
        # Rejection sampling keeps this O(1) with a pool of 100,000 images.
        for _ in range(20):
            image = self._images[self._rng.randrange(len(self._images))]
            labels = self._labels[image]
            if image in self._checked or image in self._recent or not labels:
                continue
            tasks = tuple(t for t in self.tasks if t in labels)
            self._checked.add(image)
            return QueueItem(image, tasks, check=True, expected=tuple(mirrored_name(labels[t]) for t in tasks))
        return None


def mirrored_context(context: ItemContext) -> ItemContext:
    """What is known about an image, as it applies to its mirrored copy (left and right swapped)."""
    return ItemContext(
        {
            task: tuple(replace(a, label=mirrored_name(a.label)) for a in answers)
            for task, answers in context.answers.items()
        },
        {
            task: tuple(replace(p, label=mirrored_name(p.label)) for p in predictions)
            for task, predictions in context.predictions.items()
        },
        {task: replace(s, label=mirrored_name(s.label)) for task, s in context.suggestions.items()},
    )
