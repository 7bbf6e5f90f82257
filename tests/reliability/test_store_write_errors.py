"""A store that cannot be written: disk full, read-only files, a read-only workspace.

Each write that fails is one line (`StoreWriteError`), leaves the store as it was, and
does not poison the open store for later writes. Commands that only read work on a
workspace nobody may write to. Disk full is real SQLite behaviour: `PRAGMA
max_page_count` caps the file on that connection, and SQLite reports SQLITE_FULL
exactly as for a full disk. A read-only workspace is real too: the files are made
read-only and the commands run as an unprivileged user (root ignores permissions).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import StoreWriteError
from celeba_tui.store.label_store import LabelStore
from celeba_tui.workspace import Workspace, create_workspace
from reliability.store_files import table_digests

pytestmark = pytest.mark.reliability


def many_labels(annotator: str, n: int = 3000) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image": [f"{i:06d}.jpg" for i in range(n)],
            "task": "light",
            "label": "left",
            "annotator": annotator,
            "source": "human",
        }
    )


def fill_up(store: LabelStore) -> None:
    """No page may be added to the store's file from now on (on this connection)."""
    pages = store.query("PRAGMA page_count")[0][0]
    store.query(f"PRAGMA max_page_count = {pages}")


def test_disk_full_is_one_line_and_the_annotator_can_write_once_space_is_back(store):
    store.add_label("000001.jpg", "light", "left", "alice")
    before = table_digests(store.path)
    fill_up(store)
    with pytest.raises(StoreWriteError, match=r"^store .*labels\.sqlite: disk full; the change was not saved$"):
        # Creates the annotator (room enough for that row), then the label needs new pages.
        store.add_label("000002.jpg", "light", "left", "newcomer", detail={"note": "x" * 200_000})
    assert table_digests(store.path) == before
    store.query("PRAGMA max_page_count = 1073741823")  # space freed
    store.add_label("000002.jpg", "light", "right", "newcomer")
    assert store.add_labels(many_labels("newcomer")) == 3000
    assert set(store.annotators()) == {"alice", "newcomer"}


def test_a_failed_commit_is_rolled_back_and_the_store_stays_usable(store):
    store.add_label("000001.jpg", "light", "left", "alice")
    fill_up(store)
    for _ in range(3):
        with pytest.raises(StoreWriteError, match="disk full"):
            store.add_labels(many_labels("bob"))
    assert not store._conn.in_transaction
    assert store.live_labels()["annotator"].tolist() == ["alice"]


def test_import_on_a_full_disk_is_one_line_and_changes_nothing(workspace, tmp_path, monkeypatch):
    labels = tmp_path / "bob.csv"
    many_labels("bob").drop(columns="source").to_csv(labels, index=False)
    before = table_digests(workspace.store_path)
    opened = Workspace.open_store

    def open_on_a_full_disk(self, **kwargs):
        store = opened(self, **kwargs)
        fill_up(store)
        return store

    monkeypatch.setattr(Workspace, "open_store", open_on_a_full_disk)
    result = CliRunner().invoke(app, ["import", str(labels), "--workspace", str(workspace.path)])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "disk full; the change was not saved" in result.output
    assert "Traceback" not in result.output
    assert table_digests(workspace.store_path) == before


def test_a_read_only_open_reads_and_refuses_every_write(store):
    store.add_label("000001.jpg", "light", "left", "alice")
    with LabelStore.open(store.path, readonly=True) as reader:
        assert reader.live_labels()["label"].tolist() == ["left"]
        with pytest.raises(StoreWriteError, match="read-only"):
            reader.add_label("000002.jpg", "light", "left", "alice")
        with pytest.raises(StoreWriteError, match="read-only"):
            reader.add_label("000002.jpg", "light", "left", "someone-new")
        assert reader.live_labels()["label"].tolist() == ["left"]


def test_a_read_only_open_leaves_no_files_behind(workspace):
    with workspace.open_store(readonly=True) as reader:
        assert reader.image_count() == 10
    assert store_files(workspace) == ["labels.sqlite"]


# ------------------------------------------------ a workspace nobody may write to


