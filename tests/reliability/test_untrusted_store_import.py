"""`celeba import OTHER.sqlite` of a store from elsewhere: read-only, bounded, validated.

The source is opened read-only and immutable and never written (its bytes are compared
before and after every import); a hostile or broken source gives one `error:` line and
leaves the workspace's store unchanged (every table hashed before and after).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import FormatError
from celeba_tui.formats.store_source import read_store_source
from celeba_tui.store.label_store import LabelStore
from celeba_tui.workspace import DEFAULT_TASKS
from reliability.store_files import error_line, file_digest, make_source, sqlite_text, table_digests, tamper

pytestmark = pytest.mark.reliability


# ------------------------------------------------------------------ helpers
def import_cli(workspace, *args):
    return CliRunner().invoke(app, ["import", *map(str, args), "-w", str(workspace.path)])


def refused(workspace, source: Path, *words: str, fmt: str = "auto") -> str:
    """Import `source`: one error line naming it and `words`; target and source unchanged."""
    before, source_before = table_digests(workspace.store_path), file_digest(source)
    text = error_line(import_cli(workspace, source, "--format", fmt))
    assert str(source) in text, text
    for word in words:
        assert word in text, text
    assert table_digests(workspace.store_path) == before
    assert file_digest(source) == source_before
    return text


def imported(workspace, source: Path, *args: str):
    source_before = file_digest(source)
    result = import_cli(workspace, source, *args)
    assert result.exit_code == 0, result.output
    assert file_digest(source) == source_before
    return result


def live(workspace) -> set[tuple]:
    with workspace.open_store() as store:
        frame = store.live_labels()
    return set(frame[["image", "task", "label", "annotator", "source"]].itertuples(index=False, name=None))


# ------------------------------------------------------------------ a good source stays as it was
def test_a_source_in_delete_journal_mode_is_read_and_stays_in_delete_mode(tmp_path, workspace):
    source = make_source(tmp_path / "other.sqlite", journal="delete")
    imported(workspace, source)
    assert live(workspace) == {
        ("000001.jpg", "light", "left", "bob", "import"),
        ("000002.jpg", "orientation", "right", "bob", "import"),
    }
    conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert sorted(os.listdir(tmp_path)) == ["images", "other.sqlite", "ws"]


def test_a_read_only_source_in_a_read_only_folder_imports(tmp_path, workspace):
    folder = tmp_path / "ro"
    folder.mkdir()
    source = make_source(folder / "other.sqlite")
    source.chmod(stat.S_IRUSR | stat.S_IRGRP)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        imported(workspace, source)
        assert os.listdir(folder) == ["other.sqlite"]
    finally:
        folder.chmod(stat.S_IRWXU)
    assert ("000001.jpg", "light", "left", "bob", "import") in live(workspace)


def test_a_name_with_uri_characters_is_read_as_a_path(tmp_path, workspace):
    source = make_source(tmp_path / "odd?mode=rw#x %41.sqlite")
    imported(workspace, source)
    assert len(live(workspace)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "odd?mode=rw#x %41.sqlite", "ws"]


def test_undone_and_superseded_labels_are_not_imported(tmp_path, workspace):
    source = tmp_path / "other.sqlite"
    with LabelStore.open(source, create=True) as other:
        other.add_label("000001.jpg", "light", "left", "bob")
        other.add_label("000001.jpg", "light", "right", "bob")  # supersedes left
        undone = other.add_label("000002.jpg", "light", "center", "bob")
        other.revoke(undone, "bob")
        replaced = other.add_label("000003.jpg", "light", "left", "bob")
        other.add_label("000003.jpg", "light", "center", "bob")
        other.revoke(replaced + 1, "bob")  # undoing the newer brings the older back
    imported(workspace, source)
    assert live(workspace) == {
        ("000001.jpg", "light", "right", "bob", "import"),
        ("000003.jpg", "light", "left", "bob", "import"),
    }


def test_a_store_with_uncheckpointed_changes_is_refused_not_half_read(tmp_path, workspace):
    source = make_source(tmp_path / "other.sqlite")
    holder = LabelStore.open(source)  # an annotator still labelling: changes sit in the -wal
    try:
        holder.add_label("000003.jpg", "light", "left", "bob")
        refused(workspace, source, "other.sqlite-wal")
    finally:
        holder.close()


# ------------------------------------------------------------------ hostile or broken sources
def test_a_recursive_live_view_is_refused_without_hanging(tmp_path, workspace):
    source = tamper(
        make_source(tmp_path / "other.sqlite"),
        "DROP TABLE live",
        "CREATE VIEW live AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
        "SELECT n AS image_id, 'light' AS task, 1 AS annotator_id, 'human' AS source, n AS label_id, "
        "'left' AS label FROM r",
    )
    before, source_before = table_digests(workspace.store_path), file_digest(source)
    # A separate process: the old reader looped for ever here.
    out = subprocess.run(
        [sys.executable, "-m", "celeba_tui", "import", str(source), "-w", str(workspace.path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    text = out.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text and "live" in text and str(source) in text, text
    assert table_digests(workspace.store_path) == before
    assert file_digest(source) == source_before


def test_an_empty_sqlite_file_is_refused_and_not_written(tmp_path, workspace):
    source = tmp_path / "empty.sqlite"
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA user_version = 7")  # a valid SQLite file without a table
    conn.close()
    assert source.stat().st_size > 0
    refused(workspace, source, "not a celeba label store")
    zero = tmp_path / "zero.sqlite"
    zero.write_bytes(b"")
    refused(workspace, zero, "empty", fmt="store")
    assert zero.stat().st_size == 0


def test_a_file_that_is_not_sqlite_is_refused(tmp_path, workspace):
    text_file = tmp_path / "notes.sqlite"
    text_file.write_text("image,task,label\n")
    refused(workspace, text_file, "not an SQLite file", fmt="store")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
    refused(workspace, garbage, "not a celeba label store")


@pytest.mark.parametrize(
    "sql, words",
    [
        (["UPDATE meta SET value = 'abc' WHERE key = 'schema_version'"], ["schema version", "'abc'"]),
        (["UPDATE meta SET value = '99' WHERE key = 'schema_version'"], ["schema version 99", "upgrade"]),
        (["DELETE FROM meta WHERE key = 'app'"], ["not a celeba label store"]),
        (["DROP TABLE labels"], ["no table labels"]),
        (["ALTER TABLE labels DROP COLUMN confidence"], ["labels", "confidence"]),
    ],
    ids=["schema-version-abc", "schema-version-newer", "no-app-id", "no-labels-table", "missing-column"],
)
def test_a_store_with_a_wrong_schema_is_refused(tmp_path, workspace, sql, words):
    source = tamper(make_source(tmp_path / "other.sqlite"), *sql)
    refused(workspace, source, *words)


def test_a_meta_table_alone_is_refused(tmp_path, workspace):
    source = tamper(
        tmp_path / "meta.sqlite",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "INSERT INTO meta VALUES ('app', 'celeba-tui'), ('schema_version', '1')",
    )
    refused(workspace, source, "no table")


def test_an_images_view_with_null_names_is_refused(tmp_path, workspace):
    source = tamper(
        make_source(tmp_path / "other.sqlite"),
        "ALTER TABLE images RENAME TO images_old",
        "CREATE VIEW images AS SELECT id, NULL AS name, present, added FROM images_old",
    )
    refused(workspace, source, "images", "view")


def test_null_and_blob_names_in_base_tables_are_refused(tmp_path, workspace):
    source = tamper(
        make_source(tmp_path / "other.sqlite"),
        "CREATE TABLE images2 (id INTEGER PRIMARY KEY, name TEXT, present INTEGER, added REAL)",
        "INSERT INTO images2 SELECT id, CASE WHEN id = 1 THEN NULL ELSE name END, present, added FROM images",
        "DROP TABLE images",
        "ALTER TABLE images2 RENAME TO images",
    )
    refused(workspace, source, "images", "name", "NULL")
    source = tamper(make_source(tmp_path / "blob.sqlite"), "UPDATE annotators SET name = X'626f62'")
    refused(workspace, source, "annotators", "BLOB")


def test_a_blob_label_is_refused(tmp_path, workspace):
    source = tamper(
        make_source(tmp_path / "other.sqlite"),
        "UPDATE labels SET label = X'00ff' WHERE id = 1",
        "UPDATE live SET label = X'00ff' WHERE label_id = 1",
    )
    refused(workspace, source, "label", "BLOB")


def test_a_huge_value_is_refused_before_it_is_read(tmp_path, workspace):
    source = tamper(
        make_source(tmp_path / "other.sqlite"), "UPDATE labels SET model = hex(zeroblob(3000000)) WHERE id = 1"
    )
    refused(workspace, source, "too big")


def test_the_read_is_bounded_in_time_and_rows(tmp_path):
    labels = [(f"{i:06d}.jpg", task, "left", "bob") for i in range(1, 301) for task in ("light", "orientation")]
    source = make_source(tmp_path / "big.sqlite", labels)
    assert len(read_store_source(source, DEFAULT_TASKS).labels) == 600
    with pytest.raises(FormatError, match="more than 500 rows in table labels"):
        read_store_source(source, DEFAULT_TASKS, max_rows=500)
    with pytest.raises(FormatError, match="took longer than 0 s"):
        read_store_source(source, DEFAULT_TASKS, budget_s=0)


# ------------------------------------------------------------------ labels checked as the CSV importers check them
@pytest.mark.parametrize(
    "label, annotator, words",
    [
        (("000001.jpg", "light", "up"), "bob", ["unknown light class 'up'"]),
        (("000001.jpg", "mood", "happy"), "bob", ["unknown task 'mood'"]),
        ((" ", "light", "left"), "bob", ["empty image"]),
        (("000001.jpg", "light", "left"), "=cmd|' /C calc'!A0", ["annotator", "=cmd"]),
        (("000001.jpg", "light", "left"), "bob\x1b]0;pwn\x07", ["annotator", "control"]),
        (("000001.jpg", "light", "left"), " ", ["annotator"]),
    ],
    ids=["class", "task", "image", "formula-annotator", "control-annotator", "blank-annotator"],
)
def test_labels_from_a_store_are_validated(tmp_path, workspace, label, annotator, words):
    source = make_source(tmp_path / "other.sqlite", [("000002.jpg", "light", "left", "carol"), (*label, "placeholder")])
    # What the store refuses at creation, a hostile tool writes directly.
    tamper(source, f"UPDATE annotators SET name = {sqlite_text(annotator)} WHERE name = 'placeholder'")
    refused(workspace, source, *words)


def test_a_bad_source_row_in_sqlite_is_refused(tmp_path, workspace):
    source = tamper(
        make_source(tmp_path / "other.sqlite"),
        "PRAGMA ignore_check_constraints = ON",
        "UPDATE labels SET source = 'oracle' WHERE id = 1",
    )
    refused(workspace, source, "unknown source 'oracle'")


def test_the_workspace_own_store_is_not_imported_into_itself(workspace):
    refused(workspace, workspace.store_path, "own label store")
