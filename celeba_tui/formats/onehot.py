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

from celeba_tui.errors import CelebaError, FormatError
from celeba_tui.formats.csv_cells import read_records, shown, text_cells, write_rows
from celeba_tui.formats.import_names import strip_name_prefix
from celeba_tui.formats.label_file import read_text, refuse_conflicting_labels
from celeba_tui.workspace import Task, onehot_column_clash

# A first-line cell renamed by pandas' header de-duplication: "0.1", "1.2"...
_MANGLED_HEADER_CELL = re.compile(r"^([01])\.\d+$")
# A cell that is a value, if not always a valid one (a header has none of these).
_MAYBE_VALUE = re.compile(r"^[-+]?\d")


def onehot_columns(tasks: tuple[Task, ...]) -> list[str]:
    return ["image"] + [f"{t.name}_{c}" for t in tasks for c in t.classes]


def onehot_width_hint(width: int, tasks: tuple[Task, ...]) -> str:
    """For a one-hot row of `width` cells that is not the width of every task: "; ..." naming
    the `-t` options of the tasks (in config order) whose columns it would fit (a file written
    before a task was added), the most tasks first; "" when none fits (or tasks are many)."""
    from itertools import combinations

    if len(tasks) > 12:
        return ""
    if width == 1 + sum(len(t.classes) for t in tasks):
        return f"; {width} columns are an image name and the one-hot columns of every task: import it without -t"
    fits = [
        " ".join(f"-t {t.name}" for t in chosen)
        for size in range(len(tasks) - 1, 0, -1)
        for chosen in combinations(tasks, size)
        if 1 + sum(len(t.classes) for t in chosen) == width
    ]
    if not fits:
        return ""
    return f"; {width} columns are an image name and the one-hot columns of some tasks: import with " + " or ".join(
        f"`{options}`" for options in fits[:3]
    )


def looks_like_header(cells: list[str]) -> bool:
    """Whether a one-hot file's first record reads as a header: no cell after the image's
    starts like a number."""
    return len(cells) > 1 and not any(_MAYBE_VALUE.match(cell.strip()) for cell in cells[1:])


def unmatched_header(cells: list[str], tasks: tuple[Task, ...]) -> str:
    """Why a one-hot header that `header_tasks` does not read is refused, and what it takes."""
    return (
        f"a header the workspace's tasks do not match: {','.join(cells)[:120]!r} (expected "
        f"{','.join(onehot_columns(tasks))}, or the columns of some of the tasks, each task's "
        "classes in the config's order)"
    )


def header_tasks(cells: list[str], tasks: tuple[Task, ...]) -> tuple[Task, ...] | None:
    """The tasks a one-hot header names (`image,orientation_left,...`, as `export --format
    onehot --header` writes it, for some of the tasks too, in any task order), or None
    when `cells` is not such a header."""
    if not cells or cells[0] != "image":
        return None
    named, at = [], 1
    while at < len(cells):
        task = next(
            (t for t in tasks if t not in named and cells[at : at + len(t.classes)] == onehot_columns((t,))[1:]),
            None,
        )
        if task is None:
            return None
        named.append(task)
        at += len(task.classes)
    return tuple(named) or None


def read_onehot(
    path: Path,
    tasks: tuple[Task, ...],
    text: str | None = None,
    strip_prefix: str | None = None,
    every_task: tuple[Task, ...] | None = None,
) -> pd.DataFrame:
    """Read a one-hot file into long form (image, task, label); FormatError on any bad line.

    Without a header its columns are `tasks`'; a first line that is a header naming some of
    `every_task` (the workspace's, default `tasks`; `header_tasks`) reads those. A first
    line of another width names the tasks whose columns it would fit. `strip_prefix` comes
    off the image names first (formats.import_names)."""
    path = Path(path)
    every_task = every_task or tasks
    clash = onehot_column_clash(every_task)
    if clash:  # attack pass 36: a round trip moved labels from one task to the other
        raise FormatError(path, f"one-hot cannot tell these tasks apart: {clash}")
    if text is None:
        text = read_text(path)
    first = next((row for _, row in read_records(text, path) if any(row)), None) or []
    named = header_tasks(first, every_task)
    if named:
        tasks = named
    elif looks_like_header(first):
        raise FormatError(path, unmatched_header(first, every_task), 1)
    width = 1 + sum(len(t.classes) for t in tasks)
    plain = _parse_plain(text, width, path)
    if plain is not None:
        names, values = plain
        lines = range(1, len(names) + 1)
    else:
        names, values, lines = _parse_any(text, width, path, tasks, every_task)
    if strip_prefix is not None:
        names = strip_name_prefix(path, pd.Series(names, dtype=object), strip_prefix).to_numpy(dtype=object)

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
                f"{task.name} is not one-hot ({','.join(map(str, block[i]))} for {shown(names[i])})",
                int(line_numbers[i]),
            )
        labels = np.array(task.classes, dtype=object)[block.argmax(axis=1)]
        frames.append(pd.DataFrame({"image": names, "task": task.name, "label": labels, "_line": line_numbers}))
    long = pd.concat(frames, ignore_index=True)
    if len(set(names)) == len(names):  # no image twice: nothing to drop or to check
        return long.drop(columns="_line")
    return refuse_conflicting_labels(long, ["image", "task"], path)


