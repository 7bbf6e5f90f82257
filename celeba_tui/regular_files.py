"""Reading a file that came from outside: only a regular file, and only up to a cap.

A name can hold a FIFO (an open blocks until a writer comes, for ever), a link to
/dev/zero (a read never ends) or a file far larger than its kind ever is. The file is
opened with O_NONBLOCK, so a FIFO cannot block the open, and checked with fstat on the
open file, so nothing can be swapped in between the check and the read; a file that
grows past the cap after the check is still cut at the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

GROWTH_CHUNK = 1 << 20


class FileRefused(ValueError):
    """Not read: `reason` says why (not a regular file, or over the cap)."""


def open_regular_file(path: Path | str, limit: int, *, limit_hint: str = "") -> BinaryIO:
    """`path` opened for reading if it is a regular file of at most `limit` bytes now (for
    readers that stream, like torch.load; the caller closes it).

    FileRefused for anything else, without reading it; OSError as the system gives it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"not a regular file ({file_kind(info.st_mode)})")
        if info.st_size > limit:
            raise FileRefused(f"too large ({info.st_size:,} bytes; limit {limit:,}{limit_hint})")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: Path | str, limit: int, *, limit_hint: str = "") -> bytes:
    """The bytes of `path` if it is a regular file of at most `limit` bytes.

    FileRefused for anything else, without reading it; OSError (FileNotFoundError...) as
    the system gives it. `limit_hint` follows the limit in a "too large" reason (say,
    which setting raises it)."""
    with open_regular_file(path, limit, limit_hint=limit_hint) as handle:
        # Sized by the file, not the cap: a cap of 10**12 must not ask for a buffer that large.
        data = bytearray(handle.read(min(os.fstat(handle.fileno()).st_size, limit) + 1))
        while len(data) <= limit:  # it grew since fstat: on to the cap, a chunk at a time
            chunk = handle.read(min(GROWTH_CHUNK, limit + 1 - len(data)))
            if not chunk:
                break
            data += chunk
    if len(data) > limit:
        raise FileRefused(f"too large (over {limit:,} bytes{limit_hint})")
    return bytes(data)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words ("a FIFO", "a character device"...)."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"
