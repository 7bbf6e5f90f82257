"""One `celeba label` session per annotator: the lock, its release on kill -9, hostile lock files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from celeba_tui.errors import CelebaError
from celeba_tui.labelling.session_lock import annotator_session, lock_path

REPO = Path(__file__).resolve().parents[2]
HOLD = (
    "import sys, time; from celeba_tui.labelling.session_lock import annotator_session\n"
    "with annotator_session(sys.argv[1], sys.argv[2]):\n"
    "    print('held', flush=True); time.sleep(60)\n"
)


def test_a_second_session_under_the_same_name_is_refused(tmp_path):
    with annotator_session(tmp_path, "ann"):
        with pytest.raises(CelebaError, match=rf"'ann' has a .*session open .*\(process {os.getpid()}, since"):
            with annotator_session(tmp_path, "ann"):
                pass
        with annotator_session(tmp_path, "bob"):  # another annotator labels alongside
            pass
    with annotator_session(tmp_path, "ann"):  # released when the session ends
        pass


def test_a_session_killed_with_9_leaves_no_stale_lock(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "ann"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CelebaError, match=rf"process {holder.pid}"):
            with annotator_session(tmp_path, "ann"):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        holder.kill()
    with annotator_session(tmp_path, "ann"):
        pass


def test_any_name_makes_one_safe_file_name(tmp_path):
    names = ["ann", "../../etc/passwd", "名前 with spaces", "a" * 64]
    paths = {lock_path(tmp_path, name) for name in names}
    assert len(paths) == len(names)
    assert all(p.parent == tmp_path / "locks" and p.name.startswith("label-") for p in paths)


def test_a_link_or_fifo_planted_as_the_lock_is_refused_and_left_alone(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    path = lock_path(tmp_path, "ann")
    path.parent.mkdir()
    path.symlink_to(target)
    with pytest.raises(CelebaError, match="a link"):
        with annotator_session(tmp_path, "ann"):
            pass
    assert target.read_text() == "keep me"
    path.unlink()
    os.mkfifo(path)
    started = time.monotonic()
    with pytest.raises(CelebaError, match="not a regular file"):
        with annotator_session(tmp_path, "ann"):
            pass
    assert time.monotonic() - started < 5


def test_a_link_planted_as_the_lock_folder_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "locks").symlink_to(elsewhere)
    with pytest.raises(CelebaError, match="not a folder"):
        with annotator_session(tmp_path / "ws", "ann"):
            pass
    assert list(elsewhere.iterdir()) == []


def test_a_garbled_note_only_leaves_the_holder_unnamed(tmp_path):
    with annotator_session(tmp_path, "ann"):
        lock_path(tmp_path, "ann").write_bytes(b"\x00not json" * 1000)
        with pytest.raises(CelebaError) as refused:
            with annotator_session(tmp_path, "ann"):
                pass
    assert "process" not in str(refused.value) and "session open" in str(refused.value)


def test_a_hard_link_as_the_lock_or_a_file_as_its_folder_is_refused(tmp_path):
    """An attack pass hard-linked the lock to a file outside: the session's note overwrote it."""
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    workspace = tmp_path / "ws"
    path = lock_path(workspace, "ann")
    path.parent.mkdir(parents=True)
    os.link(precious, path)
    with pytest.raises(CelebaError, match="a hard link"):
        with annotator_session(workspace, "ann"):
            pass
    assert precious.read_text() == "keep me"
    path.unlink()
    path.parent.rmdir()
    path.parent.write_text("")
    with pytest.raises(CelebaError, match=r"locks: not a folder"):
        with annotator_session(workspace, "ann"):
            pass


def test_a_removed_lock_is_taken_again_or_the_session_stores_nothing_more(tmp_path):
    """An attack pass removed `locks/` under a running session: a second session of the
    same name then started. A session now checks its lock before each write."""
    import shutil

    with annotator_session(tmp_path, "ann") as first:
        first.check()  # still its own: nothing to do
        shutil.rmtree(tmp_path / "locks")
        first.check()  # nobody took it: taken again, at the new file
        with pytest.raises(CelebaError, match="'ann' has a .*session open"):
            with annotator_session(tmp_path, "ann"):
                pass
        shutil.rmtree(tmp_path / "locks")
        with annotator_session(tmp_path, "ann"):  # a second session got in before the next write...
            with pytest.raises(CelebaError, match="was removed and another session .*holds it now"):
                first.check()  # ...so the first one stores nothing more
