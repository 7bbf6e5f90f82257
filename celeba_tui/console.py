"""The rich consoles commands print tables to.

A terminal gets its own width. Piped or redirected output (a log file, `| less`, the
demo run by CI) would otherwise be cut at rich's 80-column default, squeezing wide
tables into ellipses; there it gets room for the widest table instead (tables take
only the width they need), unless COLUMNS says otherwise.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPED_WIDTH = 160


def output_console(*, stderr: bool = False) -> Console:
    """A Console for stdout (or stderr) that does not squeeze tables when not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or "COLUMNS" in os.environ:
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPED_WIDTH)
