"""The decoded-image cache: each image decoded and resized once per (size, preprocessing).

Layout of `<workspace>/cache/<key>/`::

    meta.json   size, canonical preprocessing spec, decoder version, frame shape
    pixels.u8   uint8 frames (H, W, 3), appended in the order of names.txt
    names.txt   one image per line, `NAME<tab>STAMP`: line i is frame i

STAMP is the file's size and modification time when it was decoded (images.file_stamp):
a file replaced, rewritten or deleted since no longer matches, and is decoded again (or
skipped, as unreadable) instead of training on the old pixels (attack pass 41). A name
decoded again is appended, its newest line the one read: the old frame stays in
pixels.u8 (deleting the cache folder reclaims the space; the next training decodes again).

Pixels are appended before their names, so a crash leaves at most some unnamed frames
at the end (cut off on the next update) and never a name without its pixels. Updates
take an exclusive file lock, so two trainings of the same size share one cache safely.
Epochs read frames through a read-only memory map, never from JPEG.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from celeba_tui import images as image_io
from celeba_tui.errors import CelebaError

# Bump when decode_resized's output (or the cache's layout) changes, so old caches are
# not reused (their folders can be deleted). 2: names.txt lines carry the file's stamp.
DECODER_VERSION = 2
CHUNK = 256


@dataclass
class UpdateResult:
    decoded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)


def cache_key(size: int, spec: str) -> str:
    """A folder name readable by people and unique per (size, spec, decoder version)."""
    digest = hashlib.sha1(f"{size}|{spec}|{DECODER_VERSION}".encode()).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9.]+", "_", spec).strip("_")[:40]
    return f"{size}px-{slug}-{digest}"


class DecodedCache:
    """A uint8 frame store for one (input size, preprocessing spec)."""

    def __init__(self, cache_root: Path, size: int, spec: str):
        self.size = int(size)
        self.spec = spec
        self.folder = Path(cache_root) / cache_key(self.size, spec)
        self.frame_shape = (self.size, self.size, 3)
        self.frame_bytes = int(np.prod(self.frame_shape))
        self._index: dict[str, int] = {}
        self._stamps: dict[str, str] = {}  # name -> the file's stamp when its frame was decoded
        self._lines = 0  # frames named in names.txt (a name decoded again has more than one)
        self._read_names()

    @property
    def pixels_path(self) -> Path:
        return self.folder / "pixels.u8"

    @property
    def names_path(self) -> Path:
        return self.folder / "names.txt"

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def _read_names(self) -> None:
        try:
            text = self.names_path.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):  # none yet (a file in the folder's place: update says so)
            self._index, self._stamps, self._lines = {}, {}, 0
            return
        lines = text.split("\n")
        complete = lines[:-1]  # a last line without its newline was cut short by a crash
        size = self.pixels_path.stat().st_size if self.pixels_path.exists() else 0
        if size < len(complete) * self.frame_bytes:
            raise CelebaError(f"{self.folder}: decoded-image cache is damaged (fewer frames than names); delete it")
        entries = [line.rpartition("\t") for line in complete]  # a name may hold a tab; the stamp cannot
        self._index = {name: i for i, (name, _, _) in enumerate(entries)}
        self._stamps = {name: stamp for name, _, stamp in entries}
        self._lines = len(entries)

    def missing(self, names: Iterable[str], image_root: Path | None = None) -> list[str]:
        """The names without a frame; with `image_root`, also those whose file changed (or
        went) since their frame was decoded."""
        unique = dict.fromkeys(names)
        if image_root is None:
            return [name for name in unique if name not in self._index]
        root = Path(image_root)
        return [
            name
            for name in unique
            if name not in self._stamps or self._stamps[name] != image_io.file_stamp(root / name)
        ]

    def rows(self, names: Iterable[str]) -> np.ndarray:
        """Frame indices of these (cached) names."""
        return np.fromiter((self._index[name] for name in names), dtype=np.int64)

    def array(self) -> np.ndarray:
        """All frames as a read-only (N, H, W, 3) uint8 memory map."""
        if not self._lines:
            return np.empty((0, *self.frame_shape), dtype=np.uint8)
        return np.memmap(self.pixels_path, dtype=np.uint8, mode="r", shape=(self._lines, *self.frame_shape))

    def update(
        self,
        names: Iterable[str],
        image_root: Path,
        *,
        workers: int | None = None,
        progress: Callable[[int], None] | None = None,
        todo: list[str] | None = None,
    ) -> UpdateResult:
        """Decode the names not cached yet, or whose file changed since (in parallel), and
        append them; returns what happened. `todo`: `missing(names, image_root)` when the
        caller has it (each check reads every file's stamp: 0.4 s per 50,000 files).

        Images that cannot be read or decoded are skipped and reported, not cached, so a
        file fixed later is picked up by the next update.
        """
        result = UpdateResult()
        todo = self.missing(names, image_root) if todo is None else list(todo)
        if not todo:
            return result
        from celeba_tui.plugins import parse_spec

        ops = parse_spec(self.spec).without_resize()
        self._check_own_files()
        try:
            self._append(todo, image_root, ops, result, workers, progress)
        except OSError as exc:  # a full disk, a file-size limit
            raise CelebaError(f"cannot add to the decoded-image cache {self.folder}: {exc.strerror or exc}") from None
        return result

    def _check_own_files(self) -> None:
        """The cache's folder and files are the workspace's own (<workspace>/cache/<key>/):
        a link, a file or a FIFO planted in their place is an error, never followed."""
        from celeba_tui.atomic import check_owned_file

        for name in ("lock", "meta.json", self.pixels_path.name, self.names_path.name):
            check_owned_file(self.folder / name, self.folder.parent.parent)

    def _append(self, todo, image_root, ops, result: UpdateResult, workers, progress) -> None:
        with _locked(self.folder / "lock"):
            lines = self._lines
            self._read_names()  # another process may have added some meanwhile
            if self._lines != lines:
                todo = self.missing(todo, image_root)
            # names.txt is line-based: a name with a line break cannot be stored in it.
            broken = {name for name in todo if "\n" in name or "\r" in name}
            result.skipped += [(name, "file name contains a line break") for name in sorted(broken)]
            todo = [name for name in todo if name not in broken]
            self._write_meta()
            self._cut_unnamed_frames()
            decode = _Decoder(Path(image_root), self.size, ops)
            workers = workers or min(8, os.cpu_count() or 1)
            with (
                ThreadPoolExecutor(max_workers=workers) as pool,
                open(self.pixels_path, "ab") as pixels,
                open(self.names_path, "a", encoding="utf-8") as names_file,
            ):
                for start in range(0, len(todo), CHUNK):
                    chunk = todo[start : start + CHUNK]
                    good: list[tuple[str, str]] = []
                    for name, (frame, stamp, error) in zip(chunk, pool.map(decode, chunk)):
                        if error is not None:
                            result.skipped.append((name, error))
                            continue
                        if frame.shape != self.frame_shape or frame.dtype != np.uint8:
                            raise CelebaError(
                                f"preprocessing {self.spec!r} turned {name} into {frame.dtype} {frame.shape}, "
                                f"expected uint8 {self.frame_shape}"
                            )
                        pixels.write(np.ascontiguousarray(frame).tobytes())
                        good.append((name, stamp))
                    pixels.flush()
                    os.fsync(pixels.fileno())
                    names_file.write("".join(f"{name}\t{stamp}\n" for name, stamp in good))
                    names_file.flush()
                    for name, stamp in good:
                        self._index[name] = self._lines
                        self._stamps[name] = stamp
                        self._lines += 1
                    result.decoded += len(good)
                    if progress is not None:
                        progress(len(chunk))

    def _write_meta(self) -> None:
        meta = {
            "size": self.size,
            "preprocess": self.spec,
            "decoder_version": DECODER_VERSION,
            "frame_shape": list(self.frame_shape),
            "dtype": "uint8",
        }
        path = self.folder / "meta.json"
        if not path.exists():
            path.write_text(json.dumps(meta, indent=2), encoding="utf-8")

    def _cut_unnamed_frames(self) -> None:
        """Drop frames a crashed update wrote without their names (caller holds the lock)."""
        expected = self._lines * self.frame_bytes
        if self.pixels_path.exists() and self.pixels_path.stat().st_size > expected:
            os.truncate(self.pixels_path, expected)
        if self.names_path.exists():
            text = self.names_path.read_text(encoding="utf-8")
            if text and not text.endswith("\n"):
                self.names_path.write_text(text[: text.rfind("\n") + 1], encoding="utf-8")


class _Decoder:
    """decode_resized + the non-resize preprocessing ops, as a picklable callable."""

    def __init__(self, image_root: Path, size: int, ops):
        self.image_root = image_root
        self.size = size
        self.ops = ops

    def __call__(self, name: str) -> tuple[np.ndarray | None, str, str | None]:
        """(frame, the file's stamp before it was read, None) or (None, "", why not)."""
        stamp = image_io.file_stamp(self.image_root / name)
        try:
            frame = image_io.decode_resized(self.image_root / name, self.size)
        except image_io.ImageDecodeError as exc:
            return None, "", str(exc)
        return self.ops.apply(frame), stamp or "", None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` across processes (no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: one training per cache at a time is the user's job
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
