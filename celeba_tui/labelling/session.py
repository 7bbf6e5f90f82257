"""One labelling session: where we are in the queue, what was decided, undo, statistics.

No terminal here: the screen calls `record` (a store write, safe to run in a thread)
and then `apply` (moves on), so the flow is tested without Textual. Every decision is
committed by `record` before `apply` shows the next question.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError, DecidedMeanwhile
from celeba_tui.labelling.flip_checks import CheckScheduler, expected_checks
from celeba_tui.labelling.presence import ALONE, Turns
from celeba_tui.labelling.queues import QueueItem
from celeba_tui.vocabulary import REVIEW

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


@dataclass(frozen=True)
class Decision:
    """One key press that answered a question, as stored."""

    position: int
    task_index: int
    image: str
    task: str
    label: str
    check: bool
    label_id: int | None = None  # None for check answers (they are not labels)


@dataclass(frozen=True)
class Change:
    """A decision changed by going back (`b`), this session's or an earlier one's: a new label
    row (`label_id`) over the one that held `before` (`replaced_id`; None: it was undone).
    Kept in the session's history in the order made, so `u` takes back the last action
    (attack pass 40: it withdrew the newest answer instead); undoing it brings `before`
    back, as the store's undo does."""

    image: str
    task: str
    label: str
    label_id: int
    before: str | None
    replaced_id: int | None
    recounted: tuple[str, str] | None  # this session's count the change moved (SessionStats.count_change)


@dataclass(frozen=True)
class Skip:
    """A question left unanswered (space): where the cursor was, and how many decisions of the
    session's history came before it (undo takes skips and decisions back in the order made)."""

    position: int
    task_index: int
    after: int
    questions: int = 1  # questions left open: the rest of the image's where the whole image was skipped


@dataclass
class SessionStats:
    """Per-class counts and the labelling rate of this session.

    `counts` and `decisions` are labels; check answers are counted apart (`check_counts`)
    and only the `shown_*` figures, what the screen displays, add them in: a check must
    move the counters as any other answer does.
    """

    counts: Counter = field(default_factory=Counter)  # (task, label) -> n
    decisions: int = 0
    first_at: float | None = None
    check_counts: Counter = field(default_factory=Counter)  # (task, answer) -> n
    changes: int = 0  # earlier decisions changed by going back (counted in `counts` too)
    # The labels this session counted, by id: a change of one of them moves its count to
    # the new class, so the tally says what this session's answers are now.
    counted: dict[int, tuple[str, str]] = field(default_factory=dict)

    @property
    def checks(self) -> int:
        return sum(self.check_counts.values())

    @property
    def shown_decisions(self) -> int:
        return self.decisions + self.checks

    @property
    def shown_counts(self) -> Counter:
        return self.counts + self.check_counts

    @property
    def new_answers(self) -> int:
        """Answers to questions not answered before this session: what moves through the
        queue (a change of an earlier answer does not)."""
        return self.shown_decisions - self.changes

    def per_minute(self, now: float, *, new_only: bool = False) -> float:
        count = self.new_answers if new_only else self.shown_decisions
        if self.first_at is None or count <= 0:
            return 0.0
        # A floor of 10 s keeps the first few labels from showing absurd rates.
        return count * 60.0 / max(now - self.first_at, 10.0)

    def count_change(
        self, task: str, label: str, now: float, label_id: int | None = None, replaced_id: int | None = None
    ) -> tuple[str, str] | None:
        """A decision changed by going back: a new label this session (`label_id`), in place
        of the one `replaced_id` held, whose count goes when this session counted it (returned:
        `uncount_change` puts it back)."""
        replaced = self.counted.pop(replaced_id, None) if replaced_id is not None else None
        if replaced is not None:
            self.counts[replaced] -= 1
        self.counts[(task, label)] += 1
        if label_id is not None:
            self.counted[label_id] = (task, label)
        self.decisions += 1
        self.changes += 1
        if self.first_at is None:
            self.first_at = now
        return replaced

    def uncount_change(self, change: Change) -> None:
        """Take back what `count_change` counted for `change` (it was undone)."""
        counted = self.counted.pop(change.label_id, None)
        if counted is not None:
            self.counts[counted] -= 1
        if change.recounted is not None and change.replaced_id is not None:
            self.counts[change.recounted] += 1
            self.counted[change.replaced_id] = change.recounted
        self.decisions -= 1
        self.changes -= 1


