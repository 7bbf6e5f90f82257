"""Every command the CLI offers is in the README's command table (and nothing else is)."""

import re
from pathlib import Path

import typer.main

from celeba_tui.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def cli_commands() -> set[str]:
    group = typer.main.get_command(app)
    names = set()
    for name, command in group.commands.items():
        names.add(name)
        if hasattr(command, "commands"):  # a command group: `celeba annotators list`, ...
            names |= {f"{name} {sub}" for sub in command.commands}
    return names


def readme_commands() -> set[str]:
    table = [line for line in README.read_text().splitlines() if line.startswith("| `celeba ")]
    found = set()
    for line in table:
        first_cell = line.split(" | ")[0]
        for mention in re.findall(r"`celeba ([a-z][a-z0-9-]*(?: [a-z][a-z0-9-]*)?)", first_cell):
            found.add(mention)
    return found


def test_every_command_is_in_the_readme_table():
    commands = cli_commands()
    documented = readme_commands()
    top_level = {c for c in commands if " " not in c}
    missing = sorted(c for c in top_level if c not in {d.split(" ")[0] for d in documented})
    assert missing == [], f"add these commands to README.md's command table: {missing}"
    groups = {c.split(" ")[0] for c in commands if " " in c}
    for group in groups:
        subcommands = {c for c in commands if c.startswith(group + " ")}
        mentioned = {d for d in documented if d.startswith(group + " ")}
        assert subcommands <= mentioned | {group + " " + d.split(" ", 1)[1] for d in mentioned}, (
            f"README.md's command table should name every `celeba {group}` subcommand: {sorted(subcommands - mentioned)}"
        )


def test_the_readme_table_names_no_command_that_does_not_exist():
    top_level = {c for c in cli_commands() if " " not in c}
    unknown = sorted(d for d in readme_commands() if d.split(" ")[0] not in top_level)
    assert unknown == []
