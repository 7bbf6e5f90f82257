"""Writing an export that is a folder of image files (`--format imagefolder`, `--format hf`).

Image names are hostile input (a scanned file may be called anything, a store may hold
`../../etc/passwd`), and so is the output folder. The rules:

* A name becomes one file name: `%` and `/` are written `%25` and `%2F`, and a leading
  `.` as `%2E`, so `sub/a.jpg` is `sub%2Fa.jpg`. The mapping is one to one (two images
  never share a file) and no file name is `.`, `..`, hidden or has a folder part: no
  file can land outside its class folder.
* A source must be a relative path of plain parts inside the image root, naming a
  regular file (symlinks inside the root are followed, as the scanner does); anything
  else is left out with its reason.
* The export is built in a new hidden folder beside DIR and renamed into place when
  complete: nothing is ever written through a link or a file that was already in DIR,
  and an interrupted export leaves DIR as it was.
* DIR may not be inside the image root or a folder a link there leads to (a scan would
  take its files for new images), nor hold the image root or any of the workspace's own
  files and folders (replacing DIR would remove them), and must be missing, empty, or a
  previous export of this tool (it holds `.celeba-export.json`, which lists every path the
  export wrote, and nothing else, at any depth), which is replaced whole. A file put into
  it while the new export is built is found when the old one is moved aside, and the old
  one is put back. DIR itself may not be a symlink.
* The hidden folders are named with the process id and marked as celeba's own: staging
  folders an export killed (kill -9) left are removed by the next export to DIR once
  untouched for 10 minutes; an old export a killed export had moved aside is put back
  when DIR is missing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from celeba_tui.errors import CelebaError

MARKER = ".celeba-export.json"
MARKER_VERSION = 1
NAME_MAX = 255  # bytes in one file name (Linux, macOS)
# Hard links fail across filesystems (EXDEV), on filesystems without them, for files the
# user does not own (protected_hardlinks: EPERM) and past a file's link limit: then a symlink.
_LINK_FALLBACK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES}


def flat_file_name(name: str) -> str | None:
    """The file name an image is written under (see the module), None if it cannot be one."""
    if not name or "\x00" in name:
        return None
    flat = name.replace("%", "%25").replace("/", "%2F")
    if flat.startswith("."):
        flat = "%2E" + flat[1:]
    if len(os.fsencode(flat)) > NAME_MAX:
        return None
    return flat


def source_problem(name: str) -> str | None:
    """Why `name` is not a path inside the image root (absolute, `..`, empty parts), or None."""
    if not name or "\x00" in name or name.startswith("/"):
        return "name is not a path inside the image root"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "name is not a path inside the image root"
    return None


@dataclass
class FileWriter:
    """Puts image files into an export folder: hard links, symlinks where those fail, or copies."""

    image_root: Path
    copy: bool = False
    methods: Counter = field(default_factory=Counter)

    def check(self, name: str) -> str | None:
        """Why image `name` cannot be written (left out), or None."""
        problem = source_problem(name)
        if problem:
            return problem
        if flat_file_name(name) is None:
            return "name too long for one file name"
        try:
            mode = os.stat(self.image_root / name).st_mode
        except FileNotFoundError:
            return "file not found in the image root"
        except OSError as exc:
            return f"cannot read its file ({exc.strerror or exc})"
        if not stat.S_ISREG(mode):
            return "its file is not a regular file"
        return None

    def put(self, name: str, folder: Path) -> None:
        """Write image `name` (checked) into `folder`, a folder this export created."""
        source = self.image_root / name
        target = folder / flat_file_name(name)
        try:
            if self.copy:
                _copy_regular_file(source, target)
                self.methods["copy"] += 1
                return
            try:
                os.link(source, target)
                self.methods["hardlink"] += 1
            except OSError as exc:
                if exc.errno not in _LINK_FALLBACK:
                    raise
                os.symlink(os.path.realpath(source), target)
                self.methods["symlink"] += 1
        except OSError as exc:
            hint = "" if self.copy else " (try --copy)"
            raise CelebaError(f"cannot write {target}: {exc.strerror or exc}{hint}") from None


def _copy_regular_file(source: Path, target: Path) -> None:
    """Copy `source` if it is (still) a regular file; never opens a FIFO for a blocking read."""
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "no longer a regular file")
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(os.dup(fd), "rb") as reader, os.fdopen(out, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Destination:
    """An export folder the user named, checked: `replaces` is True for a previous export,
    whose every path below it (its marker's list, the marker too) is `written`."""

    path: Path
    replaces: bool
    written: frozenset[str] = frozenset()


def check_destination(path: Path, image_root: Path | None = None) -> Destination:
    """Fail now, with one line, if an export may not go to folder `path` (see the module).

    Inside `image_root` it may not go either: the next scan would take its files for new images.
    """
    from celeba_tui.atomic import replaced_folder_problem

    path = Path(path).expanduser()
    _put_back_an_interrupted_replacement(path)
    real = Path(os.path.realpath(path))
    if image_root is not None:
        root = Path(os.path.realpath(image_root))
        if real == root or root in real.parents:
            raise CelebaError(
                f"cannot export into {path}: it is inside the image root {image_root} "
                "(a scan would register the exported files as new images)"
            )
        if real in root.parents:
            raise CelebaError(
                f"cannot export into {path}: it holds the image root {image_root} "
                "(replacing the folder would remove the images)"
            )
    problem = replaced_folder_problem(real)
    if problem is not None:
        raise CelebaError(f"cannot export into {path}: {problem}")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise CelebaError(f"cannot write {path}: folder {path.parent} does not exist (create it first)") from None
        return Destination(path, replaces=False)
    except OSError as exc:
        raise CelebaError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise CelebaError(
            f"cannot export into {path}: it is a symlink (give the folder itself; exports never follow links)"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise CelebaError(f"cannot export into {path}: it is not a folder")
    entries = set(os.listdir(path))
    if not entries:
        return Destination(path, replaces=False)
    previous = _previous_export(path)
    if previous is None:
        raise CelebaError(
            f"cannot export into {path}: it is not empty and not a celeba export (no {MARKER}); "
            "give a new or empty folder"
        )
    written, paths = previous
    foreign = sorted(entries - written - {MARKER})
    if not foreign and paths is None:
        raise CelebaError(
            f"cannot replace the export in {path}: an older celeba-tui wrote it without listing its files, "
            "so files added inside it since cannot be told apart; remove the folder (or give another) and export again"
        )
    if not foreign:  # files put into its folders since (notes, a folder of rejects)
        foreign = sorted(_paths_under(path) - paths - {MARKER})
    if foreign:
        raise CelebaError(
            f"cannot replace the export in {path}: it also holds {foreign[0]!r}, which the export did not write; "
            "move that away or give another folder"
        )
    return Destination(path, replaces=True, written=frozenset(paths | {MARKER}))


MAX_MARKER_BYTES = 64 << 20  # the list of every path of a 200,000-image export is ~10 MB


def _previous_export(path: Path) -> tuple[set[str], set[str] | None] | None:
    """(the top-level names, every path below) a previous export wrote into `path`, or None
    if it is not one. Markers written before the paths were recorded give None for them."""
    marker = path / MARKER
    try:
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return None
        with open(marker, "rb") as handle:
            data = json.loads(handle.read(MAX_MARKER_BYTES))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("celeba_export") != MARKER_VERSION:
        return None
    entries, paths = data.get("entries"), data.get("paths")
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        return None
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        paths = None
    return set(entries), None if paths is None else set(paths)


def _paths_under(folder: Path) -> set[str]:
    """Every file, link and folder below `folder`, relative to it (links are not followed)."""
    found = set()
    for parent, folders, files in os.walk(folder):
        here = Path(parent).relative_to(folder)
        found.update(str(here / name) for name in folders + files)
    return found


@contextlib.contextmanager
def staged_folder(destination: Destination, marker: dict) -> Iterator[Path]:
    """Yield a new empty folder to build the export in; on success it becomes the destination.

    `marker` (what the export wrote: format, tasks...) is completed with the top-level
    entries when the build is done and written as `.celeba-export.json`, which lets a
    later export replace this one.
    """
    from celeba_tui.atomic import mark_own_folder, process_prefix, remove_stale_folders, unmark_own_folder

    path = destination.path
    remove_stale_folders(path.parent, _staging_prefixes(path)[0])  # what exports killed here (kill -9) left
    try:
        staging = Path(tempfile.mkdtemp(prefix=process_prefix(_staging_prefixes(path)[0]), dir=path.parent))
        mark_own_folder(staging)
    except OSError as exc:
        raise CelebaError(
            f"cannot write {path}: cannot create a folder in {path.parent} ({exc.strerror or exc})"
        ) from None
    try:
        yield staging
        unmark_own_folder(staging)  # it becomes the user's folder
        entries = sorted(os.listdir(staging))
        paths = sorted(_paths_under(staging))
        (staging / MARKER).write_text(
            json.dumps({"celeba_export": MARKER_VERSION, **marker, "entries": entries, "paths": paths}, indent=2)
            + "\n",
            encoding="utf-8",
        )
        os.chmod(staging, 0o755 & ~_umask())
        _move_into_place(staging, destination)
    except OSError as exc:
        raise CelebaError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _staging_prefixes(path: Path) -> tuple[str, str]:
    """The name starts of the hidden folders an export to `path` builds in and moves the old one to."""
    return f".{path.name}.celeba-export-", f".{path.name}.celeba-old-"


def _move_into_place(staging: Path, destination: Destination) -> None:
    from celeba_tui.atomic import mark_own_folder, process_prefix

    path = destination.path
    if not destination.replaces:
        os.rename(staging, path)  # replaces a missing or empty folder; fails on a non-empty one
        return
    old = Path(tempfile.mkdtemp(prefix=process_prefix(_staging_prefixes(path)[1]), dir=path.parent))
    try:
        mark_own_folder(old)
        os.rename(path, old / "export")
        # Checked again now that nobody can add to it: a file put into the old export while this
        # one was built (notes) is the user's, and is never removed with it.
        added = sorted(_paths_under(old / "export") - destination.written)
        if added:
            raise CelebaError(
                f"cannot replace the export in {path}: {added[0]!r} was put into it while this export ran, "
                "and the export did not write it; move that away and export again"
            )
        os.rename(staging, path)
    except BaseException:  # refused, failed, or Ctrl-C / SIGTERM in between: the old export goes back
        if os.path.lexists(old / "export"):
            os.rename(old / "export", path)  # should this fail too, the next export to DIR puts it back
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)  # unlinks the old links, never follows them


def _put_back_an_interrupted_replacement(path: Path) -> None:
    """An export killed (kill -9) between moving DIR's previous export aside and putting the
    new one in place left DIR missing and the previous export in a hidden folder beside it:
    put it back, so DIR is as it was before that export."""
    from celeba_tui.atomic import is_own_folder, left_by_gone_processes, own_folder_pattern

    if os.path.lexists(path):
        return
    for entry in left_by_gone_processes(path.parent, own_folder_pattern(_staging_prefixes(path)[1])):
        held = Path(entry.path)
        try:
            if is_own_folder(held) and (held / "export").is_dir() and not (held / "export").is_symlink():
                os.rename(held / "export", path)
                shutil.rmtree(held, ignore_errors=True)
                return
        except OSError:
            continue


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