class LabelSession:
    """The queue's items plus the cursor (item, task) and the undo history."""

    def __init__(
        self,
        store: LabelStore,
        annotator: str,
        tasks: Sequence,
        items: Sequence[QueueItem],
        *,
        total: int | None = None,
        complete: bool = True,
        source: str = "human",
        checks: CheckScheduler | None = None,
        clock: Callable[[], float] = time.monotonic,
        read_mark: int | None = None,
        open_tasks: Callable[[QueueItem], tuple[str, ...]] | None = None,
        turns: Turns = ALONE,
        reads: LabelStore | None = None,
        skipped_before: frozenset[str] = frozenset(),
    ):
        self.store = store
        self.annotator = annotator
        self.tasks = {t.name: t for t in tasks}
        self.items: list[QueueItem] = list(items)
        self.source = source
        self.checks = checks
        self.clock = clock
        # total: images in the queue, done or not (None until counted); complete: all
        # items are here (a first page may come before the rest, see `adopt`).
        self.total = len(self.items) if total is None and complete else total
        self.complete = complete
        self._checks_inserted = 0
        self.stats = SessionStats()
        self.history: list[Decision] = []
        self._skips: list[Skip] = []
        self.position = 0
        self.task_index = 0
        self._answered: dict[int, set[str]] = {}  # position -> tasks answered there
        self._given: dict[int, dict[str, str]] = {}  # position -> task -> answer (checks too)
        self._completed: set[int] = set()  # positions of regular items fully answered
        self._checks_completed: set[int] = set()  # positions of check items fully answered
        self.planned_checks = 0
        # A review decides over what the queue showed: the store's newest row id when the
        # queue was read (`start_session` takes it before reading). Another person's
        # decision on an item after that mark refuses this session's once, naming it; the
        # reviewer's next key then decides over it knowingly.
        self.read_mark = read_mark if read_mark is not None or source != REVIEW else store.last_label_id()
        self._seen_meanwhile: set[tuple[str, str]] = set()  # (image, task) whose newer decision was shown
        # Asked before an item is shown: its tasks still open now. Work others finished since
        # the queue was read (people labelling or reviewing the same queue at once) is
        # passed over, and counted as done.
        self.open_tasks = open_tasks
        # The connection `open_tasks` reads through when it has one of its own (closed with
        # the session): the screen's thread then never finds it busy with another thread.
        self.reads = reads
        self._finished_elsewhere: set[int] = set()  # positions passed over: others finished them
        # Asked before an item is shown: who else is on its image now (presence.py); such an
        # item is put back to the end of the queue once. The session also tells the others
        # which image it shows, and asks who else labels now (for the side panel).
        self.turns = turns
        # Images with a question this person skipped in an earlier session: the queue's last.
        self.skipped_before = skipped_before
        self._put_back: set[int] = set()  # positions whose item went to the end of the queue
        self._put_back_images: set[str] = set()
        self._coming_round: list[int] = []  # positions of those items at the end, not yet reached
        # Items at the end counted done before they were reached (their other person finished
        # them): passed over when reached, whatever happened since, so progress never goes back.
        self._counted_early: set[int] = set()
        self._showing: str | None = None  # the image this session last said it shows
        self.also_here: str | None = None  # who else is on the image shown (it came round again)
        self.others_now: tuple[str, ...] = ()  # who else labels here now, as the image shown came up
        self._plan_checks()
        self._enter_item()

    # --------------------------------------------------------------- where
    @property
    def current(self) -> QueueItem | None:
        return self.items[self.position] if self.position < len(self.items) else None

    @property
    def current_task(self):
        item = self.current
        return None if item is None else self.tasks[item.tasks[self.task_index]]

    @property
    def finished(self) -> bool:
        return self.current is None and self.complete

    @property
    def waiting(self) -> bool:
        """Every item so far is answered, but the rest of the queue is still being built."""
        return self.current is None and not self.complete

    @property
    def done(self) -> int | None:
        """Images of the queue finished: all of them minus the regular items still open."""
        if self.total is None:
            return None
        open_items = (
            len(self.items)
            - self._checks_inserted
            - len(self._completed)
            - len(self._finished_elsewhere)
            - len(self._put_back)  # each is open once more, at the end
        )
        return self.total - open_items

    @property
    def finished_elsewhere(self) -> int:
        """Images of this queue passed over because others finished them meanwhile."""
        return len(self._finished_elsewhere)

    @property
    def shown_progress(self) -> tuple[int | None, int | None]:
        """(done, total) as the screen shows them: checks count as items, planned ahead.

        The total includes the checks expected over the session (fixed when the queue is
        complete), so showing a check never changes it and answering one moves `done`
        as any answer does. Once the queue is finished it counts the checks shown: fewer
        come than planned where images were passed over (others finished them).
        """
        done, total = self.done, self.total
        if done is None or total is None:
            return done, total
        done += len(self._checks_completed)
        total += self._checks_inserted if self.finished else max(self.planned_checks, self._checks_inserted)
        return min(done, total), total

    def _plan_checks(self) -> None:
        if self.checks is not None and self.complete and self.source == "human":
            regular = sum(1 for item in self.items if not item.check)
            self.planned_checks = expected_checks(regular, self.checks.fraction)

    def adopt(self, built) -> None:
        """Take the whole queue (a QueueBuild) after starting on its first page."""
        known = {item.image for item in self.items if not item.check}
        was_waiting = self.waiting
        rest = [item for item in built.items if item.image not in known]
        # Items put back go to the end of the whole queue: the rest comes before them.
        waiting_copies = [p for p in (*self._coming_round, *self._counted_early) if p > self.position]
        at = min(waiting_copies, default=len(self.items))
        self.items[at:at] = rest
        self._shift_from(at, len(rest))
        # The whole queue: others' finished images too, as those passed over here count as done.
        # (First-page items the build no longer holds were finished by this session, or by
        # others before the build read: they are in its `done` or `by_others`.)
        self.total = built.total + built.by_others
        self.complete = True
        self._plan_checks()
        if was_waiting:
            self._enter_item()

    def answered_here(self) -> dict[str, str]:
        """Task -> answer given this session for the current item (a check's answers too)."""
        if self.current is None:
            return {}
        return dict(self._given.get(self.position, {}))

    # ----------------------------------------------------------- deciding
    def record(self, class_index: int) -> Decision:
        """Store the answer to the current question (a label, or a check answer); no moving on."""
        item, task = self.current, self.current_task
        if item is None:
            raise RuntimeError("the queue is finished")
        label = task.classes[class_index]
        if item.check:
            expected = item.expected[self.task_index]
            self.store.add_check(item.image, task.name, self.annotator, expected, label)
            return Decision(self.position, self.task_index, item.image, task.name, label, True)
        key = (item.image, task.name)
        since = None if self.source != REVIEW or key in self._seen_meanwhile else self.read_mark
        try:
            label_id = self.store.add_label(
                item.image, task.name, label, self.annotator, self.source, decided_since=since
            )
        except DecidedMeanwhile:
            self._seen_meanwhile.add(key)  # said once: the same key again decides over it
            raise
        return Decision(self.position, self.task_index, item.image, task.name, label, False, label_id)

    def apply(self, decision: Decision) -> None:
        """Count a stored decision and move to the next question."""
        self._answered.setdefault(decision.position, set()).add(decision.task)
        self._given.setdefault(decision.position, {})[decision.task] = decision.label
        if self.stats.first_at is None:
            self.stats.first_at = self.clock()
        if decision.check:
            self.stats.check_counts[(decision.task, decision.label)] += 1
            if self._answered[decision.position] >= set(self.items[decision.position].tasks):
                self._checks_completed.add(decision.position)
        else:
            self.history.append(decision)
            self.stats.counts[(decision.task, decision.label)] += 1
            if decision.label_id is not None:
                self.stats.counted[decision.label_id] = (decision.task, decision.label)
            self.stats.decisions += 1
            if self.checks is not None and self.source == "human":
                self.checks.remember(decision.image, decision.task, decision.label)
            item = self.items[decision.position]
            if self._answered[decision.position] >= set(item.tasks):
                self._completed.add(decision.position)
        self._next_question()

    def skip(self) -> None:
        """Leave the current question unanswered and go on."""
        if self.current is not None:
            self._skips.append(Skip(self.position, self.task_index, len(self.history)))
            self._next_question()

    @property
    def skipped(self) -> int:
        """Questions passed over this session and not taken back (a check's aside: its image
        is labelled already)."""
        return sum(
            skip.questions
            for skip in self._skips
            if skip.after <= len(self.history) and not self.items[skip.position].check
        )

    def skip_image(self) -> None:
        """Leave the rest of the current image unanswered."""
        if self.current is not None:
            left = len(self.current.tasks) - self.task_index
            self._skips.append(Skip(self.position, self.task_index, len(self.history), left))
            self._next_item()

    # --------------------------------------------------------------- undo
    def last_decision(self) -> Decision | Change | None:
        return self.history[-1] if self.history else None

    def last_skip(self) -> Skip | None:
        """The skip made after the session's last decision standing, if any: what undo takes back first."""
        while self._skips and self._skips[-1].after > len(self.history):
            self._skips.pop()  # made after decisions since undone: the cursor has gone back past it
        return self._skips[-1] if self._skips and self._skips[-1].after == len(self.history) else None

    @property
    def can_undo(self) -> bool:
        return self.last_skip() is not None or self.last_decision() is not None

    def undo_skip(self, skip: Skip) -> None:
        """Go back to the question `skip` left (nothing was stored, so nothing is written)."""
        self._skips.remove(skip)
        self._finished_elsewhere.discard(skip.position)  # answered now, it counts once
        self.position, self.task_index = skip.position, skip.task_index
        self.also_here = None
        self._announce(self.items[skip.position].image)

    def record_change(
        self, image: str, task: str, label: str, label_id: int, before: str | None, replaced_id: int | None
    ) -> None:
        """A decision changed by going back: counted (the tally says the answers as they stand)
        and kept in the history as the session's latest action, for `u`."""
        recounted = self.stats.count_change(task, label, self.clock(), label_id, replaced_id)
        self.history.append(Change(image, task, label, label_id, before, replaced_id, recounted))

    def revoke(self, decision: Decision | Change) -> None:
        """Append the undo row for `decision` (thread-safe store write, nothing else)."""
        self.store.revoke(decision.label_id, self.annotator)

    def apply_undo(self, decision: Decision | Change) -> str | None:
        """Go back to the undone decision's image and question; or, for a change by going
        back, count the answer it replaced as standing again (the store's undo brings it back)
        and stay: returns that answer (helper-83: the screen asked the question again, and
        counted it open, while the store kept the earlier answer)."""
        if isinstance(decision, Change):
            self.history.remove(decision)
            self.stats.uncount_change(decision)
            return decision.before
        self.history.remove(decision)
        counted = self.stats.counted.pop(decision.label_id, None) if decision.label_id is not None else None
        if counted is not None:  # not when a change by going back already moved its count
            self.stats.counts[counted] -= 1
        self.stats.decisions -= 1
        self._answered.get(decision.position, set()).discard(decision.task)
        self._given.get(decision.position, {}).pop(decision.task, None)
        self._completed.discard(decision.position)
        if self.checks is not None:
            self.checks.forget(decision.image, decision.task)
        self.position, self.task_index = decision.position, decision.task_index
        self.also_here = None
        self._announce(decision.image)  # the image gone back to is the one shown now
        return None

    # ------------------------------------------------------------ moving
    def _next_question(self) -> None:
        item = self.items[self.position]
        answered = self._answered.get(self.position, set())
        for index in range(self.task_index + 1, len(item.tasks)):
            if not (item.check and item.tasks[index] in answered):
                self.task_index = index
                return
        self._next_item()

    def _next_item(self) -> None:
        leaving = self.items[self.position]
        if not leaving.check and self.position not in self._answered and not self._still_open(leaving, self.position):
            # Skipped, and finished by others meanwhile (a review kept after "NOT saved": space keeps it).
            self._finished_elsewhere.add(self.position)
        if self.checks is not None:
            self.checks.shown(leaving.image)
            if not leaving.check:
                check = self.checks.next_check()
                if check is not None and check.tasks:
                    self.items.insert(self.position + 1, check)
                    self._checks_inserted += 1
                    self._shift_after(self.position)
        self.position += 1
        self._enter_item()

    def _enter_item(self) -> None:
        """Skip check items already answered (after an undo went back past them), and
        regular items others finished meanwhile; ask only the tasks still open. An item
        whose image someone else is on goes to the end of the queue, once."""
        self.also_here = None
        while self.current is not None:
            item = self.current
            answered = self._answered.get(self.position, set())
            if self.position in self._put_back or self.position in self._counted_early:
                # gone to the end (passed again after going back), or counted done already
                self.position += 1
                continue
            if not item.check:
                still_open = self._still_open(item, self.position)
                if not still_open:
                    self._finished_elsewhere.add(self.position)
                    self.position += 1
                    continue
                if still_open != item.tasks:
                    item = self.items[self.position] = item._replace(tasks=still_open)
                self._finished_elsewhere.discard(self.position)  # shown after all: not others' work
                other = self._claim(item)
                # Put back once; never the image this session is on already (asked again
                # after going back: the other person came to it second).
                if other is not None and item.image not in self._put_back_images and item.image != self._showing:
                    self._put_back.add(self.position)
                    self._put_back_images.add(item.image)
                    self._coming_round.append(len(self.items))
                    self.items.append(item)
                    self.position += 1
                    continue
                self.also_here = other
                if other is not None:  # shown all the same: say so too
                    self._announce(item.image)
                self._count_put_back_finished()
                self.others_now = tuple(self.turns.labelling_now())
                self.task_index = 0
                return
            open_tasks = [i for i, t in enumerate(item.tasks) if t not in answered]
            if open_tasks:
                self._announce(None)  # a flip check is this person's own image
                self.task_index = open_tasks[0]
                return
            self.position += 1
        self._announce(None)

    def _count_put_back_finished(self, most: int = 2) -> None:
        """Count items put back that their other person has finished since, oldest first
        (a few per image shown), so progress does not wait for the queue's end to say so."""
        self._coming_round = [p for p in self._coming_round if p > self.position]
        for position in self._coming_round[:most]:
            if self._still_open(self.items[position], position):
                return
            self._finished_elsewhere.add(position)
            self._counted_early.add(position)
            self._coming_round.remove(position)

    def _claim(self, item: QueueItem) -> str | None:
        """Who else is on the item's image now; when nobody (or it is partly answered here
        already), this session says it shows it, in the same step (`Turns.claim`)."""
        if self.position in self._answered:
            self._announce(item.image)
            return None
        other = self.turns.claim(item.image)
        if other is None:
            self._showing = item.image
        return other

    def _announce(self, image: str | None) -> None:
        self._showing = image
        self.turns.announce(image)

    def items_ahead(self, most: int) -> list[tuple[int, QueueItem]]:
        """(position, item) of up to `most` regular items ahead not answered, put back or
        already counted: what a recount in the background asks about (`count_finished_ahead`)."""
        ahead = []
        for position in range(self.position + 1, len(self.items)):
            if len(ahead) >= most:
                break
            item = self.items[position]
            if not (item.check or position in self._answered or position in self._put_back):
                if position not in self._finished_elsewhere:
                    ahead.append((position, item))
        return ahead

    def count_finished_ahead(self, finished: Sequence[tuple[int, str]]) -> None:
        """Count as done now the items ahead that others finished, as a recount in the
        background found them ((position, image) pairs from `items_ahead`), so progress
        moves while one looks at an image; they are passed over when reached. A position
        whose item changed since (a check inserted, the rest of the queue taken) is left."""
        for position, image in finished:
            if not self.position < position < len(self.items) or self.items[position].image != image:
                continue
            if self.items[position].check or position in self._answered or position in self._put_back:
                continue
            self._finished_elsewhere.add(position)
            self._counted_early.add(position)
            if position in self._coming_round:
                self._coming_round.remove(position)

    def refresh_turns(self) -> None:
        """Ask again who else labels now and who else is on the image shown (the screen
        does every few seconds: people come, go and move on while one looks at an image)."""
        self.others_now = tuple(self.turns.labelling_now())
        item = self.current
        if item is not None and not item.check:
            self.also_here = self.turns.someone_else_on(item.image)

    def recheck(self) -> None:
        """Ask again whether the item on screen is still open (after a while away from it,
        such as going back through earlier decisions); only before any of it is answered."""
        if self.current is not None and not self.current.check and self.position not in self._answered:
            self._enter_item()

    def _still_open(self, item: QueueItem, position: int) -> tuple[str, ...]:
        """The item's tasks still open now (all of them when answered here or not asked)."""
        if self.open_tasks is None or position in self._answered:
            return item.tasks
        # Asked on the screen's thread: never wait for the store. `celeba label` asks through
        # a connection of the session's own, which no other thread uses; on a shared one, while
        # another thread holds it (a write waiting for another process's lock, the queue's
        # build in the background, a context read), the item is shown as it is.
        with (self.reads or self.store).unless_busy() as free:
            if not free:
                return item.tasks
            try:
                open_now = set(self.open_tasks(item))
            except (CelebaError, sqlite3.Error):  # unreadable now: shown, and a write would say why
                return item.tasks
        return tuple(task for task in item.tasks if task in open_now)

    def close(self) -> None:
        """Close the session's own read connection (the store stays open)."""
        if self.reads is not None:
            self.reads.close()

    def _shift_after(self, position: int) -> None:
        """Renumber positions after an item inserted after `position`."""
        self._shift_from(position + 1, 1)

    def _shift_from(self, start: int, count: int) -> None:
        """Renumber positions from `start` on, where `count` items were inserted."""

        def shift(p: int) -> int:
            return p + count if p >= start else p

        self._answered = {shift(p): v for p, v in self._answered.items()}
        self._given = {shift(p): v for p, v in self._given.items()}
        self._completed = {shift(p) for p in self._completed}
        self._checks_completed = {shift(p) for p in self._checks_completed}
        self._finished_elsewhere = {shift(p) for p in self._finished_elsewhere}
        self._put_back = {shift(p) for p in self._put_back}
        self._coming_round = [shift(p) for p in self._coming_round]
        self._counted_early = {shift(p) for p in self._counted_early}
        self._skips = [replace(skip, position=shift(skip.position)) for skip in self._skips]
        self.history = [replace(d, position=shift(d.position)) if isinstance(d, Decision) else d for d in self.history]

    def upcoming(self, count: int) -> list[QueueItem]:
        """The next `count` items after the current one (for prefetching)."""
        return self.items[self.position + 1 : self.position + 1 + count]
