"""What an architecture plugin registers: a named network factory and its defaults.

Module contract (what `build(num_classes)` must return):

- input: float32 NCHW, RGB, values in [0, 1], square side `input_size`
  (callers divide uint8 pixels by 255);
- eval mode: `forward` returns logits of shape (N, num_classes);
- train mode: a network with an auxiliary classifier returns `(logits, aux_logits)` and
  its architecture sets `aux_loss_weight` > 0; the trainer adds
  `aux_loss_weight * cross_entropy(aux_logits)` to the loss;
- exportable with `torch.onnx.export` in eval mode: no data-dependent Python control
  flow, fixed-output pooling.

This module does not import torch, so plugins can be listed without loading it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch

# At most 100 characters: a run's id (TASK-ARCH-STAMP) must stay a plain name of at most
# 200 (models/run_files.RUN_ID_PATTERN; attack pass 36: a 190-character name trained a run
# no selector could then load).
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,99}\Z")
# The largest input side any model, run or ONNX file may claim. Inputs are square uint8
# images decoded per batch: 1024 px is 3 MB an image, 200 MB a batch of 64. A larger claim
# is refused rather than allocated (a file saying 40000 with dynamic height and width once
# made autolabel ask for 8.9 GiB).
MAX_INPUT_SIZE = 1024


@dataclass(frozen=True)
class TrainingDefaults:
    """How an architecture trains unless the user says otherwise: the study's policy by
    default (Adam at lr 1e-3, batches of 32, up to 50 epochs, early stopping after 5 epochs
    without a validation-accuracy gain or 3 without a validation-loss decrease; a patience
    of 0 switches that criterion off)."""

    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    patience_acc: int = 5
    patience_loss: int = 3

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "patience_acc", "patience_loss"):
            value = getattr(self, name)
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < (1 if name in ("epochs", "batch_size") else 0)
            ):
                raise ValueError(
                    f"training default {name} must be an int >= {1 if name in ('epochs', 'batch_size') else 0}, not {value!r}"
                )
        if not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ValueError(f"training default lr must be a positive number, not {self.lr!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "TrainingDefaults":
        """From a plugin's dict (`{"epochs": 10, "lr": 1e-4}`); an unknown key is an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training default(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return replace(cls(), **values)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


STUDY_DEFAULTS = TrainingDefaults()


@dataclass(frozen=True)
class Architecture:
    """A network factory (`build(num_classes) -> torch.nn.Module`) with its input size and defaults."""

    name: str
    build: Callable[[int], "torch.nn.Module"]
    input_size: int
    preprocess: str = ""  # default preprocessing spec; "" means f"resize:{input_size}"
    defaults: TrainingDefaults = field(default_factory=TrainingDefaults, hash=False)  # a dict is converted
    description: str = ""
    aux_loss_weight: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise ValueError(
                f"architecture name {self.name!r} must be up to 100 lowercase letters, digits, '_', '.' or '-'"
            )
        if not callable(self.build):
            raise ValueError(f"architecture {self.name}: build must be callable (num_classes -> torch.nn.Module)")
        if (
            isinstance(self.input_size, bool)
            or not isinstance(self.input_size, int)
            or not 1 <= self.input_size <= MAX_INPUT_SIZE
        ):
            raise ValueError(
                f"architecture {self.name}: input_size must be a positive int up to {MAX_INPUT_SIZE}, "
                f"not {self.input_size!r}"
            )
        if self.aux_loss_weight < 0:
            raise ValueError(f"architecture {self.name}: aux_loss_weight must be >= 0")
        if isinstance(self.defaults, Mapping):
            object.__setattr__(self, "defaults", TrainingDefaults.from_mapping(self.defaults))
        if not isinstance(self.defaults, TrainingDefaults):
            raise ValueError(
                f"architecture {self.name}: defaults must be TrainingDefaults or a dict, not {self.defaults!r}"
            )
        if not self.preprocess:
            object.__setattr__(self, "preprocess", f"resize:{self.input_size}")
