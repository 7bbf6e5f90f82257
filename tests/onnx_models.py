"""Models for the export and autolabel tests: run directories and hand-made light "oracles".

`write_run` writes a run directory per the run contract with an untrained (seeded)
architecture, enough for export, parity and plumbing. `LightOracle` is a tiny network
whose behaviour is known: it compares the brightness of the image's left and right
halves (tests/training_data.py paints the lit half), so autolabel can be checked
against ground truth without training anything.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

CLASSES = ("left", "center", "right")


def write_run(
    runs_dir: Path,
    architecture: str,
    task: str = "light",
    *,
    seed: int = 0,
    split: Path | None = None,
    summary: dict | None = None,
) -> Path:
    """A finished run directory for `architecture` with seeded untrained weights; `summary`
    adds to (or replaces) its summary.json's values, a temperature for instance."""
    import torch

    from celeba_tui.plugins import get_architecture

    arch = get_architecture(architecture)
    torch.manual_seed(seed)
    module = arch.build(len(CLASSES))
    sharpen(module, arch.input_size)
    run_id = f"{task}-{architecture}-20240101-000000"
    path = Path(runs_dir) / run_id
    path.mkdir(parents=True)
    config = {
        "run_id": run_id,
        "architecture": architecture,
        "task": task,
        "classes": list(CLASSES),
        "input_size": arch.input_size,
        "preprocess": arch.preprocess,
        "normalisation": "x/255 (uint8 RGB NHWC in the ONNX graph)",
        "epochs": 1,
        "batch_size": 8,
        "lr": 1e-3,
        "seed": seed,
        "augment": "flip",
        "split": str(split) if split else "",
        "plugin": "celeba_tui.builtin_plugins (built-in)",
        "celeba_tui_version": "0.1.0",
    }
    values = {
        "best_epoch": 1,
        "epochs_run": 1,
        "val_acc": 0.5,
        "val_loss": 1.0,
        "val_balanced_acc": 0.4,
        "val_macro_f1": 0.3,
        "majority_baseline": 0.34,
        **(summary or {}),
    }
    (path / "config.json").write_text(json.dumps(config))
    (path / "summary.json").write_text(json.dumps(values))
    torch.save(module.state_dict(), path / "best.pt")
    return path


def sharpen(module, size: int, spread: float = 2.0) -> None:
    """Make an untrained network's outputs differ between images, as a trained one's do.

    Untrained deep networks give nearly uniform probabilities, which would make parity
    trivially small: batch-norm statistics are set from random batches, and the head
    that runs in eval mode is scaled so its logits spread by about `spread`.
    """
    import torch
    from torch import nn

    module.train()
    with torch.no_grad():
        for _ in range(2):
            module(torch.rand(4, 3, size, size))
    module.eval()
    fired: list[tuple[nn.Linear, torch.Tensor]] = []
    hooks = [
        m.register_forward_hook(lambda m, i, o: fired.append((m, o)))
        for m in module.modules()
        if isinstance(m, nn.Linear) and m.out_features == len(CLASSES)
    ]
    with torch.no_grad():
        module(torch.rand(8, 3, size, size))
        for hook in hooks:
            hook.remove()
        head, logits = fired[-1]
        scale = spread / max(float(logits.std()), 1e-6)
        head.weight.mul_(scale)
        head.bias.mul_(scale)


