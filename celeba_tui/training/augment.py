"""Augmentations that keep the label: a horizontal flip that mirrors the labels too, and
small changes a photograph of the same face under the same light could show.

The class a flipped image belongs to comes from the mirror rule (celeba_tui/mirror.py);
a class without a mirror in the task is never flipped. The flip works on the uint8
batch (numpy); the others on the model's float input ((N, 3, H, W) in [0, 1], torch),
each with its strength drawn per image:

- geometry: rotation within +-8 degrees, scale within +-10%, shift within +-3% of the
  side (reflected borders): a face that turns stays turned, a light stays where it is;
- photometric: global brightness, contrast and per-channel colour gains. Never a
  horizontal brightness gradient, which would move where the light seems to come from;
- noise: Gaussian sensor noise of a random strength.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from celeba_tui.mirror import NO_MIRROR

if TYPE_CHECKING:
    import torch

MAX_ROTATION_DEG = 8.0
MAX_SCALE_CHANGE = 0.10
MAX_SHIFT = 0.03  # of the side
MAX_BRIGHTNESS = 0.10  # added, on [0, 1] pixels
MAX_CONTRAST_CHANGE = 0.20
MAX_COLOUR_GAIN_CHANGE = 0.10
MAX_NOISE_STD = 0.03


def flip_labels(labels: np.ndarray, flip: np.ndarray, mirror: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a flip decision per sample: returns (labels after flipping, flips actually done).

    Samples whose class cannot be mirrored are left unflipped.
    """
    labels = np.asarray(labels, dtype=np.int64)
    done = np.asarray(flip, dtype=bool) & (mirror[labels] != NO_MIRROR)
    return np.where(done, mirror[labels], labels), done


def flip_images(images: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Mirror the selected images of a (N, H, W, C) batch left to right (copies)."""
    out = np.array(images, copy=True)
    out[flip] = out[flip, :, ::-1]
    return out


def random_flips(n: int, rng: np.random.Generator) -> np.ndarray:
    """Half of the samples, chosen independently with probability 1/2."""
    return rng.random(n) < 0.5


def _uniform(n: int, half_width: float, generator: "torch.Generator", *shape: int) -> "torch.Tensor":
    import torch

    return (torch.rand((n, *shape), generator=generator) * 2 - 1) * half_width


def geometry(images: "torch.Tensor", generator: "torch.Generator") -> "torch.Tensor":
    """Small random rotation, scale and shift per image (no flip: that one mirrors labels)."""
    import torch
    from torch.nn import functional as F

    n = images.shape[0]
    angle = _uniform(n, math.radians(MAX_ROTATION_DEG), generator)
    scale = 1 + _uniform(n, MAX_SCALE_CHANGE, generator)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    shift = _uniform(n, 2 * MAX_SHIFT, generator, 2)  # grid coordinates span 2
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], dim=1), torch.stack([sin, cos, shift[:, 1]], dim=1)], dim=1
    ).to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def photometric(images: "torch.Tensor", generator: "torch.Generator") -> "torch.Tensor":
    """Global brightness, contrast and colour gains per image; the same over the whole image."""
    n = images.shape[0]
    device, dtype = images.device, images.dtype
    contrast = (1 + _uniform(n, MAX_CONTRAST_CHANGE, generator, 1, 1, 1)).to(device, dtype)
    gains = (1 + _uniform(n, MAX_COLOUR_GAIN_CHANGE, generator, 3, 1, 1)).to(device, dtype)
    brightness = _uniform(n, MAX_BRIGHTNESS, generator, 1, 1, 1).to(device, dtype)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return ((images - mean) * contrast + mean) * gains + brightness


def noise(images: "torch.Tensor", generator: "torch.Generator") -> "torch.Tensor":
    """Gaussian noise with a standard deviation drawn per image in [0, MAX_NOISE_STD]."""
    import torch

    n = images.shape[0]
    std = (torch.rand((n, 1, 1, 1), generator=generator) * MAX_NOISE_STD).to(images.device, images.dtype)
    sample = torch.randn(images.shape, generator=generator).to(images.device, images.dtype)
    return images + sample * std


TENSOR_STEPS = {"geometry": geometry, "photometric": photometric, "noise": noise}


def augment_tensor(images: "torch.Tensor", steps, generator: "torch.Generator") -> "torch.Tensor":
    """Apply the tensor steps among `steps` (the flip happened earlier, on the uint8 batch)."""
    for step in steps:
        if step in TENSOR_STEPS:
            images = TENSOR_STEPS[step](images, generator)
    return images
