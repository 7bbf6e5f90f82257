"""`celeba label`: the keyboard labelling TUI."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from celeba_tui.cli.annotator_choice import check_annotator, default_annotator, name_note
from celeba_tui.cli.app import (
    AnnotatorOption,
    JsonOption,
    WorkspaceOption,
    app,
    as_invoked,
    invoked_phrasing,
    open_workspace,
    print_json,
    warn,
)
from celeba_tui.cli.completion import complete_queue, complete_renderer, complete_task
from celeba_tui.console import printable, terminal_width
from celeba_tui.errors import CelebaError

QUEUE_HELP = (
    "unlabelled (images no person has labelled, automatic labels or not), review (conflicts), manual "
    "(the ensemble sent them back), uncertain or suspects (unlabeled works too)."
)


@app.command(short_help="Label images in the terminal, one key a decision.")
def label(
    annotator: AnnotatorOption = None,
    queue: Annotated[
        str, typer.Option("--queue", "-q", metavar="QUEUE", help=QUEUE_HELP, autocompletion=complete_queue)
    ] = "unlabelled",
    task: Annotated[
        Optional[list[str]],
        typer.Option(
            "--task",
            "-t",
            metavar="TASK",
            help="Ask only this task (repeatable; default: all, in config order).",
            show_default=False,
            autocompletion=complete_task,
        ),
    ] = None,
    image: Annotated[
        Optional[str],
        typer.Option(
            "--image",
            metavar="NAME",
            help="Open exactly this image (whatever its state) and ask every task.",
            show_default=False,
        ),
    ] = None,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="Random order (repeatable with --seed).")] = False,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed for --shuffle and --checks.")] = 0,
    assign: Annotated[
        Optional[str],
        typer.Option(
            "--assign",
            metavar="I/N",
            help="I/N: label only annotator I's deterministic share of N.",
            show_default=False,
        ),
    ] = None,
    overlap: Annotated[
        float,
        typer.Option(
            "--overlap",
            metavar="X",
            help="With --assign: fraction of images shown to two annotators on purpose (each image drawn by a "
            "hash of its name: about X of them, exactly X only over many images).",
        ),
    ] = 0.0,
    checks: Annotated[
        float,
        typer.Option(
            "--checks",
            metavar="X",
            help="Fraction (0-0.5) of mirrored re-shows of images you labelled (consistency checks, not announced).",
        ),
    ] = 0.0,
    renderer: Annotated[
        str,
        typer.Option(
            "--renderer", metavar="NAME", help="auto, kitty, sixel or halfcell.", autocompletion=complete_renderer
        ),
    ] = "auto",
    timing_log: Annotated[
        Optional[Path],
        typer.Option(
            "--timing-log",
            metavar="FILE",
            help="Append per-key latency (key to painted) as JSON lines.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[bool, typer.Option("--count", help="Print the queue's size and exit (no TUI).")] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Label images in the terminal: every key press is stored at once; a summary and the next command when it ends."""
    from celeba_tui.labelling.assignment import parse_assign
    from celeba_tui.labelling.queues import QueueOptions, get_queue, queue_name
    from celeba_tui.tui.terminal_probe import RENDERERS

    ws = open_workspace(workspace)
    queue = queue_name(queue)
    queue_object = get_queue(queue)
    if overlap and not assign:
        raise CelebaError("--overlap needs --assign I/N")
    if not 0.0 <= checks <= 0.5:
        raise CelebaError(f"--checks {checks}: must be between 0 and 0.5")
    if renderer not in RENDERERS:
        raise CelebaError(f"--renderer {renderer!r}: one of {', '.join(RENDERERS)}")
    if seed < 0:
        raise CelebaError(f"--seed {seed}: must be 0 or more")
    if image is not None and count:
        raise CelebaError("--image opens one image: --count has nothing to count")
    options = QueueOptions(shuffle, seed, parse_assign(assign, overlap) if assign else None)
    tasks = ws.select_tasks(task)
    name = (annotator or "").strip() or default_annotator()
    # Refused before the app starts (or the count names it), not at the first key press.
    check_annotator(name, annotator, "--annotator")
    no_checks = ""
    if checks > 0:
        from celeba_tui.labelling.flip_checks import no_checks_because

        why = no_checks_because(tasks, queue_object.source)
        if why:  # helper-72: asked for, none came, and nothing said so
            no_checks = f"--checks {checks:g}: no consistency checks in this session: {why}"
            if count:  # the screen says it when it opens
                warn(no_checks)

    with ws.open_store(readonly=count) as store:
        hint = name_note(store, name, annotator, "-a")
        if hint and count:  # the screen says it when it opens
            warn(hint)
        if image is not None:
            from celeba_tui.labelling.image_lookup import find_image

            image = find_image(store, image)
        if count:
            from celeba_tui.console import counted
            from celeba_tui.labelling.flip_checks import check_tasks, expected_checks

            built = queue_object.build(store, ws, name, tasks, options)
            # As the labelling screen plans them: the checks the images to do bring.
            planned = (
                expected_checks(len(built.items), checks) if check_tasks(checks, tasks, queue_object.source) else 0
            )
            # As the labelling screen counts: the whole queue, others' work done too.
            summary = {
                "queue": queue,
                "annotator": name,
                "to_do": len(built.items) + planned,
                "done": built.done + built.by_others,
                "total": built.total + planned + built.by_others,
                "done_by_you": built.done,
                "done_by_others": built.by_others,
                "checks_planned": planned,
            }
            if json_output:
                print_json(summary)
            else:
                whose = (
                    f" ({built.done:,} all yours, {built.by_others:,} with others' answers)" if built.by_others else ""
                )
                among = f" ({counted(planned, 'consistency check')} among them)" if planned else ""
                typer.echo(
                    f"{queue} queue for {name}: {summary['to_do']:,} to do{among}, "
                    f"{summary['done']:,} / {summary['total']:,} done{whose}"
                )
                if not summary["to_do"]:
                    _say_why_empty(store, ws, name, queue, tasks, options)
            return
        from celeba_tui.labelling.guidelines import guidelines_note

        guidance = guidelines_note(ws.guidelines_path, tasks)
        run = LabelRun(
            ws, name, queue, tuple(tasks), options, checks, renderer, timing_log, image, hint, guidance, no_checks
        )
        outcome = _run_tui(store, run)
        from celeba_tui.errors import StoreWriteError

        try:
            store.check_in_place()
        except StoreWriteError:  # the summary would count decisions nobody can read any more
            raise CelebaError(
                f"{store.path} was deleted, moved or replaced while this session labelled: "
                "the decisions the session stored before that are not in the file there now"
            ) from None
        print_summary(store, run, outcome, json_output=json_output)


