"""Writing output files: a reader sees the old or the new content, never half of it.

Every file a command writes where the user said (`--out`, `--export`, `--grid`, `--plot`,
figures) goes through `atomic_path`, and commands call `check_output_path` first, so a
bad path is a one-line error before any work is done or committed. The rules:

* a missing or regular file is written beside itself and renamed over (atomic);
* a symlink is followed: the file it points to is replaced, the link stays a link;
* a device or a FIFO is written in place, never renamed over (`--out /dev/null` run as
  root must not replace the machine's /dev/null with a regular file); a FIFO nobody
  reads is an error rather than a hang;
* a folder, a socket, or a missing parent folder is an error: parents are never created,
  so a typo in a path does not grow a tree of folders somewhere unexpected;
* a file `protect` named (the loaded workspace's store and config) is an error: no
  export may replace the labels it was made from.

The files celeba names itself, inside folders it makes (a workspace's runs/, splits/,
models/, autolabel/; a synthetic dataset's files), go through `owned_path` instead: there
the name is never followed. A symbolic link, FIFO or device found at such a name, or in
place of one of the folders between, is an error naming it: nobody asked for a file
there to be written through, and such a node is planted, not made by celeba.

Both write a hidden `.NAME.tmp-PID-THREAD` beside the file first. A process killed
mid-write (kill -9) leaves it behind; the next write of the same file removes those of
processes no longer running, once untouched for 10 minutes (`remove_stale_temporaries`).
Scratch folders in the system's temporary folder (an int8 export's float32 copy) go
through `scratch_folder`, and an export folder's staging through `process_prefix`: both
are cleaned up after killed processes the same way (`remove_stale_folders`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from celeba_tui.errors import CelebaError
from celeba_tui.regular_files import file_kind

WriteMode = Literal["atomic", "direct", "folder", "socket"]

# Real paths no output may replace, and what each is (for the message).
_PROTECTED: dict[Path, str] = {}
_PROTECTED_FOLDERS: dict[Path, tuple[str, tuple[str, ...]]] = {}


def protect(path: Path, what: str) -> None:
    """From now on in this process, refuse `path` (symlinks resolved) as an output."""
    _PROTECTED[Path(os.path.realpath(path))] = what


@contextlib.contextmanager
def own_rewrite(path: Path) -> Iterator[None]:
    """Inside the block, `path` may be written though protected: a command that rewrites
    the workspace's own file on purpose (`celeba rename-class`, its config); outputs a user
    names stay refused everywhere else."""
    real = Path(os.path.realpath(path))
    what = _PROTECTED.pop(real, None)
    try:
        yield
    finally:
        if what is not None:
            _PROTECTED[real] = what


def protect_folder(path: Path, what: str, suffixes: tuple[str, ...]) -> None:
    """From now on in this process, refuse as an output any file inside `path` or inside a
    folder a symlink there leads to (symlinks resolved) whose name ends with one of
    `suffixes` (lower case), and any output folder there (`--plot DIR`, whose files are
    images)."""
    real = Path(os.path.realpath(path))
    _PROTECTED_FOLDERS[real] = (what, suffixes)
    _REACHED.pop(real, None)  # walked afresh when next needed


def _protected(real: Path, *, folder_output: bool = False) -> str | None:
    """Why `real` (resolved) may not be written, or None."""
    if real in _PROTECTED:
        return f"it is {_PROTECTED[real]}"
    for root, (what, suffixes) in _PROTECTED_FOLDERS.items():
        if not (folder_output or real.name.lower().endswith(suffixes)):
            continue
        if any(real == folder or real.is_relative_to(folder) for folder in _folders_reached(root)):
            return f"it is inside {what}"
    return None


def replaced_folder_problem(real: Path) -> str | None:
    """Why folder `real` (resolved) may not be written into or replaced whole (an export
    folder, removed with everything under it when replaced), or None: it is inside a
    protected folder (or one a link there leads to), or holds a protected file or folder."""
    inside = _protected(real, folder_output=True)
    if inside is not None:
        return inside
    for path, what in _PROTECTED.items():
        if path.is_relative_to(real):
            return f"it holds {what}"
    for root, (what, _) in _PROTECTED_FOLDERS.items():
        if any(folder.is_relative_to(real) for folder in _folders_reached(root)):
            return f"it holds {what}"
    return None


_REACHED: dict[Path, tuple[Path, ...]] = {}


def _folders_reached(root: Path) -> tuple[Path, ...]:
    """`root` and the real paths of the folders outside it that its symlinked folders lead
    to, as the image scan follows them. Walked once per process, when an output is first
    checked against it; only folders are looked at."""
    if root not in _REACHED:
        reached = [root]
        seen: set[Path] = {root}
        pending = [root]
        while pending:
            try:
                entries = list(os.scandir(pending.pop()))
            except OSError:
                continue
            for entry in entries:
                try:
                    if not entry.is_dir():
                        continue
                    linked = entry.is_symlink()
                except OSError:
                    continue
                real = Path(os.path.realpath(entry.path))
                # A link up the tree is walked as the scan walks it: its folders beside the
                # root are scanned (only the root itself, reached again, is a loop).
                if real in seen:
                    continue
                seen.add(real)
                pending.append(real)
                if linked and not any(real.is_relative_to(folder) for folder in reached):
                    reached.append(real)
        _REACHED[root] = tuple(reached)
    return _REACHED[root]


def write_mode(st_mode: int | None) -> WriteMode:
    """How to write over a file of this `st_mode` (None: no file there yet).

    atomic: write a temporary file and rename it over; direct: open the file itself and
    write into it (devices, FIFOs: renaming over them would replace the node itself);
    folder and socket: cannot be written.
    """
    if st_mode is None or stat.S_ISREG(st_mode):
        return "atomic"
    if stat.S_ISDIR(st_mode):
        return "folder"
    if stat.S_ISSOCK(st_mode):
        return "socket"
    return "direct"


@dataclass(frozen=True)
class OutputTarget:
    """Where the bytes for a user's output path really go, and how."""

    given: Path  # as the user wrote it (used in messages)
    real: Path  # symlinks resolved: the file that is replaced or written into
    mode: WriteMode


