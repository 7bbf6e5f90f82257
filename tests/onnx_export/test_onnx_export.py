"""Export to ONNX: every registered architecture, parity with PyTorch, metadata, fp16, bad files."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from celeba_tui.errors import CelebaError
from celeba_tui.onnx.export import FP16_TOLERANCE, FP32_TOLERANCE, export_run, metadata_for_run
from celeba_tui.onnx.metadata import ModelFileError, ModelMetadata, check_same_classes, describe, read_metadata
from celeba_tui.plugins import list_architectures

from onnx_models import CLASSES, write_run

SLOW_TO_EXPORT = {"resnet50", "vgg19_scratch", "inception_v3"}
ARCHITECTURES = [
    pytest.param(name, marks=pytest.mark.slow) if name in SLOW_TO_EXPORT else name for name in list_architectures()
]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_export_and_parity_for_every_architecture(tmp_path, architecture):
    import onnxruntime as ort

    run = write_run(tmp_path / "runs", architecture)
    out = tmp_path / f"{architecture}.onnx"
    result = export_run(run, out)
    assert result.parity.passed and result.parity.max_abs_diff <= FP32_TOLERANCE
    assert result.parity.argmax_agreement == 1.0
    assert result.parity.n == 32
    # Dynamic batch: a batch size other than the export example's works.
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    size = result.metadata.input_size
    (probs,) = session.run(None, {"pixels": np.zeros((5, size, size, 3), dtype=np.uint8)})
    assert probs.shape == (5, 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    ops = {node.op_type for node in __import__("onnx").load(str(out)).graph.node}
    assert "Dropout" not in ops  # exported in eval mode


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """An orientation vgg19_variation run and its fp32 export (shared: exports take seconds)."""
    folder = tmp_path_factory.mktemp("exported")
    run = write_run(folder / "runs", "vgg19_variation", task="orientation")
    return run, export_run(run, folder / "m.onnx")


def test_metadata_round_trip(exported):
    from celeba_tui.models.run_files import load_run

    run, result = exported
    out = result.path
    meta = read_metadata(out)
    assert meta == result.metadata
    expected = metadata_for_run(load_run(run))
    assert meta.task == "orientation" and meta.classes == CLASSES and meta.input_size == 64
    assert meta.preprocess == expected.preprocess == "resize:64"
    assert meta.architecture == "vgg19_variation" and meta.run_id == run.name
    assert meta.validation["val_acc"] == 0.5 and meta.validation["val_macro_f1"] == 0.3
    assert ModelMetadata.from_props(meta.to_props(), "x") == meta
    info = describe(out)
    assert info["inputs"][0] == {"name": "pixels", "type": "uint8", "shape": ["batch", 64, 64, 3]}
    assert info["outputs"][0]["type"] == "float" and info["outputs"][0]["shape"][1] == 3
    assert info["metadata"]["classes"] == list(CLASSES) and len(info["hash"]) == 16


def test_a_model_file_is_parsed_once_per_version(tmp_path, exported, monkeypatch):
    import shutil

    import onnx

    from celeba_tui.onnx import metadata as metadata_module
    from celeba_tui.onnx.metadata import write_metadata

    _, result = exported
    copy = tmp_path / "m.onnx"
    shutil.copyfile(result.path, copy)
    parsed = []
    load = metadata_module.load_model_proto
    monkeypatch.setattr(metadata_module, "load_model_proto", lambda *a, **k: parsed.append(a[0]) or load(*a, **k))
    assert read_metadata(copy).task == "orientation"
    assert read_metadata(copy).task == "orientation"
    assert len(parsed) == 1
    # The file replaced by another model (another inode): read afresh, never the old answer.
    model = onnx.load(copy)
    write_metadata(model, replace(read_metadata(copy), task="light"))
    onnx.save(model, tmp_path / "other.onnx")
    (tmp_path / "other.onnx").replace(copy)
    assert read_metadata(copy).task == "light" and len(parsed) == 2
    copy.unlink()
    with pytest.raises(ModelFileError, match="no such model file"):
        read_metadata(copy)


def test_fp16_keeps_uint8_input_and_float32_output(tmp_path, exported):
    run, fp32 = exported
    out = tmp_path / "m16.onnx"
    result = export_run(run, out, precision="fp16")
    assert result.metadata.precision == "fp16"
    assert result.parity.tolerance == FP16_TOLERANCE and result.parity.passed
    assert result.parity.argmax_agreement >= 0.9
    info = describe(out)
    assert info["inputs"][0]["type"] == "uint8" and info["outputs"][0]["type"] == "float"
    assert result.bytes < 0.6 * fp32.bytes


def test_parity_batch_is_the_runs_validation_images(tmp_path):
    from PIL import Image

    from celeba_tui.models.run_files import load_run
    from celeba_tui.onnx.export import validation_pixels
    from celeba_tui.onnx.runtime import model_input

    images = tmp_path / "images"
    images.mkdir()
    for i in range(6):
        Image.new("RGB", (178, 218), (i * 40, 100, 200 - i * 30)).save(images / f"{i:06d}.jpg")
    split = tmp_path / "light.csv"
    split.write_text("image,split\n" + "".join(f"{i:06d}.jpg,{'val' if i % 2 else 'train'}\n" for i in range(6)))
    run = load_run(write_run(tmp_path / "runs", "cnn4", split=split))
    pixels, source = validation_pixels(run, images)
    assert source == "3 validation images" and pixels.shape == (3, 64, 64, 3)
    assert np.array_equal(pixels[0], model_input(images / "000001.jpg", metadata_for_run(run)))
    noise, source = validation_pixels(run, None, n=4)
    assert source == "4 random images (no validation images found)" and noise.shape == (4, 64, 64, 3)


def test_parity_of_a_model_that_outputs_nan_is_no_agreement(tmp_path):
    # Attack pass 13: a checkpoint with NaN weights failed parity but said "argmax agreement 100%".
    from celeba_tui.onnx.export import parity_check

    from onnx_models import broken_module, export_broken_output

    path = export_broken_output(tmp_path / "nan.onnx", "nan")
    pixels = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    parity = parity_check(broken_module("nan"), path, pixels, 1e-4, "4 test images")
    assert parity.argmax_agreement == 0.0


def test_not_a_model_and_no_metadata_are_clear_errors(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("hello, I am not a model\n" * 20)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    for path in (text, empty, tmp_path / "missing.onnx"):
        with pytest.raises(ModelFileError, match=str(path.name)):
            read_metadata(path)
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    bare = tmp_path / "bare.onnx"
    onnx.save(helper.make_model(graph), str(bare))
    with pytest.raises(ModelFileError, match="no celeba metadata"):
        read_metadata(bare)


def test_models_of_a_task_must_name_the_same_classes_in_the_same_order():
    a = ModelMetadata("light", CLASSES, 64)
    check_same_classes([("a", a), ("b", ModelMetadata("light", CLASSES, 128))])
    with pytest.raises(CelebaError, match="class order"):
        check_same_classes([("a", a), ("b", ModelMetadata("light", ("right", "center", "left"), 64))])
    with pytest.raises(CelebaError, match="class names for task 'light': a has"):
        check_same_classes([("a", a), ("b", ModelMetadata("light", ("L", "C", "R"), 64))])


def test_not_a_run_is_a_clear_error(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(CelebaError, match="not a training run"):
        export_run(tmp_path / "folder", tmp_path / "m.onnx")


def test_cli_export_by_run_id_and_inspect(tmp_path, monkeypatch):
    from celeba_tui.cli import app
    from celeba_tui.workspace import create_workspace

    images = tmp_path / "images"
    images.mkdir()
    ws = create_workspace(tmp_path / "ws", images)
    run = write_run(ws.runs_dir, "vgg19_variation")
    runner = CliRunner()
    out = tmp_path / "my model.onnx"
    result = runner.invoke(app, ["export-onnx", run.name, "--out", str(out), "-w", str(ws.path)])
    assert result.exit_code == 0, result.output
    assert "parity on 32 random images" in result.output and "argmax agreement 100.0%" in result.output
    # The next command works pasted into a shell (attack pass 13: an unquoted path with a space).
    assert f"Next: celeba autolabel -m '{out}'" in result.output
    result = runner.invoke(app, ["inspect", str(out), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["metadata"]["architecture"] == "vgg19_variation" and info["metadata"]["task"] == "light"
    assert info["metadata"]["celeba_metadata"] == "1"  # as docs/autolabel.md says inspect shows it
    result = runner.invoke(app, ["inspect", str(out)])
    assert "classes      left, center, right" in result.output
    assert "metadata     schema 1 (celeba_metadata)" in result.output
    result = runner.invoke(app, ["export-onnx", "nope", "--out", str(out), "-w", str(ws.path)])
    assert result.exit_code == 2 and "no run 'nope'" in result.output
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01garbage")
    result = runner.invoke(app, ["inspect", str(tmp_path / "junk.onnx")])
    assert result.exit_code == 2 and "not an ONNX model" in result.output
