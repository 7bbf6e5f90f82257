"""Empty values on the command line: `-o "$OUT"` with OUT unset arrives as `-o ""`, which
pathlib reads as "." (the current folder, maybe a workspace a command would then act
on); `-a "$ME"` became the OS user's name, `--preprocess ""` the default preprocessing.
`CelebaGroup` refuses an empty path, or an empty (or blank) name of an annotator, model,
image or preprocessing, by its option before any command runs. Options whose values are
checked against a list (tasks, recipes, devices...) say "unknown ''" themselves."""

from __future__ import annotations

from collections.abc import Sequence

from typer._click.core import Command

from celeba_tui.cli.command_line import CommandShape, Given, read_command_line

# Options that name something, where an empty value would silently mean "the default".
NAME_OPTIONS = frozenset({"--annotator", "-a", "--as", "--models", "-m", "--preprocess", "--image", "--undo"})


def empty_value_option(group: Command, args: Sequence[str]) -> str | None:
    """The first path or name in `args` given empty, named as the user would read it (`-o`,
    `--out`, `DIR`): an option's (`-o ""`, `--out=`, `-a " "`, `-yo ""`) or a path argument's
    (`celeba init ""`), the group's own or its subcommand's. None when every one has a
    value. Pure: reads the commands' declarations."""
    for given in read_command_line(group, args):
        empty = _empty(given)
        if empty is not None:
            return empty
    return None


def _empty(given: Given) -> str | None:
    shape = given.shape
    if given.option is None:
        return _empty_argument(shape, given.position, given.value)
    if given.value is None:  # a flag
        return None
    if given.option in shape.path_options:
        return given.option if given.value == "" else None
    named = given.option in shape.value_options and given.option in NAME_OPTIONS
    return given.option if named and not given.value.strip() else None


def _empty_argument(shape: CommandShape, position: int, token: str) -> str | None:
    if token != "" or not shape.arguments:
        return None
    # An argument taking any number of values (nargs=-1) takes every later token.
    name, is_path = shape.arguments[min(position, len(shape.arguments) - 1)]
    return name if is_path else None
