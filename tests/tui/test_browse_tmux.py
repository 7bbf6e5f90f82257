"""`celeba browse` in a real terminal (tmux): filter, open an image, relabel, quit; the store has it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

REPO = Path(__file__).resolve().parents[2]


class Tmux:
    """One tmux server on a private socket; only what this test started is killed."""

    def __init__(self, command: str, size=(120, 40)):
        self.socket = f"celeba-browse-test-{os.getpid()}"
        self.run("new-session", "-d", "-s", "t", "-x", str(size[0]), "-y", str(size[1]), command)

    def run(self, *args) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "t", *keys)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"waited {timeout:g} s for {text!r}; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        socket_path = self.run("display-message", "-p", "#{socket_path}").strip()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        if socket_path:
            Path(socket_path).unlink(missing_ok=True)


def test_filter_open_relabel_quit(workspace, store):
    store.add_label("000003.jpg", "light", "left", "ann")
    store.add_label("000005.jpg", "light", "left", "ann")
    store.close()
    command = (
        f"cd {REPO} && exec env -u COLUMNS -u LINES PYTHONPATH={REPO} TERM=tmux-256color COLORTERM=truecolor "
        f"{sys.executable} -m celeba_tui browse -w {workspace.path} --as tess --renderer halfcell"
    )
    tmux = Tmux(command)
    try:
        tmux.wait_for("10 of 10 images")
        tmux.keys("/")
        tmux.wait_for("Enter applies")  # the box has the keys
        tmux.keys("C-u")
        time.sleep(0.2)  # a control key and text in one read of the terminal: Textual drops the text
        tmux.keys("label:left 0005", "Enter")
        tmux.wait_for("1 of 10 images")
        tmux.keys("Enter")
        tmux.wait_for("your key stores a review label as tess")
        tmux.keys("Right")
        tmux.wait_for("tess           right    review")
        tmux.keys("Escape")
        tmux.wait_for("0 of 10 images")  # label:left no longer holds for 000005.jpg
        tmux.keys("q")
        deadline = time.monotonic() + 10
        while "celeba browse" in tmux.screen() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        tmux.close()
    with workspace.open_store(readonly=True) as reopened:
        history = reopened.history("000005.jpg")[["task", "label", "annotator", "source"]].values.tolist()
    assert history == [["light", "left", "ann", "human"], ["light", "right", "tess", "review"]]
