"""The line an empty or finished queue shows: computed from the store's state (labelling.next_steps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from celeba_tui.console import printable
from celeba_tui.labelling.next_steps import empty_queue_hint, read_store_state, still_open_hint, unchanged
from celeba_tui.labelling.presence import sessions_now
from celeba_tui.labelling.queues import OneImageQueue

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


def queue_hint(
    store: LabelStore, workspace, annotator: str, tasks, queue, options=None, phrase: Callable[[str], str] = unchanged
) -> str:
    """Why `queue` has nothing (more) for `annotator`, or which of its images are still
    open (others on them, or skipped), and what to run next (each command worded by
    `phrase`: as `celeba label` was invoked, -w/-a included). Reads the store (and, for the
    cycle hint, which tasks the workspace names architectures for: only here, at the end)."""
    from celeba_tui.autolabel.cycle import cycle_ready as ready
    from celeba_tui.training.dataset import MIN_LABELS

    if isinstance(queue, OneImageQueue):
        return f"Every question about {printable(queue.image)} is answered."
    state = read_store_state(store, annotator, tasks, workspace.suspects_path)
    cycle_ready = ready(workspace, [task.name for task in tasks])
    if options is not None:
        still_open = {item.image for item in queue.build(store, workspace, annotator, tasks, options).items}
        if still_open:
            others_on = {
                note.image: note.annotator
                for note in sessions_now(workspace.path, recent_only=True)
                if note.image in still_open and note.annotator != annotator
            }
            return still_open_hint(
                queue.name,
                len(still_open),
                others_on,
                state,
                min_labels=MIN_LABELS,
                cycle_ready=cycle_ready,
                phrase=phrase,
            )
    share = options is not None and options.assignment is not None
    return empty_queue_hint(
        queue.name, state, min_labels=MIN_LABELS, cycle_ready=cycle_ready, share=share, phrase=phrase
    )
