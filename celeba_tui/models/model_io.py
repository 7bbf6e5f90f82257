"""Trained models in and out: the uint8-in, probabilities-out classifier and run loading.

`ImageClassifier` is what gets exported to ONNX: uint8 RGB (N, H, W, 3) in, softmax
probabilities (N, C) out, with the x/255 normalisation inside the graph so every
consumer feeds the same bytes `celeba_tui.images.decode_resized` produced.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from celeba_tui.architecture import MAX_INPUT_SIZE
from celeba_tui.errors import CelebaError

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.csv"
CHECKPOINT_FILE = "best.pt"
NORMALISATION = "x/255 (uint8 RGB NHWC in the ONNX graph)"
REQUIRED_CONFIG = ("run_id", "architecture", "task", "classes", "input_size", "preprocess")
# summary.json values that must be numbers (or null) where present: reports sort and
# print them, exports copy the validation figures into the ONNX metadata (class_bias, a
# list, is checked by run_class_bias).
SUMMARY_NUMBERS = (
    "val_acc",
    "val_loss",
    "val_balanced_acc",
    "val_macro_f1",
    "majority_baseline",
    "temperature",
    "best_epoch",
    "epochs_run",
    "train_seconds",
    "images_per_s",
    "n_train",
    "n_val",
    "params_trainable",
    "params_non_trainable",
)


def to_model_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) RGB -> float (N, 3, H, W) in [0, 1] (channels-last strides)."""
    return images.permute(0, 3, 1, 2).float() / 255


def main_logits(output) -> torch.Tensor:
    """The main head's logits (train-mode InceptionV3 also returns auxiliary logits)."""
    return output[0] if isinstance(output, (tuple, list)) else output


class ImageClassifier(nn.Module):
    """An architecture's module behind uint8 input and softmax output, its logits divided by
    the run's fitted temperature and shifted by its class biases (1.0 and none for runs not
    calibrated: celeba_tui.models.calibration), so the exported graph computes them too.

    A module trained with landmark cues has outputs past its classes; with `n_classes`
    given, only the first n_classes outputs are classes (the cues stay out of the graph's output)."""

    def __init__(
        self,
        module: nn.Module,
        temperature: float = 1.0,
        n_classes: int | None = None,
        class_bias: Sequence[float] | None = None,
    ):
        super().__init__()
        self.module = module
        self.temperature = float(temperature)
        self.n_classes = n_classes
        bias = None if class_bias is None else torch.tensor([float(v) for v in class_bias], dtype=torch.float32)
        self.register_buffer("class_bias", bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = main_logits(self.module(to_model_input(images)))
        if self.n_classes is not None:
            logits = logits[:, : self.n_classes]
        if self.temperature != 1.0:
            logits = logits / self.temperature
        if self.class_bias is not None:
            logits = logits + self.class_bias
        return torch.softmax(logits, dim=1)


def run_temperature(run: "Run") -> float:
    """The softmax temperature a run recorded (summary.json), 1.0 when none; a bad value is refused."""
    from celeba_tui.models.calibration import MAX_TEMPERATURE, MIN_TEMPERATURE

    value = run.summary.get("temperature", 1.0) if isinstance(run.summary, dict) else 1.0
    if value is None:
        return 1.0
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not MIN_TEMPERATURE <= float(value) <= MAX_TEMPERATURE
    ):
        raise CelebaError(
            f"run {run.path}: summary.json temperature {value!r} is not a number in "
            f"[{MIN_TEMPERATURE}, {MAX_TEMPERATURE}]"
        )
    return float(value)


def run_class_bias(run: "Run") -> list[float] | None:
    """The class biases a run recorded (summary.json `class_bias`), None when none; a
    value that is not one finite number per class within +-MAX_BIAS is refused."""
    from celeba_tui.models.calibration import MAX_BIAS

    value = run.summary.get("class_bias") if isinstance(run.summary, dict) else None
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != len(run.classes)
        or any(
            isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or abs(v) > MAX_BIAS
            for v in value
        )
    ):
        raise CelebaError(
            f"run {run.path}: summary.json class_bias {value!r} is not {len(run.classes)} numbers "
            f"(one per class) in [-{MAX_BIAS:g}, {MAX_BIAS:g}]"
        )
    return [float(v) for v in value]


def run_cue_outputs(run: "Run") -> int:
    """How many landmark-cue outputs a run's network has past its classes (config.json
    `landmark_cues`, a list of cue names; absent: none); a bad value is refused."""
    from celeba_tui.models.landmark_cues import CUES

    value = run.config.get("landmark_cues", [])
    if not isinstance(value, list) or any(not isinstance(cue, str) or cue not in CUES for cue in value):
        raise CelebaError(
            f"run {run.path}: config.json landmark_cues {value!r} is not a list of cue names ({', '.join(CUES)})"
        )
    return len(value)