def output_target(path: Path) -> OutputTarget:
    """Resolve `path` and decide how to write it; a CelebaError for what cannot be written."""
    given = Path(path).expanduser()
    real = Path(os.path.realpath(given))
    refused = _protected(real)
    if refused is not None:
        raise CelebaError(f"cannot write {given}: {refused}")
    try:
        st_mode: int | None = os.stat(real).st_mode
    except (FileNotFoundError, NotADirectoryError):  # the parent check below says which
        st_mode = None
    except OSError as exc:
        raise CelebaError(f"cannot write {given}: {exc.strerror or exc}") from None
    mode = write_mode(st_mode)
    if mode == "folder":
        raise CelebaError(f"cannot write {given}: it is a folder (give a file name)")
    if mode == "socket":
        raise CelebaError(f"cannot write {given}: it is a socket")
    if st_mode is None and not real.parent.is_dir():
        what = "is not a folder" if real.parent.exists() else "does not exist"
        raise CelebaError(f"cannot write {given}: folder {real.parent} {what} (create it first)")
    return OutputTarget(given, real, mode)


def check_output_path(path: Path) -> Path:
    """Fail now, with one line, if `path` cannot be written; returns it (expanded).

    Commands call this before their work, so a typo does not cost a long run, and a
    command that commits to the store (autolabel) does not commit and then fail.
    A file in the folder is created and removed to prove it can be written there
    (some folders, such as /proc, refuse new files whatever their permissions say).
    FIFOs are not opened here: opening and closing one would end its reader's input.
    """
    target = output_target(path)
    if target.mode == "direct":
        if not os.access(target.real, os.W_OK):
            raise CelebaError(f"cannot write {target.given}: permission denied")
        return target.given
    probe = _temporary_name(target.real, "check")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    except OSError as exc:
        raise CelebaError(
            f"cannot write {target.given}: cannot create a file in {target.real.parent} ({exc.strerror or exc})"
        ) from None
    probe.unlink(missing_ok=True)
    return target.given