def light_oracle(sharpness: float, *, swap: bool = False):
    """uint8 NHWC in, probabilities out: left/right from which half is brighter, center when even."""
    import torch
    from torch import nn

    class LightOracle(nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = images.permute(0, 3, 1, 2).float() / 255
            half = x.shape[3] // 2
            lean = x[:, :, :, :half].mean(dim=(1, 2, 3)) - x[:, :, :, half:].mean(dim=(1, 2, 3))
            if swap:
                lean = -lean
            logits = torch.stack([lean, 0.25 - lean.abs(), -lean], dim=1) * sharpness
            return torch.softmax(logits, dim=1)

    return LightOracle().eval()


def export_oracle(
    path: Path,
    sharpness: float,
    *,
    task: str = "light",
    size: int = 32,
    swap: bool = False,
    classes=CLASSES,
    name: str = "oracle",
) -> Path:
    """Export a LightOracle with celeba metadata."""
    from celeba_tui.onnx.export import export_module
    from celeba_tui.onnx.metadata import ModelMetadata

    meta = ModelMetadata(
        task=task,
        classes=tuple(classes),
        input_size=size,
        preprocess=f"resize:{size}",
        architecture=name,
        run_id=f"{name}-{sharpness}",
    )
    export_module(light_oracle(sharpness, swap=swap), size, Path(path), meta)
    return Path(path)


def export_oracles(folder: Path) -> dict[str, Path]:
    """The oracles every ONNX test shares (the `oracles` fixture in tests/conftest.py).

    sharp and soft: light at 32 px, soft unsure of center; swapped: left and right
    reversed; big: 48 px; orientation: another task; reordered: classes right, center, left.
    """
    return dict(
        sharp=export_oracle(folder / "sharp.onnx", 12.0),
        soft=export_oracle(folder / "soft.onnx", 4.0),
        swapped=export_oracle(folder / "swapped.onnx", 12.0, swap=True, name="swapped"),
        big=export_oracle(folder / "big.onnx", 8.0, size=48, name="big"),
        orientation=export_oracle(folder / "orient.onnx", 12.0, task="orientation", name="orient"),
        reordered=export_oracle(folder / "reordered.onnx", 12.0, classes=("right", "center", "left")),
    )


def broken_module(how: str):
    """A light torch module whose output is no probability distribution: `nan` (every value
    NaN) or `logits` (raw scores, negative ones included)."""
    import torch
    from torch import nn

    oracle = light_oracle(12.0)

    class Broken(nn.Module):
        def forward(self, images: torch.Tensor) -> torch.Tensor:
            probs = oracle(images)
            return probs * float("nan") if how == "nan" else torch.log(probs + 1e-6)

    return Broken().eval()


def export_broken_output(path: Path, how: str, *, size: int = 32) -> Path:
    """`broken_module(how)` exported as a light model with celeba metadata."""
    from celeba_tui.onnx.export import export_module

    export_module(broken_module(how), size, Path(path), light_metadata(size, "broken", f"broken-{how}"))
    return Path(path)


def light_metadata(size: int, architecture: str, run_id: str):
    """Celeba metadata of a hand-made light model (three classes, `size` px, resized to it)."""
    from celeba_tui.onnx.metadata import ModelMetadata

    return ModelMetadata(
        task="light",
        classes=tuple(CLASSES),
        input_size=size,
        preprocess=f"resize:{size}",
        architecture=architecture,
        run_id=run_id,
    )


def export_constant_width(
    path: Path,
    probs: list[float],
    *,
    size: int = 32,
    output: str = "probabilities",
    logits: str = "logits",
    fixed_rows: int | None = None,
) -> Path:
    """A light model (metadata: three classes) whose output, its class axis left dynamic in
    the graph, is the distribution `probs` for every image, as many values as `probs` has.
    `output` names the graph's output tensor and `logits` the tensor before the softmax.
    With `fixed_rows`, zeros of shape (fixed_rows, width) are added to the output: the graph
    checks out and runs on batches of 1 or `fixed_rows` images only."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from celeba_tui.onnx.metadata import write_metadata

    width = len(probs)
    pixels = helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["batch", size, size, 3])
    out = helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", "classes"])
    weights = [
        numpy_helper.from_array(np.zeros((3, width), np.float32), "w"),
        numpy_helper.from_array(np.log(np.asarray(probs, np.float32)), "b"),
    ]
    nodes = [
        helper.make_node("Cast", ["pixels"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["x"], ["mean"], axes=[1, 2], keepdims=0),
        helper.make_node("MatMul", ["mean", "w"], ["zero"]),
        helper.make_node("Add", ["zero", "b"], [logits]),
        helper.make_node("Softmax", [logits], [output if fixed_rows is None else "softmax"], axis=1),
    ]
    if fixed_rows is not None:
        weights.append(numpy_helper.from_array(np.zeros((fixed_rows, width), np.float32), "rows"))
        nodes.append(helper.make_node("Add", ["softmax", "rows"], [output], name="fixed_rows"))
    graph = helper.make_graph(nodes, "constant", [pixels], [out], weights)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    meta = replace(light_metadata(size, "constant", f"constant-{width}-{logits}"), output_name=output)
    write_metadata(proto, meta)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return Path(path)
