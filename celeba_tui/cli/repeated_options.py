"""An option given twice that takes one value: click keeps the last and drops the first
without a word, so `celeba train -p cnn4 -p small_resnet` trained small_resnet alone and
`export-onnx latest -t light -t orientation` exported orientation. `CelebaGroup` refuses
such a command line by the option's name, before any command runs; options that collect
values (`cycle -p`, `-t` where a command takes several) and flags are left alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from typer._click.core import Command

from celeba_tui.cli.command_line import read_command_line


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
    seen: dict[tuple[int, str], list[str]] = {}  # (command, the option's first name) -> values given
    for given in read_command_line(group, args, prog):
        names = given.shape.single.get(given.option) if given.value is not None else None
        if names is None:
            continue
        values = seen.setdefault((id(given.command), names[0]), [])
        values.append(given.value)
        if len(values) > 1:
            return Repeated(given.path, names, tuple(values))
    return None
