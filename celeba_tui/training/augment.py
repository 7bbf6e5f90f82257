"""Horizontal-flip augmentation that mirrors the labels too.

Left and right are the viewer's (DESIGN.md): a mirrored face lit from the left of the
picture is a face lit from the right, and a face turned to the left of the picture
becomes one turned to the right. So a flipped image is a valid example of the mirrored
class, which doubles the rarer left and right classes. Classes are paired by NAME
("left" <-> "right", "upper_left" <-> "upper_right"); a class without a left/right
word (e.g. "center") keeps its label. A class that names a side but has no partner in
the task is never flipped: its mirror image would belong to a class the task lacks.
"""

from __future__ import annotations

import re

import numpy as np

_SIDE = re.compile(r"(?<![a-z])(left|right)(?![a-z])", re.IGNORECASE)
_SWAP = {"left": "right", "right": "left", "LEFT": "RIGHT", "RIGHT": "LEFT", "Left": "Right", "Right": "Left"}
AUGMENTATIONS = ("flip", "none")


def mirrored_name(name: str) -> str:
    """The class name with every standalone 'left' and 'right' swapped."""
    return _SIDE.sub(lambda m: _SWAP.get(m.group(0), m.group(0)), name)


def mirror_map(classes: tuple[str, ...] | list[str]) -> np.ndarray:
    """For each class index, the index of its mirror class; -1 where it must not be flipped."""
    index = {name: i for i, name in enumerate(classes)}
    result = np.empty(len(classes), dtype=np.int64)
    for i, name in enumerate(classes):
        mirror = mirrored_name(name)
        result[i] = i if mirror == name else index.get(mirror, -1)
    return result


def flip_labels(labels: np.ndarray, flip: np.ndarray, mirror: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply a flip decision per sample: returns (labels after flipping, flips actually done).

    Samples whose class cannot be mirrored are left unflipped.
    """
    labels = np.asarray(labels, dtype=np.int64)
    done = np.asarray(flip, dtype=bool) & (mirror[labels] >= 0)
    return np.where(done, mirror[labels], labels), done


def flip_images(images: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Mirror the selected images of a (N, H, W, C) batch left to right (copies)."""
    out = np.array(images, copy=True)
    out[flip] = out[flip, :, ::-1]
    return out


def random_flips(n: int, rng: np.random.Generator) -> np.ndarray:
    """Half of the samples, chosen independently with probability 1/2."""
    return rng.random(n) < 0.5
