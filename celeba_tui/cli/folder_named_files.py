"""A file named like a folder: `-o plain.txt/` or `plain.txt/.`. Such a name names a folder
(the shell's `> plain.txt/` says "Not a directory"), but pathlib drops the slash (and the
dot), and commands wrote the file `plain.txt` over what was there, or made a file `nodir`
(attack passes 39 and 40).
`CelebaGroup` refuses such a value of a file's option (metavar FILE or PNG) before any
command runs; `celeba export`'s `-o` names a folder for its folder formats."""

from __future__ import annotations

from collections.abc import Sequence

from typer._click.core import Command

from celeba_tui.cli.command_line import read_command_line
from celeba_tui.formats.export_formats import FOLDER_FORMATS


def folder_named_file(group: Command, args: Sequence[str]) -> str | None:
    """The one-line complaint about the first file option in `args` given a name that ends in
    `/`, or None. Pure: reads the commands' declarations."""
    given = list(read_command_line(group, args))
    folder_exports = {item.path for item in given if item.option == "--format" and item.value in FOLDER_FORMATS}
    for item in given:
        # `x/.` too, which pathlib reads as `x` (attack pass 40).
        if item.option is None or item.value is None or not item.value.endswith(("/", "/.")):
            continue
        if item.option in item.shape.file_options and item.path not in folder_exports:
            return f"{item.option}: {item.value!r} names a folder (it ends with /); give a file's name"
    return None
