"""Shares that clash: the team-day walkthrough of 2026-12-07 started ben on `--assign 1/3`,
ana's share; nothing said so, they split her share and left ben's undone."""

from __future__ import annotations

import pytest

from celeba_tui.labelling.presence import SessionNote, Share, sessions_now, share_clashes
from celeba_tui.labelling.session_lock import annotator_session


def note(annotator: str, share: Share | None) -> SessionNote:
    return SessionNote(annotator, 0.0, None, share)


def test_the_same_share_or_another_plan_clashes_and_nothing_else_does():
    mine = Share("unlabelled", 1, 3, 0.2)
    others = [
        note("ana", Share("unlabelled", 1, 3, 0.2)),  # the same share
        note("cal", Share("unlabelled", 2, 3, 0.2)),  # another share of the plan: fine
        note("dee", Share("unlabelled", 2, 4, 0.2)),  # another plan
        note("eve", Share("review", 1, 3, 0.2)),  # another queue
        note("fay", Share("unlabelled")),  # the whole queue: takes turns with everyone
        note("ben", Share("unlabelled", 1, 3, 0.2)),  # ben himself
        note("old", None),  # a note from before shares were said
    ]
    found = share_clashes(mine, "ben", others)
    assert len(found) == 2
    assert found[0].startswith("ana labels share 1/3 with --overlap 0.2 of this queue too")
    assert found[1].startswith("dee labels share 2/4 with --overlap 0.2 of this queue: yours (share 1/3")
    assert share_clashes(Share("unlabelled"), "ben", others) == []
    # Shares of other tasks do not overlap (attack pass 28: ana on light, carl on orientation).
    light, orientation = Share("unlabelled", 1, 3, 0.0, ("light",)), Share("unlabelled", 1, 3, 0.0, ("orientation",))
    assert share_clashes(orientation, "carl", [note("ana", light)]) == []
    assert share_clashes(Share("unlabelled", 1, 3, 0.0, ("light", "orientation")), "carl", [note("ana", light)])


@pytest.mark.parametrize(
    "value",
    [None, "1/3", [], {"queue": 3}, {"queue": "q", "index": 0, "count": 3, "overlap": 0},
     {"queue": "q", "index": True, "count": 3, "overlap": 0}, {"queue": "q", "index": 1, "count": 3, "overlap": 2},
     {"queue": "q", "index": 1, "count": None, "overlap": 0}, {"queue": "q" * 65, "overlap": 0},
     {"queue": "unl\x1b]0;pwn\x07abelled", "overlap": 0}, {"queue": "q", "index": 5, "count": 3, "overlap": 0},
     {"queue": "q", "overlap": 0, "tasks": "light"}, {"queue": "q", "overlap": 0, "tasks": [3]}],
)  # fmt: skip
def test_a_share_in_a_note_is_hostile_input(value):
    assert Share.from_note(value) is None


def test_a_running_session_tells_its_share_through_its_lock_note(workspace):
    share = Share("unlabelled", 1, 3, 0.2)
    with annotator_session(workspace.path, "ana") as held:
        held.declare_share(share.as_note())
        held.announce("000001.jpg")  # the note keeps the share when the image changes
        (found,) = sessions_now(workspace.path)
        assert (found.annotator, found.share, found.image) == ("ana", share, "000001.jpg")
        assert share_clashes(share, "ben", [found])  # what ben's `celeba label --assign 1/3` shows


@pytest.mark.parametrize("started", [1e300, -1e18, 1e12])
def test_a_forged_start_time_in_a_note_is_no_session(workspace, started):
    # Attack pass 28: `celeba annotators` crashed (OverflowError, OSError, a year 33658).
    import json
    import time

    from typer.testing import CliRunner

    from celeba_tui.cli import app
    from celeba_tui.labelling.session_lock import lock_path

    path = lock_path(workspace.path, "zed")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"annotator": "zed", "pid": 1, "host": "elsewhere", "started": started,
                                "image": "000002.jpg", "shown": time.time()}))  # fmt: skip
    assert sessions_now(workspace.path) == []
    for args in ([], ["--json"]):
        result = CliRunner().invoke(app, ["annotators", "-w", str(workspace.path), *args])
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
