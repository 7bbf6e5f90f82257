"""InceptionV3 (study section 8) with the study's extra dense head and an auxiliary classifier.

The backbone is Keras' InceptionV3 layer for layer (convolutions without bias, batch norm
with a shift and no scale, eps 1e-3): a stem, three 35x35-type modules (mixed0-2), a
grid-size reduction (mixed3), four modules with factorised 1x7/7x1 asymmetric
convolutions (mixed4-7), a second reduction (mixed8) and two modules with expanded
1x3/3x1 filter banks (mixed9-10), then global average pooling. Section 8.1 adds five
dense layers, each followed by dropout; widths 2048, 512, 128, 32, 8 reproduce Table 8's
27,118,307 parameters exactly. The auxiliary classifier reads mixed7's output and runs
in training only (Keras' InceptionV3 has none, so it is not in Table 8).
"""

from __future__ import annotations

from collections import OrderedDict

from celeba_tui.architecture import Architecture
from celeba_tui.hookspecs import hookimpl

HEAD_WIDTHS = (2048, 512, 128, 32, 8)
HEAD_DROPOUT = 0.2  # the study gives no rate; a light one, since the last dense layers are narrow
AUX_DROPOUT = 0.7  # GoogLeNet's auxiliary classifier rate
AUX_LOSS_WEIGHT = 0.3  # GoogLeNet's weight for an auxiliary loss


def conv_bn(in_channels: int, out_channels: int, kernel, stride: int = 1, valid: bool = False) -> list:
    """Keras' `conv2d_bn`: convolution without bias, batch norm without scale, ReLU."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import CenteredBatchNorm2d

    height, width = (kernel, kernel) if isinstance(kernel, int) else kernel
    padding = 0 if valid else (height // 2, width // 2)
    return [
        nn.Conv2d(in_channels, out_channels, (height, width), stride=stride, padding=padding, bias=False),
        CenteredBatchNorm2d(out_channels),
        nn.ReLU(),
    ]


def path(*convs: list):
    """One branch: conv_bn layer lists (or single modules) in sequence."""
    from celeba_tui.builtin_plugins.blocks import named_sequential

    return named_sequential(*[layer for conv in convs for layer in (conv if isinstance(conv, list) else [conv])])


def average_pool():
    from torch import nn

    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)  # Keras 'same' average pooling


def inception_a(in_channels: int, pool_features: int):
    """mixed0-2: 1x1, 5x5, double 3x3 and pooled branches; 224 + pool_features channels."""
    from celeba_tui.builtin_plugins.blocks import Concat

    return Concat(
        path(conv_bn(in_channels, 64, 1)),
        path(conv_bn(in_channels, 48, 1), conv_bn(48, 64, 5)),
        path(conv_bn(in_channels, 64, 1), conv_bn(64, 96, 3), conv_bn(96, 96, 3)),
        path(average_pool(), conv_bn(in_channels, pool_features, 1)),
    )


def reduction_a(in_channels: int):
    """mixed3: grid-size reduction by strided convolutions beside a max-pool; 384 + 96 + in channels."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import Concat

    return Concat(
        path(conv_bn(in_channels, 384, 3, stride=2, valid=True)),
        path(conv_bn(in_channels, 64, 1), conv_bn(64, 96, 3), conv_bn(96, 96, 3, stride=2, valid=True)),
        nn.MaxPool2d(3, stride=2),
    )


def inception_b(channels_7x7: int):
    """mixed4-7: 7x7 convolutions factorised into 1x7 and 7x1; 768 channels in and out."""
    from celeba_tui.builtin_plugins.blocks import Concat

    c = channels_7x7
    return Concat(
        path(conv_bn(768, 192, 1)),
        path(conv_bn(768, c, 1), conv_bn(c, c, (1, 7)), conv_bn(c, 192, (7, 1))),
        path(
            conv_bn(768, c, 1),
            conv_bn(c, c, (7, 1)),
            conv_bn(c, c, (1, 7)),
            conv_bn(c, c, (7, 1)),
            conv_bn(c, 192, (1, 7)),
        ),
        path(average_pool(), conv_bn(768, 192, 1)),
    )


def reduction_b():
    """mixed8: second grid-size reduction; 768 -> 320 + 192 + 768 = 1280 channels."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import Concat

    return Concat(
        path(conv_bn(768, 192, 1), conv_bn(192, 320, 3, stride=2, valid=True)),
        path(
            conv_bn(768, 192, 1),
            conv_bn(192, 192, (1, 7)),
            conv_bn(192, 192, (7, 1)),
            conv_bn(192, 192, 3, stride=2, valid=True),
        ),
        nn.MaxPool2d(3, stride=2),
    )


def inception_c(in_channels: int):
    """mixed9-10: expanded filter banks (1x3 and 3x1 side by side); 2048 channels out."""
    from celeba_tui.builtin_plugins.blocks import Concat

    def split(channels: int):
        return Concat(path(conv_bn(channels, 384, (1, 3))), path(conv_bn(channels, 384, (3, 1))))

    return Concat(
        path(conv_bn(in_channels, 320, 1)),
        path(conv_bn(in_channels, 384, 1), split(384)),
        path(conv_bn(in_channels, 448, 1), conv_bn(448, 384, 3), split(384)),
        path(average_pool(), conv_bn(in_channels, 192, 1)),
    )


def build_inception_v3(num_classes: int):
    """128x128 input: stem to 13x13x192, mixed0-2 at 13, mixed3-7 at 6, mixed8-10 at 2, 2048 features."""
    from torch import nn

    from celeba_tui.builtin_plugins.blocks import AuxiliaryOutput, keras_init, named_sequential

    stem = path(
        conv_bn(3, 32, 3, stride=2, valid=True),
        conv_bn(32, 32, 3, valid=True),
        conv_bn(32, 64, 3),
        nn.MaxPool2d(3, stride=2),
        conv_bn(64, 80, 1, valid=True),
        conv_bn(80, 192, 3, valid=True),
        nn.MaxPool2d(3, stride=2),
    )
    early = nn.Sequential(
        OrderedDict(
            stem=stem,
            mixed0=inception_a(192, 32),
            mixed1=inception_a(256, 64),
            mixed2=inception_a(288, 64),
            mixed3=reduction_a(288),
            mixed4=inception_b(128),
            mixed5=inception_b(160),
            mixed6=inception_b(160),
            mixed7=inception_b(192),
        )
    )
    late = nn.Sequential(OrderedDict(mixed8=reduction_b(), mixed9=inception_c(1280), mixed10=inception_c(2048)))
    dense: list[nn.Module] = []
    features = 2048
    for width in HEAD_WIDTHS:
        dense += [nn.Linear(features, width), nn.ReLU(), nn.Dropout(HEAD_DROPOUT)]
        features = width
    head = named_sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), *dense, nn.Linear(features, num_classes))
    aux_head = named_sequential(
        nn.AdaptiveAvgPool2d(1),
        *conv_bn(768, 128, 1),
        nn.Flatten(),
        nn.Linear(128, 1024),
        nn.ReLU(),
        nn.Dropout(AUX_DROPOUT),
        nn.Linear(1024, num_classes),
    )
    return keras_init(AuxiliaryOutput(early, late, head, aux_head))


INCEPTION_V3 = Architecture(
    name="inception_v3",
    build=build_inception_v3,
    input_size=128,
    description="InceptionV3 (study section 8): factorised inception modules, a 5-layer dense head, auxiliary classifier.",
    aux_loss_weight=AUX_LOSS_WEIGHT,
)


@hookimpl
def register_architectures(register):
    register(INCEPTION_V3)
