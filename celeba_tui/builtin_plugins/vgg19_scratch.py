"""VGG19 from scratch (study section 4, Table 4): the reduced VGG19 on 128x128 inputs.

Eight 3x3 'valid' convolutions (64, 64, 128, 128, 256, 256, 512, 512) with a max-pool
after each pair, then two 4096-unit dense layers with dropout. Table 4 lists conv2d_7
with 2,401,289 parameters and a flatten of 8,336; its own shapes (3x3x512x512 + 512 and
4x4x512) give 2,359,808 and 8,192, which is what is built here (see docs/architectures.md).
"""

from __future__ import annotations

from celeba_tui.architecture import Architecture
from celeba_tui.hookspecs import hookimpl

DROPOUT = 0.5  # the study adds dropout between the dense layers without giving a rate; VGG's own is 0.5


def build_vgg19_scratch(num_classes: int):
    """128 -> 126, 124, pool 62 -> 60, 58, pool 29 -> 27, 25, pool 12 -> 10, 8, pool 4: 4x4x512."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import keras_init, named_sequential

    layers: list[nn.Module] = []
    channels = 3
    for width in (64, 128, 256, 512):
        layers += [nn.Conv2d(channels, width, 3), nn.ReLU(), nn.Conv2d(width, width, 3), nn.ReLU(), nn.MaxPool2d(2)]
        channels = width
    return keras_init(
        named_sequential(
            *layers,
            nn.Flatten(),
            nn.Linear(4 * 4 * 512, 4096),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
            nn.Linear(4096, num_classes),
        )
    )


VGG19_SCRATCH = Architecture(
    name="vgg19_scratch",
    build=build_vgg19_scratch,
    input_size=128,
    description="VGG19 from scratch (study section 4): eight 3x3 convolutions, two 4096-unit dense layers, 128x128.",
)


@hookimpl
def register_architectures(register):
    register(VGG19_SCRATCH)
