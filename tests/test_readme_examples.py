"""Every `celeba ...` line in the README's and the workflow guide's code blocks parses.

Each example is resolved to its (sub)command and its arguments parsed by click exactly
as a shell would pass them, without running anything: an example that uses a removed
option, a renamed command or a bad value fails here instead of in a reader's terminal.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from celeba_tui.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "workflow.md"]
FENCE = re.compile(r"^```.*?$(.*?)^```", re.MULTILINE | re.DOTALL)


def examples(document: Path) -> list[tuple[str, int, str]]:
    """(document name, line number, command line) for each `celeba` line in a fenced code block."""
    text = document.read_text(encoding="utf-8")
    found = []
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).splitlines()
        i = 0
        while i < len(lines):
            number, line = first_line + i, lines[i].strip()
            while line.endswith("\\") and i + 1 < len(lines):  # shell line continuation
                i += 1
                line = line[:-1] + " " + lines[i].strip()
            line = line.removeprefix("$ ")
            if line.startswith("celeba "):
                found.append((document.name, number, line))
            i += 1
    return found


EXAMPLES = [example for document in DOCUMENTS for example in examples(document)]


def parse(argv: list[str]) -> list[str]:
    """Parse `celeba ARGV` down to the last subcommand, as click would, without invoking it; the command path."""
    command = typer.main.get_command(app)
    ctx = command.make_context("celeba", list(argv))
    path = []
    while hasattr(command, "commands"):
        args = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        if not args:
            break
        name, command, rest = command.resolve_command(ctx, args)
        path.append(name)
        ctx = command.make_context(name, rest, parent=ctx)
    return path


def test_the_documents_have_examples():
    assert len(EXAMPLES) >= 20
    assert {document for document, _, _ in EXAMPLES} == {d.name for d in DOCUMENTS}


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{d}:{n}" for d, n, _ in EXAMPLES])
def test_example_parses(example):
    _, _, line = example
    words = shlex.split(line, comments=True)
    if "|" in words:  # `celeba ... | jq length`: the shell's pipe ends celeba's arguments
        words = words[: words.index("|")]
    argv = words[1:]
    assert parse(argv), f"{line!r} names no command"


def test_a_removed_option_fails_to_parse():
    from typer._click.exceptions import UsageError

    with pytest.raises(UsageError, match="No such option"):
        parse(["merge", "--policy", "majority", "--no-such-option"])
    with pytest.raises(UsageError, match="No such command"):
        parse(["no-such-command"])
