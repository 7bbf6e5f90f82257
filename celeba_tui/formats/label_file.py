"""What every label file shares, whatever its format: its text, and one label per key.

One-hot CSV, long CSV, Parquet and CelebA's text files each parse their own layout;
reading the file and refusing an image given two different labels are done here once,
with one wording.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd

from celeba_tui.errors import FormatError
from celeba_tui.formats.csv_cells import shown

# Rows one import reads at most (a store's tables, a Parquet file): CelebA's 200,000 images
# x 2 tasks x several annotators fit; a few KB of compressed rows claiming more are refused unread.
MAX_IMPORT_ROWS = 5_000_000


def regular_file_info(path: Path) -> os.stat_result:
    """A label file's stat; FormatError unless it is a regular file (reading a FIFO blocks
    for ever, a device may never end)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise FormatError(path, "a folder, not a label file" if stat.S_ISDIR(info.st_mode) else "not a regular file")
    return info


def read_text(path: Path) -> str:
    """A label file's text; FormatError when it is missing, unreadable or binary."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({exc.strerror})") from None
    if b"\x00" in raw[:8192]:
        raise FormatError(path, "not a text/CSV file (binary content)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FormatError(path, "not UTF-8 text", line) from None


def refuse_conflicting_labels(frame: pd.DataFrame, key: list[str], path: Path, line_word: str = "line") -> pd.DataFrame:
    """One row per `key` + label (a repeated row is kept once); the same key with two
    different labels is a FormatError naming both lines. Drops the `_line` column."""
    distinct = frame.drop_duplicates(key + ["label"])
    clash = distinct.duplicated(key, keep=False)
    if clash.any():
        rows = distinct[clash].sort_values("_line")
        same_key = rows[key].map(repr).agg("\x1f".join, axis=1)  # repr: a missing model is text too
        pair = rows[same_key == same_key.iloc[0]]
        first, other = pair.iloc[0], pair.iloc[1]
        raise FormatError(
            path,
            f"{shown(first['image'])} has two different {first['task']} labels in this file "
            f"({first['label']} on {line_word} {first['_line']}, {other['label']} here)",
            int(other["_line"]),
        )
    return distinct.drop(columns="_line").reset_index(drop=True)
