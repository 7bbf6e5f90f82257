"""The mirror rule: which class a horizontally flipped image belongs to.

Left and right are the viewer's (the picture's left, not the person's): a mirrored face lit from the left of the
picture is a face lit from the right, and a face turned to the left of the picture is
one turned to the right. Classes are paired by NAME: every standalone word `left` and
`right` is swapped ("upper_left" <-> "upper_right", "top-left" <-> "top-right"); a class
without either word ("center", "yes") is its own mirror. A class that names a side but
whose partner is not a class of the task has no mirror: its flipped image would belong
to a class the task lacks.

Training (flip augmentation), test-time augmentation and the TUI's flip checks all use
this one rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_SIDE = re.compile(r"(?<![a-z])(left|right)(?![a-z])", re.IGNORECASE)
_SWAP = {"left": "right", "right": "left", "LEFT": "RIGHT", "RIGHT": "LEFT", "Left": "Right", "Right": "Left"}
NO_MIRROR = -1


def mirrored_name(name: str) -> str:
    """The class name with every standalone 'left' and 'right' swapped."""
    return _SIDE.sub(lambda m: _SWAP.get(m.group(0), m.group(0)), name)


def mirror_map(classes: Sequence[str]) -> np.ndarray:
    """For each class index, the index of its mirror class; NO_MIRROR (-1) where there is none."""
    index = {name: i for i, name in enumerate(classes)}
    result = np.empty(len(classes), dtype=np.int64)
    for i, name in enumerate(classes):
        mirror = mirrored_name(name)
        result[i] = i if mirror == name else index.get(mirror, NO_MIRROR)
    return result


def mirror_permutation(classes: Sequence[str]) -> np.ndarray:
    """`mirror_map` for a task whose every class has a mirror (a flip can be undone), else ValueError."""
    mapping = mirror_map(classes)
    missing = [name for name, j in zip(classes, mapping) if j == NO_MIRROR]
    if missing:
        raise ValueError(
            f"classes {list(classes)} have {missing[0]!r} but not {mirrored_name(missing[0])!r}: a flip cannot be undone"
        )
    return mapping


def flippable(classes: Sequence[str]) -> bool:
    """Whether every class has a mirror and a flip changes at least one of them."""
    mapping = mirror_map(classes)
    return bool(np.all(mapping != NO_MIRROR) and np.any(mapping != np.arange(len(classes))))


def flip_description(classes: Sequence[str]) -> str:
    """What a horizontal flip does to `classes`, as a training run says it (helper-72: a task
    whose sides are named otherwise, `l`/`r`, kept its labels under flips without a word)."""
    mapping = mirror_map(classes)
    swapped = [f"{classes[i]} <-> {classes[j]}" for i, j in enumerate(mapping) if i < j]
    kept = [name for i, (name, j) in enumerate(zip(classes, mapping)) if j == i]
    never = [name for name, j in zip(classes, mapping) if j == NO_MIRROR]
    if not swapped and not never:
        return (
            "flips keep every class (none is named left or right); "
            "train with --augment leaving out flip if a mirror image is not of the same class"
        )
    parts = [f"swap {', '.join(swapped)}"] if swapped else []
    if kept:
        parts.append(f"keep {', '.join(kept)}")
    if never:
        parts.append(f"never flip {', '.join(never)} (no mirror among the classes)")
    return "flips " + "; ".join(parts)


def ordered_scale(classes: Sequence[str]) -> bool:
    """Whether `classes` lie in order along the picture's left-right axis (left, center,
    right; upper_left, up, upper_right), which a mirror reverses: three or more classes
    whose mirrors are theirs in reverse order. Agreement measures read such a task as
    ordinal (weighted kappa, ordinal alpha) unless celeba.toml's `scale` says otherwise
    (`workspace.Task.ordered`); any other (glasses: no, yes; expression: neutral, smile,
    frown) is nominal (helper-72: "surprise vs smile" counted as farther apart than "frown
    vs smile")."""
    mapping = mirror_map(classes)
    return len(classes) >= 3 and bool(np.array_equal(mapping, np.arange(len(classes))[::-1]))
