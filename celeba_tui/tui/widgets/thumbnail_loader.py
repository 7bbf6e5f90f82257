"""Thumbnails prepared off the UI thread: decoded, fitted, cached, cancelled on page change.

`ThumbnailLoader.load` hands a page of requests (and the next page, to prefetch) to its
one daemon thread; a newer `load` replaces the older one before its next image, so
paging fast never queues decoding behind the keys. Results (half-block strips or a fitted PIL
image, or the reason an image cannot be shown) are cached by (image, size) and posted
to the grid as ThumbnailReady messages. Daemon threads, as in the image pane: a read
that never returns must not keep `q` from ending the process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from pathlib import Path

from textual.message import Message

from celeba_tui.images import ImageDecodeError
from celeba_tui.tui.image_prep import decode_for_display, render_pixels
from celeba_tui.tui.widgets.half_block_image import halfblock_strips

CACHE_CAPACITY = 600


class ThumbnailReady(Message):
    """A thumbnail for `image` at `size`: `result` (pixels) or `error` (why not)."""

    def __init__(self, generation: int, image: str, size: tuple[int, int], result, error: str | None):
        super().__init__()
        self.generation = generation
        self.image = image
        self.size = size
        self.result = result
        self.error = error


class ThumbnailLoader:
    def __init__(self, image_root: Path, renderer: str = "halfcell", cell_size: tuple[int, int] = (10, 20)):
        self.image_root = Path(image_root)
        self.renderer = renderer
        self.cell_size = cell_size
        self.generation = 0
        self._cache: OrderedDict[tuple, tuple[object, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        self._wanted = threading.Condition()
        self._job: tuple | None = None
        self._thread: threading.Thread | None = None

    def cached(self, image: str, size: tuple[int, int]):
        """(result, error) when prepared already, else None."""
        with self._lock:
            found = self._cache.get((image, size))
            if found is not None:
                self._cache.move_to_end((image, size))
            return found

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def load(self, target, images: list[str], prefetch: list[str], size: tuple[int, int], paint: tuple) -> int:
        """Prepare `images` (posting ThumbnailReady to `target`), then `prefetch` quietly; returns the generation."""
        with self._wanted:
            self.generation += 1
            self._job = (self.generation, target, images, prefetch, size, paint)
            self._wanted.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="celeba-thumbnails", daemon=True)
                self._thread.start()
            return self.generation

    def _run(self) -> None:
        while True:
            with self._wanted:
                while self._job is None:
                    self._wanted.wait()
                generation, target, images, prefetch, size, paint = self._job
                self._job = None
            for image in images:
                if generation != self.generation:
                    break
                result, error = self.prepare(image, size, paint)
                target.post_message(ThumbnailReady(generation, image, size, result, error))
            for image in prefetch:
                if generation != self.generation:
                    break
                self.prepare(image, size, paint)
                time.sleep(0)  # prefetching yields to the UI thread between images

    def prepare(self, image: str, size: tuple[int, int], paint: tuple) -> tuple[object, str | None]:
        """(result, error) for one thumbnail, from any thread; cached."""
        found = self.cached(image, size)
        if found is not None:
            return found
        width, height = size
        try:
            source = decode_for_display(self.image_root / image)
            if self.renderer == "halfcell":
                found = (
                    halfblock_strips(
                        render_pixels(source, (width, 2 * height), "original", False), width, height, *paint
                    ),
                    None,
                )
            else:
                from PIL import Image

                box = (width * self.cell_size[0], height * self.cell_size[1])
                found = (Image.fromarray(render_pixels(source, box, "original", False)), None)
        except ImageDecodeError as exc:
            found = (None, str(exc))
        except Exception as exc:  # noqa: BLE001  (one bad file must not stop the page)
            found = (None, f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._cache[(image, size)] = found
            while len(self._cache) > CACHE_CAPACITY:
                self._cache.popitem(last=False)
        return found
