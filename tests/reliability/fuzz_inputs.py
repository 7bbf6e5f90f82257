"""Generated label files for every importer, and the property each must satisfy.

Shared by tests/reliability/test_fuzz_importers.py (a few dozen inputs per importer, in the
default run) and benchmarks/fuzz.py (10,000 per importer). The property: an input either
imports or raises CelebaError with a one-line message, and a refused input leaves the store
as it was.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

from celeba_tui.errors import CelebaError
from celeba_tui.formats.importing import import_labels

HUGE = "a" * 140_000  # over the csv module's 131,072-character field limit
# Each pool: values an import accepts, then values it must refuse or take with care. Cells
# are drawn from the first part most of the time, so that a fair share of files import.
NAMES = (
    [
        "000001.jpg",
        "000002.jpg",
        "a/b.png",
        "\u00e9.jpg",
        "x,y",
        'q"d.jpg',
        "new\nline.jpg",
        "cr\rname.jpg",
        "'=f.jpg",
        "=cmd|' /C calc'!A0",
        "[/bold].jpg",
        " lead.jpg",
        "esc\x1b[31m.jpg",
    ],
    ["", " "],
)
TASKS = (["light", "orientation"], ["mood", "", "LIGHT"])
CLASSES = (["left", "center", "right"], ["up", "", "Left"])
ANNOTATORS = (["alice", "bob", "o'brien, j"], ["", "=evil", "merge:x", "tab\tname", "a\x1b]0;t\x07b"])
SOURCES = (["human", "review", "model", "import"], ["", "robot"])
CONFIDENCES = (["", "0", "1", "0.5", "-0", " 0.25 "], ["inf", "-inf", "nan", "-5", "7", "1e400", "abc"])
OPTIONAL = ["annotator", "source", "confidence", "model", "time"]
POOLS = {
    "image": NAMES,
    "task": TASKS,
    "label": CLASSES,
    "annotator": ANNOTATORS,
    "source": SOURCES,
    "confidence": CONFIDENCES,
    "model": (["m1", ""], ["=m"]),
    "time": (["", "0", "1.7e9"], ["x"]),
}
NEWLINES = st.sampled_from(["\n", "\r\n", "\r"])
ANNOTATOR_ARG = st.sampled_from([None, "fuzz"])
MOSTLY = st.sampled_from([True] * 9 + [False])
RARELY = st.sampled_from([True] + [False] * 29)


def quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


@st.composite
def value(draw, pool: tuple[list, list]):
    good, bad = pool
    return draw(st.sampled_from(good if draw(MOSTLY) or not bad else bad))


@st.composite
def cell_text(draw, pool: tuple[list[str], list[str]]) -> str:
    """A value as a CSV cell: quoted where the csv module would (mostly), rarely bare,
    huge or broken."""
    if draw(RARELY):
        return draw(st.sampled_from([HUGE, quote(HUGE), '"open', 'a"b']))
    cell = draw(value(pool))
    needs = any(c in cell for c in ',"\r\n') or cell != cell.strip()
    return quote(cell) if needs and draw(MOSTLY) or not draw(MOSTLY) else cell


ONEHOT_CELLS = ["0.1", "1.1", "2", "", " ", "x", "1.0", "-1", "inf", "nan", "0.0", "0, 1"]


@st.composite
def onehot_files(draw) -> str:
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        classes = [draw(st.integers(0, 2)) for _ in range(2)]
        cells = [str(int(i == c)) for c in classes for i in range(3)]
        if draw(RARELY):
            del cells[draw(st.integers(0, 5)) :][: draw(st.integers(0, 1))]
            cells.insert(draw(st.integers(0, len(cells))), draw(st.sampled_from(ONEHOT_CELLS)))
        rows.append([draw(cell_text(NAMES)), *cells])
    newline = draw(NEWLINES)
    return newline.join(",".join(row) for row in rows) + draw(st.sampled_from([newline, ""]))


@st.composite
def long_files(draw) -> str:
    header = list(draw(st.permutations(["image", "task", "label"])))
    if not draw(MOSTLY):
        header.pop()
    header += draw(st.lists(st.sampled_from(OPTIONAL), max_size=3, unique=True))
    if not draw(MOSTLY):
        header.append(draw(st.sampled_from(["label", "bogus", "image"])))
    rows = []
    for _ in range(draw(st.integers(0, 6)) if draw(RARELY) else draw(st.integers(1, 6))):
        cells = [draw(cell_text(POOLS.get(column, (["x"], [])))) for column in header]
        rows.append(cells[:-1] if draw(RARELY) else cells)
    newline = draw(NEWLINES)
    lines = [",".join(header), *(",".join(cells) for cells in rows)]
    return draw(st.sampled_from(["", "\ufeff"])) + newline.join(lines) + newline


PARQUET_VALUES = {
    "text": lambda column: value((POOLS.get(column, (["x"], []))[0], [None, *POOLS.get(column, ([], []))[1]])),
    "float": lambda column: value(([0.0, 1.0, 0.5, math.nan, None], [math.inf, -math.inf, -5.0, 7.0])),
    "int": lambda column: st.sampled_from([0, 1, 7, -1]),
    "bytes": lambda column: st.sampled_from([b"000001.jpg", b"\xff"]),
}


@st.composite
def parquet_files(draw) -> bytes:
    columns = draw(st.lists(st.sampled_from(["image", "task", "label", *OPTIONAL, "bogus"]), unique=True, max_size=7))
    columns = (["image", "task", "label"] if draw(MOSTLY) else []) + [
        c for c in columns if c not in ("image", "task", "label")
    ]
    rows = draw(st.integers(0, 5)) if draw(RARELY) else draw(st.integers(1, 5))
    data = {}
    for column in columns:
        kind = "text" if draw(MOSTLY) else draw(st.sampled_from(["float", "int", "bytes"]))
        kind = "float" if column == "confidence" and draw(MOSTLY) else kind
        data[column] = pd.Series([draw(PARQUET_VALUES[kind](column)) for _ in range(rows)], dtype=object)
    buffer = io.BytesIO()
    pd.DataFrame(data, index=range(rows)).to_parquet(buffer, index=False)
    return buffer.getvalue()


def store_state(store) -> tuple:
    """What a refused import must leave as it was (the history is append-only)."""
    return store.last_label_id(), store.image_count(present_only=False), tuple(store.annotators())


def attempt(store, workspace, path: Path, annotator: str | None = "fuzz") -> bool:
    """Import `path`: True if imported; False if refused with one clear line and nothing written."""
    before = store_state(store)
    try:
        import_labels(store, workspace, path, annotator=annotator)
    except CelebaError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc), f"a multi-line error: {exc!r}"
        assert store_state(store) == before, "a refused import wrote something"
        return False
    return True


TXT_TOKENS = ["000001.jpg", "000002.jpg", "1", "-1", "2", "0", "x", "\u00b2", "1.5", "Smiling", "Male", "lefteye_x", ""]


@st.composite
def celeba_txt_files(draw) -> str:
    """CelebA's whitespace-separated files: a count line, a header, `name value ...` rows (or not)."""
    lines = draw(st.lists(st.lists(st.sampled_from(TXT_TOKENS), max_size=4), max_size=6))
    separator = draw(st.sampled_from([" ", "  ", "\t"]))
    return draw(NEWLINES).join(separator.join(tokens) for tokens in lines)


def read_celeba_txt(path: Path, text: str) -> bool:
    """Read `text` as an attribute table and as a partition file: True if both read it,
    False if either refused it with one clear line."""
    from celeba_tui.formats.celeba_txt import read_celeba_table, read_partition

    path.write_bytes(text.encode())
    try:
        read_celeba_table(path)
        read_partition(path)
    except CelebaError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc), f"a multi-line error: {exc!r}"
        return False
    return True
