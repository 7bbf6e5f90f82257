"""Positional arguments in help read as Click writes them: `Usage: celeba init [OPTIONS] DIR`
and `DIR  Folder for the new workspace.`, not Typer 0.29's `{DIR}` and `DIR <path>` (a
brace that reads as shell syntax, a Python type a user cannot act on)."""

from __future__ import annotations

from typer._click.core import Command
from typer.core import TyperArgument


class WordArgument(TyperArgument):
    """A TyperArgument shown by its metavar alone."""

    def display_type_rich(self, ctx) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")


def plain_arguments(command: Command) -> None:
    """Show every positional argument of `command` and of its subcommands as a word."""
    for param in command.params:
        if type(param) is TyperArgument:
            param.__class__ = WordArgument
    for sub in getattr(command, "commands", {}).values():
        plain_arguments(sub)
