"""The real `celeba label` in a terminal: probing, tmux end to end, and kill -9."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from celeba_tui.tui.terminal_probe import TerminalInfo, choose_renderer, parse_answers
from celeba_tui.tui.timing_log import read_timing_log

REPO = Path(__file__).resolve().parents[2]
PROBE_SCRIPT = (
    "import time; from celeba_tui.tui.terminal_probe import probe_terminal; "
    "t = time.monotonic(); info = probe_terminal(0.3); "
    "print('RESULT', info.kitty, info.sixel, info.answered, info.columns, round(time.monotonic() - t, 3))"
)


# ------------------------------------------------------------------ probing
def test_parse_answers():
    found = parse_answers(b"\x1b_Gi=4711;OK\x1b\\\x1b[6;20;10t\x1b[?62;4;22c")
    assert found == {"kitty": True, "answered": True, "sixel": True, "cell_height": 20, "cell_width": 10}
    tmux_like = parse_answers(b"\x1b[?1;2c")
    assert tmux_like == {"kitty": False, "answered": True, "sixel": False}
    assert parse_answers(b"") == {"kitty": False, "answered": False, "sixel": False}


def test_choose_renderer():
    assert choose_renderer("auto", TerminalInfo(kitty=True, sixel=True)) == "kitty"
    assert choose_renderer("auto", TerminalInfo(kitty=True, sixel=True, in_tmux=True)) == "sixel"
    assert choose_renderer("auto", TerminalInfo()) == "halfcell"
    assert choose_renderer("halfcell", TerminalInfo(kitty=True)) == "halfcell"
    with pytest.raises(ValueError):
        choose_renderer("ascii", TerminalInfo())


def run_in_pty(argv: list[str], *, timeout: float, done=lambda output: False, reply: bytes | None = None):
    """Run `argv` with a fresh pty as its terminal (it reports a 0x0 window) until it exits,
    `done(output)` holds or `timeout` passes; `reply` answers its first device-attributes
    query (ESC [ c), as a terminal would. Exit status (killed if still running) and output."""
    master, slave = os.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
    env.pop("TMUX", None)
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output, replied = b"", reply is None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(output):
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                output += os.read(master, 4096)
            except OSError:
                break
        if not replied and b"\x1b[c" in output:
            os.write(master, reply)
            replied = True
        if process.poll() is not None and not ready:
            break
    process.kill()
    os.close(master)
    return process.wait(timeout=10), output


def run_probe_in_pty(answer: bytes | None) -> tuple[list[str], bytes]:
    """Run the probe with a pty as its terminal; `answer` is what the 'terminal' replies."""
    _, output = run_in_pty(
        [sys.executable, "-c", PROBE_SCRIPT],
        timeout=20,
        done=lambda output: b"RESULT" in output and output.endswith(b"\n"),
        reply=answer,
    )
    line = output.split(b"RESULT", 1)[1].split(b"\n")[0].decode().split()
    return line, output


def test_probe_gives_up_quickly_when_nobody_answers():
    result, sent = run_probe_in_pty(None)
    kitty, sixel, answered, columns, seconds = result
    assert (kitty, sixel, answered, columns) == ("False", "False", "False", "0")
    assert float(seconds) < 1.0
    assert b"\x1b[c" in sent and b"\x1b_G" in sent


def test_probe_reads_a_graphics_terminal():
    result, _ = run_probe_in_pty(b"\x1b_Gi=4711;OK\x1b\\\x1b[?62;4c")
    assert result[:3] == ["True", "True", "True"]
    assert float(result[4]) < 1.0


def test_probe_without_a_terminal():
    completed = subprocess.run(
        [sys.executable, "-c", PROBE_SCRIPT],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.DEVNULL,
    )
    assert completed.stdout.split()[1:4] == ["False", "False", "False"]


# ---------------------------------------------------------------- in tmux
needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    """A private tmux server (its own socket) running one command in a 120x40 window."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.socket = f"celeba-test-{os.getpid()}-{time.monotonic_ns()}"
        exports = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        line = f"cd {_quote(str(REPO))} && exec env {exports} " + " ".join(_quote(c) for c in command)
        self.tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", line)
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20).stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "t", "#{pane_pid}").strip())

    def alive(self) -> bool:
        return (
            subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", "t"], capture_output=True).returncode == 0
        )

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        if self.socket_path:  # a server that exited leaves its socket file behind
            Path(self.socket_path).unlink(missing_ok=True)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def decisions_logged(log: Path) -> int:
    if not log.exists():
        return 0
    return sum(1 for r in read_timing_log(log) if r["kind"] in ("question", "image"))


def label_command(workspace, log: Path) -> list[str]:
    """`celeba label` as annotator ann, timing each key into `log`."""
    return [
        sys.executable,
        "-m",
        "celeba_tui",
        "label",
        "-w",
        str(workspace.path),
        "-a",
        "ann",
        "--timing-log",
        str(log),
    ]


def started(log: Path) -> bool:
    return log.exists() and any(r["kind"] == "startup" for r in read_timing_log(log))


def start_label(workspace, log: Path) -> Tmux:
    session = Tmux(label_command(workspace, log), {"PYTHONPATH": str(REPO), "TERM": "tmux-256color"})
    wait_for(lambda: started(log), what="the first image")
    return session


