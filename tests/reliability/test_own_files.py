"""The files celeba names itself: a workspace's runs/, splits/, models/, autolabel/ and
cache/, and a synthetic dataset's files. Links, FIFOs and files planted in their place
are one-line errors, never written through; nothing outside is touched and the store
keeps its labels (attack pass 8)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from celeba_tui.atomic import owned_path
from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from reliability.store_files import final_error_line, table_digests

from file_size_limit import printed_under_file_size_limit
from training_data import make_labelled_workspace

pytestmark = pytest.mark.usefixtures("one_thread")


def celeba(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def labelled(tmp_path):
    return make_labelled_workspace(tmp_path, n=16, labels_for=10)[0]


@pytest.fixture
def outside(tmp_path):
    """A file outside every workspace that a planted link points to."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    return victim


def autolabel(workspace, oracles):
    models = [str(oracles["sharp"]), str(oracles["soft"])]
    return celeba("autolabel", "--models", *models, "--high", "0.3", "--low", "0.1", "-w", workspace.path)


# ------------------------------------------------------------------ autolabel's report
@pytest.mark.parametrize("name", ["skipped.csv", "suspects.csv", "precision-coverage.png"])
def test_autolabel_refuses_a_link_planted_in_its_report_folder(labelled, oracles, outside, name):
    (labelled.path / "autolabel").mkdir()
    os.symlink(outside, labelled.path / "autolabel" / name)
    before = table_digests(labelled.store_path)
    text = final_error_line(autolabel(labelled, oracles))
    assert text.startswith(f"error: cannot write {labelled.path / 'autolabel' / name}: it is a symbolic link")
    assert outside.read_text() == "precious\n"
    assert table_digests(labelled.store_path) == before  # refused before any prediction or label


@pytest.mark.parametrize("planted", ["file", "fifo", "dangling link"])
def test_autolabel_with_something_else_in_place_of_its_report_commits_nothing(labelled, oracles, tmp_path, planted):
    place = labelled.path / "autolabel"
    if planted == "file":
        place.write_text("not a folder\n")
    elif planted == "fifo":
        place.mkdir()
        os.mkfifo(place / "suspects.csv")
    else:
        os.symlink(tmp_path / "nowhere", place)
    before = table_digests(labelled.store_path)
    text = final_error_line(autolabel(labelled, oracles))
    assert text.startswith("error: cannot write ") and str(place) in text
    assert table_digests(labelled.store_path) == before
    assert not (tmp_path / "nowhere").exists()


# ------------------------------------------------------------------ training
def test_train_new_split_refuses_a_link_in_place_of_the_split(labelled, tiny_architecture, outside):
    labelled.splits_dir.mkdir()
    os.symlink(outside, labelled.splits_dir / "light.csv")
    result = celeba(
        "train", "-p", tiny_architecture, "-t", "light", "--epochs", "1", "--new-split", "-w", labelled.path
    )
    text = final_error_line(result)
    assert f"cannot write {labelled.splits_dir / 'light.csv'}: it is a symbolic link" in text
    assert outside.read_text() == "precious\n"


@pytest.mark.parametrize("folder", ["runs", "cache"])
@pytest.mark.parametrize("planted", ["file", "dangling link"])
def test_train_with_a_file_or_link_in_place_of_a_workspace_folder(
    labelled, tiny_architecture, tmp_path, folder, planted
):
    place = labelled.path / folder
    if planted == "file":
        place.write_text("x\n")
    else:
        os.symlink(tmp_path / "elsewhere", place)
    result = celeba("train", "-p", tiny_architecture, "-t", "light", "--epochs", "1", "-w", labelled.path)
    text = final_error_line(result)
    assert text.startswith("error: cannot write ") and f"{place} is a" in text
    assert not (tmp_path / "elsewhere").exists()


def test_a_run_folder_swapped_for_a_link_mid_write_is_refused(tmp_path):
    workspace = tmp_path / "ws"
    run = workspace / "runs" / "light-cnn4-1"
    run.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(CelebaError, match="is a symbolic link"):
        with owned_path(run / "best.pt", workspace) as tmp:
            tmp.write_bytes(b"weights")
            # Another process swaps the run folder for a link while the file is written.
            os.rename(run, tmp_path / "moved")
            os.symlink(elsewhere, run)
    assert list(elsewhere.iterdir()) == []


