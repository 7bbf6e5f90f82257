"""CNN4 (study section 3, Table 3): four 5x5 convolutions, a 1024-unit dense layer, dropout 0.2."""

from __future__ import annotations

from celeba_tui.architecture import Architecture
from celeba_tui.hookspecs import hookimpl


def build_cnn4(num_classes: int):
    """Convolutions of depth 8, 16, 32, 64 ('same' padding), max-pooling after the last two."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import keras_init, named_sequential

    return keras_init(
        named_sequential(
            nn.Conv2d(3, 8, 5, padding=2),
            nn.ReLU(),
            nn.Conv2d(8, 16, 5, padding=2),
            nn.ReLU(),
            nn.Conv2d(16, 32, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 16 * 64, 1024),
            nn.ReLU(),
            nn.Dropout(0.2),
            nn.Linear(1024, num_classes),
        )
    )


CNN4 = Architecture(
    name="cnn4",
    build=build_cnn4,
    input_size=64,
    description="CNN4 (study section 3): four 5x5 convolutions and a 1024-unit dense layer; 16,849,235 parameters.",
)


@hookimpl
def register_architectures(register):
    register(CNN4)
