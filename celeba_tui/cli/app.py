"""The Typer app object, its error handling and the options every command shares.

Command modules (`*_commands.py` beside this file) register on `app`; they only parse
arguments and call library functions.

Conventions every command gets from here: `-h` as well as `--help`, `celeba --version`,
shell completion (`--install-completion`), `-w/--workspace` before the subcommand as
well as after it (the command's own wins), and, with `--json`, errors as JSON.
"""

from __future__ import annotations

import errno
import gc
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

# Typer 0.29 ships its own copy of click (typer._click); these are the parts it does not re-export.
from typer._click.core import Command, Context, ParameterSource
from typer._click.exceptions import ClickException, MissingParameter
from typer._click.globals import get_current_context
from typer.core import TyperGroup

from celeba_tui.cli.completion import complete_person, complete_task
from celeba_tui.cli.empty_values import empty_value_option
from celeba_tui.cli.folder_named_files import folder_named_file
from celeba_tui.cli.help_words import plain_arguments
from celeba_tui.cli.repeated_options import repeated_option
from celeba_tui.errors import CelebaError

WORKSPACE_ENV = "CELEBA_WORKSPACE"
ANNOTATOR_ENV = "CELEBA_ANNOTATOR"
# Where the group's `celeba -w WS COMMAND` value waits for the command (ctx.meta is shared
# by every context of one invocation).
GROUP_WORKSPACE_KEY = "celeba.group_workspace"
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


# `celeba --help` lists the commands in the order of the work: set up, label, agree,
# train, auto-label, export; then the tools. Commands not named here follow.
COMMAND_ORDER = (
    "init",
    "scan",
    "import",
    "label",
    "browse",
    "stats",
    "annotators",
    "rename-class",
    "agreement",
    "merge",
    "train",
    "report",
    "export-onnx",
    "inspect",
    "autolabel",
    "cycle",
    "export",
    "plugins",
    "summary",
    "preview",
    "synth",
    "demo",
)


class CelebaGroup(TyperGroup):
    """Turns user errors (CelebaError) into one line on stderr and exit code 2 (JSON with --json)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        plain_arguments(self)

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        known = [name for name in COMMAND_ORDER if name in names]
        return known + [name for name in names if name not in known]

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if ctx.resilient_parsing:  # completing a half-typed line (TAB): nothing to refuse yet
            return super().parse_args(ctx, args)
        # `-o ""` (an unset shell variable) would become Path("."): the current folder, maybe
        # a workspace the command then acts on; `-a ""` the OS user. Refused by name, first.
        option = empty_value_option(self, args)
        if option is not None:
            report_error(
                f"{option}: an empty value (an unset shell variable?); give a name",
                asks_for_json(self, args),
            )
        folder_named = folder_named_file(self, args)
        if folder_named is not None:
            report_error(folder_named, asks_for_json(self, args))
        repeated = repeated_option(self, args, ctx.info_name or "celeba")
        if repeated is not None:
            report_error(repeated.message(), asks_for_json(self, args))
        return super().parse_args(ctx, args)

    def make_context(self, info_name: Any, args: list[str], parent: Any = None, **extra: Any) -> Any:
        wants_json = asks_for_json(self, args)  # before parsing, which consumes `args`
        try:
            return super().make_context(info_name, args, parent, **extra)
        except ClickException as exc:
            # The group's own options (`celeba --bogus`, `celeba -w`): one line, as below.
            # A bare `celeba` shows the help (click's NoArgsIsHelpError).
            if type(exc).__name__ == "NoArgsIsHelpError":
                raise
            report_error(usage_line(exc, wants_json), wants_json)

    def invoke(self, ctx: Any) -> Any:
        # The objects made by start-up and imports live as long as the process: moving them
        # out of the collector's reach keeps full collections cheap while a command builds
        # large tables (`celeba merge` writing 32,000 decisions: ~0.1 s less). Unfrozen
        # after, for callers that run commands in-process (tests, scripts).
        gc.freeze()
        # What follows the group's own options: the subcommand's name, then its arguments.
        wants_json = asks_for_json(self, [*getattr(ctx, "_protected_args", ()), *ctx.args])
        try:
            return super().invoke(ctx)
        except CelebaError as exc:
            report_error(str(exc), wants_json)
        except OSError as exc:
            if exc.filename is None and exc.errno in UNWRITABLE_OUTPUT:
                # Writing stdout failed (`> /dev/full`, a full disk or quota, a dead
                # terminal): one line on stderr, and what is still buffered is dropped, so
                # the exit's own flush does not fail again with a traceback.
                _drop_stdout()
                report_error(f"cannot write the output: {exc.strerror or exc}", wants_json)
            if exc.errno != errno.ENAMETOOLONG:
                raise
            # Any name typed (a run, a model, a path) may be longer than the system allows.
            name = str(exc.filename or "")
            shown = name if len(name) <= 80 else f"{name[:60]}... ({len(name):,} characters)"
            report_error(f"name too long: {shown}", wants_json)
        except ClickException as exc:
            # A usage error (unknown option, bad value): one line as every other error (click
            # writes three, with a capital "Error:"), JSON in a --json command.
            report_error(usage_line(exc, wants_json), wants_json)
        finally:
            gc.unfreeze()


def usage_line(exc: ClickException, as_json: bool) -> str:
    """Click's message for a usage error, with what a missing option takes and where to read
    the command's usage (not in JSON)."""
    message = exc.format_message().rstrip(".") + missing_value_hint(exc) + workspace_argument_hint(exc)
    context = getattr(exc, "ctx", None)
    if as_json or context is None:
        return message
    return f"{message} (see '{context.command_path} -h')"


