"""Who else is on an image now: the lock notes sessions write, read back, hostile ones ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from celeba_tui.labelling.presence import PRESENCE_TTL_S, someone_else_on
from celeba_tui.labelling.session_lock import annotator_session, lock_path


def test_a_session_says_which_image_it_shows_and_stops_saying_it_when_it_ends(tmp_path):
    with annotator_session(tmp_path, "alice") as alice:
        assert someone_else_on(tmp_path, "bob", "a.jpg") is None  # held, nothing shown yet
        alice.announce("a.jpg")
        assert someone_else_on(tmp_path, "bob", "a.jpg") == "alice"
        assert someone_else_on(tmp_path, "bob", "b.jpg") is None
        assert someone_else_on(tmp_path, "alice", "a.jpg") is None  # one's own session is not someone else
        alice.announce("b.jpg")
        assert someone_else_on(tmp_path, "bob", "a.jpg") is None
        assert someone_else_on(tmp_path, "bob", "b.jpg") == "alice"
        alice.announce(None)
        assert someone_else_on(tmp_path, "bob", "b.jpg") is None
        alice.announce("c.jpg")
    assert someone_else_on(tmp_path, "bob", "c.jpg") is None  # the session ended


def test_a_session_refused_under_a_running_ones_name_leaves_its_note(tmp_path):
    # Found by a walkthrough: a second `celeba label -a alice`, refused, cut the running
    # session's note, so `celeba annotators` and the others' turns no longer saw it.
    from celeba_tui.errors import CelebaError
    from celeba_tui.labelling.session_lock import write_as

    with annotator_session(tmp_path, "alice") as alice:
        alice.announce("a.jpg")
        with pytest.raises(CelebaError):
            with annotator_session(tmp_path, "alice"):
                pass
        with pytest.raises(CelebaError):  # a relabel from `celeba browse` under her name
            write_as(tmp_path, "alice", print)
        assert someone_else_on(tmp_path, "bob", "a.jpg") == "alice"


def test_a_note_counts_only_while_fresh(tmp_path):
    with annotator_session(tmp_path, "alice") as alice:
        alice.announce("a.jpg")
        now = time.time()
        assert someone_else_on(tmp_path, "bob", "a.jpg", now=now + PRESENCE_TTL_S / 2) == "alice"
        assert someone_else_on(tmp_path, "bob", "a.jpg", now=now + PRESENCE_TTL_S + 1) is None  # left open, idle
        assert someone_else_on(tmp_path, "bob", "a.jpg", now=now - 2 * PRESENCE_TTL_S) is None  # a clock far ahead


def write_note(tmp_path, name, note):
    path = lock_path(tmp_path, name)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(note) if not isinstance(note, str) else note)
    return path


def test_a_note_left_by_a_process_that_ended_holds_nobody_up(tmp_path):
    # kill -9 leaves the note behind: its process is gone, so it says nothing.
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(ended.stdout)
    note = {"annotator": "alice", "pid": pid, "host": os.uname().nodename, "started": 0, "image": "a.jpg"}
    write_note(tmp_path, "alice", note | {"shown": time.time()})
    assert someone_else_on(tmp_path, "bob", "a.jpg") is None
    # Another host's process cannot be asked: its note's age decides.
    write_note(tmp_path, "alice", note | {"host": "elsewhere", "shown": time.time()})
    assert someone_else_on(tmp_path, "bob", "a.jpg") == "alice"


def test_hostile_lock_files_are_ignored_without_hanging(tmp_path):
    folder = tmp_path / "locks"
    folder.mkdir()
    fresh = {"pid": os.getpid(), "host": "elsewhere", "started": 0, "image": "a.jpg", "shown": time.time()}
    os.mkfifo(folder / f"label-{'0' * 16}.lock")  # a FIFO: never opened for a blocking read
    os.replace(write_note(tmp_path, "alice", {"annotator": "alice", **fresh}), folder / "note.json")
    (folder / f"label-{'1' * 16}.lock").symlink_to(folder / "note.json")  # a link is not followed
    (folder / f"label-{'2' * 16}.lock").write_bytes(b"x" * 10_000)  # longer than any note
    (folder / f"label-{'3' * 16}.lock").write_text("{not json")
    (folder / f"label-{'4' * 16}.lock").write_text("[" * 4000)
    write_note(tmp_path, "n1", {"annotator": ["alice"], **fresh})
    write_note(tmp_path, "n2", {"annotator": "", **fresh})
    write_note(tmp_path, "n3", {"annotator": "carol", **fresh, "shown": float("nan")})
    write_note(tmp_path, "n4", {"annotator": "carol", **fresh, "shown": True})
    write_note(tmp_path, "n5", {"annotator": "carol", **fresh, "host": os.uname().nodename, "pid": 2**80})
    write_note(tmp_path, "n6", {"annotator": "carol", **fresh, "host": os.uname().nodename, "pid": "1"})
    (folder / "label-carol.lock").write_text(json.dumps({"annotator": "carol", **fresh}))  # not a lock's name
    assert someone_else_on(tmp_path, "bob", "a.jpg") is None
    write_note(tmp_path, "dave", {"annotator": "[bold]dave\x1b[2J", **fresh})  # in dave's lock file: not theirs
    assert someone_else_on(tmp_path, "bob", "a.jpg") is None
    write_note(tmp_path, "[bold]dave\x1b[2J", {"annotator": "[bold]dave\x1b[2J", **fresh})
    assert someone_else_on(tmp_path, "bob", "a.jpg") == "[bold]dave\x1b[2J"  # shown escaped by the TUI


def test_no_lock_folder_or_a_file_in_its_place_means_nobody(tmp_path):
    assert someone_else_on(tmp_path, "bob", "a.jpg") is None
    (tmp_path / "locks").write_text("not a folder")
    assert someone_else_on(tmp_path, "bob", "a.jpg") is None


def test_a_name_too_long_for_the_note_is_not_announced_and_the_lock_still_names_its_holder(tmp_path):
    from celeba_tui.errors import CelebaError

    with annotator_session(tmp_path, "alice") as alice:
        alice.announce("x" * 5000)
        assert someone_else_on(tmp_path, "bob", "x" * 5000) is None
        try:
            with annotator_session(tmp_path, "alice"):
                raise AssertionError("a second session under the same name")
        except CelebaError as exc:
            assert f"process {os.getpid()}" in str(exc)


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="process start times are read from /proc")
def test_a_pid_reused_by_a_later_process_is_not_the_session(tmp_path):
    later = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        note = {"annotator": "alice", "pid": later.pid, "host": os.uname().nodename, "image": "a.jpg"}
        write_note(tmp_path, "alice", note | {"started": time.time() - 3600, "shown": time.time()})
        assert someone_else_on(tmp_path, "bob", "a.jpg") is None  # the note's process ended an hour ago
        write_note(tmp_path, "alice", note | {"started": time.time(), "shown": time.time()})
        assert someone_else_on(tmp_path, "bob", "a.jpg") == "alice"
    finally:
        later.kill()
        later.wait()


def test_sessions_now_lists_running_sessions_with_or_without_an_image(tmp_path):
    from celeba_tui.labelling.presence import SessionNote, sessions_now

    with annotator_session(tmp_path, "alice") as alice, annotator_session(tmp_path, "bob"):
        alice.announce("a.jpg")
        found = sorted(sessions_now(tmp_path), key=lambda note: note.annotator)
        assert found == [SessionNote("alice", alice.started, "a.jpg"), SessionNote("bob", found[1].started, None)]
        assert sessions_now(tmp_path, now=time.time() + PRESENCE_TTL_S + 1)[0].image is None  # shown long ago
    assert sessions_now(tmp_path) == []  # both ended: their notes say nothing any more


def test_numbers_too_big_for_a_float_are_ignored_not_a_crash(tmp_path):
    # Found by attack pass 11: 400 nines as `shown` (or `started`) crashed every session.
    from celeba_tui.labelling.presence import sessions_now

    huge = int("9" * 400)
    base = {"annotator": "eve", "pid": os.getpid(), "host": "x", "image": "a.jpg"}
    write_note(tmp_path, "eve", base | {"started": 0, "shown": huge})
    write_note(tmp_path, "mal", base | {"annotator": "mal", "started": huge, "shown": time.time()})
    assert someone_else_on(tmp_path, "bob", "a.jpg") is None
    assert sessions_now(tmp_path) == []


def test_notes_left_by_sessions_of_earlier_days_do_not_hide_a_live_one(tmp_path):
    # Lock files stay, one per annotator who ever labelled here; old ones cost a stat each.
    folder = tmp_path / "locks"
    folder.mkdir()
    yesterday = time.time() - 86_400
    for index in range(1_000):
        path = folder / f"label-{index:016x}.lock"
        path.write_text(json.dumps({"annotator": f"old{index}", "pid": 1, "host": "x", "started": 0}))
        os.utime(path, (yesterday, yesterday))
        (folder / f"junk{index}").write_text("x")
    with annotator_session(tmp_path, "alice") as alice:
        alice.announce("a.jpg")
        assert someone_else_on(tmp_path, "bob", "a.jpg") == "alice"


def test_of_two_sessions_taking_one_image_at_once_exactly_one_gets_it(tmp_path, monkeypatch):
    # Reading the notes, then writing one's own, left a moment in which both took it.
    import threading

    from celeba_tui.labelling import session_lock
    from celeba_tui.labelling.presence import claim

    monkeypatch.setattr(session_lock, "TURN_WAIT_S", 10.0)  # a loaded machine never lets one go on without

    rounds = 150
    with annotator_session(tmp_path, "alice") as alice, annotator_session(tmp_path, "bob") as bob:
        start = threading.Barrier(2)
        results = {"alice": [], "bob": []}

        def take(name, held):
            for i in range(rounds):
                start.wait()
                results[name].append(claim(tmp_path, name, f"{i:06d}.jpg", held.announce))

        threads = [threading.Thread(target=take, args=args) for args in (("alice", alice), ("bob", bob))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    both = [i for i in range(rounds) if results["alice"][i] is None and results["bob"][i] is None]
    assert both == []  # never both
    assert all((results["alice"][i] is None) != (results["bob"][i] is None) for i in range(rounds))


def test_a_turn_lock_that_is_not_ours_or_held_elsewhere_is_gone_without(tmp_path):
    import fcntl

    from celeba_tui.labelling.presence import claim
    from celeba_tui.labelling.session_lock import LOCK_FOLDER, TURNS_LOCK

    turns = tmp_path / LOCK_FOLDER / TURNS_LOCK
    turns.parent.mkdir()
    with annotator_session(tmp_path, "alice") as alice:
        os.mkfifo(turns)  # would block an open for reading or writing
        assert claim(tmp_path, "alice", "a.jpg", alice.announce) is None
        assert someone_else_on(tmp_path, "bob", "a.jpg") == "alice"
        turns.unlink()
        (tmp_path / "elsewhere").write_text("keep")
        turns.symlink_to(tmp_path / "elsewhere")
        assert claim(tmp_path, "alice", "b.jpg", alice.announce) is None
        assert (tmp_path / "elsewhere").read_text() == "keep"
        turns.unlink()
        holder = os.open(turns, os.O_RDWR | os.O_CREAT)  # a process that never lets go
        fcntl.flock(holder, fcntl.LOCK_EX)
        began = time.monotonic()
        assert claim(tmp_path, "alice", "c.jpg", alice.announce) is None
        assert time.monotonic() - began < 1.0
        os.close(holder)
    assert someone_else_on(tmp_path, "bob", "c.jpg") is None


def test_a_session_tells_its_progress_and_a_forged_one_is_not_believed(tmp_path):
    from celeba_tui.labelling.presence import Progress, sessions_now

    told = Progress(37, 1403, 74, 6.04, 229.6)
    assert Progress.from_note(told.as_note()) == Progress(37, 1403, 74, 6.0, 230.0)  # rounded as shown
    with annotator_session(tmp_path, "ann") as lock:
        lock.tell_progress(told.as_note())
        (session,) = sessions_now(tmp_path)
        assert session.progress == Progress(37, 1403, 74, 6.0, 230.0)
        before = os.stat(lock.path).st_mtime_ns
        time.sleep(0.01)
        lock.tell_progress(Progress(37, 1403, 74, 6.0, 230.2).as_note())  # nothing new to say: not written
        assert os.stat(lock.path).st_mtime_ns == before
    good = told.as_note()
    for forged in [
        None,
        [1, 2],
        {**good, "done": 1404},  # more done than there is
        {**good, "done": -1},
        {**good, "total": True},
        {**good, "labels": 10**12},
        {**good, "per_minute": float("nan")},
        {**good, "per_minute": 1e300},
        {**good, "minutes_left": -5},
        {**good, "minutes_left": "soon"},
        {key: value for key, value in good.items() if key != "total"},
    ]:
        assert Progress.from_note(forged) is None, forged
    assert Progress.from_note({**good, "minutes_left": None}).minutes_left is None


def test_a_note_forged_in_another_lock_file_does_not_hide_the_real_session(tmp_path):
    # Attack pass 31: a second file naming Alice, with a live pid, showed in her place.
    from celeba_tui.labelling.presence import sessions_now

    with annotator_session(tmp_path, "Alice") as alice:
        alice.announce("000011.jpg")
        forged = {"annotator": "Alice", "pid": os.getpid(), "host": os.uname().nodename, "started": 0}
        write_note(tmp_path, "mallory", {**forged, "image": "000005.jpg", "shown": time.time()})
        assert [(note.annotator, note.image) for note in sessions_now(tmp_path)] == [("Alice", "000011.jpg")]