@dataclass
class Run:
    """A training run directory: its config and (once finished) its summary."""

    path: Path
    config: dict
    summary: dict

    @property
    def run_id(self) -> str:
        return self.config["run_id"]

    @property
    def architecture(self) -> str:
        return self.config["architecture"]

    @property
    def task(self) -> str:
        return self.config["task"]

    @property
    def classes(self) -> list[str]:
        return list(self.config["classes"])

    @property
    def input_size(self) -> int:
        return int(self.config["input_size"])

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT_FILE


def load_run(path: Path | str) -> Run:
    """Read a run directory; a CelebaError if it is not a (finished) run."""
    path = Path(path)
    if not path.is_dir():
        raise CelebaError(f"{path}: no such run directory")
    config = _read_json(path / CONFIG_FILE, "not a training run (no config.json)")
    missing = [key for key in REQUIRED_CONFIG if key not in config]
    if missing:
        raise CelebaError(f"{path / CONFIG_FILE}: not a run config (missing {', '.join(missing)})")
    check_config_values(path / CONFIG_FILE, config)
    summary = _read_json(path / SUMMARY_FILE, "unfinished run (no summary.json)")
    check_summary_values(path / SUMMARY_FILE, summary)
    if not (path / CHECKPOINT_FILE).is_file():
        raise CelebaError(f"{path}: run has no checkpoint {CHECKPOINT_FILE}")
    return Run(path, config, summary)


def check_config_values(where: Path, config: dict) -> None:
    """A CelebaError naming the file unless config.json's required values have their types."""
    for key in ("run_id", "architecture", "task", "preprocess"):
        if not isinstance(config[key], str):
            raise CelebaError(f"{where}: {key} {_shown(config[key])} is not a string")
    classes = config["classes"]
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise CelebaError(f"{where}: classes {_shown(classes)} is not a list of two or more class names")
    size = config["input_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_INPUT_SIZE:
        raise CelebaError(f"{where}: input_size {_shown(size)} is not a whole number of pixels in 1..{MAX_INPUT_SIZE}")


def check_summary_values(where: Path, summary: dict) -> None:
    """A CelebaError naming the file where a summary.json figure is not a number."""
    for key in SUMMARY_NUMBERS:
        value = summary.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise CelebaError(f"{where}: {key} {_shown(value)} is not a number")


def _shown(value, limit: int = 60) -> str:
    """A value from a run file as an error line quotes it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_json(path: Path, missing_message: str) -> dict:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read
            raise CelebaError(f"{path}: not a regular file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CelebaError(f"{path.parent}: {missing_message}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise CelebaError(f"{path}: unreadable ({reason})") from None
    if not isinstance(data, dict):
        raise CelebaError(f"{path}: not a JSON object")
    return data


def build_classifier(run: Run, device: str | torch.device = "cpu") -> ImageClassifier:
    """The run's architecture with its best weights, in eval mode, ready for uint8 batches."""
    from celeba_tui.plugins import get_architecture

    plugin = run.config.get("plugin") or "unknown plugin"
    try:
        architecture = get_architecture(run.architecture)
    except CelebaError as exc:
        raise CelebaError(
            f"run {run.path} was trained with architecture {run.architecture!r} ({plugin}), "
            f"which is not available: {exc}"
        ) from None
    if architecture.input_size != run.input_size:
        raise CelebaError(
            f"run {run.path} was trained with {run.architecture!r} ({plugin}) at {run.input_size} px, "
            f"but the installed {run.architecture!r} takes {architecture.input_size} px"
        )
    cue_outputs = run_cue_outputs(run)
    module = architecture.build(len(run.classes) + cue_outputs)
    try:
        state = torch.load(run.checkpoint, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  (torch raises many types for a bad file)
        # torch's weights-only message spans lines and suggests weights_only=False: never for a file we did not write.
        blocked = re.search(r"unsupported global:? (?:GLOBAL )?(\S+)", str(exc), re.IGNORECASE)
        if blocked:
            raise CelebaError(
                f"{run.checkpoint}: refused: the checkpoint holds Python objects, not just weights "
                f"({blocked.group(1)}); checkpoints are loaded with weights_only=True"
            ) from None
        weights_only = isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in str(exc)
        first = "not a weights-only file" if weights_only else (str(exc).strip().splitlines() or [""])[0]
        raise CelebaError(f"{run.checkpoint}: not a readable checkpoint ({type(exc).__name__}: {first})") from None
    if not isinstance(state, dict):
        raise CelebaError(f"{run.checkpoint}: not a state dict")
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3]) or first[0]
        raise CelebaError(
            f"run {run.path} was trained with plugin {plugin} (architecture {run.architecture!r}, "
            f"{len(run.classes)} classes); its checkpoint does not fit the installed {run.architecture!r}: {detail}"
        ) from None
    n_classes = len(run.classes) if cue_outputs else None
    classifier = ImageClassifier(module, run_temperature(run), n_classes, run_class_bias(run)).to(device)
    classifier.eval()
    return classifier
