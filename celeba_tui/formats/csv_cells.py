"""CSV cells as this tool writes and reads them, shared by the one-hot and long formats.

One set of rules on both sides, so that any name a store can hold survives export then
import:

- Writing quotes a cell where the csv module would (comma, quote, line feed) and also
  where it would not but reading needs it: a carriage return (left bare with "\\n" line
  ends, then read as a line break) and surrounding whitespace (stripped from bare cells).
- Reading strips whitespace around bare cells (hand-written `a.jpg, light, left`) and
  keeps quoted cells verbatim.
- Spreadsheets run a cell that starts with `=`, `+`, `-`, `@`, tab or CR as a formula
  (OWASP's "CSV injection"). Writing prefixes such cells with `'` unless asked for raw
  cells; to keep the round trip exact, a cell that is already `'`s followed by such a
  character gets one more `'`. Reading removes one `'` from a cell of that shape, so a
  neutralised export imports as the names it came from.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from celeba_tui.annotator_names import shown_name
from celeba_tui.errors import FormatError

FORMULA_START = "=+-@\t\r"
_NEEDS_PREFIX = re.compile(f"^'*[{re.escape(FORMULA_START)}]")
_PREFIXED = re.compile(f"^'+[{re.escape(FORMULA_START)}]")


def text_cells(column: pd.Series, *, raw: bool = False) -> tuple[list[str], np.ndarray]:
    """A column's cells as text (missing values empty), neutralised unless `raw`, and
    whether each needs quoting beyond what the csv module does (see `needs_quotes`).

    Works on the distinct values (a label column holds a handful in 400,000 rows), which
    makes a long export about three times faster than going through every cell.
    """
    codes, distinct = pd.factorize(column, use_na_sentinel=True)
    texts = [str(value) for value in np.asarray(distinct, dtype=object)]
    if not raw:
        texts = [neutralise(text) for text in texts]
    quotes = np.array([needs_quotes(text) for text in texts] + [False], dtype=bool)
    # Code -1 (a missing value) takes the appended empty cell.
    return np.array(texts + [""], dtype=object)[codes].tolist(), quotes[codes]


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, prefixed with `'` (see the module)."""
    return "'" + cell if _NEEDS_PREFIX.match(cell) else cell


def restore(cell: str) -> str:
    """The cell a neutralised export was written from (the inverse of `neutralise`)."""
    return cell[1:] if _PREFIXED.match(cell) else cell


def needs_quotes(cell: str) -> bool:
    """A cell the csv module would leave bare but reading would change: CR, surrounding space."""
    return "\r" in cell or cell.strip() != cell


def write_rows(handle, rows: Iterable[Sequence], quote_all: np.ndarray) -> None:
    """Write rows with "\\n" line ends; rows flagged in `quote_all` have every cell quoted.

    Quoting whole rows keeps the csv module in charge of escaping; only rows holding a
    cell that `needs_quotes` are affected, so ordinary files stay as bare as the study's.
    """
    minimal = csv.writer(handle, lineterminator="\n")
    if not quote_all.any():
        minimal.writerows(rows)
        return
    every = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for row, quoted in zip(rows, quote_all):
        (every if quoted else minimal).writerow(row)


def write_frame(handle, frame: pd.DataFrame) -> None:
    """A table with a header row under these rules: text columns neutralised and quoted
    where reading needs it, numbers as they are, missing values empty. For the files
    other commands write (autolabel's reports and ensemble files)."""
    quote = np.zeros(len(frame), dtype=bool)
    columns = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            columns.append(column.astype(object).where(column.notna(), "").tolist())
        else:
            cells, quoted = text_cells(column)
            columns.append(cells)
            quote |= quoted
    header = [neutralise(str(name)) for name in frame.columns]
    write_rows(handle, [header], np.array([any(needs_quotes(h) for h in header)]))
    write_rows(handle, zip(*columns), quote)


def read_records(text: str, path) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) for each CSV record, blank lines included as [].

    Line breaks may be LF, CRLF or CR alone; a quoted cell may span lines. Cells are
    stripped unless quoted and un-neutralised (see the module). A record the csv module
    refuses (a cell over its field size limit) is a FormatError naming its line.
    """
    handle = io.StringIO(text, newline="")
    taken: list[str] = []

    def lines() -> Iterator[str]:
        for line in handle:
            taken.append(line)
            yield line

    reader = csv.reader(lines())
    apostrophes = "'" in text
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise FormatError(path, _csv_problem(exc), reader.line_num) from None
        start = reader.line_num - len(taken) + 1
        stripped = [cell.strip() for cell in row]
        if stripped != row:
            quoted = quoted_cells("".join(taken))
            stripped = [cell if q else bare for cell, bare, q in zip(row, stripped, quoted)]
        taken.clear()
        yield start, [restore(cell) for cell in stripped] if apostrophes else stripped


def quoted_cells(record: str) -> list[bool]:
    """Which cells of one raw CSV record (the csv module's default dialect) were quoted.

    Follows the csv module's reading: a cell is quoted when its first character is `"`;
    it ends at the next `"` not doubled, and whatever follows up to the comma belongs to it.
    """
    flags, i = [], 0
    while True:
        quoted = record.startswith('"', i)
        flags.append(quoted)
        if quoted:
            i += 1
            while True:
                close = record.find('"', i)
                if close < 0:
                    return flags
                i = close + 1
                if not record.startswith('"', i):
                    break
                i += 1
        comma = record.find(",", i)
        if comma < 0:
            return flags
        i = comma + 1


def shown(name: str, limit: int = 60) -> str:
    """A name for an error message: as it is when plain, else its repr, so that a message
    stays one line and no terminal escape in a name reaches the terminal; cut to `limit`
    characters (attack pass 39: a 100,000-character name made a 100 kB line)."""
    if not (name.isprintable() and name == name.strip()):
        return shown_name(name, limit)
    return name if len(name) <= limit else name[: limit - 3] + "..."


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a cell is longer than {csv.field_size_limit():,} characters"
    return f"not valid CSV ({exc})"
