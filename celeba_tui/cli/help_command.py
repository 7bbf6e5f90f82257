"""`celeba help [COMMAND...]`: what `celeba COMMAND -h` prints, for those who type it as
git, gh and pip take it. Hidden from the command list (every command takes -h)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from celeba_tui.cli.app import app
from celeba_tui.errors import CelebaError


@app.command("help", hidden=True)
def help_command(
    ctx: typer.Context,
    words: Annotated[Optional[list[str]], typer.Argument(metavar="COMMAND", help="A command (and subcommand).")] = None,
) -> None:
    """Show a command's help: `celeba help label` is `celeba label -h`."""
    root = ctx.find_root()
    command, context = root.command, root
    for word in words or ():
        found = command.get_command(context, word) if isinstance(command, TyperGroup) else None
        if found is None:  # worded as click words `celeba labl` (helper-68: the two read differently)
            from celeba_tui.console import close_matches

            shown = word if len(word) <= 40 else word[:37] + "..."
            names = command.list_commands(context) if isinstance(command, TyperGroup) else []
            close = close_matches(word, [name for name in names if name != "help"], n=2)
            meant = f". Did you mean {', '.join(repr(name) for name in close)}?" if close else ""
            raise CelebaError(f"No such command {shown!r}{meant} (see '{context.command_path} -h')")
        command = found
        context = typer.Context(command, info_name=word, parent=context)
    typer.echo(command.get_help(context))
