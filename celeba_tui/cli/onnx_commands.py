"""ONNX commands: export-onnx, inspect, autolabel."""

from __future__ import annotations

import contextlib
import math
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, WorkspaceOption, app, next_step, open_workspace, print_json, warn
from celeba_tui.cli.completion import complete_precision, complete_provider, complete_run, complete_task
from celeba_tui.console import printable
from celeba_tui.errors import CelebaError
from celeba_tui.training.run_selection import SELECTOR_HELP

if TYPE_CHECKING:
    from celeba_tui.autolabel.outputs import AutolabelReport


# The study's rules' options: `celeba autolabel` and `celeba cycle` both take them.
HighOption = Annotated[
    float, typer.Option("--high", metavar="X", help="A model is confident at or above this probability.")
]
LowOption = Annotated[
    Optional[float],
    typer.Option(
        "--low",
        metavar="X",
        help="With 2+ models: a dissenting model below this is unsure (rule 2) "
        "(default: 0.6, or --high where that is lower).",
        show_default=False,
    ),
]
TargetPrecisionOption = Annotated[
    Optional[float],
    typer.Option(
        "--target-precision",
        metavar="X",
        help="Choose high/low per task so automatic labels reach this precision on held-out labels.",
    ),
]


def check_one_way_to_threshold(ctx, low: float | None, target_precision: float | None) -> None:
    """--target-precision chooses --high and --low per task: given beside them, one of the
    two would be ignored without a word (the model-side walkthrough of 2026-12-07)."""
    from typer._click.core import ParameterSource

    typed_high = ctx.get_parameter_source("high") not in (ParameterSource.DEFAULT, None)
    if target_precision is not None and (typed_high or low is not None):
        raise CelebaError("--target-precision chooses --high and --low per task: give either it or them, not both")


TtaOption = Annotated[
    str,
    typer.Option(
        "--tta",
        metavar="MODE",
        help="flip: average each image with its mirror (the classes named left/right swapped back; the default, "
        "it raises precision at every coverage, docs/label-quality.md); none: one pass, twice as fast.",
    ),
]


def check_tta(tta: str) -> None:
    if tta not in ("flip", "none"):
        raise CelebaError(f"--tta {tta!r}: flip or none")


CalibrateOnOption = Annotated[
    str,
    typer.Option(
        "--calibrate-on",
        metavar="WHICH",
        help="Held-out labels: split (the validation split) or labels (all labelled images not trained on).",
    ),
]


