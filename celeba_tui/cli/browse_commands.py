"""`celeba browse`: a grid of the images a filter selects; `--json` prints the same rows."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, WorkspaceOption, app, open_workspace, print_json, warn
from celeba_tui.cli.completion import (
    complete_annotator,
    complete_label_filter,
    complete_queue,
    complete_renderer,
    complete_sort,
    complete_source,
    complete_status,
    complete_task,
)
from celeba_tui.errors import CelebaError


@app.command(short_help="Browse images by their labels in a thumbnail grid.")
def browse(
    task: Annotated[
        Optional[list[str]],
        typer.Option(
            "--task",
            "-t",
            metavar="TASK",
            help="Filter on this task only (repeatable; default: any task).",
            show_default=False,
            autocompletion=complete_task,
        ),
    ] = None,
    label: Annotated[
        Optional[str],
        typer.Option(
            "--label",
            metavar="CLASS",
            help="Current label is CLASS (or `unlabelled`).",
            show_default=False,
            autocompletion=complete_label_filter,
        ),
    ] = None,
    status: Annotated[
        Optional[str],
        typer.Option(
            "--status",
            metavar="STATUS",
            help="Current label settled so (as celeba stats counts): review, resolved (a merge's), single, agreed, "
            "conflict or model.",
            show_default=False,
            autocompletion=complete_status,
        ),
    ] = None,
    source: Annotated[
        Optional[str],
        typer.Option(
            "--source",
            metavar="SOURCE",
            help="Has a live label from human, review (a person's decision), merge (a merge's), model or import.",
            show_default=False,
            autocompletion=complete_source,
        ),
    ] = None,
    annotator: Annotated[
        Optional[str],
        typer.Option(
            "--annotator",
            metavar="NAME",
            help="Has a live label by NAME.",
            show_default=False,
            autocompletion=complete_annotator,
        ),
    ] = None,
    queue: Annotated[
        Optional[str],
        typer.Option(
            "--queue",
            "-q",
            metavar="NAME",
            help="In this labelling queue (for --as): unlabelled, review, manual, uncertain or suspects.",
            show_default=False,
            autocompletion=complete_queue,
        ),
    ] = None,
    confidence_below: Annotated[
        Optional[float],
        typer.Option(
            "--confidence-below", metavar="X", help="The ensemble's confidence is below X.", show_default=False
        ),
    ] = None,
    disagreement: Annotated[
        bool, typer.Option("--disagreement", help="The annotators' labels differ (settled or not).")
    ] = False,
    name: Annotated[
        Optional[list[str]],
        typer.Option("--name", metavar="WORD", help="The image name contains WORD (repeatable).", show_default=False),
    ] = None,
    sort: Annotated[
        str,
        typer.Option("--sort", metavar="ORDER", help="name, confidence or time.", autocompletion=complete_sort),
    ] = "name",
    as_annotator: Annotated[
        Optional[str],
        typer.Option(
            "--as",
            "-a",  # as `celeba label -a NAME` names who labels (helper-83: `-a` was no option here)
            metavar="NAME",
            help="Who browses: relabels and --queue (default: $CELEBA_ANNOTATOR or the OS user).",
            show_default=False,
        ),
    ] = None,
    renderer: Annotated[
        str,
        typer.Option(
            "--renderer", metavar="NAME", help="auto, kitty, sixel or halfcell.", autocompletion=complete_renderer
        ),
    ] = "auto",
    timing_log: Annotated[
        Optional[Path],
        typer.Option(
            "--timing-log", metavar="FILE", help="Append page/filter latencies as JSON lines.", show_default=False
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Browse images by their labels: a grid of thumbnails, filters, an image's whole story, relabelling."""
    from celeba_tui.cli.annotator_choice import check_annotator, default_annotator, name_note
    from celeba_tui.labelling.browse_filter import BrowseFilter, check_filter
    from celeba_tui.labelling.browsing import Browser
    from celeba_tui.tui.terminal_probe import RENDERERS

    if renderer not in RENDERERS:
        raise CelebaError(f"--renderer {renderer!r}: one of {', '.join(RENDERERS)}")
    if confidence_below is not None and not 0.0 <= confidence_below <= 1.0:
        raise CelebaError(f"--confidence-below {confidence_below}: must be between 0 and 1")
    wanted = check_filter(
        BrowseFilter(
            tasks=tuple(task or ()),
            label=label,
            status=status,
            source=source,
            annotator=annotator,
            queue=queue,
            confidence_below=confidence_below,
            disagreement=disagreement,
            words=tuple(name or ()),
            sort=sort,
        )
    )
    ws = open_workspace(workspace)
    me = (as_annotator or default_annotator()).strip()
    if json_output:
        with ws.open_store(readonly=True) as store:
            selection = Browser(store, ws, me).select(wanted, with_confidence=True)
            print_json([row.as_json() for row in selection.rows(0, len(selection), with_people=True)])
        return
    check_annotator(me, as_annotator, "--as")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CelebaError("celeba browse needs a terminal (stdin and stdout are not one); use --json for scripts")
    with ws.open_store() as store:
        Browser(store, ws, me).check(wanted)  # before the screen: a typo is one line
        _run_tui(ws, store, me, wanted, renderer, timing_log, name_note(store, me, as_annotator, "--as"))


def _run_tui(ws, store, me, wanted, renderer, timing_log, name_hint: str | None = None) -> None:
    from celeba_tui.tui.terminal_probe import choose_renderer, probe_terminal

    info = probe_terminal(query_graphics=renderer != "halfcell")
    chosen = choose_renderer(renderer, info)
    if chosen != "halfcell":
        from celeba_tui.tui.widgets.graphics_image import prime_cell_size

        prime_cell_size(info)
    from celeba_tui.tui.browse_app import BrowseApp, BrowseConfig

    config = BrowseConfig(
        ws, me, wanted, chosen, (info.cell_width or 10, info.cell_height or 20), timing_log, name_hint
    )
    app_object = BrowseApp(config, store)
    app_object.run()
    crash = app_object.crash_report()
    if crash is not None:
        _report_crash(*crash)
    if app_object.timing_log is not None and app_object.timing_log.failed:
        warn(f"the timing log stopped: {app_object.timing_log.failed}")


def _report_crash(summary: str, details: str) -> None:
    """One line on stderr for an unexpected error inside the app; its traceback in a file."""
    import tempfile

    with tempfile.NamedTemporaryFile(
        "w", prefix="celeba-browse-crash-", suffix=".txt", delete=False, encoding="utf-8"
    ) as report:
        report.write(details)
    typer.echo(
        f"error: celeba browse stopped on an unexpected error ({summary}); every relabel made "
        f"up to then is stored. details: {report.name}",
        err=True,
    )
    raise typer.Exit(1)
