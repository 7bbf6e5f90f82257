"""Image names another tool wrote as paths: `--strip-prefix`, and telling such a file apart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from celeba_tui.errors import FormatError


def strip_name_prefix(path: Path, names: pd.Series, prefix: str) -> pd.Series:
    """The names without `prefix` where they start with it; a FormatError when none does,
    or when a name is nothing but the prefix."""
    has = names.str.startswith(prefix)
    if not has.any():
        raise FormatError(path, f"no image name starts with --strip-prefix {prefix!r} (the first is {names.iloc[0]!r})")
    stripped = names.where(~has, names.str.slice(len(prefix)))
    if (stripped == "").any():
        raise FormatError(path, f"an image name is --strip-prefix {prefix!r} itself, nothing after it")
    return stripped


def misplaced_names(names: set[str], known: set[str]) -> tuple[str, str] | None:
    """A name of a file none of whose names is an image of the workspace, that ends with
    the path of one that is (`/data/celeba/000001.jpg` for `000001.jpg`), and that image's
    name: a file written with paths, whose labels would all go to images that never
    arrive. None when the file names some image as the workspace does, or none that way."""
    if not names or not names.isdisjoint(known):
        return None
    for name in sorted(names):
        parts = name.replace("\\", "/").split("/")
        for start in range(1, len(parts)):
            tail = "/".join(parts[start:])
            if tail in known:
                return name, tail
    return None
