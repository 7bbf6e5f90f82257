"""Deterministic work shares: --assign I/N --overlap F."""

from __future__ import annotations

import numpy as np
import pytest

from celeba_tui.errors import CelebaError
from celeba_tui.labelling.assignment import Assignment, name_hashes, owners, parse_assign, personal_order

NAMES = [f"{i:06d}.jpg" for i in range(1, 30_001)]


def test_parse_assign():
    assert parse_assign("2/3", 0.1) == Assignment(2, 3, 0.1)
    assert parse_assign(" 1 / 1 ") == Assignment(1, 1, 0.0)
    for bad in ("", "3", "0/3", "4/3", "a/b", "1/0"):
        with pytest.raises(CelebaError):
            parse_assign(bad)
    with pytest.raises(CelebaError, match="overlap"):
        parse_assign("1/1", 0.2)
    with pytest.raises(CelebaError, match="overlap"):
        parse_assign("1/2", 1.5)


def test_shares_cover_everything_once_without_overlap():
    masks = [Assignment(i, 3).mask(NAMES) for i in (1, 2, 3)]
    together = np.sum(masks, axis=0)
    assert (together == 1).all()
    for mask in masks:
        assert abs(mask.mean() - 1 / 3) < 0.02


def test_overlap_gives_exactly_two_different_owners_to_fraction_f():
    primary, secondary = owners(NAMES, 4, 0.2)
    doubled = secondary >= 0
    assert abs(doubled.mean() - 0.2) < 0.01
    assert (primary[doubled] != secondary[doubled]).all()
    masks = np.array([Assignment(i, 4, 0.2).mask(NAMES) for i in (1, 2, 3, 4)])
    counts = masks.sum(axis=0)
    assert set(np.unique(counts)) == {1, 2}
    assert ((counts == 2) == doubled).all()
    for i in range(4):
        assert abs(masks[i].mean() - Assignment(i + 1, 4, 0.2).expected_share) < 0.02
    # Every pair of annotators shares some images, so every pair's agreement is measurable.
    for a in range(4):
        for b in range(a + 1, 4):
            assert (masks[a] & masks[b]).sum() > 100


def test_share_depends_only_on_the_name():
    shuffled = list(reversed(NAMES[:500]))
    forward = dict(zip(NAMES[:500], Assignment(2, 3, 0.3).mask(NAMES[:500])))
    backward = dict(zip(shuffled, Assignment(2, 3, 0.3).mask(shuffled)))
    assert forward == backward


def test_hash_is_pinned_across_versions():
    # Annotators on other machines must get the same shares: the hash may never change.
    assert name_hashes(["000001.jpg"]).dtype == np.uint64
    primary, secondary = owners(["000001.jpg", "000002.jpg", "000003.jpg", "000004.jpg"], 3, 0.5)
    assert primary.tolist() == [2, 1, 2, 0]
    assert secondary.tolist() == [-1, 2, -1, 2]


def test_empty_name_list():
    assert Assignment(1, 2, 0.5).mask([]).shape == (0,)


def test_personal_order_is_a_fixed_permutation_of_its_own_per_person():
    names = [f"{i:06d}.jpg" for i in range(200)]
    alice = personal_order(names, "alice")
    assert sorted(alice.tolist()) == list(range(200))
    assert personal_order(names, "alice").tolist() == alice.tolist()
    assert personal_order(names, "bob").tolist() != alice.tolist()
    assert alice.tolist() != list(range(200))
    assert personal_order([], "alice").tolist() == []


def test_personal_order_keeps_the_rest_in_place_when_images_are_done():
    # Resuming after some images were done goes on in the same order: each place depends
    # only on the image's name and the person's.
    names = [f"{i:06d}.jpg" for i in range(50)]
    whole = [names[i] for i in personal_order(names, "rev")]
    left = [n for n in names if n not in set(whole[:10])]
    assert [left[i] for i in personal_order(left, "rev")] == whole[10:]
