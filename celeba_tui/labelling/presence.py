"""Who else is on an image now: people working one queue at once take turns.

Without this, two people labelling the `unlabelled` queue together both start on its
first image and the slower one keeps landing on the image the faster one is looking at
(the open check, `LabelSession._still_open`, only passes over work already stored).
Label Studio locks a task while someone has it open; we do the same with what we
already have: each `celeba label` session says in its lock file's note which image it
shows (`HeldLock.announce`), and before showing an image a session reads the other
sessions' notes. An image someone else is on is put back to the end of the queue once;
by the time it comes round again it is usually finished (and passed over), or it is
shown with who else is on it. Reading the notes and saying "I am on it" is one step under
a short lock all sessions take (`claim`), so two sessions reaching one image in the same
instant do not both take it.

A session counts as running while the process its note names runs (on this host: the
note names the host; a pid reused by a later process does not count). An image counts
as shown while, in addition, it was shown less than `PRESENCE_TTL_S` ago, so a session
killed with `kill -9`, or left open over lunch, holds nobody up for long. Another host's
process cannot be asked: its note counts only by the age of its image. Lock files are
read as hostile input: only regular files named as locks, opened without following
links or blocking, a bounded number of bytes, every field checked. Nothing here writes
but this session's own note (through `announce`).

The side panel (who else labels now) and `celeba annotators` read the same notes.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from celeba_tui.labelling.session_lock import LOCK_FOLDER, MAX_NOTE_BYTES, lock_path, turn_lock

PRESENCE_TTL_S = 600.0  # an image shown longer ago than this is nobody's any more
MAX_LOCK_FILES = 256  # notes read at most per call (one per annotator working now)
_LOCK_NAME = re.compile(r"label-[0-9a-f]{16}\.lock")
_PLAIN_WORD = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # a queue's name in a note


@dataclass(frozen=True)
class Share:
    """The queue a session works, its `--assign I/N` share (index None: the whole queue), and
    its tasks (None: not said, as in notes of older sessions)."""

    queue: str
    index: int | None = None
    count: int | None = None
    overlap: float = 0.0
    tasks: tuple[str, ...] | None = None

    def as_note(self) -> dict:
        note = {"queue": self.queue, "index": self.index, "count": self.count, "overlap": self.overlap}
        return note if self.tasks is None else {**note, "tasks": list(self.tasks)}

    @classmethod
    def from_note(cls, value) -> Share | None:
        """The share a lock's note tells (hostile input: every field checked; a queue is a
        plain word, as queue names are), or None."""
        if not isinstance(value, dict):
            return None
        queue, index, count, overlap = (value.get(key) for key in ("queue", "index", "count", "overlap"))
        if not isinstance(queue, str) or not _PLAIN_WORD.fullmatch(queue):
            return None
        numbers = (index, count)
        if numbers != (None, None) and not (
            all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers) and index <= count
        ):
            return None
        if isinstance(overlap, bool) or not isinstance(overlap, (int, float)) or not 0 <= overlap <= 1:
            return None
        tasks = value.get("tasks")
        if tasks is not None:
            if not isinstance(tasks, list) or len(tasks) > 64 or not all(isinstance(t, str) and t for t in tasks):
                return None
            tasks = tuple(tasks)
        return cls(queue, index, count, float(overlap), tasks)

    def shares_tasks_with(self, other: Share) -> bool:
        """Whether the two ask some task in common (not said: taken as all)."""
        return self.tasks is None or other.tasks is None or bool(set(self.tasks) & set(other.tasks))

    def shown(self) -> str:
        if self.index is None:
            return "the whole queue"
        return f"share {self.index}/{self.count}" + (f" with --overlap {self.overlap:g}" if self.overlap else "")


MAX_QUEUE = 10**9  # more images than any queue holds: a note saying more is not believed
MAX_PER_MINUTE = 10_000.0


@dataclass(frozen=True)
class Progress:
    """How far a session is through its queue, as its side panel shows it: images `done` of
    `total`, the `labels` it gave, its pace, and the minutes the rest takes at that pace
    (None: too soon to say)."""

    done: int
    total: int
    labels: int
    per_minute: float
    minutes_left: float | None = None

    def as_note(self) -> dict:
        # Rounded as shown: the note is written again only when what it says changes.
        left = None if self.minutes_left is None else round(self.minutes_left)
        return {
            "done": self.done,
            "total": self.total,
            "labels": self.labels,
            "per_minute": round(self.per_minute, 1),
            "minutes_left": left,
        }

    @classmethod
    def from_note(cls, value) -> Progress | None:
        """The progress a lock's note tells (hostile input: every field checked), or None."""
        if not isinstance(value, dict):
            return None
        counts = [value.get(key) for key in ("done", "total", "labels")]
        if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_QUEUE for n in counts):
            return None
        done, total, labels = counts
        if done > total:
            return None
        per_minute, left = value.get("per_minute"), value.get("minutes_left")
        if not (_time(per_minute) and 0 <= per_minute <= MAX_PER_MINUTE):
            return None
        if left is not None and not (_time(left) and 0 <= left <= MAX_QUEUE):
            return None
        return cls(done, total, labels, float(per_minute), None if left is None else float(left))


