"""Fixtures shared by the export tests."""

from __future__ import annotations

import pytest

from tests.formats.labelled import add_labels


@pytest.fixture
def labelled(workspace):
    """The `workspace` fixture with every way a current label is settled (tests/formats/labelled.py)."""
    add_labels(workspace)
    return workspace