@app.command("export-onnx", short_help="Export a run to ONNX, checked against PyTorch.")
def export_onnx(
    run: Annotated[
        str,
        typer.Argument(metavar="RUN", help=f"The run to export: {SELECTOR_HELP}.", autocompletion=complete_run),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE", help="The .onnx file to write.")],
    task: Annotated[
        Optional[str],
        typer.Option(
            "--task",
            "-t",
            metavar="TASK",
            help="The task a run selector picks from.",
            show_default=False,
            autocompletion=complete_task,
        ),
    ] = None,
    precision: Annotated[
        Optional[str],
        typer.Option(
            "--precision",
            metavar="P",
            help="fp32 (the default), fp16 or int8, as autolabel and cycle take it; --fp16/--int8 are short for it.",
            autocompletion=complete_precision,
            show_default=False,
        ),
    ] = None,
    fp16: Annotated[
        bool, typer.Option("--fp16", help="float16 weights (uint8 input and float32 output kept).")
    ] = False,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="int8 weights and activations for fast CPU inference, calibrated on the run's training images.",
        ),
    ] = False,
    calibration_images: Annotated[
        int,
        typer.Option("--calibration-images", min=1, metavar="N", help="Training images that set the int8 ranges."),
    ] = 256,
    opset: Annotated[
        Optional[int], typer.Option("--opset", metavar="N", help="ONNX opset (default: the exporter's).")
    ] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Export a trained run to ONNX with its metadata, and check it against PyTorch.

    \b
    Example: celeba export-onnx best -t light -o light.onnx
    """
    from celeba_tui.models.run_files import load_run
    from celeba_tui.onnx.export import export_run
    from celeba_tui.training.run_selection import resolve_run

    chosen = [name for name, given in (("fp16", fp16), ("int8", int8)) if given]
    if precision is not None:
        chosen.append(precision)
    if len(set(chosen)) > 1:
        raise CelebaError(f"{' and '.join(sorted(set(chosen)))} exclude each other: choose one precision")
    precision = chosen[0] if chosen else "fp32"
    int8 = precision == "int8"
    ws = _workspace_or_none(workspace, run)
    if ws is not None:
        if task is not None:
            ws.task(task)
        run_path = resolve_run(run, ws.runs_dir, task).path
    else:
        run_path = load_run(run).path
    result = export_run(
        run_path,
        out,
        image_root=ws.image_root if ws is not None else None,
        precision=precision,
        opset=opset,
        n_calibration=calibration_images,
    )
    parity = result.parity
    if json_output:
        print_json(result.to_dict())
    else:
        meta = result.metadata
        typer.echo(
            printable(
                f"exported {meta.run_id} ({meta.architecture}, {meta.task}, {meta.precision}) to {result.path} "
                f"({result.bytes / 1e6:.1f} MB, {result.seconds:.1f} s)"
            )
        )
        typer.echo(
            f"parity on {parity.source}: max |p_torch - p_onnx| = {parity.max_abs_diff:.2e} "
            f"(tolerance {parity.tolerance:.0e}), argmax agreement {parity.argmax_agreement:.1%}"
        )
    if parity.passed and not json_output and Path(result.path).is_file():  # not -o /dev/null
        next_step(
            f"celeba autolabel -m {shlex.quote(str(result.path))}",
            "label the rest with it; a second model adds the study's rules",
        )
    if not parity.passed:
        from celeba_tui.onnx.export import parity_failure

        raise CelebaError(parity_failure(parity, result.path, precision, kept=True))


def _workspace_or_none(workspace: Path | None, run: str):
    """The workspace, which a run given as a folder does not need (no parity images then)."""
    try:
        return open_workspace(workspace)
    except CelebaError:
        if workspace is None and Path(run).is_dir():
            return None
        raise


@app.command(short_help="Show an ONNX model's metadata.")
def inspect(
    model: Annotated[Path, typer.Argument(metavar="FILE", help="An .onnx file exported by `celeba export-onnx`.")],
    json_output: JsonOption = False,
) -> None:
    """Show an exported model's metadata: task, classes, input, preprocessing, run and metrics."""
    from celeba_tui.onnx.metadata import describe

    info = describe(model)
    if json_output:
        print_json(info)
        return
    meta = info["metadata"]
    typer.echo(printable(f"{info['path']}  ({info['bytes'] / 1e6:.1f} MB, hash {info['hash']})"))
    rows = [
        ("task", meta["task"]),
        ("classes", ", ".join(meta["classes"])),
        ("input", _io_line(info["inputs"][0]) + f"  ({meta['normalisation']})"),
        ("output", _io_line(info["outputs"][0])),
        ("preprocess", meta["preprocess"]),
        ("architecture", f"{meta['architecture']}  (plugin {meta['plugin'] or '?'})"),
        ("run", meta["run_id"]),
        (
            "validation",
            ", ".join(f"{key} {_figure(value)}" for key, value in meta["validation"].items()),
        ),
        ("precision", meta["precision"]),
        ("opset", ", ".join(f"{k} {v}" for k, v in info["opset"].items())),
        ("exported", f"{meta['exported']} by celeba-tui {meta['celeba_tui_version']}"),
        ("metadata", f"schema {meta['celeba_metadata']} (celeba_metadata)"),
    ]
    for key, value in rows:  # the metadata is the file's: control characters shown escaped
        typer.echo(f"  {key:<13}{printable(value)}")


