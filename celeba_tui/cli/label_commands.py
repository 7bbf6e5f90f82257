"""`celeba label`: the keyboard labelling TUI."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from celeba_tui.cli.app import JsonOption, WorkspaceOption, app, open_workspace, print_json
from celeba_tui.errors import CelebaError


def default_annotator() -> str:
    """$CELEBA_ANNOTATOR, else the OS user name."""
    import getpass

    name = os.environ.get("CELEBA_ANNOTATOR", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "annotator"


@app.command()
def label(
    annotator: Annotated[
        Optional[str],
        typer.Option(
            "--annotator",
            "-a",
            help="Your name in the store (default: $CELEBA_ANNOTATOR or the OS user).",
            show_default=False,
        ),
    ] = None,
    queue: Annotated[
        str, typer.Option("--queue", "-q", help="unlabeled, review, manual, uncertain or suspects.")
    ] = "unlabeled",
    task: Annotated[
        Optional[list[str]],
        typer.Option(
            "--task", help="Ask only this task (repeatable; default: all, in config order).", show_default=False
        ),
    ] = None,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="Random order (repeatable with --seed).")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed for --shuffle and --checks.")] = 0,
    assign: Annotated[
        Optional[str],
        typer.Option("--assign", help="I/N: label only annotator I's deterministic share of N.", show_default=False),
    ] = None,
    overlap: Annotated[
        float, typer.Option("--overlap", help="With --assign: fraction of images shown to two annotators on purpose.")
    ] = 0.0,
    checks: Annotated[
        float,
        typer.Option(
            "--checks", help="Fraction (0-0.5) of mirrored re-shows of images you labelled (consistency checks)."
        ),
    ] = 0.0,
    renderer: Annotated[str, typer.Option("--renderer", help="auto, kitty, sixel or halfcell.")] = "auto",
    timing_log: Annotated[
        Optional[Path],
        typer.Option("--timing-log", help="Append per-key latency (key to painted) as JSON lines.", show_default=False),
    ] = None,
    count: Annotated[bool, typer.Option("--count", help="Print the queue's size and exit (no TUI).")] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Label images in the terminal: every key press is stored at once."""
    from celeba_tui.labelling.assignment import parse_assign
    from celeba_tui.labelling.queues import QueueOptions, get_queue
    from celeba_tui.tui.terminal_probe import RENDERERS

    ws = open_workspace(workspace)
    queue_object = get_queue(queue)
    if overlap and not assign:
        raise CelebaError("--overlap needs --assign I/N")
    if not 0.0 <= checks <= 0.5:
        raise CelebaError(f"--checks {checks}: must be between 0 and 0.5")
    if renderer not in RENDERERS:
        raise CelebaError(f"--renderer {renderer!r}: one of {', '.join(RENDERERS)}")
    if seed < 0:
        raise CelebaError(f"--seed {seed}: must be 0 or more")
    options = QueueOptions(shuffle, seed, parse_assign(assign, overlap) if assign else None)
    tasks = ws.select_tasks(task)
    name = (annotator or default_annotator()).strip()
    from celeba_tui.annotator_names import annotator_name_problem

    problem = annotator_name_problem(name)
    if problem and not count:
        # refused before the app starts, not at the first key press
        raise CelebaError(f"--annotator: {problem}")

    with ws.open_store(readonly=count) as store:
        if count:
            built = queue_object.build(store, ws, name, tasks, options)
            summary = {
                "queue": queue,
                "annotator": name,
                "to_do": len(built.items),
                "done": built.done,
                "total": built.total,
            }
            if json_output:
                print_json(summary)
            else:
                typer.echo(
                    f"{queue} queue for {name}: {len(built.items):,} to do, {built.done:,} / {built.total:,} done"
                )
            return
        _run_tui(ws, store, name, queue, tasks, options, checks, renderer, timing_log)


def _run_tui(ws, store, annotator, queue, tasks, options, checks, renderer, timing_log) -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CelebaError("celeba label needs a terminal (stdin and stdout are not one); use --count for scripts")
    from celeba_tui.tui.terminal_probe import choose_renderer, probe_terminal

    # Probe before Textual starts reading stdin; forced half-blocks need no probe.
    info = probe_terminal(query_graphics=renderer != "halfcell")
    chosen = choose_renderer(renderer, info)
    if chosen != "halfcell":
        from celeba_tui.tui.widgets.graphics_image import prime_cell_size

        prime_cell_size(info)
    from celeba_tui.tui.app import LabelApp, LabelConfig

    config = LabelConfig(
        ws,
        annotator,
        queue,
        tuple(tasks),
        options,
        checks,
        chosen,
        (info.cell_width or 10, info.cell_height or 20),
        timing_log,
    )
    app = LabelApp(config, store)
    app.run()
    crash = app.crash_report()
    if crash is not None:
        _report_crash(*crash)


def _report_crash(summary: str, details: str) -> NoReturn:
    """One line on stderr for an unexpected error inside the app; its traceback in a file.

    Each decision was committed when its key was pressed, so the line can promise that
    everything up to the error is stored.
    """
    import tempfile

    with tempfile.NamedTemporaryFile(
        "w", prefix="celeba-label-crash-", suffix=".txt", delete=False, encoding="utf-8"
    ) as report:
        report.write(details)
    typer.echo(
        f"error: celeba label stopped on an unexpected error ({summary}); every decision made "
        f"up to then is stored. details: {report.name}",
        err=True,
    )
    raise typer.Exit(1)
