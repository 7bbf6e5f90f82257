"""Empty values on the command line: `-o "$OUT"` with OUT unset arrives as `-o ""`, which
pathlib reads as "." (the current folder, maybe a workspace a command would then act
on); `-a "$ME"` became the OS user's name, `--preprocess ""` the default preprocessing.
`CelebaGroup` refuses an empty path, or an empty (or blank) name of an annotator, model,
image or preprocessing, by its option before any command runs. Options whose values are
checked against a list (tasks, recipes, devices...) say "unknown ''" themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from typer._click.core import Command

# Options that name something, where an empty value would silently mean "the default".
NAME_OPTIONS = frozenset({"--annotator", "-a", "--as", "--models", "-m", "--preprocess", "--image", "--undo"})


def empty_value_option(group: Command, args: Sequence[str]) -> str | None:
    """The first path or name in `args` given empty, named as the user would read it (`-o`,
    `--out`, `DIR`): an option's (`-o ""`, `--out=`, `-a " "`) or a path argument's
    (`celeba init ""`), the group's own or its subcommand's. None when every one has a
    value. Pure: reads the commands' declarations."""
    command: Command = group
    shape = CommandShape.of(group)
    positional = 0
    tokens = list(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            break
        name, equals, value = token.partition("=")
        if token.startswith("--") and equals:
            if shape.is_empty(name, value):
                return name
        elif token in shape.value_options:
            if i < len(tokens) and shape.is_empty(token, tokens[i]):
                return token
            i += 1  # the option's value
        elif token.startswith("-") and len(token) > 1:
            continue  # a flag (or a short option with its value attached)
        elif token in getattr(command, "commands", {}):
            command = command.commands[token]
            shape, positional = CommandShape.of(command), 0
        else:
            empty = _empty_argument(shape, positional, token)
            if empty is not None:
                return empty
            positional += 1
    # After `--` every token is an argument.
    for token in tokens[i:]:
        empty = _empty_argument(shape, positional, token)
        if empty is not None:
            return empty
        positional += 1
    return None


def _empty_argument(shape: "CommandShape", position: int, token: str) -> str | None:
    if token != "" or not shape.arguments:
        return None
    # An argument taking any number of values (nargs=-1) takes every later token.
    name, is_path = shape.arguments[min(position, len(shape.arguments) - 1)]
    return name if is_path else None


@dataclass(frozen=True)
class CommandShape:
    """What `empty_value_option` needs to know of a command's parameters."""

    value_options: frozenset[str]  # options that take a value (`-o FILE`)
    path_options: frozenset[str]  # of those, the ones whose value is a path
    arguments: tuple[tuple[str, bool], ...]  # positional arguments in order: (metavar, is a path)

    def is_empty(self, option: str, value: str) -> bool:
        """Whether `value`, given to `option`, is an empty path or a blank name."""
        if option in self.path_options:
            return value == ""
        return option in self.value_options and option in NAME_OPTIONS and not value.strip()

    @classmethod
    def of(cls, command: Command) -> "CommandShape":
        value_options: set[str] = set()
        path_options: set[str] = set()
        arguments = []
        for param in command.params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            is_path = annotation is Path or Path in getattr(annotation, "__args__", ())
            if getattr(param, "param_type_name", "") == "argument":
                arguments.append((param.metavar or param.name.upper(), is_path))
            elif not getattr(param, "is_flag", False) and not getattr(param, "count", False):
                value_options.update(param.opts)
                if is_path:
                    path_options.update(param.opts)
        return cls(frozenset(value_options), frozenset(path_options), tuple(arguments))
