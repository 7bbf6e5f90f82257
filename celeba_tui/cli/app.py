"""The Typer app object, its error handling and the options every command shares.

Command modules (`*_commands.py` beside this file) register on `app`; they only parse
arguments and call library functions.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from celeba_tui.errors import CelebaError


class CelebaGroup(TyperGroup):
    """Turns user errors (CelebaError) into one line on stderr and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        # The objects made by start-up and imports live as long as the process: moving them
        # out of the collector's reach keeps full collections cheap while a command builds
        # large tables (`celeba merge` writing 32,000 decisions: ~0.1 s less). Unfrozen
        # after, for callers that run commands in-process (tests, scripts).
        gc.freeze()
        try:
            return super().invoke(ctx)
        except CelebaError as exc:
            from celeba_tui.console import printable

            # Messages quote names and paths: no escape sequence in one may reach the terminal.
            typer.echo(f"error: {printable(exc)}", err=True)
            raise typer.Exit(2) from None
        finally:
            gc.unfreeze()


app = typer.Typer(
    cls=CelebaGroup,
    name="celeba",
    help="Label face images in the terminal, train CNNs on the labels, auto-label the rest.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

WorkspaceOption = Annotated[
    Optional[Path],
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $CELEBA_WORKSPACE, or the current folder or a parent).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def open_workspace(path: Path | None):
    from celeba_tui.workspace import find_workspace

    return find_workspace(path)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def warn(message: str) -> None:
    from celeba_tui.console import printable

    typer.echo(f"warning: {printable(message)}", err=True)
