"""Training run folders read back: config.json, summary.json and the checkpoint's name, checked.

Everything here is plain files and JSON (no torch), so listing, choosing and completing
runs (`celeba report`, `export-onnx best<TAB>`) starts at once; building the network from
a run's checkpoint is `celeba_tui.models.model_io.build_classifier`.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from celeba_tui.architecture import MAX_INPUT_SIZE
from celeba_tui.errors import CelebaError

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.csv"
CHECKPOINT_FILE = "best.pt"
# A run id names files outside its folder (models/RUN_ID.onnx): one plain file name, as
# `celeba train` makes them (task-architecture-stamp), never a path (attack pass 35).
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}\Z")
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

# Of those, the ones that are shares of the validation images (NaN stays possible: a class
# the validation split lacks).
SUMMARY_SHARES = ("val_acc", "val_balanced_acc", "val_macro_f1", "majority_baseline")


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


def run_outputs(run: "Run") -> tuple[str, ...]:
    """What a run's network's outputs mean, in order: its classes, then its landmark cues."""
    run_cue_outputs(run)  # refuses a bad landmark_cues
    return (*run.classes, *run.config.get("landmark_cues", []))


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
    if not RUN_ID_PATTERN.match(config["run_id"]):
        raise CelebaError(
            f"{where}: run_id {_shown(config['run_id'])} is not a plain name (letters, digits, '.', '_' or '-'; "
            "it names the run's files elsewhere)"
        )
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
        # `value == value`: False for NaN only (math.isnan overflows on an integer of 400 digits)
        if key in SUMMARY_SHARES and value is not None and value == value and not 0 <= value <= 1:
            raise CelebaError(f"{where}: {key} {_shown(value)} is not a share between 0 and 1")


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
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: JSON, or a number past Python's 4,300 digits
        if isinstance(exc, RecursionError):
            reason = "nested too deeply"
        elif isinstance(exc, (OSError, json.JSONDecodeError, UnicodeDecodeError)):
            reason = exc
        else:  # attack pass 43: a traceback that broke every run selector
            reason = "a number too long to read"
        raise CelebaError(f"{path}: unreadable ({reason})") from None
    if not isinstance(data, dict):
        raise CelebaError(f"{path}: not a JSON object")
    return data
