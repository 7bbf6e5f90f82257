"""What the store says about the work: why a queue is empty, and which command comes next.

`read_store_state` counts a few things in the store (one query each); `empty_queue_hint`
and `next_steps` are pure functions of those counts, so every hint the TUI shows and the
session summary prints is computed from the store's state, never assumed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.console import cell_width, counted, printable, wrapped
from celeba_tui.labelling.selection import names_of_tasks, sql_in_list
from celeba_tui.vocabulary import ANNOTATOR_SOURCES, CONFLICT, HUMAN, MODEL, PEOPLE_SOURCES, REVIEW, SETTLED_STATUSES

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


@dataclass(frozen=True)
class StoreState:
    """Counts of (image, task) pairs over the tasks asked, for one annotator."""

    images: int = 0  # images in the root
    predicted: int = 0  # pairs with a model prediction
    auto_labelled: int = 0  # pairs with a live automatic (model) label
    predicted_by_people: int = 0  # predicted pairs people labelled (what the manual queue was)
    people_labelled: int = 0  # pairs with a person's live label
    mine: int = 0  # pairs this annotator labelled (live, human)
    my_reviews: int = 0  # pairs this annotator decided as a reviewer
    overlapping: int = 0  # pairs two or more annotators labelled
    conflicts: int = 0  # pairs whose annotators disagree and nobody reviewed
    my_conflicts: int = 0  # of those, the pairs this annotator gave one of the answers to
    conflict_images: int = 0  # images with one such pair or more (what the review queue counts)
    settled: dict[str, int] = field(default_factory=dict)  # task -> agreed or reviewed labels
    suspects_found: bool | None = None  # None: autolabel wrote no suspects file; else: it found some
    decided: bool = True  # an `autolabel` finished deciding one of the tasks (its ensemble is recorded)


def read_store_state(
    store: LabelStore, annotator: str, tasks: Sequence, suspects_path: Path | None = None
) -> StoreState:
    """The counts `empty_queue_hint` and `next_steps` need (read-only queries)."""
    from celeba_tui.labelling.queues import decided_tasks

    names = names_of_tasks(tasks)
    tasks_in = f"task IN {sql_in_list(names)}"
    people, annotators = sql_in_list(PEOPLE_SOURCES), sql_in_list(ANNOTATOR_SOURCES)
    me = "(SELECT id FROM annotators WHERE name = ?)"
    # One pass over `live` in its key order (image_id, task, ...): `+task` keeps SQLite off
    # the task index, so the GROUP BY streams instead of sorting every row in a temporary
    # b-tree (2 s at 200,000 images, where the hint at the queue's end waits for it).
    auto, people_labelled, mine, my_reviews, overlapping = store.query(
        "SELECT COALESCE(SUM(auto), 0), COALESCE(SUM(people), 0), COALESCE(SUM(mine), 0), "
        "COALESCE(SUM(reviews), 0), COALESCE(SUM(annotators > 1), 0) FROM ("
        f"SELECT MAX(source = ?) AS auto, MAX(source IN {people}) AS people, "
        f"SUM(annotator_id = {me} AND source = ?) AS mine, SUM(annotator_id = {me} AND source = ?) AS reviews, "
        f"SUM(source IN {annotators}) AS annotators "
        f"FROM live WHERE +task IN {sql_in_list(names)} GROUP BY image_id, task)",
        [MODEL, *PEOPLE_SOURCES, annotator, HUMAN, annotator, REVIEW, *ANNOTATOR_SOURCES, *names],
    )[0]
    status_counts = store.query(
        f"SELECT task, status, COUNT(*) FROM current WHERE {tasks_in} GROUP BY task, status", names
    )
    predicted = store.query(
        "SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM live v WHERE v.image_id = p.image_id "
        f"AND v.task = p.task AND v.source IN {people})), 0) "
        f"FROM (SELECT DISTINCT image_id, task FROM predictions WHERE {tasks_in}) p",
        [*PEOPLE_SOURCES, *names],
    )[0]
    conflict_images = store.query(
        f"SELECT COUNT(DISTINCT image_id) FROM current WHERE {tasks_in} AND status = ?", [*names, CONFLICT]
    )[0][0]
    my_conflicts = store.query(  # each conflict, one lookup by the live table's key
        f"SELECT COUNT(*) FROM current c WHERE c.{tasks_in} AND c.status = ? AND EXISTS (SELECT 1 FROM live v "
        f"WHERE v.image_id = c.image_id AND v.task = c.task AND v.annotator_id = {me} AND v.source IN {annotators})",
        [*names, CONFLICT, annotator, *ANNOTATOR_SOURCES],
    )[0][0]
    settled = {name: 0 for name in names}
    conflicts = 0
    for task, status, count in status_counts:
        if status in SETTLED_STATUSES:
            settled[task] += count
        elif status == CONFLICT:
            conflicts += count
    return StoreState(
        images=store.image_count(),
        predicted=predicted[0],
        auto_labelled=auto,
        predicted_by_people=predicted[1],
        people_labelled=people_labelled,
        mine=mine,
        my_reviews=my_reviews,
        overlapping=overlapping,
        conflicts=conflicts,
        my_conflicts=my_conflicts,
        conflict_images=conflict_images,
        settled=settled,
        suspects_found=_suspects_found(suspects_path),
        # Asked only where there are predictions: it may read the whole history.
        decided=bool(predicted[0]) and bool(decided_tasks(store, names)),
    )


def _suspects_found(path: Path | None) -> bool | None:
    """Whether autolabel's suspects file lists any (None: no file). Reads only its first lines."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return sum(1 for _, line in zip(range(2), file) if line.strip()) > 1
    except OSError:
        return None


