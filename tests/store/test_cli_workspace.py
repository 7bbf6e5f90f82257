import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app

runner = CliRunner()


def run(*args, ok=True):
    result = runner.invoke(app, [str(a) for a in args])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from celeba_tui.cli import app\n"
        "r = CliRunner().invoke(app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'textual', 'textual_image', 'sklearn', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_dash_m_runs():
    out = subprocess.run([sys.executable, "-m", "celeba_tui", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "import" in out.stdout


def test_init_import_export_stats_round_trip(tmp_path, image_folder, reference_labels):
    ws = tmp_path / "ws"
    run("init", ws, "--images", image_folder)
    result = run("import", reference_labels / "study-labels-561.csv", "--annotator", "alice", "-w", ws, "--json")
    report = json.loads(result.stdout)[0]
    assert report["format"] == "onehot" and report["images"] == 560 and report["unknown_images"] == 560
    stats = json.loads(run("stats", "-w", ws, "--json").stdout)
    assert stats["images"] == 10
    # Every labelled image is outside the image root: counted under not_in_root, not tasks.
    assert stats["not_in_root"]["light"]["classes"] == {"left": 108, "center": 350, "right": 102}
    assert stats["tasks"]["light"] == {
        "labelled": 0,
        "conflicts": 0,
        "unlabelled": 10,
        "classes": {"left": 0, "center": 0, "right": 0},
        "status": {"review": 0, "agreed": 0, "model": 0},
    }
    assert stats["annotators"] == {"alice": {"light": 560, "orientation": 560}}
    run("export", "--format", "onehot", "--out", tmp_path / "x.csv", "-w", ws)
    run("export", "--format", "long", "--out", tmp_path / "x_long.csv", "-w", ws)
    run("export", "--format", "parquet", "--out", tmp_path / "x.parquet", "-w", ws)
    long = pd.read_csv(tmp_path / "x_long.csv")
    assert list(long.columns) == ["image", "task", "label", "annotator", "source"] and len(long) == 1120
    assert len(pd.read_parquet(tmp_path / "x.parquet")) == 1120
    # Re-importing our own exports into a fresh workspace gives the same labels.
    ws2 = tmp_path / "ws2"
    run("init", ws2, "--images", image_folder)
    run("import", tmp_path / "x_long.csv", "-w", ws2)
    run("import", tmp_path / "x.parquet", "-w", ws2)
    run("import", tmp_path / "x.csv", "--annotator", "alice", "-w", ws2)
    stats2 = json.loads(run("stats", "-w", ws2, "--json").stdout)
    assert stats2["tasks"] == stats["tasks"] and stats2["not_in_root"] == stats["not_in_root"]
    assert stats2["annotators"] == {"alice": {"light": 560, "orientation": 560}}


def test_import_store_keeps_annotator_identity(tmp_path, image_folder):
    for name, label in (("a", "left"), ("b", "right")):
        run("init", tmp_path / name, "--images", image_folder)
        (tmp_path / f"{name}.csv").write_text(f"image,task,label\n000001.jpg,light,{label}\n")
        run("import", tmp_path / f"{name}.csv", "--annotator", name, "-w", tmp_path / name)
    run("init", tmp_path / "main", "--images", image_folder)
    for name in ("a", "b"):
        run("import", tmp_path / name / "labels.sqlite", "-w", tmp_path / "main")
    stats = json.loads(run("stats", "-w", tmp_path / "main", "--json").stdout)
    assert stats["annotators"] == {"a": {"light": 1}, "b": {"light": 1}}
    assert stats["tasks"]["light"]["conflicts"] == 1


def test_bad_line_imports_nothing(tmp_path, workspace):
    path = tmp_path / "bad.csv"
    lines = [f"{i:06d}.jpg,1,0,0,0,1,0" for i in range(1, 50)] + ["000050.jpg,1,0,0,0,1"]
    path.write_text("\n".join(lines) + "\n")
    result = run("import", path, "-w", workspace.path, ok=False)
    assert result.exit_code == 2
    assert f"{path}:50: expected 7 columns" in result.output
    assert "Traceback" not in result.output
    stats = json.loads(run("stats", "-w", workspace.path, "--json").stdout)
    assert stats["tasks"]["light"]["labelled"] == 0


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a label file"),
        (b"just some words\n", "not a recognised label file"),
        (b"", "empty file"),
    ],
)
def test_not_a_csv_is_one_clear_line(tmp_path, workspace, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    result = run("import", path, "-w", workspace.path, ok=False)
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_image_root(tmp_path):
    result = run("init", tmp_path / "ws", "--images", tmp_path / "nope", ok=False)
    assert result.exit_code == 2 and "does not exist" in result.output


def test_store_that_is_not_sqlite(tmp_path, workspace):
    workspace.store_path.write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        workspace.store_path.with_name(workspace.store_path.name + suffix).unlink(missing_ok=True)
    result = run("stats", "-w", workspace.path, ok=False)
    assert result.exit_code == 2 and "not a celeba label store" in result.output


def test_config_with_bad_task_and_unknown_task_in_file(tmp_path, workspace):
    config = workspace.config_path
    text = config.read_text()
    config.write_text(text.replace('classes = ["left", "center", "right"]', 'classes = ["left"]', 1))
    result = run("stats", "-w", workspace.path, ok=False)
    assert "needs at least two classes" in result.output and str(config) in result.output
    config.write_text(text)
    (tmp_path / "l.csv").write_text("image,task,label\n000001.jpg,mood,happy\n")
    result = run("import", tmp_path / "l.csv", "-w", workspace.path, ok=False)
    assert "unknown task 'mood'" in result.output


def test_not_a_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    result = run("stats", ok=False)
    assert result.exit_code == 2 and "no celeba workspace" in result.output


def test_workspace_found_from_subfolder(workspace, monkeypatch):
    sub = workspace.path / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.delenv("CELEBA_WORKSPACE", raising=False)
    assert json.loads(run("stats", "--json").stdout)["images"] == 10


@pytest.mark.parametrize(
    "where, message",
    [
        (lambda tmp: Path("/proc/celeba-workspace"), "cannot create a workspace in /proc/celeba-workspace"),
        (lambda tmp: tmp / "a-file", "it is a file, not a folder"),
        (lambda tmp: tmp / "a-file" / "ws", "Not a directory"),
    ],
    ids=["proc", "a-file", "under-a-file"],
)
def test_init_where_no_workspace_can_be_is_one_line(tmp_path, image_folder, where, message):
    (tmp_path / "a-file").write_text("not a folder")
    result = run("init", where(tmp_path), "--images", image_folder, ok=False)
    assert result.exit_code == 2, result.output
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text and message in text, text
    assert (tmp_path / "a-file").read_text() == "not a folder"
