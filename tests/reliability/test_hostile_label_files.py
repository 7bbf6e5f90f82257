"""Label files that once gave tracebacks through `celeba import`: each is now one `error:` line
naming the file and the line, exit status 2, and the store's tables unchanged."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app

BIG = "a" * 140_000  # over the csv module's 131,072-character field limit

HOSTILE = {
    "cr-only one-hot": (b"000001.jpg,1,0,0,0,1,0\r000002.jpg,1,1,0,0,1,0\r", 2, "light is not one-hot"),
    "cr-only long": (b"image,task,label\r000001.jpg,light,left\r000002.jpg,light,up\r", 3, "unknown light class"),
    "huge field long": (f"image,task,label\n{BIG}.jpg,light,left\n".encode(), 2, "longer than 131,072"),
    "huge quoted field one-hot": (
        f'000001.jpg,1,0,0,0,1,0\n"{BIG}.jpg",1,0,0,0,1,0\n'.encode(),
        2,
        "longer than 131,072",
    ),
    "huge bare field one-hot": (f"000001.jpg,1,0,0,0,1,0\n{BIG}.jpg,1,0,0,0,1,0\n".encode(), 2, "longer than 131,072"),
    "confidence inf": (
        b"image,task,label,confidence\n000001.jpg,light,left,0.5\n000002.jpg,light,left,inf\n",
        3,
        "confidence 'inf'",
    ),
    "confidence nan": (b"image,task,label,confidence\n000001.jpg,light,left,nan\n", 2, "confidence 'nan'"),
    "confidence -5": (b"image,task,label,confidence\n000001.jpg,light,left,-5\n", 2, "between 0 and 1"),
    "confidence 7": (b"image,task,label,confidence\n000001.jpg,light,left,7\n", 2, "between 0 and 1"),
    "confidence text": (b"image,task,label,confidence\n000001.jpg,light,left,high\n", 2, "confidence 'high'"),
    "duplicated header column": (b"image,task,label,label\n000001.jpg,light,left,left\n", 1, "column 'label' twice"),
}


def table_digest(path) -> str:
    """A hash of every table's rows: equal before and after means nothing was written."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for table in tables:
            digest.update(table.encode())
            for row in sorted(conn.execute(f'SELECT * FROM "{table}"'), key=repr):
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        conn.close()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_label_file_is_one_error_line(tmp_path, workspace, case):
    data, line, problem = HOSTILE[case]
    path = tmp_path / "hostile.csv"
    path.write_bytes(data)
    store_path = workspace.store_path
    before = table_digest(store_path)
    result = CliRunner().invoke(app, ["import", str(path), "--annotator", "fuzz", "-w", str(workspace.path)])
    assert result.exit_code == 2, (result.output, result.exception)
    text = result.stderr.strip()
    assert "\n" not in text and text.startswith(f"error: {path}:{line}: "), text
    assert problem in text, text
    assert table_digest(store_path) == before


def test_in_range_confidence_still_imports(tmp_path, workspace):
    path = tmp_path / "ok.csv"
    path.write_text(
        "image,task,label,confidence\n000001.jpg,light,left,0\n000002.jpg,light,left,1\n000003.jpg,light,left,\n"
    )
    result = CliRunner().invoke(app, ["import", str(path), "--annotator", "fuzz", "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    with workspace.open_store() as store:
        confidence = store.live_labels().set_index("image")["confidence"]
    assert confidence["000001.jpg"] == 0 and confidence["000002.jpg"] == 1 and confidence.isna()["000003.jpg"]