def test_a_checkpoint_over_the_file_size_limit_is_one_error_line(tmp_path):
    """torch.save reports EFBIG as a RuntimeError: it becomes a CelebaError, no traceback."""
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    printed = printed_under_file_size_limit(
        "import torch\nfrom celeba_tui.training.run_dir import save_checkpoint",
        "save_checkpoint(Path(sys.argv[1]), {'w': torch.zeros(1_000_000)})",
        [run],
    )
    assert printed.startswith(f"refused: cannot write {run / 'best.pt'}"), printed
    assert not (run / "best.pt").exists()


def test_an_export_over_the_file_size_limit_names_the_output_and_leaves_nothing(tmp_path):
    # Found by attack pass 15: the error named the hidden temporary file, not -o.
    from onnx_models import write_run

    run = write_run(tmp_path / "runs", "cnn4")
    out = tmp_path / "out" / "m.onnx"
    out.parent.mkdir()
    printed = printed_under_file_size_limit(
        "from celeba_tui.onnx.export import export_run",
        "export_run(Path(sys.argv[1]), Path(sys.argv[2]), n_check=2)",
        [run, out],
    )
    assert printed.startswith(f"refused: cannot write {out}: File too large"), printed
    assert list(out.parent.iterdir()) == []


def test_temporaries_left_by_killed_writers_go_at_the_next_write_of_the_file(tmp_path):
    # Found by attack pass 15: each kill -9 mid-export left a hidden .NAME.tmp-PID-THREAD for good.
    import time

    from celeba_tui.atomic import STALE_TEMPORARY_S, atomic_path

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)
    old = time.time() - STALE_TEMPORARY_S - 60
    workspace = tmp_path / "ws"
    for out, write in ((tmp_path / "m.onnx", lambda path: atomic_path(path)), (workspace / "models" / "m.onnx", None)):
        out.parent.mkdir(parents=True, exist_ok=True)
        left = out.with_name(f".{out.name}.tmp-{dead}-1")
        recent = out.with_name(f".{out.name}.tmp-{dead}-2")  # perhaps another machine's write in progress
        alive = out.with_name(f".{out.name}.tmp-{os.getppid()}-3")  # a running process's
        other = out.with_name(f".{out.name}x.tmp-{dead}-4")  # another file's
        link = out.with_name(f".{out.name}.tmp-{dead}-5")
        for path in (left, recent, alive, other):
            path.write_bytes(b"half")
        link.symlink_to(tmp_path / "elsewhere")
        for path in (left, alive, other, link):
            os.utime(path, (old, old), follow_symlinks=False)
        with write(out) if write else owned_path(out, workspace) as tmp:
            tmp.write_bytes(b"model")
        assert out.read_bytes() == b"model"
        assert not left.exists()
        assert recent.exists() and alive.exists() and other.exists() and link.is_symlink()


# ------------------------------------------------------------------ exports into the workspace's own files
def test_exports_may_not_replace_a_checkpoint_or_a_split(labelled):
    from onnx_models import write_run

    run = write_run(labelled.runs_dir, "cnn4")
    checkpoint = (run / "best.pt").read_bytes()
    text = final_error_line(celeba("export-onnx", run, "-o", run / "best.pt", "-w", labelled.path))
    assert f"cannot write {run / 'best.pt'}: it is " in text
    assert (run / "best.pt").read_bytes() == checkpoint
    labelled.splits_dir.mkdir(exist_ok=True)
    split = labelled.splits_dir / "light.csv"
    split.write_text("image,split\n")
    text = final_error_line(celeba("export", "-o", split, "-w", labelled.path))
    assert "this workspace's fixed splits" in text and split.read_text() == "image,split\n"


