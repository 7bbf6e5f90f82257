"""A `celeba ...` command line read token by token as click will read it, for the checks
`CelebaGroup` makes before click does: empty values (cli/empty_values.py), an option given
twice (cli/repeated_options.py), whether `--json` was asked for (app.asks_for_json). One
reading for all three: `-o v`, `--out=v`, `--out v`, `-ov`, clusters of short flags ending
in one that takes a value (`-yt light`), a group's `--` (its command and that command's
options still follow), a command's `--` (only arguments follow). Pure: reads the commands'
declarations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from typer._click.core import Command

# The metavars of options whose value is a file to write or read (not a folder: DIR).
FILE_METAVARS = frozenset({"FILE", "PNG"})


@dataclass(frozen=True)
class CommandShape:
    """What reading a command line needs to know of one command's parameters."""

    value_options: frozenset[str]  # options that take a value (`-o FILE`)
    path_options: frozenset[str]  # of those, the ones whose value is a path
    file_options: frozenset[str]  # of those, the ones whose value is a file (metavar FILE or PNG)
    single: Mapping[str, tuple[str, ...]]  # of those, each name of one taking one value -> all its names, long first
    flags: frozenset[str]  # options that take no value (`--json`, `-y`)
    arguments: tuple[tuple[str, bool], ...]  # positional arguments in order: (metavar, is a path)

    @staticmethod
    @cache
    def of(command: Command) -> CommandShape:
        value_options: set[str] = set()
        path_options: set[str] = set()
        file_options: set[str] = set()
        flags: set[str] = set()
        single: dict[str, tuple[str, ...]] = {}
        arguments = []
        for param in command.params:
            annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
            is_path = annotation is Path or Path in getattr(annotation, "__args__", ())
            if getattr(param, "param_type_name", "") == "argument":
                arguments.append((param.metavar or param.name.upper(), is_path))
                continue
            opts = [*param.opts, *getattr(param, "secondary_opts", ())]
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                flags.update(opts)
                continue
            value_options.update(param.opts)
            if is_path:
                path_options.update(param.opts)
                if param.metavar in FILE_METAVARS:
                    file_options.update(param.opts)
            if not getattr(param, "multiple", False) and (getattr(param, "nargs", 1) or 1) == 1:
                names = tuple(sorted(param.opts, key=lambda opt: (not opt.startswith("--"), opt)))
                single.update(dict.fromkeys(param.opts, names))
        return CommandShape(
            frozenset(value_options),
            frozenset(path_options),
            frozenset(file_options),
            single,
            frozenset(flags),
            tuple(arguments),
        )


@dataclass(frozen=True)
class Given:
    """One thing the command line gives a command: an option's value, a flag, or an argument."""

    command: Command
    path: str  # the command as typed so far: `celeba`, `celeba annotators withdraw`
    option: str | None  # the option (`-o`, `--out`, `--json`); None for a positional argument
    value: str | None  # the option's or argument's text; None for a flag
    position: int = -1  # a positional argument's place among its command's arguments

    @property
    def shape(self) -> CommandShape:
        return CommandShape.of(self.command)


def read_command_line(group: Command, args: Sequence[str], prog: str = "celeba") -> Iterator[Given]:
    """What `args` (what follows the program's name) give each command, in order. Stops at
    a name that is no command of a group (click says so); an option whose value is missing
    at the end of the line gives nothing (click says so too)."""
    command, path = group, prog
    positional, only_arguments = 0, False
    tokens = list(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        subcommands = getattr(command, "commands", None)
        shape = CommandShape.of(command)
        if not only_arguments and token == "--":
            only_arguments = subcommands is None  # a group's `--`: the command and its options follow
            continue
        if not only_arguments and token.startswith("-") and len(token) > 1:
            following = tokens[i] if i < len(tokens) else None
            for option, value, used_next in _options_given(token, following, shape.value_options):
                i += used_next
                if option in shape.value_options and value is None:
                    continue  # its value missing at the end of the line
                yield Given(command, path, option, value)
            continue
        if subcommands is not None:
            if token not in subcommands:
                return
            command, path, positional = subcommands[token], f"{path} {token}", 0
            continue
        yield Given(command, path, None, token, positional)
        positional += 1


def _options_given(token: str, following: str | None, takes_value: frozenset[str]) -> list[tuple[str, str | None, int]]:
    """(option, value, 1 if the value is the next token else 0) for each option `token` gives:
    `--opt=v`, `--opt v`, `-o v`, `-ov`, a flag (its value None), or a cluster of short flags,
    maybe ending in one that takes a value (`-yt light`, `-ytlight`). A value the line ends
    before is None."""
    if token.startswith("--"):
        option, equals, value = token.partition("=")
        if equals:
            return [(option, value, 0)]
        return [(token, following, 1)] if token in takes_value else [(token, None, 0)]
    given = []
    for k in range(1, len(token)):
        option = f"-{token[k]}"
        if option in takes_value:
            rest = token[k + 1 :]
            return [*given, (option, rest, 0) if rest else (option, following, 1)]
        given.append((option, None, 0))
    return given
