"""What `celeba label` prints when it ends: this session's decisions, what is left, what next.

`SessionOutcome` is what the app returns (counted as the session went); `summarize` adds
what the store says now (the queue rebuilt, `next_steps`); `summary_lines` is the text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from celeba_tui.console import counted, printable, wrapped
from celeba_tui.labelling.next_steps import NextStep, next_steps, read_store_state, step_lines
from celeba_tui.labelling.queue_items import QueueOptions
from celeba_tui.labelling.queues import OneImageQueue

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


@dataclass(frozen=True)
class SessionOutcome:
    """Decisions stored this session: labels by (task, class), check answers, changes made
    going back; and the images passed over because others finished them meanwhile."""

    counts: Counter = field(default_factory=Counter)
    checks: int = 0
    changes: int = 0
    finished_elsewhere: int = 0
    decisions: int | None = None  # labels stored, changes included (None: as many as `counts` holds)
    skipped: int = 0  # questions passed over (space) and not taken back: shown last next time

    @property
    def labels(self) -> int:
        """This session's answers as they stand now (a changed answer counts once)."""
        return sum(self.counts.values())

    @property
    def stored(self) -> int:
        """Labels this session stored: every answer and every change of one, as its screen counted them."""
        return self.labels if self.decisions is None else self.decisions


@dataclass(frozen=True)
class SessionSummary:
    annotator: str
    queue: str
    outcome: SessionOutcome
    tasks: tuple  # the tasks asked (objects with name and classes)
    left: int | None  # images still to do in the queue (None: a single image was opened)
    done: int | None
    steps: list[NextStep]
    by_others: int = 0  # images of the queue others finished (not in `left` or `done`)

    def as_json(self) -> dict:
        return {
            "annotator": self.annotator,
            "queue": self.queue,
            "labels": {
                task.name: {label: self.outcome.counts.get((task.name, label), 0) for label in task.classes}
                for task in self.tasks
            },
            "decisions": self.outcome.stored,
            "checks": self.outcome.checks,
            "changes": self.outcome.changes,
            "finished_by_others": self.outcome.finished_elsewhere,
            "skipped": self.outcome.skipped,
            "left": self.left,
            # As `celeba label --count --json` counts: every finished image, then apart.
            "done": None if self.done is None else self.done + self.by_others,
            "done_by_you": self.done,
            "done_by_others": self.by_others,
            "next": [{"command": s.command, "reason": s.reason} for s in self.steps],
        }


def summarize(
    store: LabelStore,
    workspace,
    annotator: str,
    queue,
    tasks: Sequence,
    options: QueueOptions,
    outcome: SessionOutcome,
    *,
    min_labels: int,
    cycle_ready: frozenset[str] = frozenset(),
) -> SessionSummary:
    """The session's summary from what it did and the store's state now: the queue rebuilt
    here while the store's counts are read beside it, on a connection of their own (each
    takes ~0.5 s at 200,000 images, mostly inside SQLite, which lets the other run)."""
    from concurrent.futures import ThreadPoolExecutor

    tasks = tuple(tasks)
    left = done = None
    by_others = 0
    with ThreadPoolExecutor(1, thread_name_prefix="summary") as pool:
        counting = pool.submit(_store_state_apart, store, annotator, tasks, workspace.suspects_path)
        if not isinstance(queue, OneImageQueue):
            built = queue.build(store, workspace, annotator, tasks, options)
            left, done, by_others = len(built.items), built.done, built.by_others
        state = counting.result()
    queue_name = queue.name if left is not None else "unlabelled"
    steps = next_steps(state, queue=queue_name, left=left or 0, min_labels=min_labels, cycle_ready=cycle_ready)
    return SessionSummary(annotator, queue.name, outcome, tasks, left, done, steps, by_others)


def _store_state_apart(store: LabelStore, annotator: str, tasks, suspects_path):
    """`read_store_state` on a read-only connection of this thread's own."""
    reads = store.reader()
    try:
        return read_store_state(reads, annotator, tasks, suspects_path)
    finally:
        reads.close()


STEPS_SHOWN = 3  # "Next:" commands after a session, most useful first


def summary_lines(summary: SessionSummary, width: int | None = None) -> list[str]:
    """Pure: the summary as printed (names through `printable`), lines broken between words
    to fit `width` columns."""
    outcome = summary.outcome
    who = printable(summary.annotator)
    if outcome.stored == 0 and outcome.checks == 0:
        lines = [f"Session of {who}: no decisions stored."]
    else:
        extra = []
        if outcome.changes:
            extra.append(
                f"{outcome.changes} of them {'changes an earlier one' if outcome.changes == 1 else 'change earlier ones'}"
            )
        if outcome.checks:
            extra.append(f"plus {outcome.checks} consistency-check answers")
        details = f" ({'; '.join(extra)})" if extra else ""
        lines = [f"Session of {who}: {counted(outcome.stored, 'decision')} stored{details}."]
        for task in summary.tasks:
            counts = [f"{label} {outcome.counts.get((task.name, label), 0)}" for label in task.classes]
            if any(outcome.counts.get((task.name, label), 0) for label in task.classes):
                lines.append(f"  {task.name:<12} " + " · ".join(counts))
    if outcome.skipped:
        lines.append(
            f"{counted(outcome.skipped, 'question')} skipped: "
            f"{'its image comes' if outcome.skipped == 1 else 'their images come'} at the end of your queue next time."
        )
    if outcome.finished_elsewhere:
        lines.append(
            f"Others finished {counted(outcome.finished_elsewhere, 'image')} of this queue while you worked "
            "(not shown to you)."
        )
    if summary.left is not None:
        # As the screen counts: every finished image is done; those holding another person's
        # answer are named apart (before: "22 done (34 more finished by others)" for 56 images
        # whose last open question this person answered).
        others = f" ({summary.by_others:,} of them with others' answers)" if summary.by_others else ""
        done = summary.done + summary.by_others
        lines.append(f"The {summary.queue} queue: {counted(summary.left, 'image')} left, {done:,} done{others}.")
    # The most useful few (helper-87: five "Next:" lines after a session); --json has them all.
    return [part for line in lines for part in wrapped(line, width)] + step_lines(summary.steps[:STEPS_SHOWN], width)
