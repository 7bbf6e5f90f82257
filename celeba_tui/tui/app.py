"""`celeba label`: the Textual app. Builds the queue in a worker, then runs the label screen."""

from __future__ import annotations

import functools
import io
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from textual import work
from textual.app import App, ComposeResult
from textual.widgets import Static

from celeba_tui.console import printable
from celeba_tui.errors import CelebaError
from celeba_tui.labelling import presence
from celeba_tui.labelling.flip_checks import CheckScheduler, check_tasks
from celeba_tui.labelling.next_steps import unchanged
from celeba_tui.labelling.queues import OneImageQueue, Queue, QueueOptions, get_queue, my_live_labels
from celeba_tui.labelling.selection import names_of_tasks
from celeba_tui.labelling.session import LabelSession
from celeba_tui.labelling.session_summary import SessionOutcome
from celeba_tui.tui.messages import ImageShown, QueueBuilt, QueueCompleted
from celeba_tui.tui.screens.label_screen import LabelScreen
from celeba_tui.tui.screens.nothing_to_label_screen import NothingToLabelScreen
from celeba_tui.tui.termination import end_on_termination, stop_ending_on_termination
from celeba_tui.tui.timing_log import TimingLog

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


@dataclass
class LabelConfig:
    """Everything `celeba label` decided from its arguments."""

    workspace: object
    annotator: str
    queue: str = "unlabelled"
    tasks: tuple = ()
    options: QueueOptions = field(default_factory=QueueOptions)
    checks: float = 0.0
    renderer: str = "halfcell"
    cell_size: tuple[int, int] = (10, 20)
    timing_log: Path | None = None
    image: str | None = None  # `--image NAME`: exactly that image
    held_lock: object | None = None  # the annotator's session lock (session_lock.HeldLock), checked before each write
    share_clashes: tuple[str, ...] = ()  # shown when the screen opens: a share another person labels too
    name_hint: str | None = (
        None  # shown when the screen opens: whose name decisions go under (annotator_names.name_hint)
    )
    guidelines_hint: str | None = None  # shown when the screen opens: tasks the guidelines say nothing of
    checks_hint: str = ""  # shown when the screen opens: why --checks brings no checks
    # How the queue's-end hint words a command: as `celeba label` was invoked (-w/-a too).
    phrase_command: Callable[[str], str] = unchanged


FIRST_PAGE = 50


def start_session(store: LabelStore, config: LabelConfig, queue: Queue) -> LabelSession:
    """A session on the queue's first page when it has one (fast), else on the whole queue."""
    tasks = config.tasks or config.workspace.tasks
    read_mark = store.last_label_id()  # before the queue is read: see LabelSession.read_mark
    # Read once: the whole queue (now or built later) puts them last, the screen says when only they are left.
    skipped = store.skipped_images(config.annotator, names_of_tasks(tasks))
    first_page = getattr(queue, "first_page", None)
    page = None
    if first_page is not None:
        page = first_page(store, config.workspace, config.annotator, tasks, config.options, FIRST_PAGE)
    if page is not None:
        # An empty first page is an empty queue; otherwise `build` brings the rest and the count.
        items, total, complete = page, (None if page else 0), not page
    else:
        built = queue.build(store, config.workspace, config.annotator, tasks, config.options)
        built = built.skipped_last(skipped)
        # The whole queue, others' finished images included: those passed over count as done.
        items, total, complete = built.items, built.total + built.by_others, True
    checks = None
    checked = check_tasks(config.checks, tasks, queue.source) if config.image is None else ()
    if checked:
        checks = CheckScheduler(config.checks, checked, seed=config.options.seed)
        for image, task, label in my_live_labels(store, config.annotator, checked).itertuples(index=False):
            checks.remember(image, task, label)
    open_tasks, reads = getattr(queue, "open_tasks", None), None
    if open_tasks is not None:  # asked per item: what is still open now, on a connection of its own
        reads = _second_connection(store)
        open_tasks = functools.partial(
            open_tasks, reads or store, config.workspace, config.annotator, options=config.options
        )
    turns = presence.ALONE
    if config.held_lock is not None:  # who else is on an image, or labels now: the lock notes (presence.py)
        turns = presence.turns_through_lock(config.workspace.path, config.annotator, config.held_lock)
    return LabelSession(
        store,
        config.annotator,
        tasks,
        items,
        total=total,
        complete=complete,
        source=queue.source,
        checks=checks,
        read_mark=read_mark,
        open_tasks=open_tasks,
        turns=turns,
        reads=reads,
        skipped_before=skipped,
    )


def _second_connection(store: LabelStore) -> LabelStore | None:
    """A read-only connection for the per-item checks, so the screen's thread never finds
    the store busy with the queue's build; None where one cannot be opened (the checks then
    share the store's, and are skipped while it is busy)."""
    try:
        return store.reader()
    except (CelebaError, sqlite3.Error, OSError):
        return None


class LabelApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "celeba label"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, config: LabelConfig, store: LabelStore):
        super().__init__()
        self.config = config
        self.store = store
        self.queue = get_queue(config.queue)
        if config.image is not None:
            self.queue = OneImageQueue(config.image, self.queue)
        self.timing_log = TimingLog(config.timing_log) if config.timing_log else None
        self.started = time.monotonic()
        self.session: LabelSession | None = None
        self._first_shown = False
        # Textual prints an unexpected error's traceback here when the app ends: kept, not
        # dumped over the terminal, so `celeba label` can say in one line what happened.
        self.error_console = Console(file=io.StringIO(), width=120, color_system=None, markup=False, highlight=False)

    def outcome(self) -> SessionOutcome:
        """What this session stored (the app's return value when it quits)."""
        if self.session is None:
            return SessionOutcome()
        stats = self.session.stats
        return SessionOutcome(
            +stats.counts,
            stats.checks,
            stats.changes,
            self.session.finished_elsewhere,
            stats.decisions,
            skipped=self.session.skipped,
        )

    async def action_quit(self) -> None:
        self.exit(self.outcome())

    def crash_report(self) -> tuple[str, str] | None:
        """(one-line summary, traceback) of the unexpected error that ended the app, or None."""
        if not self.return_code:
            return None
        error = self._exception  # Textual keeps the first unhandled error here
        summary = "an unknown error" if error is None else f"{type(error).__name__}: {printable(error)}"
        return summary, self.error_console.file.getvalue()

    def compose(self) -> ComposeResult:
        yield Static(f"Finding images for you in the {self.queue.name} queue…", id="loading", markup=False)

    def on_mount(self) -> None:
        end_on_termination(self)
        self._build_queue()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _build_queue(self) -> None:
        started = time.monotonic()
        try:
            session = start_session(self.store, self.config, self.queue)
        except Exception as exc:  # noqa: BLE001  (shown to the user; the app stays usable)
            self.post_message(QueueBuilt(error=f"{type(exc).__name__}: {printable(exc)}"))
            return
        self.post_message(QueueBuilt(session, seconds=time.monotonic() - started))

    @work(thread=True, exclusive=True, exit_on_error=False, group="complete")
    def _complete_queue(self) -> None:
        """The whole queue, after the first image is up (so the two do not share the CPU)."""
        started, config = time.monotonic(), self.config
        try:
            built = self.queue.build(
                self.store, config.workspace, config.annotator, self.session.tasks.values(), config.options
            ).skipped_last(self.session.skipped_before)
        except Exception as exc:  # noqa: BLE001  (the session goes on with the first page)
            error = f"{type(exc).__name__}: {printable(exc)}"
            self.post_message(QueueCompleted(None, error, time.monotonic() - started))
            return
        self.post_message(QueueCompleted(built, None, time.monotonic() - started))

    def on_queue_built(self, message: QueueBuilt) -> None:
        if self.timing_log is not None:
            self.timing_log.record("queue", message.seconds)
        if message.error is not None:
            self.push_screen(NothingToLabelScreen("The queue could not be built.", message.error, can_undo=False))
            return
        # An empty queue too: the label screen says why (from the store) and can go back.
        self.session = message.session
        if self.session.waiting:  # the first page was all passed over: no image will ask for the rest
            self._complete_queue()
        self.push_screen(
            LabelScreen(
                self.session,
                self.config.workspace,
                self.queue,
                renderer=self.config.renderer,
                cell_size=self.config.cell_size,
                timing_log=self.timing_log,
                held_lock=self.config.held_lock,
                options=self.config.options,
            )
        )
        for text in self.config.share_clashes:
            self.notify(text, title="Check your share", severity="warning", timeout=30, markup=False)
        if self.config.name_hint:
            self.notify(self.config.name_hint, title="Check your name", severity="warning", timeout=30, markup=False)
        if self.config.guidelines_hint:
            self.notify(self.config.guidelines_hint, title="No guidelines yet", timeout=30, markup=False)
        if self.config.checks_hint:
            self.notify(self.config.checks_hint, title="No checks", severity="warning", timeout=30, markup=False)
        first = self.session.current
        if first is not None and not first.check and not isinstance(self.queue, OneImageQueue):
            if first.image in self.session.skipped_before:  # they come last: the first one means only they are left
                self.notify("Only images you skipped before are left in this queue.", timeout=8)

    def on_queue_completed(self, message: QueueCompleted) -> None:
        if self.timing_log is not None:
            self.timing_log.record("queue_full", message.seconds)
        if message.error is not None:
            text = f"could not count the whole queue: {message.error}"
            self.notify(text, severity="error", timeout=10, markup=False)
            return
        self.session.adopt(message.built)
        for screen in self.screen_stack:
            if isinstance(screen, LabelScreen):
                screen.queue_completed()

    def on_image_shown(self, message: ImageShown) -> None:
        if not self._first_shown:
            self._first_shown = True
            if self.timing_log is not None:
                # cpu: the process's CPU time since it started, imports included.
                self.timing_log.record(
                    "startup", time.monotonic() - self.started, image=message.request.image, cpu=time.process_time()
                )
            if not self.session.complete:
                self._complete_queue()

    def on_unmount(self) -> None:
        stop_ending_on_termination()
        if self.timing_log is not None:
            self.timing_log.close()
        if self.session is not None:
            self.session.close()
