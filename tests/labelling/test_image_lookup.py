"""`--image NAME`: the stored name, or a one-line error with near matches."""

from __future__ import annotations

import pytest

from celeba_tui.errors import CelebaError
from celeba_tui.labelling.image_lookup import find_image, near_names


def test_known_names_open_whatever_their_state(store):
    store.add_label("000003.jpg", "light", "left", "ann")
    assert find_image(store, "000003.jpg") == "000003.jpg"
    assert find_image(store, "000004.jpg") == "000004.jpg"


def test_unknown_name_lists_near_matches(store):
    with pytest.raises(CelebaError) as error:
        find_image(store, "00003.jpg")
    message = str(error.value)
    assert "\n" not in message and "no such image" in message and "000003.jpg" in message
    with pytest.raises(CelebaError, match="no such image in the store$"):
        find_image(store, "zzzzzzzzzz.png")


def test_near_names_prefer_the_same_file_name_elsewhere():
    names = sorted(["a/000123.jpg", "b/000124.jpg", "c/999999.jpg"])
    assert near_names("000123.jpg", names)[0] == "a/000123.jpg"
    assert near_names("a/000125.jpg", names, limit=2) == ["a/000123.jpg", "b/000124.jpg"]