def share_clashes(mine: Share, annotator: str, notes: Sequence[SessionNote]) -> list[str]:
    """What is wrong between this session's share of its queue and the others' working the
    same queue now: the same share as someone else's (the two would split it and leave
    another share undone), or shares of another plan (another N or overlap: they do not
    fit together). Pure. (The team-day walkthrough of 2026-12-07: ben typed ana's 1/3.)"""
    if mine.index is None:
        return []
    found = []
    for note in sorted(notes, key=lambda n: n.annotator):
        theirs = note.share
        if note.annotator == annotator or theirs is None or theirs.queue != mine.queue or theirs.index is None:
            continue
        if not mine.shares_tasks_with(theirs):  # ana labels light, carl orientation: no overlap (attack pass 28)
            continue
        if (theirs.count, theirs.overlap) != (mine.count, mine.overlap):
            found.append(
                f"{note.annotator} labels {theirs.shown()} of this queue: yours ({mine.shown()}) is of another plan, "
                "so the shares do not fit together"
            )
        elif theirs.index == mine.index:
            found.append(
                f"{note.annotator} labels {theirs.shown()} of this queue too: the two of you would split it "
                "and leave another share undone (quit and pick yours with --assign)"
            )
    return found


@dataclass(frozen=True)
class SessionNote:
    """A running `celeba label` session, as its lock's note tells it."""

    annotator: str
    started: float  # epoch seconds
    image: str | None  # the image it shows now (None: none, or shown too long ago)
    share: Share | None = None  # the queue and share it works, where its note says
    progress: Progress | None = None  # how far through that queue, where its note says


def _nobody(image: str) -> str | None:
    return None


def _tell_nobody(image: str | None) -> None:
    return None


def _no_others() -> Sequence[str]:
    return ()


def _tell_nobody_progress(progress: Progress) -> None:
    return None


@dataclass(frozen=True)
class Turns:
    """How a label session takes turns with the others working the workspace: asks who
    else is on an image, tells which image it shows, asks who else labels now, tells how far
    it is through its queue.

    `take` does the first two in one step (`claim`); without it `claim` asks, then tells."""

    someone_else_on: Callable[[str], str | None] = _nobody
    announce: Callable[[str | None], None] = _tell_nobody
    labelling_now: Callable[[], Sequence[str]] = _no_others
    take: Callable[[str], str | None] | None = None
    tell_progress: Callable[[Progress], None] = _tell_nobody_progress

    def claim(self, image: str) -> str | None:
        """Who else is on `image` now; when nobody, this session says it shows it."""
        if self.take is not None:
            return self.take(image)
        other = self.someone_else_on(image)
        if other is None:
            self.announce(image)
        return other


ALONE = Turns()  # a session that takes turns with nobody (tests, `celeba browse`, no flock)


def turns_through_lock(workspace_path: Path, annotator: str, held_lock) -> Turns:
    """Turns taken through the lock notes: this session's (`held_lock`, a HeldLock) and the others'."""
    return Turns(
        someone_else_on=lambda image: someone_else_on(workspace_path, annotator, image),
        announce=held_lock.announce,
        labelling_now=lambda: others_labelling_now(workspace_path, annotator),
        take=lambda image: claim(workspace_path, annotator, image, held_lock.announce),
        tell_progress=lambda progress: held_lock.tell_progress(progress.as_note()),
    )


