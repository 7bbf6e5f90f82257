"""int8 export: calibrated on the run's training images, checked against PyTorch, used by autolabel."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import onnx
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from celeba_tui.onnx.export import INT8_TOLERANCE, TOLERANCES, export_run
from celeba_tui.onnx.metadata import describe, read_metadata

from onnx_models import write_run
from training_data import light_image, make_labelled_workspace

runner = CliRunner()


def celeba(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def run_with_images(tmp_path):
    """A vgg19_variation light run whose split names 24 real images (16 train, 8 val)."""
    rng = np.random.default_rng(0)
    images = tmp_path / "images"
    images.mkdir()
    rows = []
    for i in range(24):
        name = f"{i:06d}.jpg"
        Image.fromarray(light_image(("left", "center", "right")[i % 3], rng, size=(178, 218))).save(images / name)
        rows.append(f"{name},{'val' if i % 3 == 0 else 'train'}\n")
    split = tmp_path / "light.csv"
    split.write_text("image,split\n" + "".join(rows))
    return write_run(tmp_path / "runs", "vgg19_variation", split=split), images


def test_int8_export_is_quantised_checked_and_smaller(tmp_path, run_with_images):
    run, images = run_with_images
    fp32 = export_run(run, tmp_path / "fp32.onnx", image_root=images)
    int8 = export_run(run, tmp_path / "int8.onnx", image_root=images, precision="int8")
    assert int8.metadata.precision == "int8" and read_metadata(int8.path) == int8.metadata
    assert int8.parity.source == "8 validation images" and int8.parity.tolerance == INT8_TOLERANCE
    assert int8.parity.passed and int8.parity.max_abs_diff > fp32.parity.max_abs_diff
    assert int8.parity.argmax_agreement >= 0.75
    ops = Counter(node.op_type for node in onnx.load(str(int8.path)).graph.node)
    assert ops["QuantizeLinear"] >= 8 and ops["DequantizeLinear"] >= 16  # every conv and dense layer
    info = describe(int8.path)
    assert info["inputs"][0]["type"] == "uint8" and info["outputs"][0]["type"] == "float"
    assert int8.bytes < 0.4 * fp32.bytes


def test_int8_and_fp32_models_run_together_in_one_ensemble(tmp_path, run_with_images):
    from celeba_tui.autolabel.inference import open_ensemble
    from celeba_tui.onnx.runtime import model_input

    run, images = run_with_images
    paths = [export_run(run, tmp_path / f"{p}.onnx", image_root=images, precision=p).path for p in ("fp32", "int8")]
    metas = [read_metadata(p) for p in paths]
    session = open_ensemble(paths, metas, provider="cpu", batch_size=4)
    # Images like those it was calibrated on (noise would fall outside the int8 ranges).
    pixels = np.stack([model_input(images / f"{i:06d}.jpg", metas[0]) for i in (0, 3, 6, 9)])
    fp32_probs, int8_probs = session.run([pixels])
    assert fp32_probs.shape == int8_probs.shape == (4, 3)
    assert np.allclose(int8_probs.sum(axis=1), 1, atol=1e-4)
    assert np.abs(fp32_probs - int8_probs).max() < INT8_TOLERANCE


def test_int8_without_training_images_is_a_clear_error_and_writes_nothing(tmp_path, run_with_images):
    run, _ = run_with_images
    out = tmp_path / "int8.onnx"
    with pytest.raises(CelebaError, match="--int8 needs the run's training images to calibrate on"):
        export_run(run, out, image_root=None, precision="int8")
    with pytest.raises(CelebaError, match="--int8 needs the run's training images"):
        export_run(run, out, image_root=tmp_path / "elsewhere", precision="int8")
    with pytest.raises(CelebaError, match="unknown precision 'int4'"):
        export_run(run, out, precision="int4")
    assert not out.exists() and list(tmp_path.glob("*.onnx*")) == []


@pytest.mark.usefixtures("one_thread")
def test_train_export_int8_and_autolabel_through_the_cli(tmp_path, tiny_architecture):
    """The whole chain a user runs: two trained models, exported int8, label the rest."""
    workspace, names, truth = make_labelled_workspace(tmp_path, n=60, labels_for=45)
    ws = workspace.path
    models = []
    for seed in (1, 2):
        trained = celeba(
            "train",
            "--plugin",
            tiny_architecture,
            "--task",
            "light",
            "--epochs",
            "12",
            "--lr",
            "0.02",
            "--seed",
            seed,
            "--augment",
            "none",
            "-w",
            ws,
        )
        assert trained.exit_code == 0, trained.output
        run_dir = trained.stdout.strip().splitlines()[-1]
        out = tmp_path / f"tiny-{seed}-int8.onnx"
        # --int8 is short for --precision int8, the spelling autolabel and cycle take.
        precision = ["--int8"] if seed == 1 else ["--precision", "int8"]
        exported = celeba("export-onnx", run_dir, *precision, "--calibration-images", "16", "-o", out, "-w", ws)
        assert exported.exit_code == 0, exported.output
        assert (
            "(tiny_test, light, int8)" in exported.stdout
            and "validation images: max |p_torch - p_onnx|" in exported.stdout
        )
        models.append(out)
    both = celeba("export-onnx", run_dir, "--int8", "--fp16", "-o", tmp_path / "x.onnx", "-w", ws)
    assert both.exit_code == 2 and "exclude each other" in both.output and not (tmp_path / "x.onnx").exists()
    mixed = celeba("export-onnx", run_dir, "--precision", "fp32", "--fp16", "-o", tmp_path / "x.onnx", "-w", ws)
    assert mixed.exit_code == 2 and "fp16 and fp32 exclude each other" in mixed.output

    labelled = celeba(
        "autolabel",
        "--models",
        *models,
        "--high",
        "0.6",
        "--low",
        "0.4",
        "--provider",
        "cpu",
        "--batch-size",
        "8",
        "--json",
        "-w",
        ws,
    )
    assert labelled.exit_code == 0, labelled.output
    report = json.loads(labelled.stdout[labelled.stdout.index("{") :])
    (task,) = report["tasks"]
    assert task["automatic"] >= 10
    with workspace.open_store() as store:
        live = store.live_labels(task="light", sources=["model"])
    automatic = dict(zip(live["image"], live["label"]))
    right = sum(truth[names.index(name)] == label for name, label in automatic.items())
    assert set(automatic) <= set(names[45:]) and right >= 0.9 * len(automatic)


def test_quantised_file_appears_whole_or_not_at_all(tmp_path, run_with_images, monkeypatch):
    """A quantiser that fails leaves no file behind and says which model it was."""
    run, images = run_with_images

    def broken(*args, **kwargs):
        raise RuntimeError("calibration exploded\nsecond line")

    monkeypatch.setattr("onnxruntime.quantization.quantize_static", broken)
    out = tmp_path / "int8.onnx"
    with pytest.raises(CelebaError, match=r"cannot quantise fp32.onnx to int8: calibration exploded$"):
        export_run(run, out, image_root=images, precision="int8")
    assert not out.exists()


def test_failed_int8_parity_keeps_the_file_and_says_what_to_try(tmp_path, run_with_images, monkeypatch):
    from celeba_tui.workspace import create_workspace

    run, images = run_with_images
    workspace = create_workspace(tmp_path / "ws", images)
    monkeypatch.setitem(TOLERANCES, "int8", 0.0)
    out = tmp_path / "int8.onnx"
    result = celeba("export-onnx", run, "--int8", "-o", out, "-w", workspace.path)
    assert result.exit_code == 2 and out.is_file()
    assert "parity check failed" in result.output and "try more --calibration-images, or export fp32" in result.output


def test_a_model_that_fails_its_check_never_replaces_a_good_one(tmp_path, run_with_images, monkeypatch):
    # Attack pass 30: a failed export (exit 2) had already replaced the good model at -o.
    from celeba_tui.workspace import create_workspace

    run, images = run_with_images
    workspace = create_workspace(tmp_path / "ws", images)
    out = tmp_path / "light.onnx"
    assert celeba("export-onnx", run, "-o", out, "-w", workspace.path).exit_code == 0
    good = out.read_bytes()
    monkeypatch.setitem(TOLERANCES, "int8", 0.0)
    result = celeba("export-onnx", run, "--int8", "-o", out, "-w", workspace.path)
    assert result.exit_code == 2 and out.read_bytes() == good
    assert (
        f"{out}: the file there is left as it was" in result.output and "try more --calibration-images" in result.output
    )
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "light.csv", "light.onnx", "runs", "ws"]


def test_a_checkpoint_with_nan_weights_is_refused_before_export(tmp_path, run_with_images):
    run, _ = run_with_images
    state = torch.load(run / "best.pt", weights_only=True)
    name = next(iter(state))
    torch.save({**state, name: state[name] * float("nan")}, run / "best.pt")
    out = tmp_path / "nan.onnx"
    result = celeba("export-onnx", run, "-o", out)
    assert result.exit_code == 2 and not out.exists()
    assert f"tensor {name!r} holds NaN or infinite weights" in result.output


def test_an_int8_export_over_the_file_size_limit_names_the_output(tmp_path, run_with_images):
    # Found by attack pass 16: the error named the hidden temporary file (or a scratch copy), not -o.
    from file_size_limit import printed_under_file_size_limit

    run, images = run_with_images
    out = tmp_path / "out" / "m8.onnx"
    out.parent.mkdir()
    printed = printed_under_file_size_limit(
        "from celeba_tui.onnx.export import export_run",
        "export_run(Path(sys.argv[1]), Path(sys.argv[2]), image_root=Path(sys.argv[3]), precision='int8', n_check=2)",
        [run, out, images],
    )
    assert printed.startswith("refused: cannot quantise to int8: the float32 copy"), printed
    assert ".tmp-" not in printed and "celeba-export-" not in printed, printed
    assert list(out.parent.iterdir()) == []


def test_an_int8_export_removes_the_scratch_folders_killed_exports_left(tmp_path, run_with_images, monkeypatch):
    # Left by the last session: each kill -9 inside an int8 export left its celeba-export-*
    # (float32 copy) and celeba-int8-* folders in the temporary folder for good.
    import os
    import subprocess
    import sys
    import tempfile
    import time

    from celeba_tui.atomic import STALE_TEMPORARY_S

    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    killed = (
        "import os, tempfile; tempfile.tempdir = os.environ['SCRATCH']\n"
        "from celeba_tui.atomic import scratch_folder\n"
        "with scratch_folder('export') as a, scratch_folder('int8') as b:\n"
        "    (a / 'fp32.onnx').write_bytes(b'half'); (b / 'int8.onnx').write_bytes(b'half'); os._exit(9)\n"
    )
    old = time.time() - STALE_TEMPORARY_S - 60
    for kill in ("old", "young"):  # the young one's folders may be another machine's export in progress
        done = subprocess.run([sys.executable, "-c", killed], env={**os.environ, "SCRATCH": str(scratch_root)})
        assert done.returncode == 9
        if kill == "old":
            left = sorted(scratch_root.iterdir())
            for path in left:
                os.utime(path, (old, old))
    young = sorted(set(scratch_root.iterdir()) - set(left))
    assert [p.name.split("-")[1] for p in left] == ["export", "int8"] and len(young) == 2
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "precious").write_text("x")
    dead_pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True).stdout)
    link = scratch_root / f"celeba-export-{dead_pid}-abcdefgh"  # a link with the pattern's name
    link.symlink_to(kept)
    os.utime(link, (old, old), follow_symlinks=False)
    alive = scratch_root / f"celeba-int8-{os.getppid()}-abcdefgh"  # a running process's
    alive.mkdir()
    (alive / ".celeba-own-folder").write_bytes(b"")
    os.utime(alive, (old, old))
    # Found by attack pass 18: a user's own folder whose name fits the pattern was removed.
    users = [scratch_root / f"celeba-export-{dead_pid}-december", scratch_root / f"celeba-out-{dead_pid}-backup"]
    for folder in users:
        folder.mkdir()
        (folder / "precious").write_text("x")
        os.utime(folder, (old, old))

    run, images = run_with_images
    export_run(run, tmp_path / "int8.onnx", image_root=images, precision="int8")
    assert not any(path.exists() for path in left)
    assert all(path.is_dir() for path in young) and alive.is_dir() and link.is_symlink()
    assert (kept / "precious").read_text() == "x" and all((f / "precious").is_file() for f in users)
    # The export's own folders are gone too (torch may leave its compiler cache there).
    assert set(scratch_root.glob("celeba-*")) == {*young, alive, link, *users}