def check_output_folder(path: Path) -> Path:
    """A folder that output files go into (`--plot DIR`): made if missing, but not its parents."""
    folder = Path(path).expanduser()
    refused = _protected(Path(os.path.realpath(folder)), folder_output=True)
    if refused is not None:
        raise CelebaError(f"cannot write into {folder}: {refused}")
    if folder.is_dir():
        return folder
    if folder.exists():
        raise CelebaError(f"cannot write into {folder}: it is not a folder")
    if not folder.parent.is_dir():
        raise CelebaError(f"cannot create {folder}: folder {folder.parent} does not exist (create it first)")
    try:
        folder.mkdir()
    except FileExistsError:  # made meanwhile by another process: fine if it is a folder
        if not folder.is_dir():
            raise CelebaError(f"cannot write into {folder}: it is not a folder") from None
    except OSError as exc:
        raise CelebaError(f"cannot create {folder}: {exc.strerror or exc}") from None
    return folder


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success its content becomes `path` (see the module).

    OSErrors while writing (disk full, permissions) become one-line CelebaErrors naming `path`.
    """
    target = output_target(path)
    if target.mode == "direct":
        with _written_in_place(target) as tmp:
            yield tmp
        return
    remove_stale_temporaries(target.real)
    tmp = _temporary_name(target.real, "tmp")
    try:
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
            yield tmp
            os.replace(tmp, target.real)
        except OSError as exc:
            raise CelebaError(f"cannot write {target.given}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _temporary_name(real: Path, kind: str) -> Path:
    """A hidden name beside `real`, unique per process and thread."""
    return real.with_name(f".{real.name}.{kind}-{os.getpid()}-{threading.get_ident()}")


# A temporary file untouched this long whose process is not running here is left over. The
# age spares a write in progress on another machine sharing the folder (its process id
# means nothing here): an export holds its temporary file open, empty, while it traces.
STALE_TEMPORARY_S = 600


def remove_stale_temporaries(real: Path, now: float | None = None) -> list[Path]:
    """Remove the temporary files of `real` (`_temporary_name`) that processes no longer
    running left behind (killed mid-write); returns them. Only regular files of exactly
    that name pattern go, untouched for STALE_TEMPORARY_S and whose process is gone."""
    import time

    now = time.time() if now is None else now
    pattern = re.compile(re.escape(f".{real.name}.") + r"(?:tmp|check)-(\d+)-\d+\Z")
    removed = []
    for entry in left_by_gone_processes(real.parent, pattern):
        try:
            if (
                entry.is_file(follow_symlinks=False)
                and now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMPORARY_S
            ):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def scratch_folder(kind: str) -> Iterator[Path]:
    """A new private folder in the system's temporary folder (`celeba-KIND-PID-XXXX`),
    removed with what is in it when the block ends.

    A process killed inside the block (kill -9) leaves its folder behind; the next
    scratch folder of the same kind removes those of processes no longer running, once
    untouched for STALE_TEMPORARY_S (`remove_stale_folders`)."""
    parent, prefix = Path(tempfile.gettempdir()), f"celeba-{kind}-"
    remove_stale_folders(parent, prefix)
    with tempfile.TemporaryDirectory(prefix=process_prefix(prefix), dir=parent) as scratch:
        mark_own_folder(Path(scratch))
        yield Path(scratch)


def process_prefix(prefix: str) -> str:
    """`prefix` with this process's id: the name start of a folder `remove_stale_folders` may clean up."""
    return f"{prefix}{os.getpid()}-"


# Inside every folder `remove_stale_folders` may remove: a folder of the same name made by
# anyone else (celeba-export-2024-december) lacks it, and is never touched.
OWN_FOLDER_MARKER = ".celeba-own-folder"


def mark_own_folder(folder: Path) -> None:
    """Mark a folder celeba just made (mkdtemp) as its own: `remove_stale_folders` may remove it."""
    (folder / OWN_FOLDER_MARKER).write_bytes(b"")


def is_own_folder(path: Path) -> bool:
    """Whether `path` is a folder (not a link) of this user's that celeba marked as its own."""
    try:
        info = os.lstat(path)
        return (
            stat.S_ISDIR(info.st_mode)
            and info.st_uid == os.getuid()
            and stat.S_ISREG(os.lstat(path / OWN_FOLDER_MARKER).st_mode)
        )
    except OSError:
        return False


def unmark_own_folder(folder: Path) -> None:
    """Take the mark away (a staged export about to become the user's folder)."""
    (folder / OWN_FOLDER_MARKER).unlink(missing_ok=True)


