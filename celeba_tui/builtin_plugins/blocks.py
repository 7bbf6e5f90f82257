"""Torch building blocks of the built-in networks (imported only when a network is built).

Networks are assembled from stock layers plus three blocks: `Residual` (a main path
added to a shortcut), `Concat` (parallel branches joined along channels, an inception
module) and `AuxiliaryOutput` (a training-only second classifier). Layers are named
like Keras' (`conv2d`, `conv2d_1`, ...) so `celeba summary` reads like the study's tables.
"""

from __future__ import annotations

from collections import Counter, OrderedDict

import torch
from torch import nn

KERAS_NAMES = {
    nn.Conv2d: "conv2d",
    nn.BatchNorm2d: "batch_normalization",
    nn.ReLU: "activation",
    nn.MaxPool2d: "max_pooling2d",
    nn.AvgPool2d: "average_pooling2d",
    nn.AdaptiveAvgPool2d: "global_average_pooling2d",
    nn.Flatten: "flatten",
    nn.Linear: "dense",
    nn.Dropout: "dropout",
}


def named_sequential(*layers: nn.Module) -> nn.Sequential:
    """A Sequential whose layers are named like Keras' (conv2d, conv2d_1, dense, ...)."""
    counts: Counter[str] = Counter()
    named: OrderedDict[str, nn.Module] = OrderedDict()
    for layer in layers:
        base = getattr(layer, "keras_name", None) or next(
            (KERAS_NAMES[cls] for cls in type(layer).__mro__ if cls in KERAS_NAMES), type(layer).__name__.lower()
        )
        named[base if counts[base] == 0 else f"{base}_{counts[base]}"] = layer
        counts[base] += 1
    return nn.Sequential(named)


class CenteredBatchNorm2d(nn.BatchNorm2d):
    """Batch norm with a learned shift and no scale (Keras `scale=False`), as Keras' InceptionV3 uses."""

    def __init__(self, channels: int, eps: float = 1e-3):
        super().__init__(channels, eps=eps, affine=False)
        self.bias = nn.Parameter(torch.zeros(channels))


class Residual(nn.Module):
    """`after(main(x) + shortcut(x))`; the shortcut is the identity when not given."""

    keras_name = "residual_block"

    def __init__(self, main: nn.Module, shortcut: nn.Module | None = None, after: nn.Module | None = None):
        super().__init__()
        self.main = main
        self.shortcut = shortcut if shortcut is not None else nn.Identity()
        self.after = after if after is not None else nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after(self.main(x) + self.shortcut(x))


def projection_shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module | None:
    """ResNet's shortcut: None (the identity) when the shape stays, else a strided 1x1 conv and BN."""
    if stride == 1 and in_channels == out_channels:
        return None
    return named_sequential(
        nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
    )


class Concat(nn.Module):
    """Parallel branches on the same input, concatenated along channels."""

    keras_name = "concatenate"

    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class AuxiliaryOutput(nn.Module):
    """`head(late(early(x)))`; in training also `aux_head(early(x))`, returned as (logits, aux_logits)."""

    expand_in_summary = True  # a container: `celeba summary` lists its layers, not itself

    def __init__(self, early: nn.Module, late: nn.Module, head: nn.Module, aux_head: nn.Module):
        super().__init__()
        self.early = early
        self.aux_head = aux_head
        self.late = late
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = self.early(x)
        logits = self.head(self.late(features))
        if self.training:
            return logits, self.aux_head(features)
        return logits


def keras_init(model: nn.Module) -> nn.Module:
    """Keras' default initialisation (Glorot-uniform kernels, zero biases), as the study's models had."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return model
