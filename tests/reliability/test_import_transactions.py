"""`celeba import` as one transaction: concurrent imports of one file write it once, and a
command whose second file is bad writes nothing, not the first file alone."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import StoreError
from celeba_tui.formats import importing as label_import
from celeba_tui.formats.importing import PreparedImport, read_import, write_imports
from reliability.store_files import error_line, make_source, table_digests

pytestmark = pytest.mark.reliability

ROWS = 4000  # images; two tasks each


def _import_after_barrier(workspace, path, annotator, barrier, results) -> None:
    with workspace.open_store() as store:
        barrier.wait()
        results.put(label_import.import_labels(store, workspace, path, annotator=annotator).written)


def test_two_processes_importing_one_file_at_once_write_it_once(tmp_path, workspace):
    path = tmp_path / "same.csv"
    path.write_text("".join(f"{i:06d}.jpg,1,0,0,0,1,0\n" for i in range(1, ROWS + 1)))
    context = multiprocessing.get_context("fork")
    for attempt in range(4):
        barrier, results = context.Barrier(2), context.Queue()
        workers = [
            context.Process(target=_import_after_barrier, args=(workspace, path, f"a{attempt}", barrier, results))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
            assert worker.exitcode == 0
        written = sorted(results.get(timeout=5) for _ in workers)
        with workspace.open_store() as store:
            history = store.history()
        rows = history[history["annotator"] == f"a{attempt}"]
        assert written == [0, 2 * ROWS] and len(rows) == 2 * ROWS, (attempt, written, len(rows))


def test_a_bad_second_file_leaves_the_first_unwritten(tmp_path, workspace):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text("image,task,label\n000001.jpg,light,left\n000002.jpg,light,right\n")
    bad.write_text("image,task,label\n000003.jpg,light,left\n000004.jpg,light,up\n")
    before = table_digests(workspace.store_path)
    result = CliRunner().invoke(app, ["import", str(good), str(bad), "--annotator", "ann", "-w", str(workspace.path)])
    text = error_line(result)
    assert f"{bad}:3: unknown light class 'up'" in text
    assert table_digests(workspace.store_path) == before
    # A bad store as the second file: the same.
    store_file = make_source(tmp_path / "other.sqlite", [("000001.jpg", "light", "sideways", "bob")])
    result = CliRunner().invoke(app, ["import", str(good), str(store_file), "-w", str(workspace.path)])
    assert "unknown light class 'sideways'" in error_line(result)
    assert table_digests(workspace.store_path) == before


def test_a_write_that_fails_on_the_second_file_rolls_back_the_first(tmp_path, workspace):
    good = tmp_path / "good.csv"
    good.write_text("image,task,label\n000001.jpg,light,left\n")
    broken = PreparedImport(
        tmp_path / "broken.csv",
        "long",
        pd.DataFrame(
            {"image": ["000002.jpg"], "task": ["light"], "label": ["left"], "annotator": ["x"], "source": ["bogus"]}
        ),
    )
    before = table_digests(workspace.store_path)
    with workspace.open_store() as store:
        with pytest.raises(StoreError, match="unknown label source"):
            write_imports(store, [read_import(good, workspace, annotator="ann"), broken])
    assert table_digests(workspace.store_path) == before


def test_several_good_files_are_written_together(tmp_path, workspace):
    paths = []
    for n, label in enumerate(("left", "right")):
        paths.append(tmp_path / f"f{n}.csv")
        paths[-1].write_text(f"image,task,label\n000001.jpg,light,{label}\n")
    result = CliRunner().invoke(app, ["import", *map(str, paths), "--json", "-w", str(workspace.path)])
    assert result.exit_code == 0, result.output
    with workspace.open_store() as store:
        assert sorted(store.live_labels()["annotator"]) == ["f0", "f1"]


@pytest.mark.parametrize("fmt", ["auto", "long"])
def test_a_fifo_is_refused_without_blocking(tmp_path, workspace, fmt):
    fifo = tmp_path / "labels.csv"
    os.mkfifo(fifo)
    # A separate process: reading the FIFO blocked for ever before.
    out = subprocess.run(
        [sys.executable, "-m", "celeba_tui", "import", str(fifo), "--format", fmt, "-w", str(workspace.path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and out.stderr.strip() == f"error: {fifo}: not a regular file", out.stderr


@pytest.mark.parametrize("fmt", ["auto", "long", "onehot", "parquet", "store"])
def test_a_folder_is_refused(tmp_path, workspace, fmt):
    result = CliRunner().invoke(app, ["import", str(tmp_path), "--format", fmt, "-w", str(workspace.path)])
    assert error_line(result) == f"error: {tmp_path}: a folder, not a label file"
