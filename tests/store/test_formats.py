import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celeba_tui.errors import FormatError
from celeba_tui.formats.celeba_txt import read_celeba_table, read_partition, write_celeba_table, write_partition
from celeba_tui.formats.long import read_long_csv
from celeba_tui.formats.onehot import read_onehot, write_onehot
from celeba_tui.workspace import DEFAULT_TASKS

CLASSES = ("left", "center", "right")


def independent_counts(path):
    """Per-task, per-class counts read with the csv module, first line included."""
    counts = {("light", c): 0 for c in CLASSES} | {("orientation", c): 0 for c in CLASSES}
    seen = {}
    with open(path, newline="") as handle:
        for row in csv.reader(handle):
            values = [int(float(v)) if "." not in v or v.endswith(".0") else int(v.split(".")[0]) for v in row[1:]]
            seen[row[0]] = values
    for values in seen.values():
        counts[("light", CLASSES[values[:3].index(1)])] += 1
        counts[("orientation", CLASSES[values[3:].index(1)])] += 1
    return counts, len(seen)


@pytest.mark.parametrize("name", ["study-labels-3683.csv", "study-labels-561.csv"])
def test_reference_files_import_exactly(reference_labels, name):
    path = reference_labels / name
    frame = read_onehot(path, DEFAULT_TASKS)
    expected, images = independent_counts(path)
    got = frame.groupby(["task", "label"]).size().to_dict()
    assert got == expected
    assert frame["image"].nunique() == images
    first = open(path).readline().split(",")[0]
    assert first in set(frame["image"])  # the pandas-mangled first line is data


def test_reference_counts_hand_checked(reference_labels):
    frame = read_onehot(reference_labels / "study-labels-561.csv", DEFAULT_TASKS)
    assert frame["image"].nunique() == 560  # 000301.jpg appears twice with the same labels
    first = frame[frame["image"] == "000301.jpg"].set_index("task")["label"].to_dict()
    assert first == {"light": "center", "orientation": "center"}


@pytest.mark.parametrize(
    "text, problem, line",
    [
        ("a.jpg,1,0,0,0,1,0\nb.jpg,1,1,0,0,1,0\n", "light is not one-hot", 2),
        ("a.jpg,1,0,0,0,1,0\nb.jpg,1,0,0,0,0,0\n", "orientation is not one-hot", 2),
        ("a.jpg,1,0,0,0,1,0\nb.jpg,1,0,0,0,1\n", "expected 7 columns", 2),
        ("a.jpg,1,0,0,0,1,0\n,1,0,0,0,1,0\n", "empty image name", 2),
        ("a.jpg,1,0,0,0,1,0\na.jpg,0,1,0,0,1,0\n", "has two different light labels in this file", 2),
        ("a.jpg,1,0,0,0,1,0\nb.jpg,1,0,0.1,0,1,0\n", "is not 0 or 1", 2),
        ("a.jpg,x,0,0,0,1,0\n", "is not 0 or 1", 1),
    ],
)
def test_onehot_errors_name_the_line(tmp_path, text, problem, line):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FormatError, match=problem) as info:
        read_onehot(path, DEFAULT_TASKS)
    assert info.value.line == line
    assert str(path) in str(info.value)


def test_onehot_round_trip(tmp_path):
    long = pd.DataFrame(
        {
            "image": ["a.jpg", "a.jpg", "b.jpg", "b.jpg", "c.jpg"],
            "task": ["light", "orientation"] * 2 + ["light"],
            "label": ["left", "center", "right", "left", "center"],
        }
    )
    out = io.StringIO()
    assert write_onehot(long, out, DEFAULT_TASKS) == 2  # c.jpg lacks orientation
    path = tmp_path / "x.csv"
    path.write_text(out.getvalue())
    back = read_onehot(path, DEFAULT_TASKS)
    expected = long[long["image"] != "c.jpg"].sort_values(["image", "task"], ignore_index=True)
    assert back.sort_values(["image", "task"], ignore_index=True).equals(expected)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("image,task,label\na.jpg,light,up\n", "unknown light class 'up'"),
        ("image,task,label\na.jpg,mood,left\n", "unknown task 'mood'"),
        ("image,task\na.jpg,light\n", "header lacks column"),
        (
            "image,task,label\na.jpg,light,left\na.jpg,light,right\n",
            r"long.csv:3: a.jpg has two different light labels in this file \(left on line 2, right here\)",
        ),
        ("image,task,label\na.jpg,light\n", "expected 3 columns"),
    ],
)
def test_long_csv_errors(tmp_path, text, problem):
    path = tmp_path / "long.csv"
    path.write_text(text)
    with pytest.raises(FormatError, match=problem):
        read_long_csv(path, DEFAULT_TASKS)


def test_celeba_text_files_round_trip(tmp_path):
    frame = pd.DataFrame(
        {"lefteye_x": [69, 70], "lefteye_y": [109, 110]}, index=pd.Index(["000001.jpg", "000002.jpg"], name="image")
    )
    write_celeba_table(frame, tmp_path / "l.txt")
    assert read_celeba_table(tmp_path / "l.txt").equals(frame)
    part = pd.Series([0, 2], index=pd.Index(["000001.jpg", "000002.jpg"], name="image"), name="partition")
    write_partition(part, tmp_path / "p.txt")
    assert read_partition(tmp_path / "p.txt").equals(part)


