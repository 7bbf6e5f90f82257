"""Residual-block network (study section 7, Table 7) and its dropout variant (section 7.4).

Three residual blocks with 5x5 convolutions of depth 16, 32, 64 (each halves the grid),
a 1024-unit dense layer with 50% dropout, then the classes. A block's main path is
conv-BN-ReLU-conv-BN, its shortcut a 1x1 conv-BN; their sum goes through a ReLU.
The dropout variant adds a light dropout after each ReLU of the blocks
(conv -> BN -> ReLU -> dropout), as section 7.4 proposes.
"""

from __future__ import annotations

from celeba_tui.architecture import Architecture
from celeba_tui.hookspecs import hookimpl

DENSE_DROPOUT = 0.5
BLOCK_DROPOUT = 0.1  # section 7.4: "a low rate (p = 0.1 or p = 0.2)"


def residual_block(in_channels: int, out_channels: int, dropout: float):
    """Halves the grid: 5x5 stride-2 conv on the main path, 1x1 stride-2 conv on the shortcut."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import Residual, named_sequential

    def light_dropout() -> list[nn.Module]:
        return [nn.Dropout(dropout)] if dropout else []

    main = named_sequential(
        nn.Conv2d(in_channels, out_channels, 5, stride=2, padding=2),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        *light_dropout(),
        nn.Conv2d(out_channels, out_channels, 5, padding=2),
        nn.BatchNorm2d(out_channels),
    )
    shortcut = named_sequential(nn.Conv2d(in_channels, out_channels, 1, stride=2), nn.BatchNorm2d(out_channels))
    return Residual(main, shortcut, after=named_sequential(nn.ReLU(), *light_dropout()))


def build_residual_network(num_classes: int, block_dropout: float = 0.0):
    """64x64 -> 32x32x16 -> 16x16x32 -> 8x8x64 -> 4096 features."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import keras_init, named_sequential

    return keras_init(
        named_sequential(
            residual_block(3, 16, block_dropout),
            residual_block(16, 32, block_dropout),
            residual_block(32, 64, block_dropout),
            nn.Flatten(),
            nn.Linear(8 * 8 * 64, 1024),
            nn.ReLU(),
            nn.Dropout(DENSE_DROPOUT),
            nn.Linear(1024, num_classes),
        )
    )


def build_residual_network_dropout(num_classes: int):
    return build_residual_network(num_classes, block_dropout=BLOCK_DROPOUT)


RESIDUAL_BLOCKS = Architecture(
    name="residual_blocks",
    build=build_residual_network,
    input_size=64,
    description="Residual-block network (study section 7): three 5x5 residual blocks (16, 32, 64), 1024-unit dense.",
)
RESIDUAL_BLOCKS_DROPOUT = Architecture(
    name="residual_blocks_dropout",
    build=build_residual_network_dropout,
    input_size=64,
    description="Residual-block network with dropout 0.1 after each ReLU of the blocks (study section 7.4).",
)


@hookimpl
def register_architectures(register):
    register(RESIDUAL_BLOCKS)
    register(RESIDUAL_BLOCKS_DROPOUT)