def remove_stale_folders(parent: Path, prefix: str, now: float | None = None) -> list[Path]:
    """Remove the folders in `parent` named `process_prefix(prefix)` + mkdtemp's eight random
    characters that processes no longer running left behind (killed inside `scratch_folder`
    or an export's staging); returns them. Only this user's own folders (never a link) of
    exactly that name pattern, holding celeba's mark (`mark_own_folder`, a regular file),
    untouched for STALE_TEMPORARY_S and whose process is gone, go; the removal never
    follows a link inside them."""
    import time

    now = time.time() if now is None else now
    removed = []
    for entry in left_by_gone_processes(parent, own_folder_pattern(prefix)):
        try:
            if is_own_folder(Path(entry.path)) and now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMPORARY_S:
                shutil.rmtree(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def own_folder_pattern(prefix: str) -> re.Pattern:
    """The names of the folders mkdtemp made with `process_prefix(prefix)` (the process id: group 1)."""
    return re.compile(re.escape(prefix) + r"(\d+)-[a-z0-9_]{8}\Z")


def left_by_gone_processes(parent: Path, pattern: re.Pattern) -> list[os.DirEntry]:
    """The entries of `parent` named by `pattern` (a process id as its group 1) whose process
    is no longer running here, in name order; none when `parent` cannot be read."""
    try:
        entries = sorted(os.scandir(parent), key=lambda entry: entry.name)
    except OSError:
        return []
    return [
        entry
        for entry in entries
        if (found := pattern.match(entry.name)) is not None and not process_running(int(found.group(1)))
    ]


def process_running(pid: int) -> bool:
    """Whether a process of this id runs on this machine (this one, or another user's, counts)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except PermissionError:  # another user's process
        return True
    except (ProcessLookupError, OverflowError, ValueError):  # gone, or a number no process has
        return False
    return True


@contextlib.contextmanager
def _written_in_place(target: OutputTarget) -> Iterator[Path]:
    """For a device or FIFO: the caller writes a scratch file, then its bytes are copied in.

    The target is opened first, so a FIFO without a reader fails before the work rather
    than hanging: O_NONBLOCK makes that open fail at once (ENXIO), and is then cleared so
    the copy blocks normally while the reader catches up.
    """
    import fcntl

    try:
        fd = os.open(target.real, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        fifo = exc.errno == errno.ENXIO and stat.S_ISFIFO(os.stat(target.real).st_mode)
        reason = "it is a FIFO and no process is reading it" if fifo else exc.strerror or str(exc)
        raise CelebaError(f"cannot write {target.given}: {reason}") from None
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        with scratch_folder("out") as scratch:
            tmp = scratch / target.real.name
            try:
                yield tmp
                with open(tmp, "rb") as source, os.fdopen(os.dup(fd), "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
            except OSError as exc:
                raise CelebaError(f"cannot write {target.given}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


# ------------------------------------------------------ the tool's own files
def owned_folder(folder: Path, anchor: Path) -> Path:
    """`folder`, which celeba makes and fills inside `anchor` (a workspace's runs/, a
    synthetic dataset's image folder): made if missing, with the folders between; a
    CelebaError if it or a folder between is a symbolic link or not a folder."""
    _check_owned_folders(Path(folder), Path(anchor), shown=Path(folder), make=True)
    return Path(folder)


def check_owned_file(path: Path, anchor: Path) -> None:
    """Fail now, with one line, if celeba could not write its own file `path` inside
    `anchor` (see `owned_path`); makes the missing folders between."""
    path = Path(path)
    _check_owned_folders(path.parent, Path(anchor), shown=path, make=True)
    _check_owned_name(path)


@contextlib.contextmanager
def owned_path(path: Path, anchor: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, a file celeba names
    itself inside `anchor`. The name is replaced, never followed; the folders between are
    checked again before the rename, so a run folder swapped for a link mid-training does
    not send the files after it elsewhere. OSErrors become one-line CelebaErrors."""
    path, anchor = Path(path), Path(anchor)
    check_owned_file(path, anchor)
    remove_stale_temporaries(path)
    tmp = _temporary_name(path, "tmp")
    try:
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666))
            yield tmp
            _check_owned_folders(path.parent, anchor, shown=path, make=False)
            _check_owned_name(path)
            os.replace(tmp, path)
        except OSError as exc:
            raise CelebaError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def output_file(path: Path, owner: Path | None = None) -> contextlib.AbstractContextManager[Path]:
    """`owned_path(path, owner)` for a file celeba names inside `owner` (a workspace), else
    `atomic_path(path)` for an output the user named."""
    return owned_path(path, owner) if owner is not None else atomic_path(Path(path))