# ------------------------------------------------------------------ pure
def unchanged(command: str) -> str:
    """A hinted command as it is (the hints' default phrasing; the CLI's adds -w/-a)."""
    return command


def still_open_hint(
    queue: str,
    left: int,
    others_on: dict[str, str],
    state: StoreState,
    *,
    min_labels: int,
    cycle_ready: frozenset[str],
    phrase: Callable[[str], str] = unchanged,
) -> str:
    """A finished session's queue that still holds `left` open images: who is on which
    (`others_on`: image -> annotator, their sessions now), the rest skipped; and what next
    (each command worded by `phrase`: as the session was invoked)."""
    parts = [f"{printable(name)} is on {printable(image)}" for image, name in sorted(others_on.items())[:3]]
    if len(others_on) > 3:
        parts.append(f"others on {counted(len(others_on) - 3, 'more image')}")
    skipped = left - len(others_on)
    if skipped:
        parts.append(f"{counted(skipped, 'image')} you skipped, asked again next time")
    text = (
        f"{counted(left, 'image')} of the {queue} queue {'is' if left == 1 else 'are'} still open: "
        + "; ".join(parts)
        + "."
    )
    steps = next_steps(state, queue=queue, left=left, min_labels=min_labels, cycle_ready=cycle_ready)
    return text + next_clause(steps, phrase)


def empty_queue_hint(
    queue: str,
    state: StoreState,
    *,
    min_labels: int,
    cycle_ready: frozenset[str] = frozenset(),
    share: bool = False,
    phrase: Callable[[str], str] = unchanged,
) -> str:
    """Why the `queue` has nothing for this annotator (`share`: of an `--assign` share), in
    the store's own numbers, and what next (worded by `phrase`)."""
    steps = next_steps(state, queue=queue, left=0, min_labels=min_labels, cycle_ready=cycle_ready)
    return why_empty(queue, state, share) + next_clause(steps, phrase)


def next_clause(steps: Sequence[NextStep], phrase: Callable[[str], str]) -> str:
    """ " Next: `A` (why); or `B` (why)." of the first two steps, or "" without any."""
    if not steps:
        return ""
    return " Next: " + "; or ".join(f"`{phrase(s.command)}` ({s.reason})" for s in steps[:2]) + "."


def _yours(count: int, noun: str) -> str:
    """ "1 review is yours", "3 answers are yours"."""
    return f"{counted(count, noun)} {'is' if count == 1 else 'are'} yours"


