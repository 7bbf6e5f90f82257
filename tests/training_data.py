"""Tiny learnable labelled workspaces and a tiny architecture for the training tests.

Light "left" images have a bright left half, "right" a bright right half, "center" are
evenly lit, plus seeded noise: a small CNN learns that in a few steps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

CLASSES = ("left", "center", "right")


def light_image(label: str, rng: np.random.Generator, size=(44, 54)) -> np.ndarray:
    width, height = size
    pixels = rng.integers(40, 90, size=(height, width, 3)).astype(np.int16)
    half = width // 2
    if label == "left":
        pixels[:, :half] += 140
    elif label == "right":
        pixels[:, half:] += 140
    else:
        pixels += 70
    return np.clip(pixels, 0, 255).astype(np.uint8)


def make_labelled_workspace(
    root: Path, n: int = 40, *, seed: int = 0, labels_for: int | None = None, folder: str = "images"
):
    """A workspace of `n` JPEGs in `root/folder` with human light and orientation labels
    (orientation = light); `folder="data/img_align_celeba"` makes a CelebA layout."""
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace

    rng = np.random.default_rng(seed)
    folder = root / folder
    folder.mkdir(parents=True)
    names, labels = [], []
    for i in range(n):
        label = CLASSES[i % 3]
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(light_image(label, rng)).save(folder / name, quality=95)
        names.append(name)
        labels.append(label)
    workspace = create_workspace(root / "ws", folder)
    with workspace.open_store(create=True) as store:
        register_images(store, workspace.image_root)
        count = n if labels_for is None else labels_for
        add_labels(store, names[:count], labels[:count])
    return workspace, names, labels


def add_labels(store, names, labels, *, annotator: str = "alice", tasks=("light", "orientation")) -> None:
    rows = [
        {"image": name, "task": task, "label": label, "annotator": annotator, "source": "human"}
        for task in tasks
        for name, label in zip(names, labels)
    ]
    store.add_labels(pd.DataFrame(rows))


def build_tiny(num_classes: int):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(4),
        nn.Flatten(),
        nn.Linear(8 * 4 * 4, num_classes),
    )


class TinyPlugin:
    """A runtime plugin registering `tiny_test`: 16 px input, trains in milliseconds."""

    from celeba_tui.hookspecs import hookimpl

    @hookimpl
    def register_architectures(self, register):
        from celeba_tui.architecture import Architecture

        register(
            Architecture(
                "tiny_test",
                build_tiny,
                16,
                defaults={"epochs": 2, "batch_size": 8, "lr": 0.01},
                description="a tiny CNN for tests",
            )
        )


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch on `n` threads inside the block: 2 OpenMP threads on 2 shared, busy cores spin
    and run up to 10x slower than one."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def registered_tiny_architecture(name: str = "tiny-test-plugin") -> Iterator[str]:
    """Registers `tiny_test` inside the block."""
    from celeba_tui.plugins import get_plugin_manager

    manager = get_plugin_manager()
    plugin = TinyPlugin()
    manager.register(plugin, name=name)
    try:
        yield "tiny_test"
    finally:
        manager.unregister(plugin)
