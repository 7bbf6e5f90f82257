"""Annotator names that are reserved (`merge:`), spreadsheet formulas (= + - @) or hold control
characters are refused by every importer, with the file (and line, where a line names it),
and the store is left unchanged. A source store's own merge decisions are left out."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from reliability.store_files import error_line, make_source, sqlite_text, table_digests, tamper

pytestmark = pytest.mark.reliability

BAD_NAMES = ["merge:majority", "=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "eve\x1b]0;owned\x07", "tab\there"]


def refused(workspace, *args: str) -> str:
    before = table_digests(workspace.store_path)
    text = error_line(CliRunner().invoke(app, ["import", *map(str, args), "-w", str(workspace.path)]))
    assert "annotator name" in text, text
    assert table_digests(workspace.store_path) == before
    return text


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_long_csv_annotator_column(tmp_path, workspace, name):
    path = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "image": ["000001.jpg", "000002.jpg"],
            "task": ["light"] * 2,
            "label": ["left"] * 2,
            "annotator": ["amy", name],
        }
    ).to_csv(path, index=False)
    text = refused(workspace, path)
    assert f"{path}:3: annotator name {name!r}" in text


@pytest.mark.parametrize("name", BAD_NAMES[:3])
def test_a_parquet_annotator_column(tmp_path, workspace, name):
    path = tmp_path / "labels.parquet"
    pd.DataFrame(
        {
            "image": ["000001.jpg", "000002.jpg"],
            "task": ["light"] * 2,
            "label": ["left"] * 2,
            "annotator": ["amy", name],
        }
    ).to_parquet(path)
    assert f"{path}:2: annotator name {name!r}" in refused(workspace, path)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_annotator_option(tmp_path, workspace, name):
    path = tmp_path / "labels.csv"
    path.write_text("000001.jpg,1,0,0,0,1,0\n")
    assert f"annotator name {name!r} (from --annotator)" in refused(workspace, path, "--annotator", name)


def test_a_name_taken_from_the_file_name(tmp_path, workspace):
    path = tmp_path / "=HYPERLINK(x).csv"
    path.write_text("000001.jpg,1,0,0,0,1,0\n")
    assert "(from the file's name; pass --annotator NAME)" in refused(workspace, path)


@pytest.mark.parametrize("name", BAD_NAMES[1:])
def test_a_store_annotator(tmp_path, workspace, name):
    source = make_source(
        tmp_path / "other.sqlite",
        [("000001.jpg", "light", "left", "amy"), ("000002.jpg", "light", "left", "placeholder")],
    )
    tamper(source, f"UPDATE annotators SET name = {sqlite_text(name)} WHERE name = 'placeholder'")
    assert f"{source}: label id 2: annotator name {name!r}" in refused(workspace, source)


def test_a_store_merge_decisions_are_left_out_and_said_so(tmp_path, workspace):
    source = make_source(
        tmp_path / "other.sqlite", [("000001.jpg", "light", "left", "amy"), ("000001.jpg", "light", "right", "bob")]
    )
    # What `celeba merge` writes there: a review decision under its reserved name.
    tamper(
        source,
        "INSERT INTO annotators(name, created) VALUES ('merge:majority', 0)",
        "INSERT INTO labels(image_id, task, label, annotator_id, source, created) SELECT i.id, 'light', 'left', "
        "a.id, 'review', 0 FROM images i, annotators a WHERE i.name = '000001.jpg' AND a.name = 'merge:majority'",
    )
    result = CliRunner().invoke(app, ["import", str(source), "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    assert "left out 1 merge decision of" in result.stderr
    with workspace.open_store() as store:
        assert sorted(store.annotators()) == ["amy", "bob"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_an_export_of_a_merged_workspace_imports_without_its_merge_decisions(tmp_path, workspace, suffix):
    # Found by the interop walkthrough (helper-45): `export --format long` (or parquet) after a
    # merge wrote the merge's review rows, and importing the file back was refused for the
    # reserved name, in the same workspace as in a fresh one.
    path = tmp_path / f"labels.{suffix}"
    frame = pd.DataFrame(
        {
            "image": ["000001.jpg", "000001.jpg", "000001.jpg"],
            "task": ["light"] * 3,
            "label": ["left", "right", "left"],
            "annotator": ["amy", "bob", "merge:prefer:amy"],
            "source": ["human", "human", "review"],
        }
    )
    frame.to_parquet(path) if suffix == "parquet" else frame.to_csv(path, index=False)
    result = CliRunner().invoke(app, ["import", str(path), "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    assert "left out 1 merge decision of" in result.stderr
    with workspace.open_store() as store:
        assert sorted(store.annotators()) == ["amy", "bob"]
    # Under a merge's name, only a merge's decision is left out: any other row is refused.
    frame.loc[2, "source"] = "human"
    frame.to_parquet(path) if suffix == "parquet" else frame.to_csv(path, index=False)
    assert "starts with 'merge:'" in refused(workspace, path)
