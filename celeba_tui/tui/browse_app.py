"""`celeba browse`: the Textual app. It runs the grid screen on a Browser (labelling.browsing)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from textual.app import App

from celeba_tui.console import printable
from celeba_tui.labelling.browse_filter import BrowseFilter
from celeba_tui.labelling.browsing import Browser
from celeba_tui.tui.screens.browse_screen import BrowseScreen
from celeba_tui.tui.termination import end_on_termination, stop_ending_on_termination
from celeba_tui.tui.timing_log import TimingLog

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore


@dataclass
class BrowseConfig:
    """Everything `celeba browse` decided from its arguments."""

    workspace: object
    annotator: str
    filter: BrowseFilter = field(default_factory=BrowseFilter)
    renderer: str = "halfcell"
    cell_size: tuple[int, int] = (10, 20)
    timing_log: Path | None = None
    name_hint: str | None = None  # shown when the grid opens: whose name relabels go under (annotator_names.name_hint)


class BrowseApp(App):
    CSS_PATH = ["app.tcss", "browse_app.tcss"]
    TITLE = "celeba browse"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, config: BrowseConfig, store: LabelStore):
        super().__init__()
        self.config = config
        self.store = store
        self.browser = Browser(store, config.workspace, config.annotator)
        self.timing_log = TimingLog(config.timing_log) if config.timing_log else None
        self.started = time.monotonic()
        self.error_console = Console(file=io.StringIO(), width=120, color_system=None, markup=False, highlight=False)

    def crash_report(self) -> tuple[str, str] | None:
        """(one-line summary, traceback) of the unexpected error that ended the app, or None."""
        if not self.return_code:
            return None
        error = self._exception
        summary = "an unknown error" if error is None else f"{type(error).__name__}: {printable(error)}"
        return summary, self.error_console.file.getvalue()

    def on_mount(self) -> None:
        end_on_termination(self)
        self.push_screen(
            BrowseScreen(
                self.browser,
                self.config.filter,
                renderer=self.config.renderer,
                cell_size=self.config.cell_size,
                timing_log=self.timing_log,
            )
        )
        if self.config.name_hint:
            self.notify(self.config.name_hint, title="Check your name", severity="warning", timeout=30, markup=False)

    def on_unmount(self) -> None:
        stop_ending_on_termination()
        if self.timing_log is not None:
            self.timing_log.close()
