"""benchmarks/synthetic_pretraining.py --pretrain-bins: the renders' angle cut into bins
that a flip swaps by name (the mirror rule), each angle in the bin its edges say."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from celeba_tui.mirror import flippable, mirror_map

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from synthetic_pretraining import bin_classes, bin_labels  # noqa: E402


def test_bins_mirror_by_name_and_cut_at_their_edges():
    classes = bin_classes([4, 12, 22])
    assert classes == ["left_3", "left_2", "left_1", "center", "right_1", "right_2", "right_3"]
    assert flippable(classes) and mirror_map(classes).tolist() == [6, 5, 4, 3, 2, 1, 0]
    angles = [-30, -22, -12.5, -4, 0, 4.1, 12, 13, 50]
    assert bin_labels(angles, [4, 12, 22]) == [
        "left_3", "left_2", "left_2", "center", "center", "right_1", "right_1", "right_2", "right_3"
    ]  # fmt: skip
    # A flipped angle lands in the mirrored bin.
    index = {name: i for i, name in enumerate(classes)}
    mirror = mirror_map(classes)
    for angle in np.linspace(-45, 45, 37):
        (here,), (there,) = bin_labels([angle], [4, 12, 22]), bin_labels([-angle], [4, 12, 22])
        assert mirror[index[here]] == index[there]
