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
    is given twice, in the group's or a subcommand's options; None when none is. Pure:
    reads the commands' declarations."""
    command, name = group, prog
    single, takes_value = _shape(group)
    seen: dict[str, list[str]] = {}  # an option's first name -> values given
    tokens = list(args)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token == "--":
            break
        option, equals, value = token.partition("=")
        if token.startswith("--") and equals:
            pass
        elif token in takes_value:
            option, value = token, tokens[i] if i < len(tokens) else ""
            i += 1
        elif token.startswith("-") and not token.startswith("--") and token[:2] in takes_value:
            option, value = token[:2], token[2:]  # a short option with its value attached (`-pcnn4`)
        elif token in getattr(command, "commands", {}):
            command = command.commands[token]
            name = f"{name} {token}"
            single, takes_value = _shape(command)
            seen = {}
            continue
        else:
            continue
        if option in single:
            values = seen.setdefault(single[option][0], [])
            values.append(value)
            if len(values) > 1:
                return Repeated(name, single[option], tuple(values))
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
