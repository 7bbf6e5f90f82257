"""The image pane: the picture as large as the pane allows, at its own aspect ratio.

Pixels are decoded, fitted and turned into strips (half-blocks) or a fitted PIL
image (Kitty/Sixel) in loader threads; results are cached per (image, view, mirror,
pane size), and the next images are prepared ahead, so a key press usually costs
only a repaint. An image that cannot be read shows why, instead of pixels.

The loader threads are daemon threads of their own, not Textual thread workers:
those run on asyncio's default executor, which the event loop joins on exit, so one
read that never returns (a FIFO, a hung network mount) would keep `q` from ever
ending the process. A daemon thread is left behind instead; it touches no store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from rich.console import COLOR_SYSTEMS
from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Static

from celeba_tui.console import printable
from celeba_tui.images import ImageDecodeError
from celeba_tui.tui.image_prep import SourceCache, render_pixels
from celeba_tui.tui.messages import DisplayRequest, ImagePrepared, ImageShown
from celeba_tui.tui.widgets.half_block_image import HalfBlockImage, halfblock_strips

PREPARED_CAPACITY = 12


class ImagePane(Container):
    """Shows one DisplayRequest at a time; `prefetch` prepares the next ones."""

    def __init__(
        self,
        image_root: Path,
        renderer: str = "halfcell",
        *,
        cell_size=(10, 20),
        id: str | None = None,
        unreadable_hint: str = "space: skip this image",
    ):
        super().__init__(id=id)
        self.unreadable_hint = unreadable_hint  # the key that moves on, on this screen
        self.renderer = renderer
        self.cell_size = cell_size
        self.sources = SourceCache(image_root)
        self._prepared: OrderedDict[tuple, tuple[object, str | None, bool]] = OrderedDict()
        self._lock = threading.Lock()
        self._prefetching = 0  # the newest prefetch; older ones stop at their next image
        self.request: DisplayRequest | None = None
        self.shown: DisplayRequest | None = None
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        if self.renderer == "halfcell":
            yield HalfBlockImage(id="pixels")
        else:
            from celeba_tui.tui.widgets.graphics_image import graphics_widget

            yield graphics_widget(self.renderer, id="pixels")
        # Messages quote image names, which may look like markup (`0[/]bad.jpg`).
        yield Static("", id="pane-message", markup=False)

    # ------------------------------------------------------------- showing
    @property
    def ready(self) -> bool:
        """The requested image is on screen (not loading, not a placeholder)."""
        return self.request is not None and self.shown == self.request and self.error is None

    def show(self, request: DisplayRequest) -> None:
        """Show `request` now if prepared, else blank the pane and prepare it in a worker."""
        self.request = request
        size = self._cells()
        if 0 in size:  # not laid out yet (or hidden): on_resize shows it at its real size
            self.shown = None
            return
        found = self._cached(request, size)
        if found is not None:
            self._display(request, size, *found)
            return
        # Never leave the previous image up under a new question.
        self.shown = None
        self.query_one("#pixels").display = False
        self._set_message("loading…")
        self._prepare(request, size, self._paint_context())

    def show_message(self, text: str) -> None:
        """No image: just `text` (e.g. while the rest of the queue loads)."""
        self.request = self.shown = None
        self.error = None
        self.query_one("#pixels").display = False
        self._set_message(text)

    def prefetch(self, requests: list[DisplayRequest]) -> None:
        self._prefetch(requests, self._cells(), self._paint_context())

    def on_resize(self) -> None:
        with self._lock:
            self._prepared.clear()
        if self.request is not None:
            # Not a key's doing: no timing entry for this repaint.
            self.show(replace(self.request, stamp=None))

    def on_image_prepared(self, message: ImagePrepared) -> None:
        message.stop()
        if message.request == self.request and message.size == self._cells():
            self._display(message.request, message.size, message.result, message.error, message.unreadable)

    def _display(self, request: DisplayRequest, size, result, error: str | None, unreadable: bool) -> None:
        pixels = self.query_one("#pixels")
        self.shown, self.error = request, error
        if error is not None:
            pixels.display = False
            hint = self.unreadable_hint if unreadable else "p: next view"
            self._set_message(f"Cannot show {printable(request.image)}\n\n{printable(error)}\n\n{hint}")
        else:
            pixels.display = True
            self._set_message(None)
            if self.renderer == "halfcell":
                pixels.set_strips(result)
            else:
                pixels.image = result
        self.call_after_refresh(self._painted, request, error if unreadable else None)

    def _painted(self, request: DisplayRequest, unreadable: str | None) -> None:
        elapsed = None if request.stamp is None else request.stamp.elapsed()
        self.post_message(ImageShown(request, elapsed, unreadable))

    def _set_message(self, text: str | None) -> None:
        message = self.query_one("#pane-message", Static)
        message.display = text is not None
        if text is not None:
            message.update(text)

    # ----------------------------------------------------------- preparing
    def _cells(self) -> tuple[int, int]:
        return self.content_size.width, self.content_size.height

    def _key(self, request: DisplayRequest, size) -> tuple:
        return request.image, request.mirrored, request.view, size

    def _cached(self, request: DisplayRequest, size):
        with self._lock:
            found = self._prepared.get(self._key(request, size))
            if found is not None:
                self._prepared.move_to_end(self._key(request, size))
            return found

    def _paint_context(self) -> tuple:
        """What workers need to finish strips like the compositor would (read on the UI thread)."""
        pixels = self.query_one("#pixels")
        color_system = COLOR_SYSTEMS.get(self.app.console.color_system or "")
        return pixels.rich_style, tuple(self.app.get_line_filters()), pixels.background_colors[1], color_system

    def _build(self, request: DisplayRequest, size: tuple[int, int], paint: tuple) -> tuple[object, str | None, bool]:
        """(result, error, unreadable) for one request, from any thread; cached."""
        found = self._cached(request, size)
        if found is not None:
            return found
        width, height = size
        try:
            source = self.sources.get(request.image)
            if self.renderer == "halfcell":
                pixels = render_pixels(source, (width, 2 * height), request.view, request.mirrored)
                found = (halfblock_strips(pixels, width, height, *paint), None, False)
            else:
                from PIL import Image

                box = (width * self.cell_size[0], height * self.cell_size[1])
                found = (Image.fromarray(render_pixels(source, box, request.view, request.mirrored)), None, False)
        except ImageDecodeError as exc:
            found = (None, str(exc), True)
        except Exception as exc:  # noqa: BLE001  (a bad view must not leave the pane blank)
            found = (None, f"cannot prepare the {request.view} view ({type(exc).__name__}: {exc})", False)
        with self._lock:
            self._prepared[self._key(request, size)] = found
            while len(self._prepared) > PREPARED_CAPACITY:
                self._prepared.popitem(last=False)
        return found

    def _prepare(self, request: DisplayRequest, size: tuple[int, int], paint: tuple) -> None:
        def prepare() -> None:
            self.post_message(ImagePrepared(request, size, *self._build(request, size, paint)))

        _start_loader(prepare)

    def _prefetch(self, requests: list[DisplayRequest], size: tuple[int, int], paint: tuple) -> None:
        self._prefetching += 1
        generation = self._prefetching

        def prefetch() -> None:
            for request in requests:
                if generation != self._prefetching:  # a newer prefetch took over
                    return
                self._build(request, size, paint)

        _start_loader(prefetch)


def _start_loader(function) -> None:
    """Run `function` in a daemon thread (see the module docstring for why not a worker)."""
    threading.Thread(target=function, name="celeba-image-loader", daemon=True).start()