@dataclass(frozen=True)
class LabelRun:
    """What `celeba label` was asked for (before the terminal is probed)."""

    workspace: object
    annotator: str
    queue: str
    tasks: tuple
    options: object
    checks: float
    renderer: str
    timing_log: Path | None
    image: str | None
    name_hint: str | None = None  # whose name decisions go under, where worth a word (annotator_names.name_hint)
    guidelines_hint: str | None = None  # tasks the guidelines say nothing of (labelling.guidelines.guidelines_note)
    checks_hint: str = ""  # why --checks brings none (flip_checks.no_checks_because)


def _say_why_empty(store, ws, name: str, queue: str, tasks, options) -> None:
    """Why `queue` has nothing for `name` and what to run next, on stderr, as the screen
    says it; the commands as this one was typed (-w, -a), to run from the same folder."""
    from celeba_tui.autolabel.cycle import cycle_ready as ready
    from celeba_tui.labelling.next_steps import next_steps, read_store_state, step_lines, why_empty
    from celeba_tui.training.dataset import MIN_LABELS

    state = read_store_state(store, name, tasks, ws.suspects_path)
    typer.echo(printable(why_empty(queue, state, options.assignment is not None)), err=True)
    cycles = ready(ws, [task.name for task in tasks])
    steps = next_steps(state, queue=queue, left=0, min_labels=MIN_LABELS, cycle_ready=cycles)[:2]
    hinted = [replace(step, command=as_invoked(step.command, queue=queue)) for step in steps]
    for line in step_lines(hinted, terminal_width(sys.stderr)):
        typer.echo(printable(line), err=True)


def cycle_ready(run: LabelRun) -> frozenset[str]:
    """The session's tasks whose `celeba cycle` needs no --plugin (hints name one for the others)."""
    from celeba_tui.autolabel.cycle import cycle_ready as ready

    return ready(run.workspace, [task.name for task in run.tasks])


