"""Image names a scanner can meet (commas, quotes, line breaks, surrounding spaces, markup,
spreadsheet formulas) survive export then import in every format, and exported CSV cells
that a spreadsheet would run as formulas are neutralised unless asked otherwise."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.formats.exporting import export_labels
from celeba_tui.formats.importing import import_labels
from celeba_tui.workspace import create_workspace

ODD_NAMES = [
    "000001.jpg",
    "2smith, john.jpg",
    'say "cheese".jpg',
    "two\nlines.jpg",
    "carriage\rreturn.jpg",
    "windows\r\nbreak.jpg",
    " leading space.jpg",
    "trailing space.jpg ",
    "\u00e9t\u00e9 \u753b\u50cf.jpg",
    "[/bold].jpg",
    "=cmd|' /C calc'!A0.jpg",
    "+plus.jpg",
    "-minus.jpg",
    "@at.jpg",
    "\ttab.jpg",
    "'=already quoted.jpg",
    "''=twice.jpg",
    "'apostrophe.jpg",
    "it's.jpg",
]
FORMATS = {"onehot": "csv", "long": "csv", "parquet": "parquet"}


def labelled_store(tmp_path, names):
    """A workspace whose store holds a light and an orientation label for each name."""
    (tmp_path / "images").mkdir(parents=True)
    ws = create_workspace(tmp_path / "ws", tmp_path / "images")
    rows = [
        (name, task, label, "alice", "human")
        for i, name in enumerate(names)
        for task, label in (
            ("light", ("left", "center", "right")[i % 3]),
            ("orientation", ("right", "left", "center")[i % 3]),
        )
    ]
    frame = pd.DataFrame(rows, columns=["image", "task", "label", "annotator", "source"])
    with ws.open_store(create=True) as store:
        store.add_labels(frame)
    return ws


def labels_of(ws) -> set[tuple[str, str, str]]:
    with ws.open_store() as store:
        live = store.live_labels()
    return set(zip(live["image"], live["task"], live["label"]))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_odd_names_survive_export_then_import(tmp_path, fmt):
    source = labelled_store(tmp_path / "a", ODD_NAMES)
    out = tmp_path / f"labels.{FORMATS[fmt]}"
    with source.open_store() as store:
        assert export_labels(store, source, fmt, out).rows == len(ODD_NAMES) * (1 if fmt == "onehot" else 2)
    target = labelled_store(tmp_path / "b", [])
    with target.open_store() as store:
        import_labels(store, target, out, annotator="alice")
    assert labels_of(target) == labels_of(source)


@pytest.mark.parametrize("fmt", ["onehot", "long"])
def test_raw_cells_round_trip_but_for_apostrophe_formulas(tmp_path, fmt):
    """Raw cells are for other programs: a name that is `'`s then a formula character reads
    back with one `'` fewer (the importer takes it for a neutralised cell); every other
    name comes back as it was."""
    source = labelled_store(tmp_path / "a", ODD_NAMES)
    out = tmp_path / "labels.csv"
    with source.open_store() as store:
        export_labels(store, source, fmt, out, raw_cells=True)
    target = labelled_store(tmp_path / "b", [])
    with target.open_store() as store:
        import_labels(store, target, out, annotator="alice")
    changed = {"'=already quoted.jpg": "=already quoted.jpg", "''=twice.jpg": "'=twice.jpg"}
    assert labels_of(target) == {(changed.get(i, i), t, label) for i, t, label in labels_of(source)}


def test_round_trip_through_the_cli(tmp_path):
    """The same through `celeba export` and `celeba import`, default (neutralised) cells."""
    source = labelled_store(tmp_path / "a", ODD_NAMES)
    target = labelled_store(tmp_path / "b", [])
    for fmt in ("onehot", "long"):
        out = tmp_path / f"{fmt}.csv"
        result = CliRunner().invoke(app, ["export", "--format", fmt, "--out", str(out), "-w", str(source.path)])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(app, ["import", str(out), "--annotator", "alice", "-w", str(target.path)])
        assert result.exit_code == 0, result.output
        assert labels_of(target) == labels_of(source)


def exported_cells(ws, fmt, *extra) -> list[list[str]]:
    result = CliRunner().invoke(app, ["export", "--format", fmt, "-w", str(ws.path), *extra])
    assert result.exit_code == 0, result.output
    return list(csv.reader(io.StringIO(result.stdout, newline="")))


@pytest.mark.parametrize("fmt", ["onehot", "long"])
def test_formula_cells_are_neutralised_by_default(tmp_path, fmt):
    ws = labelled_store(tmp_path, ["=1+1.jpg", "+a.jpg", "-b.jpg", "@c.jpg", "\td.jpg", "\re.jpg", "plain.jpg"])
    names = {row[0] for row in exported_cells(ws, fmt) if row[0] != "image"}
    assert names == {"'=1+1.jpg", "'+a.jpg", "'-b.jpg", "'@c.jpg", "'\td.jpg", "'\re.jpg", "plain.jpg"}
    names = {row[0] for row in exported_cells(ws, fmt, "--raw-cells") if row[0] != "image"}
    assert names == {"=1+1.jpg", "+a.jpg", "-b.jpg", "@c.jpg", "\td.jpg", "\re.jpg", "plain.jpg"}


def test_clean_exports_stay_unquoted(tmp_path):
    """The study's layout byte for byte: no quotes where none are needed (the fast import path)."""
    ws = labelled_store(tmp_path, ["000001.jpg", "000002.jpg"])
    result = CliRunner().invoke(app, ["export", "--format", "onehot", "-w", str(ws.path)])
    assert result.stdout == "000001.jpg,1,0,0,0,0,1\n000002.jpg,0,1,0,1,0,0\n"


def test_a_line_break_in_the_first_name_does_not_hide_the_format(tmp_path):
    """Format detection reads the first CSV record, not the first line."""
    source = labelled_store(tmp_path / "a", ["a\nb.jpg", "c.jpg"])
    out = tmp_path / "onehot.csv"
    with source.open_store() as store:
        export_labels(store, source, "onehot", out)
    assert out.read_text().startswith('"a\nb.jpg",')
    target = labelled_store(tmp_path / "b", [])
    with target.open_store() as store:
        import_labels(store, target, out, annotator="alice")
    assert labels_of(target) == labels_of(source)


def test_autolabel_tables_quote_odd_names_and_neutralise_formulas(tmp_path):
    """autolabel's suspects/skipped/ensemble CSVs follow the export's cell rules."""
    import csv

    from celeba_tui.autolabel.outputs import write_table
    from celeba_tui.formats.csv_cells import neutralise

    names = [
        "plain.jpg",
        "2smith, john.jpg",
        "line\nbreak.jpg",
        "cr\rname.jpg",
        " padded.jpg",
        "=cmd|' /C calc'!A0.jpg",
    ]
    path = tmp_path / "suspects.csv"
    write_table(path, [{"image": n, "confidence": 0.5} for n in names], ["image", "confidence"], tmp_path)
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["image", "confidence"]
    assert [row[0] for row in rows[1:]] == [neutralise(n) for n in names]
    assert rows[-1][0].startswith("'=")