def workspace_argument_hint(exc: ClickException) -> str:
    """For a workspace folder given as an argument to a command that takes it as -w
    (helper-87: `celeba label WS` said only "Got unexpected extra argument(s) (WS)"), how to
    give it; '' else."""
    import re

    from celeba_tui.workspace import names_workspace

    context = getattr(exc, "ctx", None)
    found = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)$", exc.format_message().rstrip("."))
    takes = context is not None and any(param.name == "workspace" for param in context.command.params)
    if not found or not takes:
        return ""
    extra = found.group(1)
    for given in [extra, *extra.split(" ")]:  # the arguments are joined by spaces, which a path may hold
        if names_workspace(given):
            return f"; a workspace is given as -w {shlex.quote(given)}"
    return ""


def missing_value_hint(exc: ClickException) -> str:
    """For a required option left out, what it takes here: `: the tasks here are light,
    orientation` for -t (the workspace's, where one is found), `: e.g. -m latest` for the
    models (helper-68: `celeba cycle` said only "Missing option '--task' / '-t'"); '' else."""
    param = getattr(exc, "param", None)
    if not isinstance(exc, MissingParameter) or param is None:
        return ""
    if param.name == "models":
        return ": e.g. -m latest, best:ARCH, a run id or .onnx files"
    if param.name != "task":
        return ""
    from celeba_tui.workspace import find_workspace

    context = getattr(exc, "ctx", None)
    typed = context.params.get("workspace") if context is not None else None
    try:  # the workspace the command would open (attack pass 34: `celeba -w WS cycle` named the folder's)
        names = find_workspace(chosen_workspace(typed, context)).task_names
    except (CelebaError, OSError, ValueError):
        return ""
    return f": the tasks here are {', '.join(names)}" if names else ""


# Errors of a write to stdout that no retry mends (a broken pipe ends the command quietly, as `head` expects).
UNWRITABLE_OUTPUT = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})


def _drop_stdout() -> None:
    """Point stdout at /dev/null: its buffer can no longer be written where it was going."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (tests capture it)
        pass


def report_error(message: str, as_json: bool) -> None:
    """Print a user error (one line, or {"error": ...} for --json) on stderr and exit 2."""
    from celeba_tui.console import printable

    # Messages quote names and paths: no escape sequence in one may reach the terminal.
    text = printable(message)
    typer.echo(json.dumps({"error": text}) if as_json else f"error: {text}", err=True)
    raise typer.Exit(2) from None


def asks_for_json(group: Command, args: Sequence[str]) -> bool:
    """Whether `args` (what follows the group's own options) pass --json to a command that has it."""
    from celeba_tui.cli.command_line import read_command_line

    if "--json" not in args:  # most command lines: nothing to read
        return False
    return any(
        given.option == "--json" and given.value is None and "--json" in given.shape.flags
        for given in read_command_line(group, args)
    )


# Subcommands inherit the context settings: `-h` works on every command and subgroup.
app = typer.Typer(
    cls=CelebaGroup,
    name="celeba",
    help="Label face images in the terminal, train CNNs on the labels, auto-label the rest.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT_SETTINGS,
)


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("celeba-tui")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from celeba_tui import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"celeba {package_version()}")
        raise typer.Exit()