def as_unprivileged(command: list[str]) -> list[str]:
    """Run as `nobody` when we are root (root may write to read-only files)."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop the right to write")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]


def celeba(ws: Path, *args: str) -> subprocess.CompletedProcess:
    command = as_unprivileged([sys.executable, "-m", "celeba_tui", *args, "--workspace", str(ws)])
    env = {**os.environ, "HOME": str(ws.parent)}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def read_only_workspace(image_folder):
    # Not under pytest's tmp_path: its parent folders are private to the user running pytest.
    top = Path(tempfile.mkdtemp(prefix="celeba-ro-"))
    top.chmod(0o755)
    shutil.copytree(image_folder, top / "images")
    ws = create_workspace(top / "ws", top / "images")
    with ws.open_store(create=True) as store:
        store.add_labels(
            pd.DataFrame(
                [
                    ("000001.jpg", "light", "left", "alice"),
                    ("000001.jpg", "light", "right", "bob"),
                    ("000002.jpg", "light", "center", "alice"),
                    ("000002.jpg", "light", "center", "bob"),
                ],
                columns=["image", "task", "label", "annotator"],
            ).assign(source="human")
        )
    many_labels("carol", 5).drop(columns="source").to_csv(top / "bob.csv", index=False)
    for path in top.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield ws
    finally:
        for path in [top, *top.rglob("*")]:
            path.chmod(stat.S_IRWXU | (0o755 if path.is_dir() else 0o644))
        shutil.rmtree(top)


def store_files(ws) -> list[str]:
    return sorted(p.name for p in ws.path.iterdir() if p.name.startswith("labels.sqlite"))


@pytest.mark.parametrize(
    "command",
    [
        ["stats", "--json"],
        ["export", "--format", "long"],
        ["export", "--format", "onehot"],
        ["agreement"],
        ["merge", "--policy", "prefer:alice", "--dry-run"],
        ["label", "--count"],
    ],
)
def test_read_only_commands_work_on_a_read_only_workspace(read_only_workspace, command):
    before = table_digests(read_only_workspace.store_path)
    result = celeba(read_only_workspace.path, *command)
    assert result.returncode == 0, result.stderr
    assert store_files(read_only_workspace) == ["labels.sqlite"]
    assert table_digests(read_only_workspace.store_path) == before


@pytest.mark.parametrize("command", [["merge", "--policy", "prefer:alice"], ["import", "LABELS"]])
def test_writing_to_a_read_only_workspace_is_one_line_and_leaves_no_files(read_only_workspace, command):
    labels = read_only_workspace.path.parent / "bob.csv"
    command = [str(labels) if part == "LABELS" else part for part in command]
    before = table_digests(read_only_workspace.store_path)
    result = celeba(read_only_workspace.path, *command)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: store ") and "read-only" in result.stderr
    assert result.stderr.count("\n") == 1
    assert store_files(read_only_workspace) == ["labels.sqlite"]
    assert table_digests(read_only_workspace.store_path) == before


def test_a_read_only_store_with_unsaved_wal_data_is_one_line(read_only_workspace):
    ws = read_only_workspace
    ws.path.chmod(0o755)
    ws.store_path.chmod(0o644)
    # A writer that died before its changes reached the main file: they wait in -wal.
    writer = sqlite3.connect(ws.store_path)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("INSERT INTO meta VALUES ('note', 'in the -wal file only')")
    writer.commit()
    shutil.copy(ws.store_path.with_name("labels.sqlite-wal"), ws.path / "saved-wal")
    writer.close()
    (ws.path / "saved-wal").rename(ws.store_path.with_name("labels.sqlite-wal"))
    for path in (ws.store_path, ws.store_path.with_name("labels.sqlite-wal")):
        path.chmod(0o444)
    ws.path.chmod(0o555)
    result = celeba(ws.path, "stats")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: store ") and "labels.sqlite-wal" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_store_that_cannot_be_read_says_nothing_was_changed(workspace):
    # Found by attack pass 17: `(ulimit -f 8; celeba stats)` said "the change was not saved"
    # for a command that changes nothing (reading a WAL store writes its -shm index).
    from file_size_limit import printed_under_file_size_limit

    for index in ("-shm", "-wal"):
        Path(f"{workspace.store_path}{index}").unlink(missing_ok=True)
    printed = printed_under_file_size_limit(
        "from celeba_tui.store.label_store import LabelStore",
        "LabelStore.open(Path(sys.argv[1]), readonly=True)",
        [workspace.store_path],
        limit=1024,
    )
    assert printed.startswith("refused: store ") and printed.strip().endswith("; nothing was changed"), printed
    assert "not saved" not in printed
