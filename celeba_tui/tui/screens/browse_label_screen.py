"""`L` in `celeba browse`: the label screen over the browsed selection, as a queue.

Every answer is a `review` decision by the browsing annotator (it settles the image
whatever was there: the point of fixing labels found by browsing); `q` and the end of
the selection return to the grid, which reads the store again.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from celeba_tui.labelling.queue_items import QueueItem
from celeba_tui.labelling.session import LabelSession
from celeba_tui.labelling.session_lock import write_as
from celeba_tui.tui.screens.label_screen import LabelScreen
from celeba_tui.vocabulary import REVIEW


@dataclass(frozen=True)
class SelectionQueue:
    """The browsed selection, shaped like a labelling queue for the label screen."""

    name: str = "browse selection"
    source: str = REVIEW
    shows_answers: bool = True
    prioritized: bool = False
    empty_hint: str = "Every image of the selection is answered. q: back to the grid."


class BrowseLabelScreen(LabelScreen):
    BINDINGS = [Binding("q", "back_to_grid", "back to browse")]

    async def _write(self, function, *args):
        # Not a `celeba label` session: each write takes the annotator's lock, so none is
        # made under a label session of the same name (it would answer over this one).
        return await super()._write(write_as, self.workspace.path, self.session.annotator, function, *args)

    def action_back_to_grid(self) -> None:
        self.dismiss(None)

    def _finished(self) -> None:
        self.notify("every image of the selection is answered", timeout=3, markup=False)
        self.dismiss(None)


def label_screen_for(browser, selection, cursor: int, renderer: str, cell_size) -> BrowseLabelScreen:
    """A label screen over the selection from the image under the cursor on, asking the
    tasks its filter names (`task:light`), or every task; under `queue:NAME`, of those the
    ones that queue asks of each image (`Selection.questions`)."""
    wanted = selection.filter.tasks
    tasks = [task for task in browser.tasks if not wanted or task.name in wanted] or list(browser.tasks)
    task_names = tuple(task.name for task in tasks)
    names = selection.names()
    items = [QueueItem(name, selection.questions(name, task_names)) for name in names[cursor:] + names[:cursor]]
    session = LabelSession(browser.store, browser.annotator, tasks, items, source=REVIEW)
    return BrowseLabelScreen(session, browser.workspace, SelectionQueue(), renderer=renderer, cell_size=cell_size)
