"""Asking the terminal what it can draw, once, before the TUI reads its input.

Three queries are written together: a Kitty graphics query, a cell-size report
(CSI 16 t) and Primary Device Attributes (CSI c). Every terminal answers the last
one, and in order, so its answer ends the wait early; a terminal that answers nothing
(or a pipe, or tmux dropping the Kitty query) costs at most `timeout` seconds. Any
failure means "half-blocks": probing never hangs and never raises.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass

RENDERERS = ("auto", "kitty", "sixel", "halfcell")
PROBE_TIMEOUT_S = 0.3

_KITTY_QUERY = b"\x1b_Gi=4711,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
_CELL_QUERY = b"\x1b[16t"
_DA1_QUERY = b"\x1b[c"
_KITTY_OK = re.compile(rb"\x1b_Gi=4711;OK\x1b\\")
_CELL_ANSWER = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_DA1_ANSWER = re.compile(rb"\x1b\[\?([\d;]*)c")


@dataclass(frozen=True)
class TerminalInfo:
    """What the terminal said about itself (zeros and False where it said nothing)."""

    is_tty: bool = False
    in_tmux: bool = False
    columns: int = 0
    rows: int = 0
    cell_width: int = 0
    cell_height: int = 0
    kitty: bool = False
    sixel: bool = False
    answered: bool = False


def parse_answers(data: bytes) -> dict:
    """Pure: the capabilities found in the raw bytes the terminal sent back."""
    found: dict = {"kitty": bool(_KITTY_OK.search(data))}
    da1 = _DA1_ANSWER.search(data)
    found["answered"] = da1 is not None
    found["sixel"] = da1 is not None and "4" in da1.group(1).decode().split(";")
    cell = _CELL_ANSWER.search(data)
    if cell:
        found["cell_height"], found["cell_width"] = int(cell.group(1)), int(cell.group(2))
    return found


def choose_renderer(requested: str, info: TerminalInfo) -> str:
    """The renderer to use: the requested one, or for `auto` the best the terminal has."""
    if requested not in RENDERERS:
        raise ValueError(f"unknown renderer {requested!r} (one of {', '.join(RENDERERS)})")
    if requested != "auto":
        return requested
    # textual-image draws Kitty images with unicode placeholders that tmux does not pass on.
    if info.kitty and not info.in_tmux:
        return "kitty"
    if info.sixel:
        return "sixel"
    return "halfcell"


def probe_terminal(timeout: float = PROBE_TIMEOUT_S, *, query_graphics: bool = True) -> TerminalInfo:
    """Probe stdin/stdout's terminal; a TerminalInfo of what was learnt, never an exception."""
    in_tmux = bool(os.environ.get("TMUX"))
    try:
        stdin_fd, stdout_fd = sys.__stdin__.fileno(), sys.__stdout__.fileno()
        is_tty = os.isatty(stdin_fd) and os.isatty(stdout_fd)
    except (AttributeError, ValueError, OSError):
        return TerminalInfo(in_tmux=in_tmux)
    columns, rows, cell_width, cell_height = _window_size(stdout_fd)
    info = TerminalInfo(is_tty, in_tmux, columns, rows, cell_width, cell_height)
    if not is_tty or not query_graphics or os.environ.get("TERM", "") in ("", "dumb"):
        return info
    try:
        found = parse_answers(_ask(stdin_fd, stdout_fd, timeout))
    except (OSError, ValueError, ImportError):
        return info
    if not cell_width or not cell_height:
        cell_width, cell_height = found.get("cell_width", 0), found.get("cell_height", 0)
    return TerminalInfo(
        is_tty,
        in_tmux,
        columns,
        rows,
        cell_width,
        cell_height,
        found["kitty"],
        found["sixel"],
        found["answered"],
    )


def _window_size(fd: int) -> tuple[int, int, int, int]:
    """(columns, rows, cell width px, cell height px); zeros where the kernel does not know."""
    try:
        import fcntl
        import struct
        import termios

        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
        rows, columns, width_px, height_px = struct.unpack("HHHH", packed)
    except (ImportError, OSError):
        return 0, 0, 0, 0
    if not rows or not columns:
        return columns, rows, 0, 0
    return columns, rows, width_px // columns, height_px // rows


def _ask(stdin_fd: int, stdout_fd: int, timeout: float) -> bytes:
    """Write the queries and collect the answers until DA1 arrives or `timeout` passes."""
    import select
    import termios
    import tty

    saved = termios.tcgetattr(stdin_fd)
    received = b""
    try:
        tty.setcbreak(stdin_fd, termios.TCSANOW)
        os.write(stdout_fd, _KITTY_QUERY + _CELL_QUERY + _DA1_QUERY)
        deadline = time.monotonic() + timeout
        while not _DA1_ANSWER.search(received):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([stdin_fd], [], [], left)
            if not ready:
                break
            chunk = os.read(stdin_fd, 4096)
            if not chunk:
                break
            received += chunk
    finally:
        termios.tcsetattr(stdin_fd, termios.TCSANOW, saved)
    return received
