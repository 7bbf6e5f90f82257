"""Empty paths on the command line: `-o "$OUT"` with OUT unset arrives as `-o ""`, which
pathlib reads as "." (the current folder, maybe a workspace a command would then act
on). `CelebaGroup` refuses one by name before any command runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from typer._click.core import Command


def empty_path_option(group: Command, args: Sequence[str]) -> str | None:
    """The first path in `args` given as an empty string, named as the user would read it
    (`-o`, `--out`, `DIR`): an option's (`-o ""`, `--out=`) or an argument's (`celeba init ""`),
    the group's own or its subcommand's. None when every path has a name. Pure: reads the
    commands' declarations."""
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
            if name in shape.path_options and not value:
                return name
        elif token in shape.value_options:
            if token in shape.path_options and i < len(tokens) and tokens[i] == "":
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
    """What `empty_path_option` needs to know of a command's parameters."""

    value_options: frozenset[str]  # options that take a value (`-o FILE`)
    path_options: frozenset[str]  # of those, the ones whose value is a path
    arguments: tuple[tuple[str, bool], ...]  # positional arguments in order: (metavar, is a path)

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