@app.callback()
def celeba(
    ctx: typer.Context,
    workspace: Annotated[
        Optional[Path],
        typer.Option(
            "--workspace",
            "-w",
            metavar="DIR",
            help="Workspace folder for the command that follows (its own -w wins).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Label face images in the terminal, train CNNs on the labels, auto-label the rest."""
    ctx.meta[GROUP_WORKSPACE_KEY] = workspace


WorkspaceOption = Annotated[
    Optional[Path],
    typer.Option(
        "--workspace",
        "-w",
        metavar="DIR",
        envvar=WORKSPACE_ENV,
        help="Workspace folder (default: the current folder or a parent).",
        show_default=False,
    ),
]
# For `celeba label` (and any command that records who decides).
AnnotatorOption = Annotated[
    Optional[str],
    typer.Option(
        "--annotator",
        "-a",
        metavar="NAME",
        envvar=ANNOTATOR_ENV,
        help="Your name in the store (default: the OS user).",
        show_default=False,
        autocompletion=complete_person,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def tasks_option(help_text: str):
    """The repeatable -t/--task option, its help worded for one command."""
    return Annotated[
        Optional[list[str]],
        typer.Option("--task", "-t", metavar="TASK", help=help_text, show_default=False, autocompletion=complete_task),
    ]


# For commands that read or write some of the tasks (stats, export, agreement, merge).
TasksOption = tasks_option("Only this task (repeat for several; default: every task).")


def chosen_workspace(path: Path | None, ctx: Context | None = None) -> Path | None:
    """The workspace folder a command asks for: its own -w, else the group's -w, else $CELEBA_WORKSPACE.

    A command's `--workspace` also reads $CELEBA_WORKSPACE (click fills it in), so a value
    that came from the environment yields to `celeba -w WS COMMAND`. `ctx`: the command's
    context (default: the current one).
    """
    ctx = ctx if ctx is not None else get_current_context(silent=True)
    if ctx is None:
        return path
    group_value = ctx.meta.get(GROUP_WORKSPACE_KEY)
    if group_value is None:
        return path
    if path is None or from_environment(ctx, path):
        return group_value
    return path


def from_environment(ctx: Context | None, value: Path) -> bool:
    """Whether `value` is a --workspace filled in from $CELEBA_WORKSPACE in this context or a parent."""
    while ctx is not None:
        for name, given in ctx.params.items():
            if given == value and ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT:
                return True
        ctx = ctx.parent
    return False


def open_workspace(path: Path | None):
    from celeba_tui.workspace import ENV_WORKSPACE, find_workspace, load_workspace

    chosen = chosen_workspace(path)
    if chosen is not None and from_environment(get_current_context(silent=True), chosen):
        return load_workspace(chosen, f"${ENV_WORKSPACE}")  # errors say where the path came from
    return find_workspace(chosen)


def print_json(data: Any) -> None:
    """`data` as JSON on stdout; a NaN or infinite number is null (JSON has no such numbers,
    and strict parsers such as JavaScript's refuse `NaN`). Indented for a person at a
    terminal, compact into a pipe or file, as `gh --json` does: Python indents in pure
    Python (`browse --json` on 200,000 images: 9.1 s indented, 4.5 s compact)."""
    from celeba_tui.json_text import strict_json

    if sys.stdout.isatty():
        typer.echo(strict_json(data, indent=2, default=str))
    else:
        typer.echo(strict_json(data, separators=(",", ":"), default=str))


def next_step(command: str, why: str, *more: tuple[str, str]) -> None:
    """The command to run next and why, then the others (`more`: (command, why) pairs, said
    "or:"), on stderr (stdout stays the command's output), as `celeba label`'s summary says it."""
    from celeba_tui.console import printable, terminal_width
    from celeba_tui.labelling.next_steps import NextStep, step_lines

    steps = [NextStep(as_invoked(command), why), *(NextStep(as_invoked(c), w) for c, w in more)]
    for line in step_lines(steps, terminal_width(sys.stderr)):
        typer.echo(printable(line), err=True)


# Options a hint carries over from the command line that printed it, where the hinted command takes them.
CARRIED_OPTIONS = (("workspace", "-w"), ("annotator", "-a"))
# Options that shape a queue, carried where the hint goes on with the same command and queue
# (`celeba label --assign 1/2` ending with "32 images left": the hint without --assign opened
# the whole queue).
SAME_QUEUE_OPTIONS = (
    ("task", "-t"),
    ("assign", "--assign"),
    ("overlap", "--overlap"),
    ("checks", "--checks"),
    ("shuffle", "--shuffle"),
    ("seed", "--seed"),
)


def as_invoked(command: str, queue: str | None = None, ctx: Context | None = None) -> str:
    """A hinted `celeba ...` command with the -w and -a this command was given on its
    command line (not from the environment, which the next command reads too), where the
    hinted command takes them: run from the same folder, it finds the same workspace and
    labels under the same name. With `queue` (the queue this command worked, its canonical
    name), a hint of this same command on that queue carries the options that shaped it too."""
    import shlex

    from celeba_tui.console import printable

    ctx = ctx or get_current_context(silent=True)
    words = command.split()
    if ctx is None or len(words) < 2 or words[0] != "celeba" or any(w in ("&&", ";", "|") for w in words):
        return command
    root = ctx.find_root()
    hinted = root.command.get_command(root, words[1]) if isinstance(root.command, TyperGroup) else None
    if hinted is None:
        return command
    takes = {param.name for param in hinted.params}
    carried = []
    for name, flag in CARRIED_OPTIONS:
        value = _from_command_line(ctx, name)
        if name == "workspace":
            value = ctx.meta.get(GROUP_WORKSPACE_KEY) if value is None else value
        # A value that needs escaping to be shown (a line break, an escape) is left out: the
        # hint printed would not be the command that runs.
        if value is not None and name in takes and flag not in words and printable(str(value)) == str(value):
            carried.append(f"{flag} {shlex.quote(str(value))}")
    if queue is not None and words[1] == ctx.info_name and _queue_named(words) == queue:
        for name, flag in SAME_QUEUE_OPTIONS:
            value = _from_command_line(ctx, name)
            if value is None or value is False or flag in words or name not in takes:
                continue
            for one in value if isinstance(value, (list, tuple)) else [value]:
                if printable(str(one)) == str(one):
                    carried.append(flag if one is True else f"{flag} {shlex.quote(str(one))}")
    return " ".join([command, *carried])


def _queue_named(words: list[str]) -> str | None:
    """The `--queue NAME` of a hinted command's words (None: none named)."""
    return words[words.index("--queue") + 1] if "--queue" in words[:-1] else None


def invoked_phrasing(queue: str | None = None) -> Callable[[str], str]:
    """`as_invoked` (with `queue`) kept for later, in another thread too: click's context
    lives in the thread that read the command line, and the TUI words its queue's-end hint
    in a worker thread, where `as_invoked` alone would name commands without -w/-a. The
    context is handed over, read only (not made current there: that counts its users)."""
    ctx = get_current_context(silent=True)

    def phrase(command: str) -> str:
        return command if ctx is None else as_invoked(command, queue=queue, ctx=ctx)

    return phrase


def _from_command_line(ctx: Context, name: str):
    """The value of option `name` as typed on this command's line (None: not typed there)."""
    if name in ctx.params and ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
        return ctx.params[name]
    return None


def warn(message: str) -> None:
    """`warning: ...` on stderr, broken between words to a terminal's width (a pipe gets one line)."""
    from celeba_tui.console import printable, terminal_width, wrapped

    for line in wrapped(f"warning: {printable(message)}", terminal_width(sys.stderr)):
        typer.echo(line, err=True)
