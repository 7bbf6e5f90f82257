"""Snapshot of `celeba browse`'s grid, half-block renderer forced (deterministic).

Update after an intended change with `pytest tests/tui/test_browse_snapshots.py --snapshot-update`
and look at the SVG in tests/tui/__snapshots__/test_browse_snapshots/.
"""

from __future__ import annotations

from celeba_tui.tui.browse_app import BrowseApp, BrowseConfig
from celeba_tui.tui.screens.browse_screen import BrowseScreen
from celeba_tui.workspace import create_workspace
from tui.test_tui_snapshots import synthetic_face

SIZE = (120, 40)


def test_grid(snap_compare, tmp_path):
    root = tmp_path / "faces"
    root.mkdir()
    names = [f"face_{i:02d}.png" for i in range(8)]
    for i, name in enumerate(names):
        synthetic_face(i % 2 == 0).save(root / name)
    (root / "broken.png").write_bytes(b"\x89PNG but not really")
    workspace = create_workspace(tmp_path / "ws", root)
    store = workspace.open_store(create=True)
    store.register_images([*names, "broken.png"])
    store.add_label(names[0], "light", "left", "ann")
    store.add_label(names[0], "orientation", "center", "ann")
    store.add_label(names[1], "light", "left", "ann")
    store.add_label(names[1], "light", "right", "bob")
    store.add_label(names[2], "light", "right", "ensemble", "model", confidence=0.9)
    app = BrowseApp(BrowseConfig(workspace, "me", renderer="halfcell"), store)

    async def run_before(pilot):
        for _ in range(500):
            await pilot.pause(0.01)
            screen = pilot.app.screen
            settled = isinstance(screen, BrowseScreen) and screen.selection is not None and screen.tiles
            if settled and not screen.selection.index.partial and not screen._waiting:
                break
        await pilot.press("right")
        await pilot.pause(0.1)

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        store.close()
