"""Output paths (`--out`, `--export`, `--grid`, `--plot`, figures) that are not plain files.

Regular files are replaced atomically; a symlink's target is written and the link stays;
FIFOs and devices are written in place, never renamed over (a root `celeba export --out
/dev/null` once replaced the machine's /dev/null). Folders, sockets and missing parent
folders are one-line errors, found before any work: parents are never created.

Devices are only ever made inside the test's own tmp folder (mknod), never the real ones.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celeba_tui.atomic import (
    atomic_path,
    check_output_folder,
    check_output_path,
    write_mode,
)
from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from reliability.store_files import final_error_line, table_digests

from training_data import make_labelled_workspace

REPO = Path(__file__).resolve().parents[2]


def error_line(result) -> str:
    assert result.exit_code == 2, result.output
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text and "Traceback" not in text, text
    return text


@pytest.fixture
def labelled(tmp_path):
    workspace, names, _ = make_labelled_workspace(tmp_path, n=12, labels_for=6)
    return workspace, names


def export(workspace, out, fmt="long"):
    return CliRunner().invoke(app, ["export", "--format", fmt, "--out", str(out), "-w", str(workspace.path)])


# ------------------------------------------------------------------ the decision
@pytest.mark.parametrize(
    "kind, expected",
    [
        (None, "atomic"),
        (stat.S_IFREG, "atomic"),
        (stat.S_IFCHR, "direct"),
        (stat.S_IFBLK, "direct"),
        (stat.S_IFIFO, "direct"),
        (stat.S_IFDIR, "folder"),
        (stat.S_IFSOCK, "socket"),
    ],
)
def test_write_mode_by_file_type(kind, expected):
    assert write_mode(None if kind is None else kind | 0o644) == expected


# ------------------------------------------------------------------ each kind of target
def test_regular_file_is_replaced_whole(tmp_path):
    out = tmp_path / "x.csv"
    out.write_text("old\n")
    with atomic_path(out) as tmp:
        tmp.write_text("new\n")
    assert out.read_text() == "new\n" and sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]


def test_symlink_target_is_written_and_the_link_stays(labelled, tmp_path):
    workspace, _ = labelled
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "labels.csv"
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert export(workspace, link).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("image,") and len(target.read_text().splitlines()) == 1 + 6 * 2
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "real" / "new.csv")
    assert export(workspace, dangling).exit_code == 0
    assert dangling.is_symlink() and (tmp_path / "real" / "new.csv").read_text().startswith("image,")


def test_fifo_with_a_reader_gets_everything_and_stays_a_fifo(labelled, tmp_path):
    workspace, _ = labelled
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = export(workspace, fifo)
    reader.join(30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert received and received[0].decode().startswith("image,") and len(received[0].splitlines()) == 1 + 6 * 2


def test_fifo_without_a_reader_is_an_error_not_a_hang(labelled, tmp_path):
    workspace, _ = labelled
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # A subprocess with a timeout: a hang must fail the test, not freeze the suite.
    done = subprocess.run(
        [sys.executable, "-m", "celeba_tui", "export", "--out", str(fifo), "-w", str(workspace.path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: cannot write {fifo}: it is a FIFO and no process is reading it"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_character_device_is_written_in_place_never_replaced(labelled, tmp_path):
    workspace, _ = labelled
    null = tmp_path / "null"
    try:  # the null device's numbers, but a node of our own in tmp: the real /dev is never touched
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    for fmt in ("long", "onehot", "parquet"):
        result = export(workspace, null, fmt)
        assert result.exit_code == 0, result.output
        assert stat.S_ISCHR(os.lstat(null).st_mode) and os.lstat(null).st_rdev == os.makedev(1, 3), fmt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "null", "ws"]


def test_folders_sockets_and_missing_parents_are_one_line_errors(labelled, tmp_path):
    workspace, _ = labelled
    before = table_digests(workspace.store_path)
    (tmp_path / "somedir").mkdir()
    assert "it is a folder" in error_line(export(workspace, tmp_path / "somedir"))
    missing = tmp_path / "nonexistent" / "deeper" / "x.csv"
    assert f"folder {missing.parent} does not exist" in error_line(export(workspace, missing))
    assert not (tmp_path / "nonexistent").exists()
    (tmp_path / "file").write_text("x")
    assert "is not a folder" in error_line(export(workspace, tmp_path / "file" / "x.csv"))
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        assert "it is a socket" in error_line(export(workspace, tmp_path / "sock"))
    assert table_digests(workspace.store_path) == before


def test_a_file_named_like_a_folder_is_refused_before_anything_is_written(labelled, tmp_path):
    # Found by attack pass 39 (helper-82): `-o plain.txt/` replaced plain.txt (pathlib drops
    # the slash), `-o nodir/` made a file `nodir`.
    workspace, _ = labelled
    (tmp_path / "plain.txt").write_text("kept")
    line = error_line(export(workspace, f"{tmp_path}/plain.txt/"))
    assert line == f"error: --out: '{tmp_path}/plain.txt/' names a folder (it ends with /); give a file's name"
    assert "names a folder" in error_line(export(workspace, f"{tmp_path}/plain.txt/."))  # attack pass 40
    assert (tmp_path / "plain.txt").read_text() == "kept"
    onnx = CliRunner().invoke(app, ["export-onnx", "x", "-o", f"{tmp_path}/nodir/", "-w", str(workspace.path)])
    assert "-o: " in error_line(onnx) and not (tmp_path / "nodir").exists()
    # A folder format's folder may end with one.
    assert export(workspace, f"{tmp_path}/folder/", fmt="imagefolder").exit_code == 0
    assert (tmp_path / "folder").is_dir()


def test_check_output_path_refuses_folders_that_take_no_new_files(tmp_path):
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    with pytest.raises(CelebaError, match=r"cannot write /proc/x.png: cannot create a file in /proc"):
        check_output_path(Path("/proc/x.png"))
    assert check_output_path(tmp_path / "ok.png") == tmp_path / "ok.png"
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


def test_plot_folder_is_made_but_not_its_parents(tmp_path):
    assert check_output_folder(tmp_path / "plots").is_dir()
    with pytest.raises(CelebaError, match="does not exist"):
        check_output_folder(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()


# ------------------------------------------------------------------ commands check before working
def test_autolabel_checks_grid_and_export_paths_before_predicting(labelled, oracles, tmp_path):
    workspace, _ = labelled
    before = table_digests(workspace.store_path)
    models = [str(oracles["sharp"]), str(oracles["soft"])]
    base = ["autolabel", "--models", *models, "--batch-size", "8", "-w", str(workspace.path)]
    if Path("/proc/self").is_dir():
        text = error_line(CliRunner().invoke(app, [*base, "--grid", "/proc/x.png"]))
        assert "cannot write /proc/x.png" in text
    text = error_line(CliRunner().invoke(app, [*base, "--export", str(tmp_path / "nonexistent" / "dir" / "x")]))
    assert f"folder {tmp_path / 'nonexistent' / 'dir'} does not exist" in text
    assert not (tmp_path / "nonexistent").exists()
    assert table_digests(workspace.store_path) == before  # no predictions, no labels, no models


def test_autolabel_output_that_fails_at_the_end_commits_no_label(labelled, oracles, tmp_path):
    workspace, _ = labelled
    fifo = tmp_path / "grid.png"
    os.mkfifo(fifo)  # nobody reads it: found only when the grid is written, after the decisions
    models = [str(oracles["sharp"]), str(oracles["soft"])]
    base = ["autolabel", "--models", *models, "--high", "0.3", "--low", "0.1", "-w", str(workspace.path)]
    before = table_digests(workspace.store_path)["labels"]
    text = final_error_line(CliRunner().invoke(app, [*base, "--grid", str(fifo)]))
    assert text == f"error: cannot write {fifo}: it is a FIFO and no process is reading it"
    assert table_digests(workspace.store_path)["labels"] == before
    # The same run with an output that works labels images: the labels above were held back.
    assert CliRunner().invoke(app, [*base, "--grid", str(tmp_path / "grid-ok.png")]).exit_code == 0
    assert table_digests(workspace.store_path)["labels"] != before


def test_preview_agreement_and_export_onnx_refuse_missing_parent_folders(labelled, tmp_path):
    from onnx_models import write_run

    workspace, names = labelled
    image = workspace.image_root / names[0]
    missing = tmp_path / "nope"
    text = error_line(CliRunner().invoke(app, ["preview", str(image), "--out", str(missing / "fig.png")]))
    assert "does not exist" in text
    text = error_line(
        CliRunner().invoke(app, ["agreement", "--plot", str(missing / "plots"), "-w", str(workspace.path)])
    )
    assert "does not exist" in text
    run = write_run(workspace.runs_dir, "cnn4")
    text = error_line(
        CliRunner().invoke(app, ["export-onnx", str(run), "--out", str(missing / "m.onnx"), "-w", str(workspace.path)])
    )
    assert "does not exist" in text
    assert not missing.exists()
    result = CliRunner().invoke(
        app, ["agreement", "--plot", str(tmp_path / "plots"), "-w", str(workspace.path), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plots").is_dir() and json.loads(result.stdout)["plots"] == []


def test_synth_makes_its_folder_but_not_missing_parents(tmp_path):
    missing = tmp_path / "nope" / "deeper" / "data"
    text = error_line(CliRunner().invoke(app, ["synth", "--out", str(missing), "-n", "2"]))
    assert f"folder {missing.parent} does not exist" in text and not (tmp_path / "nope").exists()
    result = CliRunner().invoke(app, ["synth", "--out", str(tmp_path / "data"), "-n", "2", "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "ground_truth.csv").is_file()


def test_autolabel_checks_its_outputs_before_exporting_any_run(labelled, tmp_path):
    """The README's `--export out/ensemble` without out/: one line at once, not after exports."""
    from onnx_models import write_run

    workspace, _ = labelled
    write_run(workspace.runs_dir, "cnn4")
    missing = tmp_path / "out"
    args = ["autolabel", "-m", "best:cnn4", "-t", "light", "--export", str(missing / "ensemble")]
    text = error_line(CliRunner().invoke(app, [*args, "-w", str(workspace.path)]))
    assert f"folder {missing} does not exist" in text
    assert not (workspace.path / "models").exists()  # nothing was exported