def why_empty(queue: str, state: StoreState, share: bool = False) -> str:
    if queue == "unlabelled":
        if state.images == 0:
            return "The image root has no images registered (`celeba scan`)."
        where = "in your share (others' shares may still be open)" if share else ""
        return f"Every image {where + ' ' if where else ''}is labelled: {_yours(state.mine, 'answer')}."
    if queue == "review":
        if state.overlapping == 0:
            return (
                "No conflicts: no image has labels from two annotators yet "
                "(`celeba label --assign I/N --overlap F` shows some images to two people)."
            )
        return (
            f"No conflicts: every question two or more annotators answered ({state.overlapping:,}) agrees, "
            f"was reviewed ({_yours(state.my_reviews, 'review')}) or was settled by a merge."
        )
    if queue == "suspects":
        if state.suspects_found is None:
            return "No suspects: `celeba autolabel` has not run yet (it lists the agreed labels it contradicts)."
        if not state.suspects_found:
            return "No suspects: the latest `celeba autolabel` confidently contradicts none of the agreed labels."
        return (
            "No suspects left: every one the latest `celeba autolabel` found has been reviewed "
            f"({_yours(state.my_reviews, 'review')})."
        )
    # manual and uncertain: built from the predictions
    if state.predicted == 0:
        return "No predictions to work from yet: `celeba autolabel` has not labelled anything."
    if queue == "manual" and not state.decided:
        return (
            "Nothing sent back yet: no `celeba autolabel` of these tasks finished deciding (one stored "
            "predictions, then stopped: killed, or a write failed); run it again."
        )
    if state.predicted_by_people == 0 and state.auto_labelled >= state.predicted:
        return (
            f"`celeba autolabel` labelled all {state.predicted:,} predicted answers itself: "
            "nothing was left for a person."
        )
    by_you = f" ({state.mine:,} by you)" if state.mine else ""
    return (
        f"Nothing left: of {state.predicted:,} predicted answers, {state.auto_labelled:,} were auto-labelled "
        f"and {state.predicted_by_people:,} labelled by people{by_you}."
    )


@dataclass(frozen=True)
class NextStep:
    command: str
    reason: str


def step_lines(steps: Sequence[NextStep], width: int | None = None) -> list[str]:
    """ "Next: COMMAND   (why)", then "  or: ..." for the others: as every summary prints them.
    Wider than `width`, the command keeps its line whole (to copy it) and the why follows,
    broken between words."""
    lines = []
    for i, step in enumerate(steps):
        lead = "Next:" if i == 0 else "  or:"
        line = f"{lead} {step.command}   ({step.reason})"
        if width is None or cell_width(line) <= width:
            lines.append(line)
        else:
            lines += [f"{lead} {step.command}", *wrapped(f"{' ' * len(lead)} ({step.reason})", width, "")]
    return lines


def cycle_command(task: str, cycle_ready: frozenset[str]) -> str:
    """`celeba cycle -t TASK`, with `-p` where the workspace names no architecture for it
    (`cycle_ready`: the tasks it does for; see `celeba_tui.autolabel.cycle.cycle_ready`)."""
    from celeba_tui.plugins import SUGGESTED_ARCHITECTURE

    return f"celeba cycle -t {task}" + ("" if task in cycle_ready else f" -p {SUGGESTED_ARCHITECTURE}")


def next_steps(
    state: StoreState,
    *,
    queue: str,
    left: int,
    min_labels: int,
    cycle_ready: frozenset[str] = frozenset(),
) -> list[NextStep]:
    """The commands worth running now, most useful first (pure)."""
    steps = []
    if left > 0:
        steps.append(NextStep(f"celeba label --queue {queue}", f"{counted(left, 'image')} left in the {queue} queue"))
    if state.conflicts > 0:
        # Counted in images, as the review queue counts them; the questions too where more.
        images = counted(state.conflict_images, "image")
        questions = f" ({state.conflicts:,} questions)" if state.conflicts != state.conflict_images else ""
        # A party to a conflict is not the one to settle it (the walkthrough of 2026-12-07:
        # each annotator's summary sent them to review their own conflicts).
        if state.my_conflicts and state.my_conflicts == state.conflicts:
            who = ": every one holds your answer, best settled by someone who took no side"
        elif state.my_conflicts:
            who = f", for a person ({state.my_conflicts:,} of the questions hold your answer)"
        else:
            who = ", for a person"
        if not (queue == "review" and left > 0):  # else the first step says it
            steps.append(NextStep("celeba label --queue review", f"{images} where annotators disagree{questions}{who}"))
        if queue != "review":
            # Conflicts stay whatever policy a merge had (review leaves them to people):
            # a rule is the other way to settle them. Not majority: two annotators who
            # disagree (most conflicts) are a tie it leaves open; Dawid-Skene decides every one.
            steps.append(
                NextStep(
                    "celeba merge --policy dawid-skene",
                    "or settle them by each annotator's estimated accuracy",
                )
            )
    trainable = [task for task, count in state.settled.items() if count >= min_labels]
    if trainable and state.predicted == 0:
        for task in trainable:
            steps.append(NextStep(cycle_command(task, cycle_ready), f"{state.settled[task]:,} settled {task} labels"))
    if not steps and state.predicted and queue not in ("manual", "uncertain"):
        steps.append(NextStep("celeba label --queue manual", "what `celeba autolabel` left for a person"))
    if not steps and queue != "unlabelled" and state.people_labelled < state.images * len(state.settled):
        steps.append(NextStep("celeba label", f"training needs {min_labels} settled labels per task"))
    return steps