@needs_tmux
def test_real_cli_in_tmux_stores_keys_and_quits(workspace, tmp_path):
    log = tmp_path / "timing.jsonl"
    session = start_label(workspace, log)
    try:
        assert "question 1 of 2" in session.screen() and "000001.jpg" in session.screen()
        for count, key in enumerate(["Left", "Down", "Right", "a", "space", "2"], 1):
            session.keys(key)
            if key != "space":
                wait_for(lambda count=count: decisions_logged(log) >= count - (count > 5), what=f"decision {count}")
            else:  # a key before the next question is painted is refused: looked at first, as people do
                wait_for(lambda: "question 2 of 2" in session.screen(), what="the question after the skip")
        wait_for(lambda: "000004.jpg" in session.screen(), what="image 4")
        session.keys("q")
        wait_for(lambda: not session.alive(), what="quit")
    finally:
        session.close()
    with workspace.open_store() as store:
        live = {(r.image, r.task): r.label for r in store.live_labels().itertuples()}
    assert live == {
        ("000001.jpg", "light"): "left",
        ("000001.jpg", "orientation"): "center",
        ("000002.jpg", "light"): "right",
        ("000002.jpg", "orientation"): "left",
        ("000003.jpg", "orientation"): "center",
    }


@needs_tmux
def test_kill_9_loses_no_decision(workspace, tmp_path):
    log = tmp_path / "timing.jsonl"
    session = start_label(workspace, log)
    decisions = 7
    try:
        for count in range(1, decisions + 1):
            session.keys("d")
            # A decision is logged once the next question is painted, i.e. after its commit.
            wait_for(lambda count=count: decisions_logged(log) >= count, what=f"decision {count}")
        os.kill(session.pid(), signal.SIGKILL)
        wait_for(lambda: not session.alive(), what="the kill")
    finally:
        session.close()
    with workspace.open_store() as store:
        live = store.live_labels()
    assert len(live) == decisions and set(live["label"]) == {"right"}


@needs_tmux
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP])
def test_kill_or_a_closed_terminal_ends_the_session_as_q_does(workspace, tmp_path, number):
    # Found by attack pass 17: `kill PID` ended `celeba label` where it stood, the terminal
    # left on the alternate screen with mouse tracking on.
    log = tmp_path / "timing.jsonl"
    session = start_label(workspace, log)
    try:
        session.tmux("set-option", "-t", "t", "remain-on-exit", "on")
        session.keys("d")
        wait_for(lambda: decisions_logged(log) >= 1, what="the decision")
        os.kill(session.pid(), number)
        dead = lambda: session.tmux("display-message", "-p", "-t", "t", "#{pane_dead}").strip() == "1"  # noqa: E731
        wait_for(dead, what="the end")
        # The app ended as `q` ends it: its summary printed on the terminal's own screen (its
        # first line may have scrolled into the history).
        shown = session.tmux("capture-pane", "-p", "-t", "t", "-S", "-100")
        assert "Session of ann: 1 decision stored" in shown, shown
    finally:
        session.close()
    with workspace.open_store() as store:
        assert len(store.live_labels()) == 1


def test_a_terminal_that_goes_away_ends_the_session_cleanly(workspace, tmp_path):
    """The terminal itself closes (an SSH connection drops, tmux's server is killed): the
    app ends as `q` ends it, every decision stored and the lock freed, and the process exits
    0 without counting a summary it can no longer print (it exited 1, 'lost sys.stderr',
    seconds later on a store of 200,000 images)."""
    import fcntl
    import struct
    import termios

    log = tmp_path / "timing.jsonl"
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
    env.pop("TMUX", None)
    process = subprocess.Popen(
        label_command(workspace, log),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,  # a session of its own, whose controlling terminal is the pty
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)

    def drain() -> None:  # read what it paints, as a terminal does (a full pty would block it)
        while select.select([master], [], [], 0)[0]:
            try:
                if not os.read(master, 65536):
                    return
            except OSError:
                return

    try:
        wait_for(lambda: drain() or started(log), what="the first image")
        os.write(master, b"d")
        wait_for(lambda: drain() or decisions_logged(log) >= 1, what="the decision")
    finally:
        os.close(master)  # the terminal hangs up: SIGHUP, and EIO on every read and write
    assert process.wait(timeout=30) == 0
    from celeba_tui.labelling.session_lock import annotator_session

    with annotator_session(workspace.path, "ann"):  # the lock is free
        pass
    with workspace.open_store() as store:
        assert store.live_labels()["label"].tolist() == ["right"]


def run_cli_in_pty(args: list[str], timeout: float = 60) -> tuple[int, str]:
    """`celeba ARGS` with a pty as its terminal (so it gets past the terminal check); exit status and output."""
    status, output = run_in_pty([sys.executable, "-m", "celeba_tui", *args], timeout=timeout)
    return status, output.decode("utf-8", "replace")


@needs_tmux
def test_a_second_session_of_one_annotator_is_refused_until_the_first_ends(workspace, tmp_path):
    """An attack pass found two `celeba label` of one annotator storing both answers to one
    question, the later silently replacing the earlier. The second is refused now."""
    log = tmp_path / "timing.jsonl"
    session = start_label(workspace, log)
    try:
        status, output = run_cli_in_pty(["label", "-w", str(workspace.path), "-a", "ann"])
        assert status == 2, output
        lines = [line for line in output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: annotator 'ann' has a `celeba label` session open")
        assert f"process {session.pid()}" in lines[0]
        session.keys("a")  # the first session goes on storing
        wait_for(lambda: decisions_logged(log) >= 1, what="the first session's decision")
        os.kill(session.pid(), signal.SIGKILL)
        wait_for(lambda: not session.alive(), what="the kill")
    finally:
        session.close()
    from celeba_tui.labelling.session_lock import annotator_session

    with annotator_session(workspace.path, "ann"):  # the killed session left no stale lock
        pass
    with workspace.open_store() as store:
        assert store.live_labels()["label"].tolist() == ["left"]
