"""The labelling screen: image, question, context, progress; one key = one stored decision."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from celeba_tui.console import counted, printable
from celeba_tui.errors import CelebaError, DecidedMeanwhile
from celeba_tui.labelling.flip_checks import mirrored_context
from celeba_tui.labelling.lookback import Lookback, past_decisions
from celeba_tui.labelling.pace import minutes_left
from celeba_tui.labelling.presence import Progress
from celeba_tui.labelling.queues import item_context
from celeba_tui.tui.image_prep import VIEWS
from celeba_tui.tui.key_map import class_keys
from celeba_tui.tui.messages import ContextLoaded, DisplayRequest, ImageShown, KeyStamp
from celeba_tui.tui.queue_hints import queue_hint
from celeba_tui.tui.screens.nothing_to_label_screen import NothingToLabelScreen
from celeba_tui.tui.widgets.image_info import ImageInfo
from celeba_tui.tui.widgets.image_pane import ImagePane
from celeba_tui.tui.widgets.question_panel import QuestionPanel
from celeba_tui.tui.widgets.session_stats import PanelFigures, SessionStats

if TYPE_CHECKING:
    from celeba_tui.workspace import Workspace

MIN_WIDTH, MIN_HEIGHT = 60, 16
# Below this the layout drops the big letters and blank lines so the essentials fit (80x24).
COMPACT_WIDTH, COMPACT_HEIGHT = 100, 32
NARROW_WIDTH = 80  # below it the side panel narrows, so the face keeps room to be judged
PREFETCH = 3
# A write slower than this is waiting for another writer's lock: say so.
STORE_WAIT_NOTICE_S = 0.3
# A class key pressed before its question (and image) was painted: typed while the app was
# busy, meant for what the screen showed then.
NOT_ON_SCREEN_YET = "NOT saved: that key came before this question was on screen. Look, then press your answer again."
NOT_REDRAWN_YET = "NOT saved: that key came while the image was being redrawn. Look, then press your answer again."
STORE_WAIT_TEXT = "Waiting for the label store (another program is writing)… your answer will be saved."
# A write the store refused (disk full, read-only, a lock never released): the store
# layer's own error, or SQLite's where a write path does not convert it.
WRITE_REFUSED = (CelebaError, sqlite3.Error)


def _while_holding(held_lock, function, *args):
    """`function(*args)` once the session's lock is checked to be still this session's."""
    if held_lock is not None:
        held_lock.check()
    return function(*args)


# What `?` says of the footer's terse words.
KEYS_SAID_IN_FULL = {
    "skip": "leave this question unanswered for now",
    "undo": "undo your last decision or skip (the history keeps the decision)",
    "back": "go back through your earlier decisions (a class key changes one)",
    "forward": "a newer decision; past the newest, the queue again",
    "queue": "leave the earlier decisions: back to the queue",
    "view": f"cycle the view: {', '.join(VIEWS)} (display only)",
    "help": "these keys and the guidelines",
    "quit": "quit (every decision is already stored)",
}


class LabelScreen(Screen):
    """Class keys are generated from the tasks' class lists; the rest are fixed."""

    BINDINGS = [
        Binding("space", "skip", "skip"),
        Binding("backspace,u", "undo", "undo", key_display="u/⌫"),
        Binding("b,left_square_bracket", "back", "back", key_display="b/["),
        Binding("right_square_bracket", "forward", "forward", key_display="]"),
        Binding("escape", "to_queue", "queue", key_display="esc"),
        Binding("p", "cycle_view", "view"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(
        self,
        session,
        workspace: Workspace,
        queue,
        *,
        renderer: str = "halfcell",
        cell_size=(10, 20),
        timing_log=None,
        held_lock=None,
        options=None,
    ):
        super().__init__()
        self.session = session
        self.options = options  # the queue's QueueOptions (the end screen counts what is still open)
        self.held_lock = held_lock
        self.lookback = Lookback(
            lambda before: past_decisions(session.store, session.annotator, session.tasks.values(), before=before)
        )
        self.workspace = workspace
        self.queue = queue
        self.renderer = renderer
        self.cell_size = cell_size
        self.timing_log = timing_log
        self.view = VIEWS[0]
        self.context = None
        self._reported: set[str] = set()
        self._stamp: KeyStamp | None = None  # the key being handled, for the timing log
        self._displayed: tuple | None = None
        self._refused_for: tuple | None = None  # the question a "NOT saved" line is about
        # Since when (monotonic, the clock Textual stamps keys with) the question and its image
        # are on screen; inf until painted. A class key pressed before then was meant for what
        # the screen showed before (`seen_when_pressed`).
        self._question_on_screen: tuple | None = None
        self._question_since = math.inf
        self._image_since = math.inf
        self._status_text: str | None = None  # the line under the question
        self._refreshes = 0  # of who labels now (`_refresh_turns`)
        self._bound_classes: tuple | None = None
        # Tasks sharing a class list share bindings, so the footer only changes with it.
        self._signatures = list(dict.fromkeys(t.classes for t in workspace.tasks))
        for signature_index, classes in enumerate(self._signatures):
            for keys in class_keys(classes):
                self._bindings.bind(
                    ",".join(keys.keys),
                    f"choose({signature_index}, {keys.index})",
                    keys.label,
                    key_display=keys.display,
                )

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ImagePane(self.workspace.image_root, self.renderer, cell_size=self.cell_size, id="image")
            with Vertical(id="side"):
                yield QuestionPanel(id="question")
                yield Static("", id="store-status", markup=False)
                yield ImageInfo(id="info")
                yield SessionStats(id="stats")
        yield Static("", id="too-small", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._check_size()
        self.show_current()
        self.set_interval(TURNS_REFRESH_S, self._refresh_turns)

    def _refresh_turns(self) -> None:
        """Who else labels now, and who else is on this image: asked again every few seconds;
        every few times also which images ahead others finished (counted in the background)."""
        if self.lookback.active or self.session.current is None:
            return
        self.session.refresh_turns()
        self._show_stats()
        if self._refused_for is None and self._status_text != STORE_WAIT_TEXT:
            self._set_status(None)
        self._refreshes += 1
        if self._refreshes % RECOUNT_EVERY == 0 and self.options is not None and hasattr(self.queue, "open_tasks"):
            self._recount_ahead(self.session.items_ahead(RECOUNT_MOST))

    @work(thread=True, group="recount", exclusive=True, exit_on_error=False)
    def _recount_ahead(self, ahead: list) -> None:
        """Which of the items ahead others finished: asked on a connection of this worker's
        own (the screen's checks and the writes never wait for it)."""
        session, found = self.session, []
        reads = session.store.reader()
        try:
            for position, item in ahead:
                if not self.queue.open_tasks(reads, self.workspace, session.annotator, item, self.options):
                    found.append((position, item.image))
        finally:
            reads.close()
        if found:
            self.app.call_from_thread(self._counted_ahead, found)

    def _counted_ahead(self, found: list) -> None:
        self.session.count_finished_ahead(found)
        self._show_stats()

    async def on_event(self, event: events.Event) -> None:
        # Remember when the key arrived (set by the input thread) for the timing log.
        if isinstance(event, events.Key):
            self._stamp = KeyStamp(event.key, event.time, time.process_time())
        await super().on_event(event)

    # ------------------------------------------------------------ display
    @property
    def pane(self) -> ImagePane:
        return self.query_one(ImagePane)

    def _request(self, item, stamp: KeyStamp | None = None) -> DisplayRequest:
        return DisplayRequest(item.image, item.check, self.view, stamp)

    def show_current(self, stamp: KeyStamp | None = None) -> None:
        """Bring every panel up to date with the session's cursor (or the decision gone back to)."""
        session = self.session
        if self._refused_for is not None and self._refused_for != self._question_key():
            # "NOT saved ... press the key again" was about the question left behind.
            self._refused_for = None
        if self._refused_for is None:
            self._set_status(None)  # nothing wrong: who else is on this image, if anyone
        if self.lookback.active:
            self._show_past(stamp)
            return
        item = session.current
        if item is None:
            if session.waiting:
                self._displayed = None
                self.query_one(QuestionPanel).show_done("Loading the rest of the queue…")
                self.pane.show_message("loading more images…")
            else:
                self._finished()
            return
        task = session.current_task
        # The same heading for a flip check as for any item: checks are blind.
        heading = f"question {session.task_index + 1} of {len(item.tasks)}"
        self.query_one(QuestionPanel).show_question(task, heading)
        displayed = (session.position, item.image, item.check, self.view)
        if displayed != self._displayed:
            self._displayed = displayed
            self.context = None
            # Context and prefetching start once this image is painted (on_image_shown):
            # worker threads would otherwise compete with the paint for the GIL.
            self._image_since = math.inf
            self.pane.show(self._request(item, stamp))
        elif stamp is not None and self.timing_log is not None:
            self.call_after_refresh(self._log_question, stamp, item.image)
        self._note_question()
        self._show_info()
        self._show_stats()
        self._bind_classes(task)

    def _note_question(self) -> None:
        """The question in the panel is on screen from the next refresh on (the team-day
        walkthrough of 2026-12-07: keys typed while the app was busy for a second were
        applied one by one when it caught up, answering questions and images nobody saw)."""
        key = self._question_key()
        if key != self._question_on_screen:
            self._question_on_screen, self._question_since = key, math.inf
            self.call_after_refresh(self._question_painted, key)

    def _question_painted(self, key: tuple) -> None:
        if key == self._question_on_screen and self._question_since == math.inf:
            self._question_since = time.monotonic()

    @property
    def question_on_screen(self) -> bool:
        """The question and its image are painted: a key pressed from now on answers them."""
        return max(self._question_since, self._image_since) < math.inf

    def seen_when_pressed(self, stamp: KeyStamp | None) -> bool:
        """Whether the question and its image were on screen when the key being handled was
        pressed (its time is when the input thread read it, however long it then waited).
        "Painted" is when Textual handed the frame to its writer thread: a process stopped
        between that and the terminal drawing it (attack pass 27, `kill -STOP` timed to the
        millisecond) still takes a key typed meanwhile for a reaction to the frame."""
        return stamp is None or stamp.time >= max(self._question_since, self._image_since)

    def _not_seen_text(self, stamp: KeyStamp | None) -> str:
        """Why a key was refused: the question came after it, or only its image was redrawn (`p`, a resize)."""
        if stamp is not None and stamp.time >= self._question_since:
            return NOT_REDRAWN_YET
        return NOT_ON_SCREEN_YET

    def _also_here(self) -> str | None:
        """Who else is on the queue's image shown (it came round again, or they came to it since)."""
        other = None if self.lookback.active else self.session.also_here
        return None if other is None else f"{printable(other)} is on this image too."

    def _bind_classes(self, task) -> None:
        if task.classes != self._bound_classes:
            # Only now do the class keys change; refreshing bindings rebuilds the footer.
            self._bound_classes = task.classes
            self.refresh_bindings()

    def _show_past(self, stamp: KeyStamp | None = None) -> None:
        """The decision gone back to: its image, its question with the answer given marked."""
        entry = self.lookback.current
        task = self.session.tasks[entry.task]
        ago = self.lookback.index + 1
        panel = self.query_one(QuestionPanel)
        # The first form that fits on one line (helper-87: at 120x40 "back · 2 decisions ago ·
        # ] newer · esc" left "queue" to a second line, and the panel moved down a row).
        forms = [
            f"{ago} decision{'s' if ago > 1 else ''} back · ] newer · esc queue",
            f"{ago} back · ] newer · esc",
            f"{ago} back",
        ]
        heading = next((form for form in forms if len(form) <= panel.content_size.width), forms[-1])
        panel.show_question(task, heading, chosen=entry.label)
        displayed = ("back", self.lookback.index, entry.image, self.view)
        if displayed != self._displayed:
            self._displayed = displayed
            self.context = None
            self._image_since = math.inf
            self.pane.show(DisplayRequest(entry.image, False, self.view, stamp))
        self._note_question()
        self._show_info()
        self._show_stats()
        self._bind_classes(task)

    def _on_screen_image(self) -> str | None:
        """The image whose question is on screen (the queue's item, or the decision gone back to)."""
        if self.lookback.active:
            return self.lookback.current.image
        item = self.session.current
        return None if item is None else item.image

    def _current_task(self):
        if self.lookback.active:
            return self.session.tasks[self.lookback.current.task]
        return self.session.current_task

    def queue_completed(self) -> None:
        """The whole queue arrived (it started on a first page): update counts, or go on."""
        if self._displayed is None:  # "Loading the rest…" was up: the next image, or the queue's end
            self.show_current()
        else:
            self._show_stats()

    def _show_info(self) -> None:
        session, context = self.session, self.context
        blind = False
        if self.lookback.active:
            entry = self.lookback.current
            image, asked, given = entry.image, (entry.task,), {entry.task: entry.label}
        elif session.current is not None:
            image, asked, given = session.current.image, session.current.tasks, session.answered_here()
            blind = session.current.check
        else:
            return
        earlier: dict[str, str] = {}
        if context is not None:
            # This person's stored answers (typed, imported or reviewed; the newest counts):
            # for the tasks not asked now, as their labels; for the asked ones, marked as
            # earlier (relabelling with --image, reviewing one's own conflict). Never on a
            # flip check, which is blind: it would give the answer away.
            mine = {
                task: answer.label
                for task, answers in context.answers.items()
                for answer in answers
                if answer.annotator == session.annotator
            }
            given = {task: label for task, label in mine.items() if task not in asked} | given
            if not blind:
                earlier = {task: label for task, label in mine.items() if task in asked}
        self.query_one(ImageInfo).show_info(
            image,
            session.annotator,
            self.queue.name,
            list(session.tasks.values()),  # the session's tasks (helper-87: `-t light` showed orientation)
            given,
            context,
            earlier=earlier,
            show_answers=self.queue.shows_answers,
            compact=self.has_class("compact"),
        )

    def _show_stats(self) -> None:
        session = self.session
        stats = session.stats
        # Check answers count as answers here, as on any item (checks are blind).
        done, total = session.shown_progress
        now = session.clock()
        left = total - done if total is not None and done is not None else None
        last = session.last_decision()
        figures = PanelFigures(
            done=done,
            total=total,
            counts=stats.shown_counts,
            tasks=list(session.tasks.values()),  # helper-87: `-t light` listed orientation's counts too
            decisions=stats.shown_decisions,
            per_minute=stats.per_minute(now),
            others=session.others_now,
            changes=stats.changes,
            # The queue's pace: new answers only (going back to change one moves nothing on).
            minutes_left=minutes_left(
                left, len(session.tasks), stats.per_minute(now, new_only=True), stats.new_answers
            ),
            skipped=session.skipped,
            # Not on a short or narrow screen, whose lines the counts need.
            last=None if last is None or self.has_class("compact") else (last.image, last.task, last.label),
        )
        self.query_one(SessionStats).show_stats(figures)
        if total is not None and done is not None:  # what `celeba annotators` shows of this session
            session.turns.tell_progress(
                Progress(done, total, figures.decisions, figures.per_minute, figures.minutes_left)
            )

    def _log_question(self, stamp: KeyStamp, image: str) -> None:
        seconds, cpu = stamp.elapsed()
        self.timing_log.record("question", seconds, key=stamp.key, image=image, cpu=cpu)

    def on_image_shown(self, message: ImageShown) -> None:
        request = message.request
        if request == self.pane.request:
            self._image_since = min(self._image_since, message.time)  # posted just after the paint
        if request == self.pane.request and self.lookback.active:
            self._load_context(request.image, False)
        elif request == self.pane.request and self.session.current is not None:
            self._load_context(request.image, self.session.current.check)
            self.pane.prefetch([self._request(upcoming) for upcoming in self.session.upcoming(PREFETCH)])
        if message.elapsed is not None and self.timing_log is not None:
            seconds, cpu = message.elapsed
            self.timing_log.record("image", seconds, key=request.stamp.key, image=request.image, cpu=cpu)
        if message.unreadable is not None and request.image not in self._reported:
            self._reported.add(request.image)
            self._record_problem(request.image, message.unreadable)

    @work(thread=True, group="problems", exit_on_error=False)
    def _record_problem(self, image: str, reason: str) -> None:
        self.session.store.add_problem(image, "unreadable", reason, self.session.annotator)

    @work(thread=True, group="context", exclusive=True, exit_on_error=False)
    def _load_context(self, image: str, mirrored: bool) -> None:
        context = item_context(self.session.store, image, self.workspace.tasks)
        # A mirrored copy is shown with what is known about it: left and right swapped.
        self.post_message(ContextLoaded(image, mirrored_context(context) if mirrored else context))

    def on_context_loaded(self, message: ContextLoaded) -> None:
        if self._on_screen_image() == message.image:
            self.context = message.context
            self._show_info()

    # ----------------------------------------------------------- actions
    def on_key(self, event: events.Key) -> None:
        """A letter or digit that answers nothing here says which keys do (the walkthrough of
        2026-12-07: `y` or `d` on a yes/no question did nothing, without a word). Keys bound
        here (and enabled for this question) pass by untouched."""
        if not (event.is_printable and event.character and event.character.isalnum()):
            return
        bound = self.active_bindings.get(event.key)
        if (bound is not None and bound.enabled) or self.has_class("too-small"):
            return
        task = self._current_task()
        if task is None:
            return
        answers = ", ".join(f"{printable(keys.label)} {keys.display}" for keys in class_keys(task.classes))
        self.notify(
            f"{event.character!r} answers nothing here: {printable(task.name)}: {answers} (? lists every key)",
            timeout=4,
            markup=False,
        )

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "choose":
            task = self._current_task()
            return task is not None and self._signatures[parameters[0]] == task.classes
        if action in ("forward", "to_queue"):
            return self.lookback.active
        return True

    async def action_choose(self, signature: int, index: int) -> None:
        if self.has_class("too-small"):
            return
        if self.lookback.active:
            await self._redecide(index)
            return
        if self.session.finished:
            return
        if not self.pane.ready:
            problem = self.pane.error
            if problem:
                self.app.bell()
                self.notify(f"{printable(problem)}: press space to skip", markup=False)
            else:
                # Said until an answer is stored: a key typed ahead of the image would
                # otherwise leave the next key answering this question (walkthrough 2026-12-07).
                self._refused("NOT saved: the image was still loading. Look, then press your answer again.")
            return
        stamp = self._stamp
        if not self.seen_when_pressed(stamp):
            self._refused(self._not_seen_text(stamp))
            return
        try:
            decision = await self._write(self.session.record, index)
        except DecidedMeanwhile as exc:
            # Another reviewer's decision, shown first: the same key now decides over it.
            self._refused(f"NOT saved: {_reason(exc)}. The key again overrules it; space keeps it.")
            return
        except WRITE_REFUSED as exc:
            # The question stays on screen, unanswered: the same key tries again.
            self._refused(f"NOT saved: {_reason(exc)}. Your answer is still open: press the key again.")
            return
        self.session.apply(decision)
        self.show_current(stamp)

    async def _write(self, function, *args):
        """Run a store write off the UI thread; keys wait in order, a slow lock is shown.

        A refused write raises (WRITE_REFUSED) for the caller to say so; the app goes on.
        """
        notice = self.set_timer(STORE_WAIT_NOTICE_S, lambda: self._set_status(STORE_WAIT_TEXT))
        try:
            result = await asyncio.to_thread(_while_holding, self.held_lock, function, *args)
        finally:
            notice.stop()
        self._set_status(None)
        self._refused_for = None
        return result

    def _refused(self, text: str) -> None:
        """Say, until a later write succeeds or another question is shown, that a decision was not stored."""
        self.app.bell()
        self._refused_for = self._question_key()
        self._set_status(text, refused=True)

    def _question_key(self) -> tuple:
        """Which question is on screen: the session's cursor, or the decision gone back to."""
        if self.lookback.active:
            return ("back", self.lookback.index)
        return (self.session.position, self.session.task_index)

    def _set_status(self, text: str | None, *, refused: bool = False) -> None:
        """The line under the question: a write's trouble, else who else is on this image."""
        if text is None:
            text = self._also_here()
        status = self.query_one("#store-status", Static)
        status.display = text is not None
        status.set_class(refused, "-refused")
        if text is not None and text != self._status_text:
            status.update(text)
        self._status_text = text

    async def _redecide(self, index: int) -> None:
        """A class key on a decision gone back to: a new decision, appended (history keeps the old)."""
        entry = self.lookback.current
        label = self.session.tasks[entry.task].classes[index]
        if not self.seen_when_pressed(self._stamp):
            self._refused(f"Change {self._not_seen_text(self._stamp)}")
            return
        try:
            outcome = await self._write(self.lookback.redecide, self.session.store, self.session.annotator, label)
        except WRITE_REFUSED as exc:
            self._refused(f"Change NOT saved: {_reason(exc)}. Press the key again.")
            return
        self.lookback.adopt(outcome.decision)
        if not outcome.stored:
            self.notify(f"{entry.task} stays {label}", timeout=2, markup=False)
        else:
            self.session.record_change(
                entry.image, entry.task, label, outcome.decision.label_id, outcome.before, outcome.replaced_id
            )
            before = "undone" if outcome.before is None else outcome.before
            self.notify(f"changed: {entry.task} {before} → {label}", timeout=2, markup=False)
        self.show_current(self._stamp)

    async def action_back(self) -> None:
        """One of your earlier decisions further back (across sessions), newest first."""
        if self.has_class("too-small"):
            return
        try:
            entry = await asyncio.to_thread(self.lookback.older)
        except WRITE_REFUSED as exc:
            self.notify(f"cannot read your earlier decisions: {_reason(exc)}", severity="error", markup=False)
            return
        if entry is None:
            self.notify("no earlier decision of yours" if not self.lookback.active else "that was your first decision")
            return
        self.refresh_bindings()  # ] and esc now do something
        self.show_current(self._stamp)

    def action_forward(self) -> None:
        """One decision nearer now; past the newest, the queue again."""
        if self.lookback.newer() is None:
            self._return_to_queue()
        else:
            self.show_current(self._stamp)

    def action_to_queue(self) -> None:
        self.lookback.leave()
        self._return_to_queue()

    def _return_to_queue(self) -> None:
        self._displayed = None
        self.session.recheck()  # others may have finished it while you were going back
        self.refresh_bindings()
        self.show_current(self._stamp)

    async def action_skip(self) -> None:
        if self.has_class("too-small") or self.session.finished:
            return
        if self.lookback.active:
            self.notify("going back: ] for newer decisions, esc for the queue", timeout=2)
            return
        stamp = self._stamp
        item, index = self.session.current, self.session.task_index
        whole = self.pane.error is not None and self.pane.shown == self.pane.request  # an image that cannot be shown
        if whole:
            self.session.skip_image()
        else:
            self.session.skip()
        self.show_current(stamp)
        if item is not None and not item.check:  # a check's image is labelled already
            for task in item.tasks[index:] if whole else item.tasks[index : index + 1]:
                await self._remember_skip(self.session.store.add_skip, item.image, task)

    async def _remember_skip(self, function, image: str, task: str) -> None:
        """Store (or forget) a skip, so the next session shows the image after the others.
        Not a decision: a refused write is said, and the session goes on."""
        try:
            await self._write(function, image, task, self.session.annotator)
        except WRITE_REFUSED as exc:
            self.notify(f"the skip was not remembered: {_reason(exc)}", severity="warning", markup=False)

    async def action_undo(self) -> None:
        if self.has_class("too-small"):  # nothing is visible: no blind changes
            return
        if self.lookback.active:
            self.notify("going back: press a class key to change this decision, esc for the queue", timeout=3)
            return
        skip = self.session.last_skip()
        if skip is not None:  # back to the question skipped last; nothing was stored
            stamp = self._stamp
            self.session.undo_skip(skip)
            item, task = self.session.current, self.session.current_task
            self.notify(f"back to the skipped {task.name} question of {printable(item.image)}", timeout=2, markup=False)
            self.show_current(stamp)
            if not item.check:  # every question the skip left open (an unreadable image's, all of them)
                for name in item.tasks[skip.task_index : skip.task_index + skip.questions]:
                    await self._remember_skip(self.session.store.remove_skip, item.image, name)
            return
        decision = self.session.last_decision()
        if decision is None:
            self.notify("nothing to undo in this session")
            return
        stamp = self._stamp
        try:
            await self._write(self.session.revoke, decision)
        except WRITE_REFUSED as exc:
            self._refused(f"Undo NOT saved: {_reason(exc)}. Press u again.")
            return
        standing = self.session.apply_undo(decision)
        undone = f"undone: {decision.task} = {decision.label} for {printable(decision.image)}"
        if standing is not None:  # a change by going back: the answer it replaced stands again
            undone += f"; {standing} stands again"
        self.notify(undone, timeout=2, markup=False)
        self.show_current(stamp)

    def action_cycle_view(self) -> None:
        if self.has_class("too-small"):
            return
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self.notify(f"view: {self.view} (display only)", timeout=1.5, markup=False)
        self.show_current(self._stamp)

    def action_help(self) -> None:
        # Imported when asked: its Markdown widget costs ~0.1 s of start-up otherwise.
        from celeba_tui.tui.keys_help import binding_rows, class_rows
        from celeba_tui.tui.screens.guidelines_screen import GuidelinesScreen

        classes = self._bound_classes or self.workspace.tasks[0].classes
        keys = [*class_rows(classes), *binding_rows(self._own_and_inherited_bindings(), KEYS_SAID_IN_FULL)]
        self.app.push_screen(GuidelinesScreen(self.workspace.guidelines_path, keys, WORKING_TOGETHER))

    def _own_and_inherited_bindings(self) -> list:
        """This screen's bindings and those it inherits (a subclass's key wins), as the footer has them."""
        found: dict[str, object] = {}
        for cls in type(self).__mro__:
            if not issubclass(cls, LabelScreen):  # Textual's own (focus, copy) are not the labelling keys
                break
            for binding in cls.__dict__.get("BINDINGS", []):
                key = binding.key if isinstance(binding, Binding) else binding[0]
                found.setdefault(key, binding)
        return list(found.values())

    # ----------------------------------------------------- size and end
    def on_resize(self, event: events.Resize) -> None:
        self._check_size()

    def _check_size(self) -> None:
        width, height = self.app.size
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        if (width < NARROW_WIDTH) != self.has_class("narrow") and self.is_mounted:
            self.set_class(width < NARROW_WIDTH, "narrow")
            self._displayed = None
            if not too_small:
                self.call_after_refresh(self.show_current)
        if compact != self.has_class("compact") and self.is_mounted:
            self.set_class(compact, "compact")
            self.query_one(Footer).compact = compact
            self._show_class_keys_in_footer(not compact)
            self._displayed = None  # the question's letters change size
            if not too_small:
                self.call_after_refresh(self.show_current)
        self.set_class(too_small, "too-small")
        if too_small:
            self.query_one("#too-small", Static).update(
                f"The terminal is {width}x{height}; labelling needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
                "Make the window larger (q quits; everything is saved)."
            )

    def _show_class_keys_in_footer(self, show: bool) -> None:
        """The question panel lists the class keys; a narrow footer keeps room for the commands."""
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [
                replace(b, show=show and bool(b.description)) if b.action.startswith("choose(") else b for b in bindings
            ]
        self.refresh_bindings()

    def _finished(self) -> None:
        session = self.session
        self._show_stats()  # the panel under the box, and the lock note `celeba annotators` reads, say it all
        if session.stats.shown_decisions or session.total:  # the queue had images (answered, skipped or not)
            done, total = session.shown_progress
            checks = session.stats.checks
            of_them = f" ({counted(checks, 'consistency check')} among them)" if checks else ""
            # Said as the side panel says it: new answers, then changes (helper-89).
            stats = session.stats
            answers = counted(stats.new_answers, "answer") + (f", {stats.changes:,} changed" if stats.changes else "")
            title = f"Queue finished: {answers} this session{of_them}, {done:,} / {total:,} done."
        else:
            title = f"Nothing to label in the {self.queue.name} queue."
        screen = NothingToLabelScreen(title, "…", can_undo=session.can_undo, can_go_back=True)
        self.app.push_screen(screen, self._after_finished)
        self._compute_hint(screen)

    @work(thread=True, group="hint", exit_on_error=False)
    def _compute_hint(self, screen: NothingToLabelScreen) -> None:
        """What to do next, read on a connection of this worker's own: on a store of
        200,000 images it reads for a second or two, and an undo pressed meanwhile must
        not wait for it."""
        session = self.session
        try:
            reads = session.store.reader()
            try:
                hint = queue_hint(
                    reads,
                    self.workspace,
                    session.annotator,
                    list(session.tasks.values()),
                    self.queue,
                    self.options,
                    self.app.config.phrase_command,
                )
            finally:
                reads.close()
        except Exception as exc:  # noqa: BLE001  (a hint is not worth a crash)
            hint = f"(could not read the store for a hint: {type(exc).__name__}: {printable(exc)})"
        self.app.call_from_thread(screen.show_hint, hint)

    async def _after_finished(self, result: str | None) -> None:
        if result == "undo":
            await self.action_undo()
        elif result == "back":
            await self.action_back()
            if not self.lookback.active:
                self._finished()


TURNS_REFRESH_S = 5.0  # how often the side panel asks who else labels now (a directory read)
RECOUNT_EVERY = 3  # of those, how often the images ahead are counted again (in the background)
RECOUNT_MOST = 100  # images ahead asked about each time (one indexed read each)
WORKING_TOGETHER = """\
Working together on one queue (the side panel says who is labelling too):
  an image someone else is on goes to the end of your queue; still open when it
  comes round, it says "NAME is on this image too." (space leaves it to them);
  images others finish are passed over and counted done."""


def _reason(error: Exception) -> str:
    """Why a write was refused, short: the store's own words ("disk full") where it has them."""
    return printable(getattr(error, "problem", None) or error)
