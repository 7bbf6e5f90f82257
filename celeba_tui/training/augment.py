"""Horizontal-flip augmentation that mirrors the labels too.

The class a flipped image belongs to comes from the mirror rule (celeba_tui/mirror.py);
a class without a mirror in the task is never flipped.
"""

from __future__ import annotations

import numpy as np

from celeba_tui.mirror import NO_MIRROR

AUGMENTATIONS = ("flip", "none")


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
