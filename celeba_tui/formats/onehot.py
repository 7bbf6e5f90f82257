"""The study's one-hot CSV: `name, light_L, light_C, light_R, orient_L, orient_C, orient_R`.

The study's files have no header, but its program read them back with pandas' default
header and wrote them out again, so the first line is a data row whose repeated values
pandas renamed (`000313.jpg,1,0,0.1,0.2,1.1,0.3`: the part before the dot is the
value). That first line is data and is never dropped.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.errors import FormatError
from celeba_tui.workspace import Task

# A first-line cell renamed by pandas' header de-duplication: "0.1", "1.2"...
_MANGLED_HEADER_CELL = re.compile(r"^([01])\.\d+$")


def onehot_columns(tasks: tuple[Task, ...]) -> list[str]:
    return ["image"] + [f"{t.name}_{c}" for t in tasks for c in t.classes]


def read_onehot(path: Path, tasks: tuple[Task, ...], text: str | None = None) -> pd.DataFrame:
    """Read a one-hot file into long form (image, task, label); FormatError on any bad line."""
    path = Path(path)
    if text is None:
        text = read_text(path)
    width = 1 + sum(len(t.classes) for t in tasks)
    rows = list(csv.reader(io.StringIO(text)))
    lines = list(range(1, len(rows) + 1))
    if not all(rows):  # blank lines: skip them but keep line numbers right
        lines = [i + 1 for i, r in enumerate(rows) if r and any(cell.strip() for cell in r)]
        rows = [r for r in rows if r and any(cell.strip() for cell in r)]
    if not rows:
        raise FormatError(path, "no labels in file")
    for line, row in zip(lines, rows):
        if len(row) != width:
            raise FormatError(
                path, f"expected {width} columns (name + one-hot per task), found {len(row)}", line
            )
    names = np.array([r[0].strip() for r in rows], dtype=object)
    values = _cell_values(np.array([r[1:] for r in rows], dtype=str), path, lines)
    empty = np.flatnonzero(names == "")
    if empty.size:
        raise FormatError(path, "empty image name", lines[empty[0]])

    frames = []
    offset = 0
    line_numbers = np.array(lines)
    for task in tasks:
        block = values[:, offset : offset + len(task.classes)]
        offset += len(task.classes)
        not_onehot = np.flatnonzero(block.sum(axis=1) != 1)
        if not_onehot.size:
            i = not_onehot[0]
            raise FormatError(
                path,
                f"{task.name} is not one-hot ({','.join(map(str, block[i]))} for {names[i]})",
                int(line_numbers[i]),
            )
        labels = np.array(task.classes, dtype=object)[block.argmax(axis=1)]
        frames.append(pd.DataFrame({"image": names, "task": task.name, "label": labels, "_line": line_numbers}))
    long = pd.concat(frames, ignore_index=True)
    return drop_same_duplicates(long, path)


def drop_same_duplicates(long: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Keep one row per (image, task); the same image with different labels is an error."""
    distinct = long.drop_duplicates(["image", "task", "label"])
    clash = distinct.duplicated(["image", "task"], keep=False)
    if clash.any():
        rows = distinct[clash].sort_values("_line")
        first = rows.iloc[0]
        other = rows[(rows["image"] == first["image"]) & (rows["task"] == first["task"])].iloc[1]
        raise FormatError(
            path,
            f"{first['image']} appears twice with different {first['task']} labels "
            f"({first['label']} on line {first['_line']}, {other['label']} here)",
            int(other["_line"]),
        )
    return distinct.drop(columns="_line").reset_index(drop=True)


def _cell_values(cells: np.ndarray, path: Path, lines: list[int]) -> np.ndarray:
    """Parse the 0/1 cells (vectorised); the first line may carry pandas' renamed cells."""
    cells = np.char.strip(cells)
    ones = np.isin(cells, ["1", "1.0"])
    valid = ones | np.isin(cells, ["0", "0.0"])
    for j, cell in enumerate(cells[0]):
        match = _MANGLED_HEADER_CELL.match(cell)
        if not valid[0, j] and match:
            valid[0, j], ones[0, j] = True, match.group(1) == "1"
    if not valid.all():
        i, j = np.argwhere(~valid)[0]
        raise FormatError(path, f"value {cells[i, j]!r} is not 0 or 1", lines[i])
    return ones.astype(np.int8)


def write_onehot(labels: pd.DataFrame, out, tasks: tuple[Task, ...]) -> int:
    """Write long-form labels (image, task, label) as one-hot rows without a header.

    Only images with a label for every task are written (the format has no empty
    cells); returns the number of rows written. `out` is a path or a text stream.
    """
    wide = labels.pivot_table(index="image", columns="task", values="label", aggfunc="first")
    task_names = [t.name for t in tasks]
    for name in task_names:
        if name not in wide:
            wide[name] = None
    wide = wide[task_names].dropna().sort_index()
    blocks = [wide.index.to_numpy().astype(str).reshape(-1, 1)]
    for task in tasks:
        codes = wide[task.name].map({c: i for i, c in enumerate(task.classes)}).to_numpy(dtype=int)
        blocks.append(np.eye(len(task.classes), dtype=int)[codes].astype(str))
    table = np.hstack(blocks) if len(wide) else np.empty((0, 1 + sum(len(t.classes) for t in tasks)))
    text = "".join(",".join(row) + "\n" for row in table)
    if hasattr(out, "write"):
        out.write(text)
    else:
        from celeba_tui.workspace import write_text_atomic

        write_text_atomic(Path(out), text)
    return len(wide)


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