def print_summary(store, run: LabelRun, outcome, *, json_output: bool = False) -> None:
    """The session's decisions, the queue's state and the next command, computed from the store."""
    from celeba_tui.labelling.queues import OneImageQueue, get_queue
    from celeba_tui.labelling.session_summary import summarize, summary_lines
    from celeba_tui.training.dataset import MIN_LABELS

    queue = get_queue(run.queue)
    if run.image is not None:
        queue = OneImageQueue(run.image, queue)
    summary = summarize(
        store,
        run.workspace,
        run.annotator,
        queue,
        run.tasks,
        run.options,
        outcome,
        min_labels=MIN_LABELS,
        cycle_ready=cycle_ready(run),
    )
    # The commands as this one was typed (-w WS, -a NAME), to run from the same folder; on the
    # same queue with the options that shaped it (-t, --assign, --shuffle...), so its count holds.
    steps = [replace(step, command=as_invoked(step.command, queue=run.queue)) for step in summary.steps]
    summary = replace(summary, steps=steps)
    if json_output:
        print_json(summary.as_json())
    else:
        for line in summary_lines(summary, terminal_width()):
            typer.echo(line)


def _run_tui(store, run: LabelRun):
    """Run the app; what it stored (a SessionOutcome). An unexpected error ends here, in one line."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise CelebaError("celeba label needs a terminal (stdin and stdout are not one); use --count for scripts")
    from celeba_tui.labelling.session_lock import annotator_session

    # A second session under this name would be shown the same questions and silently replace these answers.
    with annotator_session(run.workspace.path, run.annotator) as held_lock:
        clashes = _declare_share(run, held_lock)
        return _run_app(store, run, held_lock, clashes)


def _declare_share(run: LabelRun, held_lock) -> tuple[str, ...]:
    """Say in this session's lock note which queue and share it works; what clashes with the
    shares of the others working that queue now (shown when the screen opens)."""
    from celeba_tui.labelling.presence import Share, sessions_now, share_clashes

    if held_lock is None or run.image is not None:
        return ()
    assignment = run.options.assignment
    tasks = tuple(task.name for task in run.tasks)
    share = (
        Share(run.queue, tasks=tasks)
        if assignment is None
        else Share(run.queue, assignment.index, assignment.count, assignment.overlap, tasks)
    )
    held_lock.declare_share(share.as_note())
    return tuple(share_clashes(share, run.annotator, sessions_now(run.workspace.path)))


def _run_app(store, run: LabelRun, held_lock, share_clashes: tuple[str, ...] = ()):
    from celeba_tui.tui.terminal_probe import choose_renderer, probe_terminal

    # Probe before Textual starts reading stdin; forced half-blocks need no probe.
    info = probe_terminal(query_graphics=run.renderer != "halfcell")
    chosen = choose_renderer(run.renderer, info)
    if chosen != "halfcell":
        from celeba_tui.tui.widgets.graphics_image import prime_cell_size

        prime_cell_size(info)
    from celeba_tui.tui.app import LabelApp, LabelConfig

    config = LabelConfig(
        run.workspace,
        run.annotator,
        run.queue,
        run.tasks,
        run.options,
        run.checks,
        chosen,
        (info.cell_width or 10, info.cell_height or 20),
        run.timing_log,
        image=run.image,
        held_lock=held_lock,
        share_clashes=share_clashes,
        name_hint=run.name_hint,
        guidelines_hint=run.guidelines_hint,
        checks_hint=run.checks_hint,
        phrase_command=invoked_phrasing(queue=run.queue),
    )
    app = LabelApp(config, store)
    outcome = app.run()
    crash = app.crash_report()
    if crash is not None:
        _report_crash(*crash)
    if not sys.stdout.isatty():  # it was one when the app started: the terminal hung up (SIGHUP)
        # Every decision is stored and the lock is freed on the way out; the summary would
        # count the whole store (seconds at 200,000 images) only to fail to print (EIO).
        raise typer.Exit(0)
    if app.timing_log is not None and app.timing_log.failed:
        warn(f"the timing log stopped: {app.timing_log.failed}")
    return outcome if outcome is not None else app.outcome()


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
