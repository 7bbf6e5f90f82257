"""The rich consoles commands print tables to, and how names are made safe to print.

A terminal gets its own width. Piped or redirected output (a log file, `| less`, the
demo run by CI) would otherwise be cut at rich's 80-column default, squeezing wide
tables into ellipses; there it gets room for the widest table instead (tables take
only the width they need), unless COLUMNS says otherwise.

Names come from files and other people (image files, imported annotators, stores):
printed as they are, an escape sequence in one would drive the reader's terminal
(retitle it, clear it, fake output), and rich would read `[bold]x[/bold]` as markup.
`printable` shows every control character as a visible escape; `literal` also keeps
rich from reading markup in it, for strings given to rich (printed lines, and table
cells, headers and titles, which rich reads as markup too).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

PIPED_WIDTH = 160

# C0 controls, DEL and C1 controls (ESC, CSI, OSC, BEL, newline...), and the
# bidirectional overrides that make a name display as something else.
_CONTROL = [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_VISIBLE = {code: chr(code).encode("unicode_escape").decode("ascii") for code in _CONTROL}


def printable(text: object) -> str:
    """`str(text)` with each control character written as its escape (ESC -> `\\x1b`), and
    each lone surrogate (from a JSON `\\ud800` or a file name in no encoding) as its own.

    The result stays on one line, cannot change the terminal's state, and can be encoded.
    """
    shown = str(text).translate(_VISIBLE)
    try:
        shown.encode("utf-8")
    except UnicodeEncodeError:
        shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    return shown


def literal(text: object) -> str:
    """`printable(text)` with rich markup escaped: rich shows it exactly as `printable` does."""
    from rich.markup import escape

    return escape(printable(text))


def output_console(*, stderr: bool = False) -> Console:
    """A Console for stdout (or stderr) that does not squeeze tables when not a terminal."""
    from rich.console import Console  # here, not at import: `celeba --help` needs no rich

    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty() or "COLUMNS" in os.environ:
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=PIPED_WIDTH)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """ "1 image", "1,200 images": a count with its noun in the right number."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def close_matches(word: str, words, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The `words` a mistyped `word` most likely meant: those it equals but for case and
    width (REVIEW, ａｌｉｃｅ), else difflib's closest `n` at `cutoff`, case and width
    folded too (JSON for jsonl)."""
    import difflib
    import unicodedata

    def folded(text: str) -> str:
        return unicodedata.normalize("NFKC", str(text)).casefold()

    words = [str(w) for w in words]
    same = [w for w in words if folded(w) == folded(word)]
    if same:
        return same
    by_fold = {}
    for w in words:
        by_fold.setdefault(folded(w), w)
    return [by_fold[f] for f in difflib.get_close_matches(folded(word), list(by_fold), n=n, cutoff=cutoff)]


def did_you_mean(word: str, choices, aliases: dict[str, str] | None = None) -> str:
    """ "did you mean 'review'? " for the choice (or alias, given as what it stands for)
    closest to a mistyped `word`; "" when none is close."""
    aliases = aliases or {}
    close = close_matches(word, [*choices, *aliases])
    return f"did you mean {aliases.get(close[0], close[0])!r}? " if close else ""


def cell_width(text: str) -> int:
    """The terminal columns `text` takes: a CJK character or an emoji takes two."""
    from rich.cells import cell_len

    return cell_len(text)


def padded(text: str, width: int, *, right: bool = False) -> str:
    """`text` padded with spaces to `width` terminal columns (`cell_width`, not its length),
    on the left where `right`, so plain-text tables keep their columns under names like 李小龙."""
    pad = " " * max(width - cell_width(text), 0)
    return pad + text if right else text + pad


def wrapped(text: str, width: int | None, indent: str = "  ") -> list[str]:
    """`text` as lines of at most `width` terminal columns (`cell_width`: a CJK character takes
    two), broken between words only (helper-77: a terminal breaks a long line wherever
    its edge falls, "es|timated", "labe|ls"), the following lines indented as `indent` and the
    first as it was; [text] for no `width`. A word longer than a line is kept whole; the
    spaces between words stay as they were, but at a break."""
    import re

    if width is None or width < 1 or cell_width(text) <= width or not text.strip():
        return [text]
    lead = text[: len(text) - len(text.lstrip(" "))]
    lines, line, space = [], lead, ""
    for chunk in re.findall(r"\S+|\s+", text[len(lead) :]):
        if chunk.isspace():
            space = chunk if chunk.strip(" ") == "" else " "  # a tab or line break reads as one space
            continue
        if line.strip() and cell_width(line) + cell_width(space) + cell_width(chunk) > width:
            lines.append(line)
            line, space = lead + indent, ""
        line += space + chunk
        space = ""
    return [*lines, line]


def terminal_width(stream=None) -> int | None:
    """The columns of the terminal `stream` (default stdout) writes to ($COLUMNS first); None
    where it writes to a pipe or file, whose lines stay whole for the programs reading them.
    The stream's own terminal: stderr's hints fit the terminal with stdout in a pipe."""
    stream = stream or sys.stdout
    if not stream.isatty():
        return None
    given = os.environ.get("COLUMNS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


def middle_cut(text: str, width: int) -> str:
    """`text` in at most `width` characters: a third of them from its start, the rest from
    its end (where names differ: numbers, an extension), "…" between."""
    if len(text) <= width:
        return text
    head = max((width - 1) // 3, 1)
    return text[:head] + "…" + text[len(text) - max(width - 1 - head, 0) :]


def distinct_prefixes(names: Sequence[str]) -> list[str]:
    """The shortest prefix of each name that no other name starts with (light,
    orientation: l, o; left, center, right: l, c, r), to tag things where room is short."""
    return list(_distinct_prefixes(tuple(names)))


@functools.cache
def _distinct_prefixes(names: tuple[str, ...]) -> tuple[str, ...]:
    """distinct_prefixes, once per set of names: every caption of every page asks for the same few."""
    tags = []
    for name in names:
        others = [other for other in names if other != name]
        size = next((n for n in range(1, len(name) + 1) if not any(o.startswith(name[:n]) for o in others)), len(name))
        tags.append(name[:size])
    return tuple(tags)


def duration_text(minutes: float) -> str:
    """ "under a minute", "14 min", "2 h 05 min"."""
    if minutes < 1:
        return "under a minute"
    whole = round(minutes)
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60:02d} min"
