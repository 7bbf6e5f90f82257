"""VGG19 variation (study section 5, Table 5): three blocks of three 3x3 convolutions (32, 64, 128).

The first convolution is 'valid' (64 -> 62, as Table 5 shows), the others 'same'; a
max-pool ends each block; dropout, a 128-unit dense layer, dropout, the classes.
"""

from __future__ import annotations

from celeba_tui.architecture import Architecture, TrainingDefaults
from celeba_tui.hookspecs import hookimpl

# Table 5 has two dropout layers but no rates; these are the usual Keras-example rates.
CONV_DROPOUT = 0.25
DENSE_DROPOUT = 0.5
# Nine ReLU convolutions without batch norm: at the study's Adam lr 1e-3 this network
# collapsed to the majority class on both synthetic tasks (3,000 images); 1e-4 learns.
LEARNING_RATE = 1e-4


def build_vgg19_variation(num_classes: int):
    """64 -> 62 (valid), pool 31, pool 15, pool 7: 7x7x128 = 6272 features."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import keras_init, named_sequential

    layers: list[nn.Module] = []
    channels = 3
    for width in (32, 64, 128):
        for _ in range(3):
            padding = 0 if channels == 3 else 1  # only the first convolution is 'valid' (Table 5: 64 -> 62)
            layers += [nn.Conv2d(channels, width, 3, padding=padding), nn.ReLU()]
            channels = width
        layers.append(nn.MaxPool2d(2))
    return keras_init(
        named_sequential(
            *layers,
            nn.Dropout(CONV_DROPOUT),
            nn.Flatten(),
            nn.Linear(7 * 7 * 128, 128),
            nn.ReLU(),
            nn.Dropout(DENSE_DROPOUT),
            nn.Linear(128, num_classes),
        )
    )


VGG19_VARIATION = Architecture(
    name="vgg19_variation",
    build=build_vgg19_variation,
    input_size=64,
    defaults=TrainingDefaults(lr=LEARNING_RATE),
    description="VGG19 variation (study section 5): 3x3 convolution blocks of 32, 64, 128 and a 128-unit dense layer.",
)


@hookimpl
def register_architectures(register):
    register(VGG19_VARIATION)
