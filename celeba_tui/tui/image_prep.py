"""Pixels for the image pane: decode once, fit to the pane, mirror, preprocessing view.

Thread-safe and free of Textual, so workers call it to prepare (and prefetch)
images while the UI thread only swaps in finished results.
"""

from __future__ import annotations

import functools
import io
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from celeba_tui.images import PIL_FORMATS, ImageDecodeError, decode_bytes_resized, read_image_bytes

# The study's display operations (section 2.3), cycled by `p`.
VIEWS = ("original", "contrast", "blur", "binarize")
# Decode no larger than this: enough for any terminal pane, cheap for big photos.
SOURCE_MAX_SIDE = 768
_ROTATED_ORIENTATIONS = (5, 6, 7, 8)


def fit_size(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest (w, h) with the image's aspect ratio that fits the box; (0, 0) for an empty box."""
    if width <= 0 or height <= 0 or box_width <= 0 or box_height <= 0:
        return 0, 0
    scale = min(box_width / width, box_height / height)
    return max(1, min(box_width, round(width * scale))), max(1, min(box_height, round(height * scale)))


def decode_for_display(path: Path) -> np.ndarray:
    """RGB uint8 pixels of an image file, at most SOURCE_MAX_SIDE on its longer side."""
    from PIL import Image

    data = read_image_bytes(path)  # regular files only, capped: a FIFO or /dev/zero must not hang the pane
    try:
        with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as header:
            width, height = header.size
            if header.getexif().get(0x0112, 1) in _ROTATED_ORIENTATIONS:
                width, height = height, width
    except Exception as exc:  # noqa: BLE001  (PIL raises many types for bad headers)
        reason = re.sub(r"\s*<[^>]*>", "", str(exc)).strip() or type(exc).__name__
        raise ImageDecodeError(f"not a readable image ({reason})") from None
    size = (
        fit_size(width, height, SOURCE_MAX_SIDE, SOURCE_MAX_SIDE)
        if max(width, height) > SOURCE_MAX_SIDE
        else (width, height)
    )
    return decode_bytes_resized(data, size)


# The same registered ops training uses (celeba_tui.preprocess), as display views.
_VIEW_SPECS = {"contrast": "contrast:2", "blur": "blur", "binarize": "binarize"}


@functools.lru_cache(maxsize=None)
def _view_pipeline(view: str):
    from celeba_tui.plugins import parse_spec

    return parse_spec(_VIEW_SPECS[view])


def apply_view(pixels: np.ndarray, view: str) -> np.ndarray:
    """One of VIEWS applied to RGB pixels (display only; labels never see this)."""
    if view == "original":
        return pixels
    return _view_pipeline(view).apply(np.ascontiguousarray(pixels))


def render_pixels(source: np.ndarray, box: tuple[int, int], view: str, mirrored: bool) -> np.ndarray:
    """The source fitted into `box` (w, h pixels), with the view and the mirror applied."""
    from PIL import Image

    pixels = apply_view(source, view)
    if mirrored:
        pixels = pixels[:, ::-1]
    height, width = pixels.shape[:2]
    size = fit_size(width, height, *box)
    if size == (0, 0):
        return np.zeros((0, 0, 3), dtype=np.uint8)
    if size != (width, height):
        pixels = np.asarray(
            Image.fromarray(np.ascontiguousarray(pixels)).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        )
    return pixels


class SourceCache:
    """A small thread-safe LRU of decoded images (or the reason they failed)."""

    def __init__(self, root: Path, capacity: int = 16):
        self.root = Path(root)
        self.capacity = capacity
        self._items: OrderedDict[str, np.ndarray | ImageDecodeError] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, image: str) -> np.ndarray:
        """Decoded pixels of `image`; ImageDecodeError (cached too) when it cannot be read."""
        with self._lock:
            found = self._items.get(image)
            if found is not None:
                self._items.move_to_end(image)
        if found is None:
            try:
                found = decode_for_display(self.root / image)
            except ImageDecodeError as exc:
                found = exc
            with self._lock:
                self._items[image] = found
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        if isinstance(found, ImageDecodeError):
            raise found
        return found