def _parse_any(
    text: str, width: int, path: Path, tasks: tuple[Task, ...], every_task: tuple[Task, ...]
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Names, 0/1 values and line numbers of any CSV text of `tasks`' columns; FormatError
    naming the first bad line (a first line of another width: which of `every_task` it
    would fit).

    A first record that is their header (what `write_onehot(header=True)` writes) is skipped.
    """
    header = onehot_columns(tasks)
    records = [(line, row) for line, row in read_records(text, path) if any(row)]  # blank lines skipped
    if records and records[0][1] == header:
        records = records[1:]
    if not records:
        raise FormatError(path, "no labels in file")
    for line, row in records:
        if len(row) != width:
            raise FormatError(
                path,
                f"expected {width} columns (name + one-hot per task), found {len(row)}"
                + (onehot_width_hint(len(row), every_task) if line == records[0][0] else ""),
                line,
            )
    lines = [line for line, _ in records]
    names = np.array([row[0] for _, row in records], dtype=object)
    values = _cell_values(np.array([row[1:] for _, row in records], dtype=str), path, lines)
    empty = np.flatnonzero(names == "")
    if empty.size:
        raise FormatError(path, "empty image name", lines[empty[0]])
    return names, values, lines


def _parse_plain(text: str, width: int, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """Names and 0/1 values of a clean file, or None to leave it to `_parse_any`.

    Clean: no quotes or apostrophes (a neutralised cell), no blank lines, no name
    over the csv module's field limit, and from the second line on every row is a
    name followed by bare 0/1 cells, as the study's files and this tool's exports
    of ordinary names are. Those rows are checked as bytes, about five times faster
    than the csv module; anything else (including every error) takes the general
    path, so both give the same result for a file this one accepts.
    """
    if '"' in text or "'" in text or "\x00" in text:
        return None
    text = text.replace("\r\n", "\n")
    if "\r" in text:
        return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        return None
    cells = [line.partition(",") for line in lines]
    names = np.array([c[0].strip() for c in cells], dtype=object)
    if not names.all():  # an empty name: the general path reports it
        return None
    if len(text) > csv.field_size_limit() and max(map(len, names)) > csv.field_size_limit():
        return None
    span = 2 * (width - 1) - 1  # "1,0,0,0,1,0"
    body = "".join([c[2] for c in cells[1:]])
    if len(body) != span * (len(lines) - 1) or not body.isascii():
        return None
    chars = np.frombuffer(body.encode("ascii"), dtype=np.uint8).reshape(len(lines) - 1, span)
    digits = chars[:, 0::2]
    if not (chars[:, 1::2] == ord(",")).all() or not ((digits == ord("0")) | (digits == ord("1"))).all():
        return None
    first = cells[0][2].split(",")
    if cells[0][1] != "," or len(first) != width - 1:
        return None
    try:  # the first line may carry pandas' renamed header cells
        first_values = _cell_values(np.array([first], dtype=str), path, [1])
    except FormatError:
        return None
    return names, np.vstack([first_values, (digits == ord("1")).astype(np.int8)])


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
        raise FormatError(path, f"value {str(cells[i, j])!r} is not 0 or 1", lines[i])
    return ones.astype(np.int8)


def write_onehot(
    labels: pd.DataFrame, out, tasks: tuple[Task, ...], *, raw_cells: bool = False, header: bool = False
) -> int:
    """Write long-form labels (image, task, label) as one-hot rows, without a header
    (the study's layout) unless `header` (`onehot_columns`, which `read_onehot` skips).

    Only images with a label for every task are written (the format has no empty
    cells); returns the number of rows written. `out` is a path or a text stream.
    Names are quoted where needed and, unless `raw_cells`, neutralised against
    spreadsheet formulas (see `csv_cells`).
    """
    clash = onehot_column_clash(tasks)
    if clash:  # its header could not be read back as the tasks it was written from
        raise CelebaError(f"one-hot cannot tell these tasks apart: {clash}; export them one at a time (-t TASK)")
    wide = labels.pivot_table(index="image", columns="task", values="label", aggfunc="first")
    task_names = [t.name for t in tasks]
    for name in task_names:
        if name not in wide:
            wide[name] = None
    wide = wide[task_names].dropna().sort_index()
    names, quotes = text_cells(wide.index.to_series(), raw=raw_cells)
    columns = [names]
    for task in tasks:
        codes = wide[task.name].map({c: i for i, c in enumerate(task.classes)}).to_numpy(dtype=int)
        columns += np.eye(len(task.classes), dtype=int).astype(str)[codes].T.tolist()
    rows = zip(*columns)
    buffer = io.StringIO()
    if header:
        buffer.write(",".join(onehot_columns(tasks)) + "\n")
    write_rows(buffer, rows, quotes)
    if hasattr(out, "write"):
        out.write(buffer.getvalue())
    else:
        from celeba_tui.workspace import write_text_atomic

        write_text_atomic(Path(out), buffer.getvalue())
    return len(wide)
