"""`celeba browse`'s grid: thumbnails of the selected images, a page at a time.

Keys move a cursor (arrows), turn pages (PgUp/PgDn), filter (`/`), open an image
(Enter) and hand the selection to the label screen (`L`). Selecting runs in a worker;
a page turn only writes captions (the selection is in memory) and asks the
ThumbnailLoader for pixels, which arrive later and never hold a key up. Another
process writing to the store is noticed by a cheap poll (`PRAGMA data_version`) and
the grid is read again, keeping the image under the cursor. Once a whole index is on
screen, a background thread computes what the slow filters need (`Browser.precompute`:
confidence, the queues), so the first `conf<` or `queue:` filter costs what any other does.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

from rich.console import COLOR_SYSTEMS
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Input, Static

from celeba_tui.console import printable
from celeba_tui.errors import CelebaError
from celeba_tui.labelling.browse_filter import BrowseFilter, describe_filter, parse_filter
from celeba_tui.tui.screens.browse_grid import GridGeometry, default_rows, grid_geometry
from celeba_tui.tui.screens.browse_messages import SelectionReady
from celeba_tui.tui.screens.browse_text import FILTER_TERMS, caption, no_match_hint, status_line
from celeba_tui.tui.widgets.steady_footer import SteadyFooter
from celeba_tui.tui.widgets.thumbnail import Thumbnail
from celeba_tui.tui.widgets.thumbnail_loader import ThumbnailLoader, ThumbnailReady

MIN_WIDTH, MIN_HEIGHT = 40, 12
# Below this width the footer leaves out the keys `?` lists anyway, so that help and quit
# stay in sight (helper-83: at 60 columns they were cut off).
FULL_FOOTER_WIDTH = 100
NARROW_FOOTER_HIDES = ("clear_filter", "zoom(-1)", "label_selection")
# What `?` says of the footer's terse words.
KEYS_SAID_IN_FULL = {
    "page": "next / previous page",
    "open": "everything known about the image; relabel it there",
    "filter": "edit the filter (terms below)",
    "clear": "clear the filter",
    "refresh": "read the store again now (it is re-read every few seconds)",
    "size": "+ bigger thumbnails, - smaller",
    "label": "label the images the filter selects, one after another",
}
POLL_S = 2.0  # how often to ask whether another process wrote to the store
# Start-up reads this many images first (in milliseconds), shows them, then reads the rest.
FIRST_IMAGES = 240


class BrowseScreen(Screen):
    AUTO_FOCUS = ""  # nothing: the filter box takes keys only after `/`
    BINDINGS = [
        Binding("left", "move(-1, 0)", "move", show=False),
        Binding("right", "move(1, 0)", "move", show=False),
        Binding("up", "move(0, -1)", "move", show=False),
        Binding("down", "move(0, 1)", "move", show=False),
        Binding("pagedown", "page(1)", "page", key_display="PgDn/Up"),
        Binding("pageup", "page(-1)", "page", key_display="PgDn/Up", show=False),
        Binding("home", "jump(0)", "first", show=False),
        Binding("end", "jump(-1)", "last", show=False),
        Binding("enter", "open", "open"),
        Binding("slash", "edit_filter", "filter", key_display="/"),
        Binding("c", "clear_filter", "clear"),
        Binding("r", "refresh", "refresh", show=False),  # the store is re-read every few seconds anyway
        Binding("plus,equals_sign", "zoom(-1)", "size", key_display="+/-"),
        Binding("minus", "zoom(1)", "size", key_display="+/-", show=False),
        Binding("L", "label_selection", "label", key_display="L"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, browser, initial: BrowseFilter, *, renderer="halfcell", cell_size=(10, 20), timing_log=None):
        super().__init__()
        self.browser = browser
        self.filter = initial
        self.renderer = renderer
        self.cell_size = cell_size
        self.timing_log = timing_log
        self.loader = ThumbnailLoader(browser.workspace.image_root, renderer, cell_size)
        self.selection = None
        self.start = 0
        self.cursor = 0
        self.zoom_rows: int | None = None
        self.geometry: GridGeometry | None = None
        self._page_shown_at: float | None = None
        self._waiting: set[str] = set()
        self._key_time: float | None = None
        self._first_paint = True
        self._tiles: list[Thumbnail] = []
        self.filtering = False  # the filter box has the keys
        self._typed_filter: str | None = None  # the last filter typed, until the store has read it
        self._precomputing = None  # the index a background precompute was started for
        self._closing = False

    def compose(self) -> ComposeResult:
        yield Static("Reading the store…", id="browse-status", markup=False)
        yield Input(
            placeholder="/ to filter: status:conflict label:left source:model annotator:NAME conf<0.6 sort:time … "
            "or part of a name",
            id="filter",
        )
        yield Grid(id="grid")
        yield Static("", id="grid-message", markup=False)
        yield SteadyFooter()  # held while filtering: no rebuild of its keys on each filter change

    def on_mount(self) -> None:
        self._select(self.filter, "startup", None, reload=True)
        self.set_interval(POLL_S, self._poll)

    def action_help(self) -> None:
        """`?`: this screen's keys and the filter's words, then the labelling guidelines."""
        from celeba_tui.tui.keys_help import binding_rows
        from celeba_tui.tui.screens.guidelines_screen import GuidelinesScreen

        keys = binding_rows(self.BINDINGS, KEYS_SAID_IN_FULL)
        note = f"Filter terms (type / first): {FILTER_TERMS}"
        self.app.push_screen(GuidelinesScreen(self.browser.workspace.guidelines_path, keys, note))

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._key_time = event.time  # when the key arrived, for the timing log
        await super().on_event(event)

    # ------------------------------------------------------------ selecting
    @work(thread=True, exclusive=True, exit_on_error=False, group="select")
    def _select(self, wanted: BrowseFilter, kind: str, keep_image: str | None, reload: bool = False) -> None:
        started = self._key_time if kind != "startup" and self._key_time else time.monotonic()
        if kind in ("startup", "complete"):
            started = self.app.started
        try:
            if kind == "startup" and not (wanted.pair_conditions or wanted.words or wanted.sort != "name"):
                # Everything, by name: the first images alone give the first page at once; the
                # whole index is read once that page is painted (on_selection_ready).
                self.browser.load(first=FIRST_IMAGES)
                self.post_message(SelectionReady(self.browser.select(wanted), None, started, kind, None))
                return
            if reload or kind == "complete" or self.browser.index is None or self.browser.index.partial:
                self.browser.load()
            selection = self.browser.select(wanted)
        except CelebaError as exc:
            self.post_message(SelectionReady(None, printable(exc), started, kind, keep_image))
            return
        except Exception as exc:  # noqa: BLE001  (shown; browsing goes on with the last selection)
            self.post_message(
                SelectionReady(None, f"{type(exc).__name__}: {printable(exc)}", started, kind, keep_image)
            )
            return
        self.post_message(SelectionReady(selection, None, started, kind, keep_image))

    def on_selection_ready(self, message: SelectionReady) -> None:
        if message.error is not None:
            self.notify(message.error, severity="error", timeout=8, markup=False)
            if self.selection is None:
                self._show_message(f"Cannot browse: {message.error}\n\nq: quit")
            elif message.kind == "filter" and self._typed_filter is not None:
                self.action_edit_filter(self._typed_filter)  # as typed, to mend rather than retype
            return
        selection = message.selection
        if message.kind == "filter":
            self._typed_filter = None
        if not self.filtering:
            self.query_one("#filter", Input).value = describe_filter(selection.filter)
        keep = self.current_image if message.kind == "complete" else message.keep_image
        self.selection, self.filter = selection, selection.filter
        self.cursor = 0
        if keep is not None:
            self.cursor = self._find(keep)
        elif selection.filter.words:
            exact = self._find(" ".join(selection.filter.words))
            self.cursor = exact
        self._place_page()
        self.render_page(message.started, message.kind)
        if selection.index.partial:
            # The rest once this page is on screen: reading it must not slow the first paint.
            self.call_after_refresh(self._select, selection.filter, "complete", None, True)
        elif self._precomputing is not selection.index:
            self.call_after_refresh(self._start_precompute, selection.index)

    def _start_precompute(self, index) -> None:
        """What the slow filters need, in a daemon thread (quitting never waits for it)."""
        if self._precomputing is index or self.browser.index is not index:
            return
        # The first time everything; after a reload only what this session's filters used.
        only_asked, self._precomputing = self._precomputing is not None, index
        threading.Thread(target=self._precompute, args=(only_asked,), name="browse-precompute", daemon=True).start()

    def _precompute(self, only_asked: bool) -> None:
        started = time.monotonic()
        try:
            done = self.browser.precompute(stop=lambda: self._closing, only_asked=only_asked)
            if done and self.timing_log is not None and not self._closing:
                self.timing_log.record("precompute", time.monotonic() - started)
        except Exception:  # noqa: BLE001  (a busy or vanished store, a closed log: each filter computes what it needs)
            return

    def on_unmount(self) -> None:
        self._closing = True

    def _find(self, image: str) -> int:
        """The image's index in the selection (0 when it is not selected)."""
        found = self.selection.find(image)
        return 0 if found is None else found

    # --------------------------------------------------------------- layout
    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._layout)

    async def _layout(self) -> None:
        width, height = self.app.size
        grid = self.query_one("#grid", Grid)
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            self.set_class(True, "too-small")
            self._show_message(
                f"The terminal is {width}x{height}; browsing needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n"
                "Make the window larger (q quits)."
            )
            return
        self.set_class(False, "too-small")
        self._fit_footer(width >= FULL_FOOTER_WIDTH)
        available = height - 3  # the status line, the filter line and the footer
        rows = self.zoom_rows or default_rows(available)
        geometry = grid_geometry(width, available, rows)
        if geometry != self.geometry:
            self.geometry = geometry
            grid.styles.grid_size_columns = geometry.columns
            grid.styles.grid_size_rows = geometry.rows
            grid.styles.grid_columns = str(geometry.tile_width)
            grid.styles.grid_rows = str(geometry.tile_height)
            if len(self._tiles) != geometry.page_size:
                await grid.remove_children()
                self._tiles = [Thumbnail(i, self.renderer) for i in range(geometry.page_size)]
                await grid.mount_all(self._tiles)
            self._relayout_done()
        elif self.selection is not None:
            self.render_page(None, "resize")

    def _fit_footer(self, full: bool) -> None:
        """Show every footer key (`full`), or leave out NARROW_FOOTER_HIDES."""
        declared = {b.action: b.show for b in self.BINDINGS}
        changed = False
        for key, bindings in self._bindings.key_to_bindings.items():
            fitted = [
                replace(b, show=full and declared.get(b.action, b.show)) if b.action in NARROW_FOOTER_HIDES else b
                for b in bindings
            ]
            changed |= fitted != bindings
            self._bindings.key_to_bindings[key] = fitted
        if changed:
            self.refresh_bindings()

    def _relayout_done(self) -> None:
        if self.selection is not None:
            self._place_page()
            self.render_page(None, "resize")

    def _place_page(self) -> None:
        """Put the page start on a page boundary that holds the cursor."""
        size = self.geometry.page_size if self.geometry else 1
        self.start = (self.cursor // size) * size

    def _show_message(self, text: str) -> None:
        message = self.query_one("#grid-message", Static)
        message.update(text)
        message.display = True
        self.query_one("#grid", Grid).display = False

    # -------------------------------------------------------------- painting
    @property
    def tiles(self) -> list[Thumbnail]:
        return self._tiles

    def render_page(self, started: float | None, kind: str) -> None:
        """Captions now (from memory), pixels from the cache or the loader."""
        selection, geometry = self.selection, self.geometry
        if selection is None or geometry is None or self.has_class("too-small"):
            return
        tasks = self.browser.tasks
        self._status()
        if len(selection) == 0:
            self._show_message(no_match_hint(selection.filter))
            self._log(started, kind)
            return
        self.query_one("#grid-message", Static).display = False
        self.query_one("#grid", Grid).display = True
        rows = selection.rows(self.start, self.start + geometry.page_size)
        size = geometry.pixel_box
        missing, self._waiting = [], set()
        for tile in self.tiles:
            row = rows[tile.position] if tile.position < len(rows) else None
            if row is None:
                tile.show(None, "", False)
                continue
            tile.show(
                row.image, caption(row, tasks, geometry.tile_width - 2), self.start + tile.position == self.cursor
            )
            found = self.loader.cached(row.image, size)
            if found is not None:
                self._paint(tile, *found)
            else:
                tile.set_message("…")
                missing.append(row.image)
                self._waiting.add(row.image)
        upcoming = [
            row.image for row in selection.rows(self.start + geometry.page_size, self.start + 2 * geometry.page_size)
        ]
        self._page_shown_at = time.monotonic()
        # Decoding starts once this page is painted: it must not compete with the paint.
        self.call_after_refresh(self.loader.load, self, missing, upcoming, size, self._paint_context())
        self._log(started, kind)

    def _paint(self, tile: Thumbnail, result, error: str | None) -> None:
        if error is not None:
            tile.set_message(f"cannot show:\n{printable(error)}")
        else:
            tile.set_pixels(result)

    def _paint_context(self) -> tuple:
        """What the loader needs to finish strips as the compositor would (read on the UI thread)."""
        if self.renderer != "halfcell":
            return ()
        pixels = self.tiles[0].pixels
        color_system = COLOR_SYSTEMS.get(self.app.console.color_system or "")
        return pixels.rich_style, tuple(self.app.get_line_filters()), pixels.background_colors[1], color_system

    def on_thumbnail_ready(self, message: ThumbnailReady) -> None:
        if self.geometry is None or message.size != self.geometry.pixel_box:
            return
        for tile in self.tiles:
            if tile.image == message.image:
                self._paint(tile, message.result, message.error)
        self._waiting.discard(message.image)
        if not self._waiting and self._page_shown_at is not None and self.timing_log is not None:
            self.timing_log.record("thumbnails", time.monotonic() - self._page_shown_at)
            self._page_shown_at = None

    def _status(self) -> None:
        selection, geometry = self.selection, self.geometry
        self.query_one("#browse-status", Static).update(
            status_line(
                len(selection),
                selection.total_images,
                self.start,
                geometry.page_size,
                self.filter,
                self.browser.tasks,
                counting=selection.index.partial,
                width=self.app.size.width,
            )
        )

    def _log(self, started: float | None, kind: str) -> None:
        if started is None or self.timing_log is None:
            return
        if kind == "startup" and not self._first_paint:
            return
        self._first_paint = False
        self.call_after_refresh(lambda: self.timing_log.record(kind, time.monotonic() - started))

    # --------------------------------------------------------------- actions
    def _ready(self) -> bool:
        return self.selection is not None and self.geometry is not None and not self.has_class("too-small")

    def action_move(self, dx: int, dy: int) -> None:
        if not self._ready() or len(self.selection) == 0:
            return
        target = self.cursor + dx + dy * self.geometry.columns
        self._go(max(0, min(target, len(self.selection) - 1)), "move")

    def action_page(self, direction: int) -> None:
        if not self._ready() or len(self.selection) == 0:
            return
        size = self.geometry.page_size
        target = max(0, min(self.cursor + direction * size, len(self.selection) - 1))
        if direction > 0 and self.start + size >= len(self.selection):
            target = len(self.selection) - 1
        self._go(target, "page")

    def action_jump(self, where: int) -> None:
        if self._ready() and len(self.selection):
            self._go(0 if where == 0 else len(self.selection) - 1, "page")

    def _go(self, target: int, kind: str) -> None:
        size = self.geometry.page_size
        started = self._key_time or time.monotonic()
        previous, self.cursor = self.cursor, target
        if target // size * size != self.start:
            self.start = target // size * size
            self.render_page(started, "page")
            return
        for tile in self.tiles:
            if self.start + tile.position in (previous, target):
                tile.set_class(self.start + tile.position == target, "-cursor")
        self._log(started, kind)

    @property
    def current_image(self) -> str | None:
        if self.selection is None or not (0 <= self.cursor < len(self.selection)):
            return None
        return self.selection.name_at(self.cursor)

    def action_open(self) -> None:
        if not self._ready() or self.current_image is None:
            return
        from celeba_tui.tui.screens.browse_detail_screen import BrowseDetailScreen

        self.app.push_screen(
            BrowseDetailScreen(
                self.browser, self.selection, self.cursor, renderer=self.renderer, cell_size=self.cell_size
            ),
            self._back_from_image,
        )

    def _back_from_image(self, result) -> None:
        cursor, changed = result if result else (self.cursor, False)
        self.cursor = cursor
        # Timed from leaving the image view, not from the grid's last key, which opened it
        # (helper-83: the log said 8.7 s for a refresh that took well under one).
        self._key_time = time.monotonic()
        if changed:
            self._select(self.filter, "refresh", self.current_image, reload=True)
        else:
            self._place_page()
            self.render_page(None, "back")

    def action_edit_filter(self, text: str | None = None) -> None:
        """Open the filter box, holding the filter shown (or `text`, a filter refused as typed)."""
        box = self.query_one("#filter", Input)
        box.value = describe_filter(self.filter) if text is None else text
        # The box is always there (showing the filter): only focus moves, so the grid is
        # neither restyled nor laid out again (each costs about 0.3 s on a busy machine).
        self.filtering = True
        self.query_one(SteadyFooter).held = True
        self.set_focus(box)
        self.query_one("#browse-status", Static).update(
            "filter: Enter applies, Esc cancels · task:T label:CLASS source:S annotator:NAME queue:NAME conf<X "
            "disagreement sort:ORDER, other words: part of the name"
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            wanted = parse_filter(event.value)
        except CelebaError as exc:
            # The box keeps the keys: said, so no grid key is typed into it (helper-87).
            self.notify(f"{printable(exc)} · fix it and press Enter, or Esc", severity="error", timeout=6, markup=False)
            return
        self._hide_filter()
        self._key_time = time.monotonic()
        self._typed_filter = event.value  # back in the box should the store refuse it (a class misspelt)
        self._select(wanted, "filter", None)

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.filtering:
            event.stop()
            self._hide_filter()

    def _hide_filter(self) -> None:
        self.filtering = False
        self.query_one("#filter", Input).value = describe_filter(self.filter)
        self.set_focus(None)
        self.query_one(SteadyFooter).held = False
        if self.selection is not None and self.geometry is not None:
            self._status()

    def action_clear_filter(self) -> None:
        self._select(BrowseFilter(sort=self.filter.sort), "filter", self.current_image)

    def action_refresh(self) -> None:
        self.notify("reading the store again…", timeout=1.5)
        self._select(self.filter, "refresh", self.current_image, reload=True)

    async def action_zoom(self, step: int) -> None:
        if self.geometry is None:
            return
        self.zoom_rows = max(1, min(self.geometry.rows + step, 8))
        await self._layout()

    @work(thread=True, exclusive=True, exit_on_error=False, group="poll")
    def _poll(self) -> None:
        try:
            changed = self.browser.changed_elsewhere()
        except Exception:  # noqa: BLE001  (a busy or vanished store: try again at the next poll)
            return
        if changed:
            self.app.call_from_thread(self._changed_elsewhere)

    def _changed_elsewhere(self) -> None:
        self._select(self.filter, "refresh", self.current_image, reload=True)

    def action_label_selection(self) -> None:
        if not self._ready() or len(self.selection) == 0:
            return
        from celeba_tui.tui.screens.browse_label_screen import label_screen_for

        self.app.push_screen(
            label_screen_for(self.browser, self.selection, self.cursor, self.renderer, self.cell_size),
            lambda _: self._select(self.filter, "refresh", self.current_image, reload=True),
        )
