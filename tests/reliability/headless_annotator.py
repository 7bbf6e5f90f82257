"""A scripted annotator: the real labelling app, headless, pressing keys until time is up.

    python headless_annotator.py WORKSPACE ANNOTATOR SECONDS LOG [SEED]

Keys go through Textual exactly as typed ones do (class keys a/s/d, `u` to undo), so
each decision takes the TUI's own path to the store (LabelScreen -> LabelSession.record
-> LabelStore.add_label). After the app has applied a key's decision -- which it does
only once the store committed it -- one JSON line is appended to LOG and flushed:
{"op": "label", "id", "image", "task", "label", "ms"} or {"op": "undo", "id", "ms"}
(ms: key press to decision applied). So every logged decision must be in the store,
even if this process is killed right after.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

UNDO_SHARE = 0.08
COMMIT_TIMEOUT_S = 60.0


async def annotate(workspace_dir: Path, annotator: str, seconds: float, log_path: Path, seed: int) -> int:
    from celeba_tui.tui.app import LabelApp, LabelConfig
    from celeba_tui.tui.screens.label_screen import LabelScreen
    from celeba_tui.tui.screens.nothing_to_label_screen import NothingToLabelScreen
    from celeba_tui.tui.widgets.image_pane import ImagePane
    from celeba_tui.workspace import load_workspace

    rng = random.Random(seed)
    workspace = load_workspace(workspace_dir)
    with workspace.open_store() as store, open(log_path, "a", encoding="utf-8") as log:
        app = LabelApp(LabelConfig(workspace, annotator), store)
        async with app.run_test(size=(120, 40)) as pilot:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await pilot.pause(0.002)
                if isinstance(app.screen, NothingToLabelScreen):
                    write(log, {"op": "finished"})
                    break
                if not isinstance(app.screen, LabelScreen):
                    continue
                # A screen just pushed may not have composed its children yet (seen under load).
                panes = app.screen.query(ImagePane)
                if not panes or not panes.first().ready or not app.screen.question_on_screen:
                    continue  # a key before the question is painted is refused (NOT saved)
                session = app.session
                before = list(session.history)
                undo = bool(before) and rng.random() < UNDO_SHARE
                pressed = time.monotonic()
                await pilot.press("u" if undo else rng.choice("asd"))
                waited = time.monotonic()
                while session.history == before:
                    if time.monotonic() - waited > COMMIT_TIMEOUT_S:
                        notes = [n.message for n in app._notifications]
                        print(f"key not committed after {COMMIT_TIMEOUT_S} s; notifications: {notes}", file=sys.stderr)
                        return 3
                    await pilot.pause(0.002)
                ms = round((time.monotonic() - pressed) * 1000)  # key press to decision applied
                if undo:
                    write(log, {"op": "undo", "id": before[-1].label_id, "ms": ms})
                else:
                    decision = session.history[-1]
                    write(
                        log,
                        {
                            "op": "label",
                            "id": decision.label_id,
                            "image": decision.image,
                            "task": decision.task,
                            "label": decision.label,
                            "ms": ms,
                        },
                    )
            await pilot.press("q")
    return 0


def write(log, record: dict) -> None:
    log.write(json.dumps(record) + "\n")
    log.flush()


def read_log(path: Path) -> list[dict]:
    """The records of a log; a last line cut short by a kill is ignored."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


def replay(records: list[dict]) -> tuple[dict[int, tuple[str, str, str]], set[int]]:
    """(label id -> (image, task, label) of every logged decision, ids undone)."""
    labels = {r["id"]: (r["image"], r["task"], r["label"]) for r in records if r["op"] == "label"}
    undone = {r["id"] for r in records if r["op"] == "undo"}
    return labels, undone


if __name__ == "__main__":
    workspace_arg, annotator_arg, seconds_arg, log_arg = sys.argv[1:5]
    seed_arg = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    sys.exit(asyncio.run(annotate(Path(workspace_arg), annotator_arg, float(seconds_arg), Path(log_arg), seed_arg)))