# ------------------------------------------------------------------ synth
def test_synth_force_refuses_links_and_fifos_among_its_files(tmp_path, outside):
    out = tmp_path / "data"
    assert celeba("synth", "-o", out, "-n", "3", "--workers", "1").exit_code == 0
    (out / "ground_truth.csv").unlink()
    os.symlink(outside, out / "ground_truth.csv")
    text = final_error_line(celeba("synth", "-o", out, "-n", "3", "--workers", "1", "--force"))
    assert "ground_truth.csv: it is a symbolic link" in text and outside.read_text() == "precious\n"
    (out / "ground_truth.csv").unlink()
    (out / "ground_truth.csv").write_text("image\n")
    image = out / "img_align_celeba" / "000002.jpg"
    image.unlink()
    os.mkfifo(image)  # nobody reads it: writing it would hang
    text = final_error_line(celeba("synth", "-o", out, "-n", "3", "--workers", "1", "--force"))
    assert "000002.jpg: is a FIFO" in text
    image.unlink()
    os.symlink(outside, image)
    text = final_error_line(celeba("synth", "-o", out, "-n", "3", "--workers", "1", "--force"))
    assert "000002.jpg: is a symbolic link" in text and outside.read_text() == "precious\n"


def test_synth_truth_labels_are_never_written_through_a_link_or_into_a_fifo(tmp_path, outside):
    out = tmp_path / "data"
    assert celeba("synth", "-o", out, "-n", "3", "--workers", "1", "--truth-labels").exit_code == 0
    (out / "truth.csv").unlink()
    os.symlink(outside, out / "truth.csv")
    text = final_error_line(celeba("synth", "-o", out, "-n", "3", "--workers", "1", "--force", "--truth-labels"))
    assert "truth.csv: it is a symbolic link" in text and outside.read_text() == "precious\n"
    (out / "truth.csv").unlink()
    os.mkfifo(out / "truth.csv")  # nobody reads it: writing it would hang
    text = final_error_line(celeba("synth", "-o", out, "-n", "3", "--workers", "1", "--force", "--truth-labels"))
    assert "truth.csv: it is a FIFO" in text


@pytest.mark.parametrize(
    "args, message", [(["--seed", "-1"], "--seed must be between"), (["-n", "1000000"], "-n must")]
)
def test_synth_checks_seed_and_count_before_making_its_folder(tmp_path, args, message):
    out = tmp_path / "data"
    text = final_error_line(celeba("synth", "-o", out, *args))
    assert message in text and not out.exists()


# ------------------------------------------------------------------ names and text from outside
def test_a_run_name_longer_than_the_system_allows_is_one_line(labelled, oracles):
    long = "best:" + "x" * 5000
    for args in (["report", "x" * 5000], ["export-onnx", "y" * 5000, "-o", "m.onnx"], ["autolabel", "-m", long]):
        final_error_line(celeba(*args, "-w", labelled.path))  # one line, no "File name too long" traceback


def test_report_markdown_shows_control_characters_in_a_run_id_escaped(labelled):
    from onnx_models import write_run

    run = write_run(labelled.runs_dir, "cnn4")
    config = json.loads((run / "config.json").read_text())
    config["run_id"] = "evil\x1b]0;pwned\x07"
    (run / "config.json").write_text(json.dumps(config))
    for args in (["report", "--markdown"], ["report"]):
        result = celeba(*args, "-w", labelled.path)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout


@pytest.mark.parametrize("seconds", ["Infinity", "NaN"])
def test_report_shows_a_hostile_task_name_and_a_non_finite_time_as_text(labelled, seconds):
    # A task that reads as rich markup (and holds an escape), a training time of Infinity:
    # MarkupError and OverflowError tracebacks before; now shown escaped, the time as `-`.
    from onnx_models import write_run

    run = write_run(labelled.runs_dir, "cnn4")
    config = json.loads((run / "config.json").read_text())
    config["task"] = "[/]\x1b]0;pwned\x07"
    (run / "config.json").write_text(json.dumps(config))
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps(summary)[:-1] + f', "train_seconds": {seconds}}}')
    for args in (["report", "--markdown"], ["report"]):
        result = celeba(*args, "-w", labelled.path)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert "[/]" in result.stdout
