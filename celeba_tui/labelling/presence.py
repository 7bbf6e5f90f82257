"""Who else is on an image now: people working one queue at once take turns.

Without this, two people labelling the `unlabelled` queue together both start on its
first image and the slower one keeps landing on the image the faster one is looking at
(the open check, `LabelSession._still_open`, only passes over work already stored).
Label Studio locks a task while someone has it open; we do the same with what we
already have: each `celeba label` session says in its lock file's note which image it
shows (`HeldLock.announce`), and before showing an image a session reads the other
sessions' notes. An image someone else is on is put back to the end of the queue once;
by the time it comes round again it is usually finished (and passed over), or it is
shown with who else is on it.

A note counts only while it is fresh: written by a process still running (on this host;
the note names it) and saying its image was shown less than `PRESENCE_TTL_S` ago, so a
session killed with `kill -9`, or left open over lunch, holds nobody up for long. Lock
files are read as hostile input: only regular files named as locks, opened without
following links or blocking, a bounded number of bytes, every field checked. Nothing
here writes.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import stat
import time
from pathlib import Path

from celeba_tui.labelling.session_lock import LOCK_FOLDER, MAX_NOTE_BYTES, lock_path

PRESENCE_TTL_S = 600.0  # an image shown longer ago than this is nobody's any more
MAX_LOCK_FILES = 256  # notes read at most per question (one per annotator working now)
_LOCK_NAME = re.compile(r"label-[0-9a-f]{16}\.lock")


def someone_else_on(workspace_path: Path, annotator: str, image: str, *, now: float | None = None) -> str | None:
    """The name of another annotator whose running session shows `image` now, or None."""
    folder = Path(workspace_path) / LOCK_FOLDER
    mine = lock_path(workspace_path, annotator).name
    now = time.time() if now is None else now
    try:
        entries = os.scandir(folder)
    except OSError:  # no folder (nobody labels here), or unreadable: nobody known to be on it
        return None
    with entries:
        for count, entry in enumerate(entries):
            if count >= MAX_LOCK_FILES:
                break
            if entry.name == mine or not _LOCK_NAME.fullmatch(entry.name):
                continue
            note = _read_note(folder / entry.name)
            if note is not None and note.get("image") == image and _fresh(note, annotator, now):
                return note["annotator"]
    return None


def _read_note(path: Path) -> dict | None:
    """A lock file's note as a dict, or None where it is not a readable regular file of JSON."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO or a device named as a lock
            return None
        data = os.pread(fd, MAX_NOTE_BYTES + 1, 0)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > MAX_NOTE_BYTES:
        return None
    try:
        note = json.loads(data)
    except (ValueError, RecursionError):  # garbage, or a note being written this moment
        return None
    return note if isinstance(note, dict) else None


def _fresh(note: dict, annotator: str, now: float) -> bool:
    """Whether the note is another annotator's, from a running session, shown recently."""
    other, pid, host, shown = (note.get(key) for key in ("annotator", "pid", "host", "shown"))
    if not isinstance(other, str) or not other or other == annotator:
        return False
    if not isinstance(shown, (int, float)) or isinstance(shown, bool) or not math.isfinite(shown):
        return False
    if not (now - PRESENCE_TTL_S < shown <= now + PRESENCE_TTL_S):  # a clock far ahead is not trusted either
        return False
    if host == socket.gethostname():
        return isinstance(pid, int) and not isinstance(pid, bool) and _running(pid)
    return True  # another host's process cannot be asked: the note's age alone decides


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if not 0 < pid < 2**31:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except PermissionError:  # someone else's process, running
        return True
    except OSError:  # ProcessLookupError: it ended
        return False
    return True
