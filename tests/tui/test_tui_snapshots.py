"""Snapshot tests of the labelling screen, half-block renderer forced (deterministic).

Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs in tests/__snapshots__/test_tui_snapshots/.
"""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw

from celeba_tui.tui.app import LabelApp, LabelConfig
from celeba_tui.tui.screens.label_screen import LabelScreen
from celeba_tui.tui.screens.nothing_to_label_screen import NothingToLabelScreen
from celeba_tui.tui.widgets.image_pane import ImagePane
from celeba_tui.workspace import create_workspace

from store_rows import add_prediction

SIZE = (120, 40)
SMALL = (80, 24)  # the classic terminal: the essentials must fit
NAMES = ["face_a.png", "face_b.png", "broken.png"]


async def settle(pilot):
    """Until the image (or the end screen), its context and the queue's count are up."""
    for _ in range(500):
        await pilot.pause(0.01)
        screen = pilot.app.screen
        if isinstance(screen, NothingToLabelScreen) and screen.hint != "…":  # the hint is read from the store
            return
        panes = screen.query(ImagePane) if isinstance(screen, LabelScreen) else []
        settled = panes and panes.first().shown == panes.first().request and screen.context is not None
        if settled and pilot.app.session.complete:
            return
    raise AssertionError("the screen never settled")


def synthetic_face(light_from_left: bool) -> Image.Image:
    """A 178x218 CelebA-sized picture: a lit oval face on a gradient, no randomness."""
    image = Image.new("RGB", (178, 218))
    draw = ImageDraw.Draw(image)
    for x in range(178):
        shade = 40 + x // 4
        draw.line([(x, 0), (x, 217)], fill=(shade, shade // 2, 70))
    for step in range(40):
        lit = 120 + step * 3
        inset = step
        colour = (lit, int(lit * 0.8), int(lit * 0.65))
        offset = -step // 3 if light_from_left else step // 3
        draw.ellipse([44 + inset + offset, 40 + inset, 134 - inset + offset, 180 - inset], fill=colour)
    draw.ellipse([68, 90, 80, 98], fill=(30, 20, 20))
    draw.ellipse([98, 90, 110, 98], fill=(30, 20, 20))
    draw.line([(89, 100), (84, 125), (92, 125)], fill=(90, 60, 50), width=2)
    draw.arc([72, 130, 106, 150], 20, 160, fill=(120, 40, 40), width=3)
    return image


@pytest.fixture
def face_workspace(tmp_path):
    root = tmp_path / "faces"
    root.mkdir()
    synthetic_face(True).save(root / NAMES[0])
    synthetic_face(False).save(root / NAMES[1])
    (root / NAMES[2]).write_bytes(b"\x89PNG but not really")
    workspace = create_workspace(tmp_path / "ws", root)
    with workspace.open_store(create=True) as store:
        store.register_images(NAMES)
    return workspace


def run_app(snap_compare, workspace, *keys, queue="unlabelled", annotator="ann", size=SIZE):
    store = workspace.open_store()
    app = LabelApp(LabelConfig(workspace, annotator, queue, renderer="halfcell"), store)

    async def run_before(pilot):
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    try:
        return snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        store.close()


def test_first_question(snap_compare, face_workspace):
    assert run_app(snap_compare, face_workspace)


def test_first_question_80x24(snap_compare, face_workspace):
    assert run_app(snap_compare, face_workspace, "space", "space", size=SMALL)


def test_second_question_shows_the_label_given(snap_compare, face_workspace):
    assert run_app(snap_compare, face_workspace, "left")


def test_unreadable_image_placeholder(snap_compare, face_workspace):
    assert run_app(snap_compare, face_workspace, "space", "space", "space", "space")


def add_conflict_and_predictions(face_workspace):
    with face_workspace.open_store() as store:
        store.add_label(NAMES[1], "light", "left", "ann")
        store.add_label(NAMES[1], "light", "center", "bob")
        add_prediction(store, NAMES[1], "light", "cnn4", [0.6, 0.3, 0.1])
        add_prediction(store, NAMES[1], "light", "vgg19", [0.2, 0.7, 0.1])


def test_review_with_answers_and_ensemble(snap_compare, face_workspace):
    add_conflict_and_predictions(face_workspace)
    assert run_app(snap_compare, face_workspace, queue="review", annotator="rev")


def test_review_80x24_keeps_the_answers_on_screen(snap_compare, face_workspace):
    add_conflict_and_predictions(face_workspace)
    with face_workspace.open_store() as store:
        store.add_label(NAMES[1], "orientation", "left", "ann")
        store.add_label(NAMES[1], "orientation", "right", "bob")
    assert run_app(snap_compare, face_workspace, queue="review", annotator="rev", size=SMALL)


def test_going_back_80x24(snap_compare, face_workspace):
    with face_workspace.open_store() as store:
        store.add_label(NAMES[0], "light", "left", "ann")
    assert run_app(snap_compare, face_workspace, "b", size=SMALL)


def test_nothing_to_label(snap_compare, face_workspace):
    assert run_app(snap_compare, face_workspace, queue="manual")


def test_terminal_too_small(snap_compare, face_workspace):
    store = face_workspace.open_store()
    app = LabelApp(LabelConfig(face_workspace, "ann", renderer="halfcell"), store)
    try:
        assert snap_compare(app, terminal_size=(50, 12), run_before=lambda pilot: pilot.pause(0.3))
    finally:
        store.close()