def claim(workspace_path: Path, annotator: str, image: str, announce: Callable[[str], None]) -> str | None:
    """Another annotator on `image` now, or None after `announce(image)` said this session
    is: one step under the workspace's turn lock (`session_lock.turn_lock`), so of two
    sessions reaching the image in the same instant the second finds the first on it."""
    with turn_lock(workspace_path):
        other = someone_else_on(workspace_path, annotator, image)
        if other is None:
            announce(image)
    return other


def sessions_now(workspace_path: Path, *, now: float | None = None, recent_only: bool = False) -> list[SessionNote]:
    """The `celeba label` sessions running on the workspace now, by their lock notes.

    `recent_only`: only those that showed an image within `PRESENCE_TTL_S` (what the check
    before each image needs), found by the lock file's modification time before it is
    opened, so the notes that sessions of earlier days left behind cost a `stat` each."""
    folder = Path(workspace_path) / LOCK_FOLDER
    now = time.time() if now is None else now
    try:
        entries = os.scandir(folder)
    except OSError:  # no folder (nobody labels here), or unreadable: nobody known to be labelling
        return []
    found, read = [], 0
    with entries:
        for entry in entries:
            if not _LOCK_NAME.fullmatch(entry.name):
                continue
            if recent_only:
                try:
                    if entry.stat(follow_symlinks=False).st_mtime < now - PRESENCE_TTL_S:
                        continue
                except OSError:
                    continue
            read += 1
            if read > MAX_LOCK_FILES:
                break
            note = _session(_read_note(folder / entry.name), now)
            # A note in another annotator's lock file is not theirs (a copy, or forged to
            # hide the session that holds the real one: attack pass 31).
            if note is not None and lock_path(workspace_path, note.annotator).name == entry.name:
                found.append(note)
    return found


def someone_else_on(workspace_path: Path, annotator: str, image: str, *, now: float | None = None) -> str | None:
    """The name of another annotator whose running session shows `image` now, or None."""
    for note in sessions_now(workspace_path, now=now, recent_only=True):
        if note.image == image and note.annotator != annotator:
            return note.annotator
    return None


def others_labelling_now(workspace_path: Path, annotator: str) -> tuple[str, ...]:
    """The names of the others whose sessions showed an image within `PRESENCE_TTL_S`."""
    notes = sessions_now(workspace_path, recent_only=True)
    return tuple(sorted({note.annotator for note in notes if note.annotator != annotator}))


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


def _session(note: dict | None, now: float) -> SessionNote | None:
    """The note's session if it is running now, with its image if shown recently."""
    if note is None:
        return None
    annotator, pid, host, started = (note.get(key) for key in ("annotator", "pid", "host", "started"))
    if not isinstance(annotator, str) or not annotator or not _time(started):
        return None
    if not 0 <= started <= now + PRESENCE_TTL_S:  # 1e300 or a year 33658 is no start (attack pass 28)
        return None
    if note.get("doing", "label") != "label":  # a withdraw, rename or relabel holding the lock a moment
        return None
    image, shown = note.get("image"), note.get("shown")
    if not (isinstance(image, str) and _time(shown) and now - PRESENCE_TTL_S < shown <= now + PRESENCE_TTL_S):
        image = None  # none, or shown too long ago (a clock far ahead is not trusted either)
    if host == socket.gethostname():
        if not (isinstance(pid, int) and not isinstance(pid, bool) and _running(pid, started)):
            return None
    elif image is None:  # another host's process cannot be asked: only a recent image tells it runs
        return None
    share, progress = Share.from_note(note.get("share")), Progress.from_note(note.get("progress"))
    return SessionNote(annotator, float(started), image, share, progress)


def _time(value: object) -> bool:
    """Whether a note's field is a usable time: a finite number (an int too big for a float is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _running(pid: int, started: float) -> bool:
    """Whether process `pid` runs and is the one that wrote a note at `started`."""
    if pid == os.getpid():
        return True
    if not 0 < pid < 2**31:
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except PermissionError:  # someone else's process, running
        pass
    except OSError:  # ProcessLookupError: it ended
        return False
    began = _process_start(pid)
    return began is None or began <= started + 1.0  # a later process with the same pid is not it


def _process_start(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), where /proc tells it (Linux); else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            fields = stat_file.read(4096).rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith(b"btime "))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None
