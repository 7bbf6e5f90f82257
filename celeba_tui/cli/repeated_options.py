"""An option given twice that takes one value: click keeps the last and drops the first
without a word, so `celeba train -p cnn4 -p small_resnet` trained small_resnet alone and
`export-onnx latest -t light -t orientation` exported orientation. `CelebaGroup` refuses
such a command line by the option's name, before any command runs; options that collect
values (`cycle -p`, `-t` where a command takes several) and flags are left alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from typer._click.core import Command


@dataclass(frozen=True)
class Repeated:
    """An option that takes one value, given more than once in one command."""

    command: str  # the command's name, as typed
    names: tuple[str, ...]  # the option's names, long first (`--plugin`, `-p`)
    values: tuple[str, ...]  # the values given, in order

    def message(self) -> str:
        given = ", ".join(repr(value) for value in self.values)
        return f"{'/'.join(self.names)} given {len(self.values)} times ({given}): {self.command} takes one"


def repeated_option(group: Command, args: Sequence[str], prog: str = "celeba") -> Repeated | None:
    """The first option of `args` (what follows the program's name) that takes one value and
    is given twice, in the group's or a subcommand's options; None when none is, or when the
    line asks for help or names no command (click says so). Pure: reads the commands'
    declarations."""
    if "-h" in args or "--help" in args:
        return None
    command, name = group, prog
    single, takes_value = _shape(group)
    seen: dict[str, list[str]] = {}  # an option's first name -> values given
    tokens = list(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        subcommands = getattr(command, "commands", None)
        if token == "--":
            if subcommands is None:
                break  # the command's arguments follow
            continue  # a group's `--`: the command and its options still follow (`celeba -- train -p a -p b`)
        given = _option_given(token, tokens[i] if i < len(tokens) else None, takes_value)
        if given is not None:
            option, value, used_next = given
            i += used_next
            if option in single:
                values = seen.setdefault(single[option][0], [])
                values.append(value)
                if len(values) > 1:
                    return Repeated(name, single[option], tuple(values))
        elif token.startswith("-") and len(token) > 1:
            continue  # a flag (or flags: `-yq`)
        elif subcommands is not None:
            if token not in subcommands:
                return None  # no such command: click says so
            command = subcommands[token]
            name = f"{name} {token}"
            single, takes_value = _shape(command)
            seen = {}
    return None


def _option_given(token: str, following: str | None, takes_value: frozenset[str]) -> tuple[str, str, int] | None:
    """(option, value, 1 if the value is the next token else 0) where `token` gives an option a
    value: `--opt=v`, `--opt v`, `-o v`, `-ov`, or flags then one (`-yt light`, `-ytlight`)."""
    if token.startswith("--"):
        option, equals, value = token.partition("=")
        if equals:
            return option, value, 0
        return (token, following or "", 1) if token in takes_value else None
    if not token.startswith("-") or len(token) < 2:
        return None
    for k in range(1, len(token)):  # a cluster of short options: flags until one takes a value
        option = f"-{token[k]}"
        if option in takes_value:
            rest = token[k + 1 :]
            return (option, rest, 0) if rest else (option, following or "", 1)
    return None


def _shape(command: Command) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """(each name of an option that takes one value -> all its names, every option that takes a value)."""
    single: dict[str, tuple[str, ...]] = {}
    takes_value: set[str] = set()
    for param in command.params:
        if getattr(param, "param_type_name", "") != "option":
            continue
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            continue
        takes_value.update(param.opts)
        if not getattr(param, "multiple", False) and (getattr(param, "nargs", 1) or 1) == 1:
            names = tuple(sorted(param.opts, key=lambda opt: (not opt.startswith("--"), opt)))
            for opt in param.opts:
                single[opt] = names
    return single, frozenset(takes_value)
