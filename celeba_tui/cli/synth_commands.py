"""`celeba synth`: write a synthetic CelebA with ground truth and simulated annotators."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, app, next_step, print_json
from celeba_tui.console import counted
from celeba_tui.errors import CelebaError


@app.command(short_help="Render a synthetic CelebA with known angles.")
def synth(
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder to write (CelebA layout plus ground_truth.csv).")
    ],
    n: Annotated[int, typer.Option("-n", "--count", metavar="N", help="Number of images.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed: the same seed gives the same files.")] = 0,
    workers: Annotated[
        Optional[int], typer.Option("--workers", metavar="N", help="Processes (default: all cores).")
    ] = None,
    light_mix: Annotated[
        str, typer.Option("--light-mix", metavar="L,C,R", help="Light classes' shares left,center,right.")
    ] = "0.20,0.61,0.19",
    orientation_mix: Annotated[
        str, typer.Option("--orientation-mix", metavar="L,C,R", help="Orientation classes' shares left,center,right.")
    ] = "0.17,0.70,0.13",
    max_yaw: Annotated[
        float,
        typer.Option(
            "--max-yaw",
            metavar="DEG",
            help="Largest head yaw (CelebA's faces: 45; up to 90, profiles, for renders a network starts from).",
        ),
    ] = 45.0,
    max_pitch: Annotated[
        float,
        typer.Option(
            "--max-pitch",
            metavar="DEG",
            help="Largest head tilt up or down (CelebA's faces: 15; up to 90, for renders a network starts from).",
        ),
    ] = 15.0,
    annotators: Annotated[
        int,
        typer.Option(
            "--annotators", metavar="N", help="Simulated annotators to write to annotators/<name>.csv (one-hot)."
        ),
    ] = 0,
    overlap: Annotated[
        float,
        typer.Option("--overlap", metavar="X", help="Share of labelled images that a second annotator labels too."),
    ] = 0.2,
    coverage: Annotated[
        float, typer.Option("--coverage", metavar="X", help="Share of all images the annotators label.")
    ] = 1.0,
    sheet: Annotated[
        bool, typer.Option("--sheet", help="Also write contact_sheet.png (first 24 images with their classes).")
    ] = False,
    truth_labels: Annotated[
        bool,
        typer.Option(
            "--truth-labels",
            help="Also write truth.csv: every image's true classes as a label file, to train a network on the "
            "renders (then `celeba train --start-from` it on real faces; docs/training.md).",
        ),
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a synthetic dataset already in --out.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Render synthetic CelebA-like faces with known light direction and face orientation."""
    from celeba_tui.synth.dataset import (
        MAX_IMAGES,
        MAX_SEED,
        SynthSpec,
        default_workers,
        effective_workers,
        write_dataset,
    )
    from celeba_tui.synth.output import (
        CONTACT_SHEET,
        prepare_output,
        synth_summary,
        write_annotators,
        write_truth_labels,
    )
    from celeba_tui.synth.truth import parse_mix

    if not 1 <= n <= MAX_IMAGES:
        raise CelebaError(f"-n must be between 1 and {MAX_IMAGES:,} (CelebA's six-digit names), got {n}")
    if not 0 <= seed <= MAX_SEED:
        raise CelebaError(f"--seed must be between 0 and {MAX_SEED}, got {seed}")
    try:
        mixes = parse_mix(light_mix), parse_mix(orientation_mix)
    except ValueError as exc:
        raise CelebaError(f"--light-mix/--orientation-mix: {exc}") from None
    try:
        spec = SynthSpec(seed, *mixes, max_yaw=max_yaw, max_pitch=max_pitch)  # the seed was checked above
    except ValueError as exc:
        raise CelebaError(f"--max-yaw/--max-pitch: {exc}") from None
    if annotators:
        from celeba_tui.synth.annotators import check_options

        check_options(annotators, overlap, coverage)
    workers = workers or default_workers()
    prepare_output(out, n, force)
    started = time.perf_counter()
    with _progress(n, disable=json_output) as advance:
        truth = write_dataset(out, n, spec, workers=workers, on_progress=advance)
    seconds = time.perf_counter() - started
    labels = write_annotators(out, truth, annotators, overlap, seed, coverage) if annotators else {}
    truth_file = write_truth_labels(out, truth) if truth_labels else None
    if sheet:
        from celeba_tui.synth.contact_sheet import dataset_contact_sheet

        dataset_contact_sheet(out, truth, out / CONTACT_SHEET)
    summary = synth_summary(out, truth, labels, seconds, effective_workers(n, workers), truth_file)
    if json_output:
        print_json(summary)
        return
    _print_summary(summary)
    # Quoted for a shell (the glob outside the quotes), so the line works pasted whatever the folder is called.
    annotated = f" && celeba import {shlex.quote(str(out / 'annotators'))}/*.csv -w WS" if labels else ""
    purpose = "a workspace to label these faces"
    if truth_file is not None and not labels:  # a workspace of the renders' truth, to train a starting network
        annotated = f" && celeba import {shlex.quote(str(truth_file))} -w WS"
        purpose = "a workspace of their true classes, to train a network that `celeba train --start-from` begins at"
    images = shlex.quote(str(out / "img_align_celeba"))
    next_step(f"celeba init WS --images {images}{annotated}", purpose)


def _progress(total: int, disable: bool):
    """A context giving `advance(k)` that draws a rich progress bar with rate and ETA."""
    import contextlib

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeRemainingColumn

    class Rate(ProgressColumn):
        def render(self, task):
            return f"{task.speed or 0:>5.0f} img/s"

    @contextlib.contextmanager
    def bar():
        columns = (TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), Rate(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True), disable=disable, transient=True) as progress:
            task = progress.add_task("render", total=total)
            yield lambda k: progress.advance(task, k)

    return bar()


def _print_summary(summary: dict) -> None:
    typer.echo(
        f"Wrote {summary['images']:,} images to {summary['out']} in {summary['seconds']:.1f} s "
        f"({summary['images_per_s']:.0f} images/s, {counted(summary['workers'], 'worker')})"
    )
    for task, counts in summary["classes"].items():
        shares = ", ".join(f"{name} {count} ({count / summary['images']:.0%})" for name, count in counts.items())
        typer.echo(f"  {task}: {shares}")
    if summary["annotators"]:
        typer.echo("Simulated annotators (accuracy against ground truth, share labelled center):")
        typer.echo(
            f"  {'name':<6} {'kind':<8} {'images':>7} {'light acc':>9} {'center':>6} {'orient acc':>10} {'center':>6}"
        )
        for a in summary["annotators"]:
            typer.echo(
                f"  {a['annotator']:<6} {a['kind']:<8} {a['images']:>7,} {a['light_accuracy']:>9.2f} {a['light_center_rate']:>6.2f}"
                f" {a['orientation_accuracy']:>10.2f} {a['orientation_center_rate']:>6.2f}"
            )
        for task, agreement in summary["agreement"].items():
            if agreement["images"]:
                typer.echo(
                    f"  {task}: {agreement['agreement']:.0%} agreement on {agreement['images']:,} images labelled twice"
                )
        typer.echo(f"  files: {summary['annotator_dir']}/<name>.csv (the study's one-hot format)")
