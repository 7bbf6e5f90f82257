"""CelebA's whitespace-separated annotation files.

`list_attr_celeba.txt` and `list_landmarks_align_celeba.txt` start with a count line and
a header line of column names, then `name value value ...` rows.
`list_eval_partition.txt` has neither: `name partition` rows (0 train, 1 val, 2 test).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from celeba_tui.errors import FormatError
from celeba_tui.formats.label_file import read_text

LANDMARK_COLUMNS = [
    "lefteye_x",
    "lefteye_y",
    "righteye_x",
    "righteye_y",
    "nose_x",
    "nose_y",
    "leftmouth_x",
    "leftmouth_y",
    "rightmouth_x",
    "rightmouth_y",
]


def read_celeba_table(path: Path) -> pd.DataFrame:
    """Read an attribute or landmark file into a frame indexed by image name."""
    lines = [line.split() for line in read_text(path).splitlines()]
    lines = [(i + 1, parts) for i, parts in enumerate(lines) if parts]
    if len(lines) < 2:
        raise FormatError(path, "expected a count line and a header line")
    (count_line, count), (_, header) = lines[0], lines[1]
    if len(count) != 1 or not count[0].isdecimal():  # isdigit() takes "²", which int() refuses
        raise FormatError(path, "first line must be the number of images", count_line)
    names, rows = [], []
    for number, parts in lines[2:]:
        if len(parts) != len(header) + 1:
            raise FormatError(path, f"expected {len(header) + 1} fields, found {len(parts)}", number)
        try:
            rows.append([int(v) for v in parts[1:]])
        except ValueError:
            raise FormatError(path, "values must be integers", number) from None
        names.append(parts[0])
    if len(names) != int(count[0]):
        raise FormatError(path, f"count line says {count[0]} images but the file lists {len(names)}", count_line)
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(names, name="image"))
    return frame


def read_partition(path: Path) -> pd.Series:
    """Read `list_eval_partition.txt` into a Series image -> 0/1/2."""
    names, values = [], []
    for number, line in enumerate(read_text(path).splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in {"0", "1", "2"}:
            raise FormatError(path, "expected `name partition` with partition 0, 1 or 2", number)
        names.append(parts[0])
        values.append(int(parts[1]))
    return pd.Series(values, index=pd.Index(names, name="image"), name="partition")


def write_celeba_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame indexed by image name in CelebA's count + header layout."""
    widths = max(len(str(v)) for v in frame.to_numpy().ravel()) if len(frame) else 1
    lines = [str(len(frame)), " ".join(frame.columns)]
    for name, row in zip(frame.index, frame.to_numpy()):
        lines.append(name + " " + " ".join(str(v).rjust(widths) for v in row))
    Path(path).write_text("\n".join(lines) + "\n", encoding="ascii")


def write_partition(partition: pd.Series, path: Path) -> None:
    """Write `name partition` rows, CelebA's list_eval_partition.txt layout."""
    text = "".join(f"{name} {int(value)}\n" for name, value in partition.items())
    Path(path).write_text(text, encoding="ascii")
