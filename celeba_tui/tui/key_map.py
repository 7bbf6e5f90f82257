"""Keys for a task's classes, generated from the class list (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ARROWS = {2: ("left", "right"), 3: ("left", "down", "right")}
ARROW_GLYPHS = {"left": "←", "down": "↓", "right": "→"}
# Home row first, then the row below, then the row above; none of these is a command key
# of a screen that answers with them (the label screen's q u p b, the image view's n N).
LETTERS = "asdfghjklzxcvwer"
MAX_CLASSES = len(LETTERS)
# A yes/no task answers on y and n too (two walkthroughs looked for them), where the screen
# does not take those keys for itself (browse's image view steps to the next image on n).
MNEMONICS = {"yes": "y", "no": "n"}


@dataclass(frozen=True)
class ClassKeys:
    """The keys that answer with class `index` and how the footer shows them."""

    index: int
    label: str
    keys: tuple[str, ...]

    @property
    def display(self) -> str:
        return "/".join(ARROW_GLYPHS.get(k, k) for k in self.keys)


def class_keys(classes: Sequence[str], taken: frozenset[str] = frozenset()) -> list[ClassKeys]:
    """Arrows (for 2 or 3 classes), a home-row letter and a digit (1-9) per class; for a
    yes/no task y and n too, unless a key of those is in `taken` (the screen's own keys).

    For the default (left, center, right): left/a/1, down/s/2, right/d/3.
    """
    if len(classes) > MAX_CLASSES:
        raise ValueError(f"at most {MAX_CLASSES} classes have keys; got {len(classes)}")
    arrows = ARROWS.get(len(classes), ())
    mnemonics = {label: MNEMONICS[label.lower()] for label in classes if label.lower() in MNEMONICS}
    if len(mnemonics) != len(classes) or taken & set(mnemonics.values()):
        mnemonics = {}
    result = []
    for index, label in enumerate(classes):
        keys = []
        if arrows:
            keys.append(arrows[index])
        keys.append(LETTERS[index])
        if index < 9:
            keys.append(str(index + 1))
        if label in mnemonics:
            keys.append(mnemonics[label])
        result.append(ClassKeys(index, label, tuple(keys)))
    return result
