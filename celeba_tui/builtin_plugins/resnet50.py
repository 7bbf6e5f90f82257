"""ResNet-50 (study section 6): bottleneck residual network, torchvision layout, a new class head.

Bottlenecks 1x1 -> 3x3 -> 1x1 (expansion 4) in stages of 3, 4, 6, 3 blocks of width 64,
128, 256, 512, stride on the 3x3 convolution ("v1.5"), convolutions without bias, a
projection shortcut where the shape changes, global average pooling, one dense layer.
23,514,179 trainable parameters for 3 classes (Keras' ResNet50, with conv biases, has
23,540,739; see docs/architectures.md). No pretrained weights.
"""

from __future__ import annotations

from collections import OrderedDict

from celeba_tui.architecture import Architecture
from celeba_tui.hookspecs import hookimpl

STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (width, blocks, stride of the first)
EXPANSION = 4


def bottleneck(in_channels: int, width: int, stride: int):
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import Residual, named_sequential, projection_shortcut

    out_channels = width * EXPANSION
    main = named_sequential(
        nn.Conv2d(in_channels, width, 1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
    )
    return Residual(main, projection_shortcut(in_channels, out_channels, stride))


def build_resnet50(num_classes: int):
    """64x64 input: stem to 16x16, stages at 16, 8, 4, 2, then 2048 pooled features."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import named_sequential

    stem = named_sequential(
        nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
    )
    parts = OrderedDict(stem=stem)
    channels = 64
    for number, (width, blocks, stride) in enumerate(STAGES, start=1):
        stage = []
        for index in range(blocks):
            stage.append(bottleneck(channels, width, stride if index == 0 else 1))
            channels = width * EXPANSION
        parts[f"stage{number}"] = nn.Sequential(*stage)
    parts["head"] = named_sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
    model = nn.Sequential(parts)
    # He initialisation as torchvision's ResNet: plain deep stacks train poorly with PyTorch's default.
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return model


RESNET50 = Architecture(
    name="resnet50",
    build=build_resnet50,
    input_size=64,
    description="ResNet-50 (study section 6): bottleneck residual network (3, 4, 6, 3 blocks), trained from scratch.",
)


@hookimpl
def register_architectures(register):
    register(RESNET50)
