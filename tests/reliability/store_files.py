"""Helpers for tests that import stores and files: hashes of a store's tables and a
file's bytes, genuine source stores, and raw tampering with them."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from celeba_tui.store.label_store import LabelStore


def table_digests(path: Path) -> dict[str, str]:
    """A hash of every table's rows (in a stable order), by table name.

    A plain connection made query-only rather than a `mode=ro` one: on close it removes
    the -wal/-shm files it may create, which tests that check for leftovers rely on.
    """
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA query_only = 1")
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {
            t: hashlib.sha256(
                repr(sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)).encode()
            ).hexdigest()
            for t in tables
        }
    finally:
        conn.close()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_source(
    path: Path,
    labels=(("000001.jpg", "light", "left", "bob"), ("000002.jpg", "orientation", "right", "bob")),
    *,
    journal: str = "wal",
) -> Path:
    """A genuine celeba store holding `labels` (image, task, label, annotator), closed cleanly."""
    with LabelStore.open(path, create=True) as store:
        for image, task, label, annotator in labels:
            store.add_label(image, task, label, annotator)
    if journal != "wal":
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA journal_mode={journal}")
        conn.close()
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{path}{suffix}").exists()
    return path


def tamper(path: Path, *sql: str) -> Path:
    """Run raw SQL on a source store (foreign keys off, as a hostile tool would)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=OFF")
    for statement in sql:
        conn.execute(statement)
    conn.close()
    return path


def error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text and "Traceback" not in text, text
    return text


def final_error_line(result) -> str:
    """The one `error:` line a command that got under way ends with (progress lines,
    such as the onnxruntime provider, may come before it on stderr)."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and [line for line in lines if line.startswith("error: ")] == lines[-1:]
    return lines[-1]


def sqlite_text(value: str) -> str:
    """`value` as an SQL expression (char() keeps control characters out of the statement)."""
    return "char(" + ", ".join(str(ord(c)) for c in value) + ")"
