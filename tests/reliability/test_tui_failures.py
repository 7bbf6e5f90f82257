"""The labelling app when something goes wrong: a crash, a refused write, a stuck image.

A crash must not look like a clean exit; a write the disk refuses must leave the
annotator's answer on screen to retry; an image that never finishes decoding (a FIFO,
a hung network mount) must not keep `q` from quitting.
"""

from __future__ import annotations

import fcntl
import os
import re
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app as cli
from celeba_tui.errors import StoreWriteError
from celeba_tui.store.label_store import LabelStore
from celeba_tui.tui.app import LabelApp, LabelConfig

from pilot import image_on_screen, wait_for

pytestmark = pytest.mark.reliability

REPO = Path(__file__).resolve().parents[2]
SIZE = (120, 40)


# ------------------------------------------------- the real CLI in a pty
class PtyRun:
    """`celeba label` in a pty, as in a terminal (after `prelude`: Python run first in the
    same process, to break something on purpose)."""

    def __init__(self, prelude: str, args: list[str]):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        code = f"{prelude}\nfrom celeba_tui.cli import app\napp(prog_name='celeba')"
        env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
        env.pop("TMUX", None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, "label", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.output = b""
        # The app blocks once the pty's buffer is full: keep reading it.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the process and its terminal are gone
                return
            if not chunk:
                return
            self.output += chunk

    def wait_for_output(self, text: bytes, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if time.monotonic() > deadline or self.process.poll() is not None:
                status, after = self.finish(timeout=0)
                raise AssertionError(f"{text!r} never appeared (exit {status}); then: {after!r}")
            time.sleep(0.05)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self, timeout: float) -> tuple[int | None, str]:
        """(exit status, what it printed after the app left the screen); status None when
        it did not exit within `timeout` (it is killed then)."""
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            status = None
        self._reader.join(timeout=5)
        os.close(self.master)
        text = self.output.decode(errors="replace")
        # Textual leaves the alternate screen, then resets terminal modes (CSI sequences).
        after = text.rsplit(LEAVE_ALTERNATE_SCREEN, 1)[-1]
        return status, TERMINAL_MODES.sub("", after).replace("\r\n", "\n")


LEAVE_ALTERNATE_SCREEN = "\x1b[?1049l"
TERMINAL_MODES = re.compile(r"\x1b\[[?<>=]?[0-9;]*[a-zA-Z]")


def label_args(workspace) -> list[str]:
    return ["-w", str(workspace.path), "-a", "ann", "--renderer", "halfcell"]


def test_a_crash_inside_the_app_exits_non_zero_with_one_line(workspace, store):
    store.add_label("000001.jpg", "light", "left", "ann")  # stored before the session
    prelude = (
        "import celeba_tui.tui.widgets.image_info as info\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('the info panel broke\\nsecond line')\n"
        "info.info_text = broken\n"
    )
    run = PtyRun(prelude, label_args(workspace))
    status, printed = run.finish(timeout=60)
    assert status == 1, printed
    lines = printed.splitlines()
    assert len(lines) == 1, printed
    assert "RuntimeError: the info panel broke" in lines[0] and "stored" in lines[0]
    assert "Traceback" not in printed and "\x1b" not in printed
    report = Path(lines[0].rsplit("details: ", 1)[1])
    assert "RuntimeError" in report.read_text(encoding="utf-8")
    report.unlink()
    assert len(store.live_labels()) == 1


def test_q_quits_while_an_image_never_finishes_decoding(workspace):
    # Every decode blocks for good, as reading a FIFO nobody writes to does.
    prelude = (
        "import threading\n"
        "import celeba_tui.tui.image_prep as prep\n"
        "never = threading.Event()\n"
        "def stuck(path):\n"
        "    never.wait()\n"
        "prep.decode_for_display = stuck\n"
    )
    run = PtyRun(prelude, label_args(workspace))
    run.wait_for_output(b"loading")
    time.sleep(0.5)  # the loader thread is blocked by now
    started = time.monotonic()
    run.send(b"q")
    status, printed = run.finish(timeout=10)
    assert status == 0, printed
    assert time.monotonic() - started < 5


# ------------------------------------------------------ refused writes
def live(store) -> dict:
    return {(r.image, r.task): r.label for r in store.live_labels().itertuples()}


def _status(app) -> str:
    status = app.screen.query_one("#store-status")
    return str(status.render()) if status.display else ""


@pytest.mark.parametrize(
    "refusal",
    [sqlite3.OperationalError("database or disk is full"), StoreWriteError("labels.sqlite", "disk full")],
    ids=["sqlite-error", "store-write-error"],
)
async def test_a_refused_write_keeps_the_question_to_retry(workspace, store, monkeypatch, refusal):
    real_add_label = store.add_label
    failures = []

    def full_disk_once(*args, **kwargs):
        if not failures:
            failures.append(args)
            raise refusal
        return real_add_label(*args, **kwargs)

    monkeypatch.setattr(store, "add_label", full_disk_once)
    app = LabelApp(LabelConfig(workspace, "ann"), store)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: image_on_screen(app), "the first image")
        await pilot.press("a")
        await wait_for(pilot, lambda: "NOT saved" in _status(app), "the refusal on screen")
        assert "disk" in _status(app) and "again" in _status(app)
        # Still the same question: nothing moved on, nothing counted.
        assert (app.session.current.image, app.session.current_task.name) == ("000001.jpg", "light")
        assert app.session.stats.decisions == 0
        await pilot.press("a")  # space is back: the same key again
        await wait_for(pilot, lambda: app.session.current_task.name == "orientation", "the next question")
        assert "NOT saved" not in _status(app)
    assert app.crash_report() is None
    assert live(store) == {("000001.jpg", "light"): "left"}


async def test_a_read_only_store_says_not_saved_and_keeps_running(workspace, store):
    with LabelStore.open(workspace.store_path, readonly=True) as readonly:
        app = LabelApp(LabelConfig(workspace, "ann"), readonly)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: image_on_screen(app), "the first image")
            await pilot.press("d")
            await wait_for(pilot, lambda: "NOT saved" in _status(app), "the refusal on screen")
            assert app.session.current_task.name == "light"
            await pilot.press("q")
        assert app.return_code == 0
    assert live(store) == {}


# ------------------------------------------------------------- arguments
def test_a_negative_seed_is_a_one_line_error(workspace):
    result = CliRunner().invoke(cli, ["label", "-w", str(workspace.path), "--shuffle", "--seed", "-1", "--count"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --seed -1") and result.output.count("\n") == 1


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "merge:majority", "bob\x1b[2J"])
def test_an_annotator_name_the_store_would_refuse_stops_before_the_app_starts(workspace, name):
    result = CliRunner().invoke(
        cli, ["label", "-w", str(workspace.path), "--annotator", name, "--renderer", "halfcell"]
    )
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: --annotator") and result.output.count("\n") == 1
    assert "\x1b" not in result.output