def open_for_append(path: Path) -> IO[str]:
    """A user's output file opened to append lines (`--timing-log FILE`), or a one-line
    CelebaError naming it: a folder, a socket, a missing folder, the store, a FIFO no one
    reads (the open does not wait on it). A device or FIFO is written into, as any output."""
    import fcntl

    target = output_target(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target.real, flags, 0o666)
    except OSError as exc:
        fifo = exc.errno == errno.ENXIO
        reason = "it is a FIFO and no process is reading it" if fifo else exc.strerror or str(exc)
        raise CelebaError(f"cannot write {target.given}: {reason}") from None
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "a", encoding="utf-8")
    except OSError as exc:  # a file that opens but cannot be appended to (/proc/version)
        os.close(fd)
        raise CelebaError(f"cannot write {target.given}: {exc.strerror or exc}") from None


def append_owned(path: Path, anchor: Path, text: str) -> None:
    """Append `text` to celeba's own file `path` inside `anchor` (never through a link)."""
    path = Path(path)
    check_owned_file(path, anchor)
    _write_owned(path, text.encode("utf-8"), os.O_APPEND)


def write_owned_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path`, one of many files celeba names in a folder it made and
    checked (`owned_folder`), in place: never through a link, never into a FIFO or a
    device. For bulk files (a synthetic dataset's images), where a rename per file costs."""
    _check_owned_name(path)
    _write_owned(path, data, os.O_TRUNC)


def _write_owned(path: Path, data: bytes, mode_flag: int) -> None:
    """Open `path` without following a link or waiting on a FIFO, check on the open file
    that it is a regular one, then write all of `data` (`mode_flag`: O_APPEND or O_TRUNC)."""
    flags = os.O_WRONLY | os.O_CREAT | mode_flag | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise CelebaError(f"cannot write {path}: it is {file_kind(info.st_mode)}")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except OSError as exc:
        raise CelebaError(f"cannot write {path}: {exc.strerror or exc}") from None


def _check_owned_name(path: Path) -> None:
    """`path` is missing or a regular file (not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CelebaError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(mode):
        raise CelebaError(
            f"cannot write {path}: it is a symbolic link, and celeba writes this file itself (remove the link)"
        )
    if not stat.S_ISREG(mode):
        raise CelebaError(f"cannot write {path}: it is {file_kind(mode)}, where celeba writes a file (remove it)")


def _check_owned_folders(folder: Path, anchor: Path, *, shown: Path, make: bool) -> None:
    """Each folder from below `anchor` down to `folder` is a real folder (made if missing
    and `make`): not a link, not a file."""
    try:
        parts = folder.relative_to(anchor).parts
    except ValueError:
        raise CelebaError(f"cannot write {shown}: it is not inside {anchor}") from None
    step = anchor
    for part in parts:
        step = step / part
        try:
            mode = os.lstat(step).st_mode
        except FileNotFoundError:
            if not make:
                raise CelebaError(f"cannot write {shown}: folder {step} was removed meanwhile") from None
            try:
                os.mkdir(step)
                continue
            except FileExistsError:  # made meanwhile: checked below like any other
                mode = os.lstat(step).st_mode
            except OSError as exc:
                raise CelebaError(f"cannot create {step}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise CelebaError(f"cannot write {shown}: {step}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(mode):
            raise CelebaError(
                f"cannot write {shown}: {step} is a symbolic link, and celeba makes this folder itself "
                "(remove the link)"
            )
        if not stat.S_ISDIR(mode):
            kind = "a file" if stat.S_ISREG(mode) else file_kind(mode)
            raise CelebaError(
                f"cannot write {shown}: {step} is {kind}, where celeba makes a folder (remove or rename it)"
            )
