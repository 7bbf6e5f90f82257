"""One `celeba label` session per annotator and workspace at a time.

Two sessions under one name (two terminals, or two people sharing an account whose name
is the default annotator) are shown the same questions in the same order; each would
store its answer, and the later one would silently replace the earlier as if it were a
change of mind. So a session holds an exclusive lock on a file named after the
annotator (`<workspace>/locks/label-<hash>.lock`), and a second session under that name
is refused before it starts, saying which process holds it. The lock is the operating
system's (flock): it goes with the process however it ends, kill -9 included, so a
crashed session never leaves a stale lock behind. Where flock is missing (not POSIX),
sessions are not locked.

The note in the lock file also says which image the session shows (`HeldLock.announce`),
so people working one queue at once take turns instead of answering the same image
(`presence.py` reads the others' notes).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from celeba_tui.errors import CelebaError

LOCK_FOLDER = "locks"
MAX_NOTE_BYTES = 4096  # what a lock file says about its holder; anything longer is not ours
TURNS_LOCK = "turns.lock"  # held for a moment around taking an image (`turn_lock`)
TURN_WAIT_S = 0.05  # the longest a session waits for it before it goes on without


def lock_path(workspace_path: Path, annotator: str) -> Path:
    """The lock file of `annotator`'s sessions: named by a hash, so any name makes a safe file name."""
    # surrogatepass: a lock note may name anything (a lone surrogate too); valid names hash as UTF-8.
    digest = hashlib.sha256(annotator.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return Path(workspace_path) / LOCK_FOLDER / f"label-{digest}.lock"


LABEL_ELSEWHERE = "finish it first, or label under another name with -a NAME"


class HeldLock:
    """An annotator's lock this process holds (what `annotator_session` yields)."""

    def __init__(self, path: Path, fd: int, annotator: str, doing: str = "label"):
        self.path, self.fd, self.annotator, self.doing = path, fd, annotator, doing
        self.started = time.time()
        self.showing: str | None = None
        self.share: dict | None = None  # the queue and `--assign` share it works (presence.Share.as_note)
        self.progress: dict | None = None  # how far it is through that queue (presence.Progress.as_note)

    def announce(self, image: str | None) -> None:
        """Say in the lock's note that this session shows `image` now (None: no image)."""
        self.showing = image
        self._write()

    def declare_share(self, share: dict | None) -> None:
        """Say in the lock's note which queue and share this session works (others check theirs against it)."""
        self.share = share
        self._write()

    def tell_progress(self, progress: dict | None) -> None:
        """Say in the lock's note how far this session is through its queue (`celeba
        annotators` shows it); written only when it changed."""
        if progress != self.progress:
            self.progress = progress
            self._write()

    def _write(self) -> None:
        _write_note(self.fd, self.annotator, self.started, self.showing, self.share, self.doing, self.progress)

    def check(self) -> None:
        """A CelebaError unless this process still holds the lock at its path.

        Removing the lock file (or the `locks` folder) under a running session would let a
        second session lock a new file and answer the same questions. So a session checks
        before each write: still the file at the path, or, where it was removed, the new
        file there locked now (if nobody else did first)."""
        mine = os.fstat(self.fd)
        with contextlib.suppress(OSError):
            now = os.stat(self.path)
            if (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                return
        fd = _open_lock_file(self.path)
        if not _locked(fd, self.path):
            holder = _holder(fd)[1]
            os.close(fd)
            raise CelebaError(
                f"this session's lock for {self.annotator!r} was removed and another session{holder} holds "
                "it now: nothing more can be saved here; quit this session"
            )
        os.close(self.fd)
        self.fd = fd
        self._write()


# What the holder of an annotator's lock is doing, as its note says (`doing`), and how the
# refusal of another command names it: a known word, never the note's own text.
DOINGS = {
    "label": "a `celeba label` session open",
    "withdraw": "`celeba annotators withdraw` running",
    "restore": "`celeba annotators restore` running",
    "rename": "`celeba annotators rename` running",
    "relabel": "a relabel from `celeba browse` being stored",
}


@contextlib.contextmanager
def annotator_session(
    workspace_path: Path, annotator: str, *, advice: str = LABEL_ELSEWHERE, doing: str = "label"
) -> Iterator[HeldLock | None]:
    """Hold `annotator`'s session lock while the block runs; a CelebaError ending in
    `advice` if another process holds it. Yields the HeldLock (None where there is no
    flock: not POSIX).

    `celeba label` holds it for the whole session (and checks it before each write);
    commands that write as an annotator or change one (a relabel from `celeba browse`,
    `annotators rename`) take it around their write, so they wait for no one and never
    write under a running session."""
    try:
        import fcntl  # noqa: F401  (only whether it exists)
    except ImportError:  # pragma: no cover  (not POSIX: no locking)
        yield None
        return
    path = lock_path(workspace_path, annotator)
    held = HeldLock(path, _open_lock_file(path), annotator, doing)
    try:
        if not _locked(held.fd, path):
            # The note is the running session's: refused here, it stays as it is (it said who
            # labels and on which image; cutting it hid that session from the others).
            what, holder = _holder(held.fd)
            raise CelebaError(f"annotator {annotator!r} has {what} on this workspace{holder}: {advice}")
        try:
            _write_note(held.fd, annotator, held.started, doing=doing)
            yield held
        finally:
            with contextlib.suppress(OSError):  # a note left behind must not say a session runs
                os.ftruncate(held.fd, 0)
    finally:
        os.close(held.fd)  # releases the lock


@contextlib.contextmanager
def turn_lock(workspace_path: Path, wait_s: float | None = None) -> Iterator[bool]:
    """A short exclusive lock every label session of the workspace takes around "who else
    is on this image? nobody: then I am" (`presence.claim`), so two sessions reaching one
    image in the same instant do not both take it. Yields whether it is held: turns are
    advice, so a lock file that is not ours (a FIFO, a link: refused unopened) or one held
    longer than `wait_s` (default `TURN_WAIT_S`: a stuck or hostile process) is gone
    without, never waited on."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover  (not POSIX)
        yield False
        return
    path = Path(workspace_path) / LOCK_FOLDER / TURNS_LOCK
    try:
        fd = _open_lock_file(path)
    except CelebaError:
        yield False
        return
    try:
        deadline = time.monotonic() + (TURN_WAIT_S if wait_s is None else wait_s)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = True
                break
            except OSError:
                if time.monotonic() >= deadline:
                    held = False
                    break
                time.sleep(0.001)
        yield held
    finally:
        os.close(fd)  # releases the lock


def _locked(fd: int, path: Path) -> bool:
    """Take the exclusive lock on `fd` without waiting: False if another process holds it."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise CelebaError(f"cannot lock {path}: {exc.strerror or exc}") from None
        return False
    return True


def _open_lock_file(path: Path) -> int:
    """The lock file, opened read-write without following a link, blocking on a FIFO or
    reading a device: a regular file or a CelebaError naming it."""
    folder = path.parent
    try:
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISDIR(os.lstat(folder).st_mode):  # a link or a file in its place
                raise CelebaError(f"{folder}: not a folder (a link or a file); remove it")
        folder.mkdir(exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags, 0o644)
    except CelebaError:
        raise
    except OSError as exc:
        reason = "a link" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise CelebaError(f"cannot open the session lock {path}: {reason}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        # A hard link would make the note overwrite a file elsewhere.
        os.close(fd)
        what = "not a regular file" if not stat.S_ISREG(info.st_mode) else "a file with other names (a hard link)"
        raise CelebaError(f"{path}: the session lock is {what}; remove it")
    return fd


def _write_note(
    fd: int,
    annotator: str,
    started: float,
    image: str | None = None,
    share: dict | None = None,
    doing: str = "label",
    progress: dict | None = None,
) -> None:
    """Say in the lock file who holds it, and which image it shows (read to name the
    holder, and by `presence.py`). Written over the old note, then cut to length, so a
    reader never finds it empty, at worst unreadable for a moment (then it says nothing)."""
    note = {"annotator": annotator, "pid": os.getpid(), "host": socket.gethostname(), "started": started}
    note["doing"] = doing
    if share is not None:
        note["share"] = share
    if progress is not None:
        note["progress"] = progress
    if image is not None:
        note |= {"image": image, "shown": time.time()}
    data = json.dumps(note).encode("utf-8")
    if len(data) > MAX_NOTE_BYTES:  # a name too long to tell: the note says no image
        data = json.dumps({key: note[key] for key in ("annotator", "pid", "host", "started", "doing")}).encode("utf-8")
    with contextlib.suppress(OSError):  # the lock holds without its note (a full disk, say)
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))


def _holder(fd: int) -> tuple[str, str]:
    """What the lock's holder is doing (DOINGS; a label session where its note does not say)
    and ' (process N, since HH:MM)', from the lock file's note ('' where it says nothing usable)."""
    what = DOINGS["label"]
    try:
        note = json.loads(os.pread(fd, MAX_NOTE_BYTES + 1, 0)[:MAX_NOTE_BYTES])
        what = DOINGS.get(note.get("doing"), what) if isinstance(note.get("doing"), str) else what
        pid, started = note["pid"], note["started"]
        if isinstance(pid, bool) or not isinstance(pid, int) or not isinstance(started, (int, float)):
            return what, ""
        return what, f" (process {pid}, since {time.strftime('%H:%M', time.localtime(started))})"
    except (OSError, ValueError, KeyError, TypeError, OverflowError, RecursionError, AttributeError):
        return what, ""


def write_as(workspace_path: Path, annotator: str, function, *args):
    """`function(*args)` (a store write by `annotator` outside `celeba label`) while holding
    the annotator's lock: refused with a CelebaError while a label session under that name
    runs, which was shown its questions before this write and would answer over it."""
    with annotator_session(
        workspace_path, annotator, advice="answer there, or quit it, then press the key again", doing="relabel"
    ):
        return function(*args)
