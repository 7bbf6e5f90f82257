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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]*\Z")


@dataclass(frozen=True)
class Architecture:
    """A network factory (`build(num_classes) -> torch.nn.Module`) with its input size and defaults."""

    name: str
    build: Callable[[int], "torch.nn.Module"]
    input_size: int
    preprocess: str = ""  # default preprocessing spec; "" means f"resize:{input_size}"
    defaults: dict[str, Any] = field(default_factory=dict, hash=False)  # epochs, batch_size, lr, ...
    description: str = ""
    aux_loss_weight: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_PATTERN.match(self.name):
            raise ValueError(f"architecture name {self.name!r} must be lowercase letters, digits, '_', '.' or '-'")
        if not callable(self.build):
            raise ValueError(f"architecture {self.name}: build must be callable (num_classes -> torch.nn.Module)")
        if not isinstance(self.input_size, int) or self.input_size < 1:
            raise ValueError(f"architecture {self.name}: input_size must be a positive int, not {self.input_size!r}")
        if self.aux_loss_weight < 0:
            raise ValueError(f"architecture {self.name}: aux_loss_weight must be >= 0")
        if not self.preprocess:
            object.__setattr__(self, "preprocess", f"resize:{self.input_size}")
