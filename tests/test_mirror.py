"""The one mirror rule, on several class vocabularies, and its three users agreeing."""

import numpy as np
import pytest

from celeba_tui.mirror import NO_MIRROR, flippable, mirror_map, mirror_permutation, mirrored_name

VOCABULARIES = [
    # classes, the mirror of each, every class has one
    (("left", "center", "right"), [2, 1, 0], True),
    (("center", "right", "left"), [0, 2, 1], True),
    (("right", "left"), [1, 0], True),
    (("upper_left", "center", "upper_right"), [2, 1, 0], True),
    (("upper_left", "upper_right", "none"), [1, 0, 2], True),
    (("Left", "Center", "Right"), [2, 1, 0], True),
    (("top-left", "top-right", "front"), [1, 0, 2], True),
    (("smiling", "neutral"), [0, 1], True),  # no side: the label is kept
    (("leftish", "outright"), [0, 1], True),  # words that merely contain left/right
    (("left", "center"), [NO_MIRROR, 1], False),  # "left" has no partner
    (("upper_left", "center", "right"), [NO_MIRROR, 1, NO_MIRROR], False),
]


@pytest.mark.parametrize(("classes", "expected", "complete"), VOCABULARIES)
def test_mirror_map_pairs_classes_by_name(classes, expected, complete):
    assert mirror_map(classes).tolist() == expected
    if complete:
        assert mirror_permutation(classes).tolist() == expected
        # a flip done twice is no flip
        assert mirror_permutation(classes)[mirror_permutation(classes)].tolist() == list(range(len(classes)))
    else:
        with pytest.raises(ValueError, match="a flip cannot be undone"):
            mirror_permutation(classes)


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        (("left", "center", "right"), True),
        (("upper_left", "center", "upper_right"), True),
        (("smiling", "neutral"), False),  # nothing changes under a flip
        (("left", "center"), False),  # a left face would have no class when mirrored
    ],
)
def test_flippable(classes, expected):
    assert flippable(classes) is expected


def test_mirrored_name():
    assert [mirrored_name(x) for x in ("left", "top-right", "center", "upper_LEFT", "Right")] == [
        "right",
        "top-left",
        "center",
        "upper_RIGHT",
        "Left",
    ]


def test_training_tta_and_flip_checks_use_the_same_rule():
    """Training's flip augmentation, TTA's averaging and the TUI's checks agree on upper_left."""
    from celeba_tui.autolabel.rules import flip_average
    from celeba_tui.labelling.flip_checks import CheckScheduler
    from celeba_tui.training.augment import flip_labels

    classes = ("upper_left", "center", "upper_right")
    flipped, done = flip_labels(np.array([0, 1, 2]), np.array([True, True, True]), mirror_map(classes))
    assert flipped.tolist() == [2, 1, 0] and done.all()
    averaged = flip_average(np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 1.0]]), classes)
    assert averaged.tolist() == [[1.0, 0.0, 0.0]]  # the mirrored image's upper_right is upper_left
    checks = CheckScheduler(0.5, ["light"], seed=0)
    checks._chance = 1.0
    for i in range(8):
        checks.remember(f"{i}.jpg", "light", "upper_left")
        checks.shown(f"{i}.jpg")
    item = checks.next_check()
    assert item is not None and item.expected == ("upper_right",)


def test_a_run_says_what_flips_do_to_its_classes():
    # helper-72: a task whose sides are named `l`/`r` kept its labels under flips without a word.
    from celeba_tui.mirror import flip_description

    assert flip_description(("left", "center", "right")) == "flips swap left <-> right; keep center"
    assert flip_description(("l", "c", "r")).startswith("flips keep every class (none is named left or right)")
    assert flip_description(("upper_left", "upper_right", "lower_left")) == (
        "flips swap upper_left <-> upper_right; never flip lower_left (no mirror among the classes)"
    )
