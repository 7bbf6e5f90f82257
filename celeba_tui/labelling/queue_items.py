"""What a labelling queue hands the TUI: items, their context, options and the Queue protocol."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

from celeba_tui.labelling.assignment import Assignment

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore
    from celeba_tui.workspace import Workspace


class QueueItem(NamedTuple):
    """One image and the tasks to ask for it (config order). A tuple: 150,000 are cheap.

    A flip-consistency check is shown mirrored; `expected` holds the expected answer
    per task (the annotator's own earlier label, left and right swapped).
    """

    image: str
    tasks: tuple[str, ...]
    check: bool = False
    expected: tuple[str, ...] = ()


@dataclass(frozen=True)
class Answer:
    annotator: str
    label: str
    source: str


@dataclass(frozen=True)
class Prediction:
    model: str
    label: str
    confidence: float


@dataclass(frozen=True)
class Suggestion:
    """The ensemble's view of one task: its label and confidence; `decided` if stored."""

    label: str
    confidence: float
    decided: bool


@dataclass(frozen=True)
class ItemContext:
    """What is known about an image, per task: people's answers and model predictions."""

    answers: dict[str, tuple[Answer, ...]] = field(default_factory=dict)
    predictions: dict[str, tuple[Prediction, ...]] = field(default_factory=dict)
    suggestions: dict[str, Suggestion] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueOptions:
    shuffle: bool = False
    seed: int = 0
    assignment: Assignment | None = None


@dataclass
class QueueBuild:
    """The ordered items to do, how many images of the queue this annotator has done, and
    how many others finished (counted apart: not in `done` or `total`)."""

    items: list[QueueItem]
    done: int = 0
    by_others: int = 0

    @property
    def total(self) -> int:
        return self.done + len(self.items)

    def skipped_last(self, skipped: frozenset[str]) -> QueueBuild:
        """The same items, those whose image the person passed over (space) after the
        others, each group in the order it had: a skip is "not now", not "never"."""
        if not skipped:
            return self
        first = [item for item in self.items if item.image not in skipped]
        last = [item for item in self.items if item.image in skipped]
        return QueueBuild(first + last, self.done, self.by_others)


class Queue(Protocol):
    name: str
    source: str
    shows_answers: bool
    prioritized: bool

    def build(
        self, store: LabelStore, workspace: Workspace, annotator: str, tasks: Sequence, options: QueueOptions
    ) -> QueueBuild:
        """The items still to do for this annotator, in order."""
        ...