def _figure(value) -> str:
    """A validation figure as `celeba inspect` prints it: numbers to 4 significant digits,
    a list of them (the class biases) signed and separated by spaces."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return " ".join(f"{v:+.3g}" for v in value)
    return str(value)


def _io_line(value: dict) -> str:
    return f"{value['name']} {value['type']} [{', '.join(str(d) for d in value['shape'])}]"


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": False},
    short_help="Label the rest with an ONNX ensemble.",
)
def autolabel(
    ctx: typer.Context,
    models: Annotated[
        list[str],
        typer.Option(
            "--models",
            "-m",
            metavar="MODEL...",
            help=(
                "The ensemble: .onnx files and/or runs (latest, best, best:ARCH, a run id or run directory; "
                "runs are exported into <workspace>/models/, or an earlier export is reused). One model per "
                "task labels at >= --high; two or more use the study's rules."
            ),
            autocompletion=complete_run,
        ),
    ],
    task: Annotated[
        Optional[list[str]],
        typer.Option(
            "--task",
            "-t",
            metavar="TASK",
            help="The tasks run selectors pick runs for (repeatable: best:cnn4 -t light -t orientation is two runs).",
            show_default=False,
            autocompletion=complete_task,
        ),
    ] = None,
    images: Annotated[
        Optional[Path],
        typer.Option(
            "--images",
            metavar="DIR",
            help="Another copy of the image root (default: the workspace's); only images of the workspace are labelled.",
        ),
    ] = None,
    high: HighOption = 0.9,
    low: LowOption = None,
    target_precision: TargetPrecisionOption = None,
    calibrate_on: CalibrateOnOption = "split",
    precision: Annotated[
        str,
        typer.Option(
            "--precision",
            metavar="P",
            help="fp32, fp16 or int8: how runs named in --models are exported.",
            autocompletion=complete_precision,
        ),
    ] = "fp32",
    opset: Annotated[
        Optional[int],
        typer.Option("--opset", metavar="N", help="ONNX opset for runs exported now (default: the exporter's)."),
    ] = None,
    provider: Annotated[
        str,
        typer.Option(
            "--provider",
            metavar="NAME",
            help="auto (TensorRT, CUDA, then CPU), tensorrt, cuda or cpu.",
            autocompletion=complete_provider,
        ),
    ] = "auto",
    batch_size: Annotated[
        int, typer.Option("--batch-size", metavar="N", help="Images per batch (fixed; the last is padded).")
    ] = 64,
    tta: TtaOption = "flip",
    workers: Annotated[
        Optional[int],
        typer.Option("--workers", metavar="N", help="Decode threads, at least 1 (default: the CPU count)."),
    ] = None,
    export: Annotated[
        Optional[Path],
        typer.Option(
            "--export",
            metavar="PREFIX",
            help="Write PREFIX-<task>.csv (the study's ensemble file) and PREFIX.parquet.",
        ),
    ] = None,
    grid: Annotated[
        Optional[Path],
        typer.Option("--grid", metavar="FILE", help="Write the study's Figure 28: sample automatic labels (PNG)."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Label a task even where every model scored what guessing scores on its validation split."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help=(
                "Predict and report what would be labelled and withdrawn; the store and the last run's "
                "suspects and reports are left as they are (--export and --grid are written)."
            ),
        ),
    ] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Predict every image with an ONNX ensemble; label the unlabelled ones by the study's confidence rules.

    \b
    Example: celeba autolabel -m best:cnn4 best:residual_blocks -t light --target-precision 0.95
    """
    from celeba_tui.autolabel.model_files import ExportSettings, ensemble_files
    from celeba_tui.autolabel.rules import default_low
    from celeba_tui.autolabel.run import AutolabelOptions, check_options, check_output_paths, run_autolabel

    names = list(models) + [arg for arg in ctx.args if not arg.startswith("-")]
    unexpected = [arg for arg in ctx.args if arg.startswith("-")]
    if unexpected:
        raise CelebaError(f"unexpected option {unexpected[0]!r}")
    check_tta(tta)
    check_one_way_to_threshold(ctx, low, target_precision)
    ws = open_workspace(workspace)
    options = AutolabelOptions(
        high=high,
        low=default_low(high) if low is None else low,
        target_precision=target_precision,
        calibrate_on=calibrate_on,
        provider=provider,
        batch_size=batch_size,
        tta=tta == "flip",
        workers=workers,
        images=images,
        export=export,
        grid=grid,
        force=force,
        dry_run=dry_run,
    )
    # A typo in an output path is found now, not after minutes of exporting runs.
    check_options(options)
    check_output_paths(options, [], workspace=ws)
    # A dry run exports runs into a folder of its own, removed after (helper-68: it wrote
    # models/ and its files into a workspace it promised to leave as it was).
    with contextlib.ExitStack() as cleanup:
        scratch = None
        if dry_run:  # `kill` (SIGTERM) removes it too, as Ctrl+C does (attack pass 34: it was left)
            cleanup.enter_context(termination_unwinds())
            scratch = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="celeba-dry-run-")))
        files = ensemble_files(ws, names, task, ExportSettings(precision, opset), scratch)
        for model in files:
            if model.action != "given" and not json_output:
                typer.echo(printable(model.describe()))
        reporter = _reporter()
        try:
            report = run_autolabel(ws, [model.path for model in files], options, reporter)
        finally:
            reporter.close()
    if json_output:
        for message in report.warnings:  # on stderr too, for scripts that read only stdout
            warn(message)
        print_json({**report.to_dict(), "model_files": [model.to_dict() for model in files]})
        return
    print_autolabel_report(report)
    if report.dry_run:
        changes = any(task.labels_written or task.labels_withdrawn for task in report.tasks)
        only_renewals = all(
            task.labels_renewed == task.labels_written and not task.labels_withdrawn for task in report.tasks
        )
        if not changes:
            then = "Without --dry-run it would change no label either (its predictions would be stored)."
        elif only_renewals:  # helper-68: the same weights exported again "wrote" every label anew
            then = (
                "Without --dry-run no image's class would change: the same classes are written again, as this "
                "ensemble's decisions."
            )
        else:
            then = "The same command without --dry-run writes these labels."
        typer.echo(f"\nNo label written or withdrawn, nothing stored (--dry-run). {then}", err=True)
        return
    # Suspects first, as `celeba cycle` says (helper-91): the cheapest labelling mistakes to find.
    # The run's task named where it was one (the queues count every task without -t).
    only = f" -t {shlex.quote(report.tasks[0].task)}" if len(report.tasks) == 1 else ""
    steps = []
    if report.suspects:
        steps.append(
            (f"celeba label --queue suspects{only}", f"{len(report.suspects):,} people's labels it contradicts")
        )
    if report.manual_images:  # images, as the queue counts them (one image may be unsure for two tasks)
        steps.append(
            (
                f"celeba label --queue manual{only}",
                f"{report.manual_images:,} images of this run the ensemble was unsure of",
            )
        )
    if steps:
        next_step(*steps[0], *steps[1:])


