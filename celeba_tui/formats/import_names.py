"""Image names another tool wrote as paths: `--strip-prefix`, and telling such a file apart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import ascii_letters

import pandas as pd

from celeba_tui.errors import FormatError


def strip_name_prefix(path: Path, names: pd.Series, prefix: str) -> pd.Series:
    """The names without `prefix` where they start with it; a FormatError when none does,
    or when a name is nothing but the prefix."""
    if not prefix:
        raise FormatError(path, "--strip-prefix needs the text to take off (it is empty)")
    has = names.map(lambda name: isinstance(name, str) and name.startswith(prefix)).astype(bool)
    if not has.any():
        raise FormatError(path, f"no image name starts with --strip-prefix {prefix!r} (the first is {names.iloc[0]!r})")
    stripped = names.where(~has, names.str.slice(len(prefix)))
    if (stripped == "").any():
        raise FormatError(path, f"an image name is --strip-prefix {prefix!r} itself, nothing after it")
    return stripped


@dataclass(frozen=True)
class PathNames:
    """A file's image names written as paths: one of them, and the `--strip-prefix` that
    would make it a name relative to the image root (None where nothing tells)."""

    name: str
    prefix: str | None
    absolute: bool  # never an image name: the import is refused, not warned about


def path_names(names: set[str], known: set[str]) -> PathNames | None:
    """Names written as paths: an absolute one (`/data/000001.jpg`, `C:\\data\\000001.jpg`), which
    no image of a root is named, or, in a file none of whose names is the workspace's, one
    that is a workspace image's name with folders in front (`img_align_celeba/000001.jpg`:
    a file of labels for images still to arrive looks the same, so that is only a hint).
    The prefix comes from the workspace's image the name ends with, else from the absolute
    name's folder. Pure."""
    maybe = [name for name in names if name[:1] in ("/", "\\") or name[1:2] == ":"]  # a cheap look: 200,000 names
    absolute = sorted(name for name in maybe if _is_absolute(name))
    disjoint = names.isdisjoint(known)
    for name in absolute + (sorted(names) if disjoint else []):
        image = next((image for image in _tails(name) if image in known), None)
        if image is not None:
            return PathNames(name, name[: len(name) - len(image)], _is_absolute(name))
    if absolute:
        name = absolute[0]
        folder = max(name.rfind("/"), name.rfind("\\"), name.find(":"))
        return PathNames(name, name[: folder + 1] if 0 < folder < len(name) - 1 else None, True)
    return None


def _is_absolute(name: str) -> bool:
    """`/x`, `\\x`, `\\\\server\\x`, `C:\\x`, `C:/x`, `C:x`: a path from a file system's (or a
    drive's) root, never relative to the image root. String tests, not a regular
    expression: 200,000 names. Drive letters are ASCII: `é:/x` is a folder's name."""
    return name.startswith(("/", "\\")) or (name[1:2] == ":" and name[:1] in ascii_letters)


def _tails(name: str):
    """The parts of `name` after each separator, longest first: as written, so the prefix
    taken off leaves exactly the workspace's name."""
    for at, char in enumerate(name):
        if char in "/\\" and at + 1 < len(name):
            yield name[at + 1 :]
