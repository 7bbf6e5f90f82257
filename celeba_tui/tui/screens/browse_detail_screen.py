"""`celeba browse`'s image view: the picture, everything known about it, and relabelling.

The class keys of the task under the cursor (tab moves it) store a new decision at once
(appended: the history is kept), as `human`, or as `review` where it must settle
someone else's label (labelling.image_history.relabel_source); `u` undoes the last one
made here. PgDn/PgUp walk through the selection. Leaving returns (cursor, changed) so
the grid reads the store again after a relabel.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from celeba_tui.console import printable
from celeba_tui.errors import CelebaError, DecidedMeanwhile
from celeba_tui.labelling.image_history import image_record, relabel_source
from celeba_tui.labelling.session_lock import write_as
from celeba_tui.tui.image_prep import VIEWS
from celeba_tui.tui.key_map import class_keys
from celeba_tui.tui.messages import DisplayRequest
from celeba_tui.tui.screens.browse_messages import RecordLoaded
from celeba_tui.tui.screens.browse_text import record_text
from celeba_tui.tui.widgets.image_pane import ImagePane
from celeba_tui.vocabulary import REVIEW

MIN_WIDTH, MIN_HEIGHT = 60, 16
# What `?` says of the footer's terse words.
KEYS_SAID_IN_FULL = {
    "task": "next task (the class keys relabel the task under the cursor)",
    "undo": "undo your last relabel here (the history keeps both rows)",
    "next": "next image of the selection",
    "view": f"cycle the view: {', '.join(VIEWS)} (display only)",
    "help": "these keys and the guidelines",
    "grid": "back to the grid",
}
WRITE_REFUSED = (CelebaError, sqlite3.Error)


class BrowseDetailScreen(Screen):
    # Terse words, so the class keys (bound last) stay on a 100-column footer; `?` says
    # each in full.
    BINDINGS = [
        Binding("tab", "next_task(1)", "task"),
        Binding("shift+tab", "next_task(-1)", "previous task", show=False),
        Binding("u,backspace", "undo", "undo", key_display="u"),
        Binding("pagedown,n", "step(1)", "next", key_display="PgDn"),
        Binding("pageup,N", "step(-1)", "previous image", key_display="PgUp", show=False),
        Binding("p", "cycle_view", "view"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("escape,q", "close", "grid", key_display="esc"),
    ]
    # Keys no class may take here (a yes/no task's n: the next image).
    SCREEN_KEYS = frozenset(key.strip() for binding in BINDINGS for key in binding.key.split(","))

    def __init__(self, browser, selection, at: int, *, renderer: str = "halfcell", cell_size=(10, 20)):
        super().__init__()
        self.browser = browser
        self.selection = selection
        self.at = at
        self.renderer = renderer
        self.cell_size = cell_size
        self.tasks = browser.tasks
        self.task_index = self._asked()[0]
        self.view = VIEWS[0]
        self.record = None
        self.changed = False
        self.made: list[tuple[int, str]] = []  # (label id, image) of the decisions made here, for undo
        self._signatures = list(dict.fromkeys(t.classes for t in self.tasks))
        for signature_index, classes in enumerate(self._signatures):
            for keys in class_keys(classes, self.SCREEN_KEYS):
                self._bindings.bind(
                    ",".join(keys.keys),
                    f"choose({signature_index}, {keys.index})",
                    keys.label,
                    key_display=keys.display,
                )

    @property
    def image(self) -> str:
        return self.selection.name_at(self.at)

    @property
    def task(self):
        return self.tasks[self.task_index]

    def _asked(self) -> list[int]:
        """Where in `tasks` the questions the selection asks of this image are: of the tasks
        its filter names (`-t glasses`: the cursor starts there, not on the first task), under
        `queue:NAME` those that queue asks; every task without either. In the order the filter
        names them (`-t orientation -t light`: orientation first), then the config's."""
        wanted = self.selection.filter.tasks
        names = tuple(task.name for task in self.tasks if not wanted or task.name in wanted)
        asked = set(self.selection.questions(self.image, names or tuple(task.name for task in self.tasks)))
        index = {task.name: i for i, task in enumerate(self.tasks)}
        typed = [name for name in dict.fromkeys(wanted) if name in asked]  # in the order the filter names them
        rest = [task.name for task in self.tasks if task.name in asked and task.name not in typed]
        return [index[name] for name in [*typed, *rest]] or [0]

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ImagePane(
                self.browser.workspace.image_root,
                self.renderer,
                cell_size=self.cell_size,
                id="image",
                unreadable_hint="PgDn: next image",
            )
            with VerticalScroll(id="record-side"):
                yield Static("", id="record", markup=False)
        yield Static("", id="too-small", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._check_size()
        self._show()

    def _show(self) -> None:
        self.query_one(ImagePane).show(DisplayRequest(self.image, False, self.view))
        self.record = None
        self.query_one("#record", Static).update(f"{printable(self.image)}\n\nreading the store…")
        self._load_record(self.image)

    @work(thread=True, exclusive=True, exit_on_error=False, group="record")
    def _load_record(self, image: str) -> None:
        try:
            record = image_record(self.browser.store, image, self.tasks)
        except Exception as exc:  # noqa: BLE001  (shown in the panel)
            self.post_message(RecordLoaded(image, None, f"{type(exc).__name__}: {printable(exc)}"))
            return
        self.post_message(RecordLoaded(image, record, None))

    def on_record_loaded(self, message: RecordLoaded) -> None:
        if message.image != self.image:
            return
        if message.error is not None:
            self.query_one("#record", Static).update(f"Cannot read the store: {message.error}")
            return
        self.record = message.record
        self._show_record()

    def _sources(self) -> dict[str, str]:
        return {name: relabel_source(entry, self.browser.annotator) for name, entry in self.record.tasks.items()}

    def _show_record(self) -> None:
        if self.record is None:
            return
        panel = self.query_one("#record", Static)
        width = panel.content_size.width or None  # 0 before the first layout
        text = record_text(self.record, self.tasks, self.browser.annotator, self.task.name, self._sources(), width)
        panel.update(text)
        self.refresh_bindings()

    # ------------------------------------------------------------- actions
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "choose":
            return self._signatures[parameters[0]] == self.task.classes
        return True

    async def action_choose(self, signature: int, index: int) -> None:
        if self.has_class("too-small"):
            return
        if self.record is None:
            self.notify("still reading what is known about this image", markup=False)
            return
        task, image = self.task, self.image
        label = task.classes[index]
        entry = self.record.tasks[task.name]
        source = relabel_source(entry, self.browser.annotator)
        # A review decides over the history shown: refused if someone decided since.
        seen = max((row.id for row in entry.history), default=0) if source == REVIEW else None
        store, annotator = self.browser.store, self.browser.annotator
        write = functools.partial(store.add_label, decided_since=seen)
        try:
            label_id = await asyncio.to_thread(
                write_as, self.browser.workspace.path, annotator, write, image, task.name, label, annotator, source
            )
        except DecidedMeanwhile as exc:
            self.app.bell()
            self.notify(
                f"NOT saved: {printable(exc.problem)}. Shown now: the key again overrules it.",
                severity="error",
                timeout=10,
                markup=False,
            )
            self._load_record(image)
            return
        except WRITE_REFUSED as exc:
            self.app.bell()
            self.notify(f"NOT saved: {printable(exc)}", severity="error", timeout=10, markup=False)
            return
        self.made.append((label_id, image))
        self.changed = True
        # The cursor stays on the task (helper-87: it moved to the next one, and the tab
        # pressed to get there took it back, so the next key relabelled this task again).
        following = self.tasks[(self.task_index + 1) % len(self.tasks)]
        hint = f"; tab for {following.name}" if following is not task else ""
        self.notify(f"stored {task.name} = {label} ({source}) for {printable(image)}{hint}", timeout=3, markup=False)
        self._load_record(image)

    async def action_undo(self) -> None:
        if not self.made:
            self.notify("nothing to undo here", markup=False)
            return
        label_id, image = self.made[-1]
        try:
            annotator = self.browser.annotator
            await asyncio.to_thread(
                write_as, self.browser.workspace.path, annotator, self.browser.store.revoke, label_id, annotator
            )
        except WRITE_REFUSED as exc:
            self.app.bell()
            self.notify(f"Undo NOT saved: {printable(exc)}", severity="error", timeout=10, markup=False)
            return
        self.made.pop()
        self.notify(f"undone (the history keeps both rows) for {printable(image)}", timeout=2, markup=False)
        if image == self.image:
            self._load_record(image)

    def action_help(self) -> None:
        """`?`: this screen's keys (the class keys first), then the labelling guidelines."""
        from celeba_tui.tui.keys_help import binding_rows, class_rows
        from celeba_tui.tui.screens.guidelines_screen import GuidelinesScreen

        rows = [*class_rows(self.task.classes, self.SCREEN_KEYS), *binding_rows(self.BINDINGS, KEYS_SAID_IN_FULL)]
        self.app.push_screen(GuidelinesScreen(self.browser.workspace.guidelines_path, rows))

    def action_next_task(self, step: int) -> None:
        self.task_index = (self.task_index + step) % len(self.tasks)
        self._show_record()

    def action_step(self, step: int) -> None:
        target = self.at + step
        if 0 <= target < len(self.selection):
            self.at = target
            self.task_index = self._asked()[0]
            self._show()

    def action_cycle_view(self) -> None:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        self.notify(f"view: {self.view} (display only)", timeout=1.5, markup=False)
        self.query_one(ImagePane).show(DisplayRequest(self.image, False, self.view))

    def action_close(self) -> None:
        self.dismiss((self.at, self.changed))

    # ----------------------------------------------------------------- size
    def on_resize(self, event: events.Resize) -> None:
        self._check_size()
        self.call_after_refresh(self._show_record)  # the history's rows wrap to the new width

    def _check_size(self) -> None:
        width, height = self.app.size
        too_small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(too_small, "too-small")
        if too_small:
            self.query_one("#too-small", Static).update(
                f"The terminal is {width}x{height}; the image view needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
                "Make the window larger (esc: back to the grid)."
            )