@contextlib.contextmanager
def termination_unwinds():
    """While inside, SIGTERM raises SystemExit (exit status 143) where the process stands, as
    SIGINT raises KeyboardInterrupt, so `with` blocks and `finally` clauses run; the handler
    before is put back after. Outside the main thread nothing changes."""
    import signal

    def unwind(number, frame):
        raise SystemExit(128 + number)

    try:
        previous = signal.signal(signal.SIGTERM, unwind)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _reporter():
    from celeba_tui.progress import RichReporter

    return RichReporter()


def print_autolabel_report(report: AutolabelReport) -> None:
    for message in report.warnings:
        warn(message)
    would = report.dry_run  # the figures say what a run would do
    if not report.predicted_now:
        typer.echo(report.provider, err=True)  # otherwise the progress reporter printed it when inference began
    rate = f", {report.images_per_s:,.0f} images/s" if report.images_per_s else ""
    typer.echo(
        f"{report.images:,} images: {report.predicted_now:,} predicted now in {report.seconds:.2f} s{rate}, "
        f"{report.already_predicted:,} already predicted, {report.skipped:,} skipped"
        + (f" (listed in {report.skipped_report})" if report.skipped and report.skipped_report else "")
    )
    for task in report.tasks:
        t = task.thresholds
        coverage = "n/a" if task.coverage is None else f"{task.coverage:.1%}"
        typer.echo("\n" + printable(f"{task.task}  ({' + '.join(task.models)})"))
        if t["high"] is None:
            reachable = t.get("reachable_target")
            hint = f"; the best these images support is --target-precision {reachable:g}" if reachable else ""
            typer.echo(
                f"  thresholds     target precision {t['target_precision']:g} not reachable with 95% confidence "
                f"on {t['held_out']}: no automatic labels{hint}"
            )
        else:
            how = (
                "given"
                if t["chosen_by"] == "given"
                else (f"chosen: held-out precision >= {t['target_precision']:g} with 95% confidence")
            )
            pair = (
                f"high {t['high']:.4g} (one model: it labels what it is confident about)"
                if t.get("one_model")
                else f"high {t['high']:.4g}, low {t['low']:.4g}"
            )
            typer.echo(f"  thresholds     {pair} ({how})")
        if t["held_out_precision"] is not None:
            # Rounded outward: 0.4797 shown as 0.480 read as reaching a 0.48 target it does not.
            low_ci = math.floor(t["held_out_precision_95ci"][0] * 1000 + 1e-9) / 1000
            high_ci = math.ceil(t["held_out_precision_95ci"][1] * 1000 - 1e-9) / 1000
            # With the target out of reach nothing is labelled: these are the best thresholds' figures.
            best = "at the best thresholds tried, " if t["high"] is None else ""
            typer.echo(
                f"  held-out       {best}precision {t['held_out_precision']:.3f} (95% CI {low_ci:.3f}-{high_ci:.3f}) "
                f"on {t['held_out_automatic']:,} automatic of {t['held_out_images']:,} ({t['held_out']}), "
                f"coverage {t['held_out_coverage']:.1%}"
            )
        elif t["held_out_images"]:
            typer.echo(
                f"  held-out       no precision measured: none of the {t['held_out_images']:,} held-out images "
                f"reached the thresholds ({t['held_out']})"
            )
        else:
            typer.echo(f"  held-out       no precision measured: {t['held_out']}")
        if t.get("no_better_than_majority"):
            typer.echo(
                f"  warning        held-out precision is not shown to be better than answering the most common "
                f"class for every image ({t['held_out_majority_share']:.3f}; its 95% CI reaches below): the models "
                "have not learnt this task yet; label more images or train longer before trusting these labels"
            )
        typer.echo(
            f"  coverage       {coverage}: {task.automatic:,} automatic, {task.manual_queue:,} in the manual "
            f"queue, {task.labelled_by_people:,} labelled by people (kept)"
        )
        if task.labels_written or would:
            changed = (
                f", {task.labels_changed:,} of them changing an automatic label's class" if task.labels_changed else ""
            ) + (
                # helper-91: "the class the image's automatic label has" took rereading.
                f", {task.labels_renewed:,} of them the same class as before (now this ensemble's decision)"
                if task.labels_renewed
                else ""
            )
            verb = "would write" if would else "written"
            typer.echo(f"  {verb:<15}{task.labels_written:,} automatic labels{changed}")
        if task.labels_withdrawn:  # said, not only in --json: an ML walkthrough saw 52 labels vanish unexplained
            verb, back = ("would withdraw", "would be back") if would else ("withdrawn", "are back")
            typer.echo(
                f"  {verb:<15}{task.labels_withdrawn:,} earlier automatic labels this ensemble is not sure of "
                f"(their images {back} in the manual queue)"
            )
        typer.echo(f"  suspects       {task.suspects:,} people's labels the ensemble confidently contradicts")
    if report.suspects:
        shown = "" if len(report.suspects) <= 10 else f"top 10 of {len(report.suspects):,}"
        where = f"all in {report.suspects_report}" if report.suspects_report else "not written: --dry-run"
        typer.echo(f"\nsuspects ({', '.join(filter(None, (shown, where)))}):")
        for row in report.suspects[:10]:
            typer.echo(
                printable(
                    f"  {row['image']}  {row['task']}: people's label {row['human']}, ensemble {row['ensemble']} ({row['confidence']:.2f})"
                )
            )
    for path in report.files:
        typer.echo(f"wrote {path}")