def test_celeba_table_count_mismatch(tmp_path):
    (tmp_path / "a.txt").write_text("3\nSmiling\n000001.jpg 1\n")
    with pytest.raises(FormatError, match="count line says 3"):
        read_celeba_table(tmp_path / "a.txt")


ODD_ONEHOT_FILES = [
    "a.jpg,1,0,0,0,1,0\nb.jpg,0,0,1,1,0,0\n",  # clean: the fast path
    "a.jpg,1,0,0.1,0.2,1.1,0.3\nb.jpg,0,1,0,0,1,0",  # pandas' renamed first line, no final newline
    "a.jpg,1,0,0,0,1,0\r\nb.jpg,0,0,1,1,0,0\r\n",  # Windows line ends
    "a.jpg,1,0,0,0,1,0\n\nb.jpg,0,0,1,1,0,0\n  \n",  # blank lines
    '"a.jpg",1,0,0,0,1,0\n"b,c.jpg",0,0,1,1,0,0\n',  # quoted names
    " a.jpg , 1,0,0,0,1,0\nb.jpg,1.0,0.0,0,0,1,0\n",  # spaces, 1.0
    "a.jpg,1,0,0,0,1,0\na.jpg,1,0,0,0,1,0\nb.jpg,0,0,1,1,0,0\n",  # the same row twice
    "a.jpg,1,0,0,0,1,0\na.jpg,0,1,0,0,1,0\n",  # twice, different: error
    "a.jpg,1,0,0,0,1,0\nb.jpg,1,0,0,0,1\n",  # short row: error
    "a.jpg,1,0,0,0,1,0\nb.jpg,1,0,0,0,1,0,1\n",  # long row: error
    "a.jpg,1,0,0,0,1,0\n,1,0,0,0,1,0\n",  # empty name: error
    "a.jpg,1,1,0,0,1,0\nb.jpg,1,0,0,0,1,0\n",  # not one-hot on the first line: error
    "a.jpg,2,0,0,0,1,0\n",  # not 0/1: error
    "a.jpg,1,0,0,0,1,0\nb.jpg,1,0,0,0,1,x\n",  # not 0/1 after the first line: error
    "\n\n",  # no labels: error
    "é.jpg,0,1,0,0,1,0\nb.jpg,0,1,0,0,1,0\n",  # non-ASCII name
    "a.jpg,1,0,0,0,1,0\rb.jpg,0,0,1,1,0,0\r",  # CR-only line ends
    "'=a.jpg,1,0,0,0,1,0\nb.jpg,0,0,1,1,0,0\n",  # a neutralised name
    "a.jpg,1,0,0,0,1,0\n" + "b" * 140_000 + ",0,0,1,1,0,0\n",  # a name over the csv field limit: error
]


@pytest.mark.parametrize("text", ODD_ONEHOT_FILES)
def test_onehot_fast_path_agrees_with_the_csv_module(tmp_path, monkeypatch, text):
    """The byte-level reader of clean files gives what the general csv reader gives, errors included."""
    import celeba_tui.formats.onehot as onehot

    path = tmp_path / "x.csv"
    path.write_bytes(text.encode())

    def outcome():
        try:
            return onehot.read_onehot(path, DEFAULT_TASKS)
        except FormatError as exc:
            return (str(exc), exc.line)

    fast = outcome()
    monkeypatch.setattr(onehot, "_parse_plain", lambda *args: None)
    general = outcome()
    if isinstance(general, tuple):
        assert fast == general
    else:
        pd.testing.assert_frame_equal(fast, general)


def test_clean_files_take_the_fast_path(reference_labels):
    from celeba_tui.formats.onehot import _parse_plain

    for text in (ODD_ONEHOT_FILES[0], ODD_ONEHOT_FILES[1], ODD_ONEHOT_FILES[2]):
        assert _parse_plain(text, 7, "x.csv") is not None
    for path in reference_labels.glob("*.csv"):
        assert _parse_plain(path.read_text(), 7, path) is not None


def test_celeba_table_count_must_be_a_decimal_number(tmp_path):
    (tmp_path / "a.txt").write_text("\u00b2\nSmiling\n000001.jpg 1\n")
    with pytest.raises(FormatError, match="first line must be the number of images"):
        read_celeba_table(tmp_path / "a.txt")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet='",a \r\n', max_size=40))
def test_quoted_cell_flags_follow_the_csv_module(text):
    """`quoted_cells` finds as many cells as the csv module does, in every record."""
    from celeba_tui.formats.csv_cells import quoted_cells

    handle = io.StringIO(text, newline="")
    taken = []

    def lines():
        for line in handle:
            taken.append(line)
            yield line

    for row in csv.reader(lines()):
        assert len(quoted_cells("".join(taken))) == max(len(row), 1)
        taken.clear()


@given(st.text(alphabet="'=+-@\t\rab ", max_size=8))
def test_restore_undoes_neutralise(cell):
    from celeba_tui.formats.csv_cells import FORMULA_START, neutralise, restore

    assert restore(neutralise(cell)) == cell
    assert not neutralise(cell).startswith(tuple(FORMULA_START))
