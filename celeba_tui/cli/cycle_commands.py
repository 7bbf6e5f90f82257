"""`celeba cycle`: train, export, auto-label and say what to label next, once, reusing what is done."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, WorkspaceOption, app, as_invoked, open_workspace, print_json
from celeba_tui.cli.completion import (
    complete_architecture,
    complete_precision,
    complete_provider,
    complete_run,
    complete_task,
)
from celeba_tui.cli.onnx_commands import (
    CalibrateOnOption,
    HighOption,
    LowOption,
    TargetPrecisionOption,
    TtaOption,
    check_one_way_to_threshold,
    check_tta,
)
from celeba_tui.cli.train_commands import AugmentOption, SoftTargetsFromOption
from celeba_tui.console import printable


@app.command(short_help="Train, export and auto-label in one step.")
def cycle(
    ctx: typer.Context,
    task: Annotated[
        str,
        typer.Option(
            "--task", "-t", metavar="TASK", help="The task to run the loop for.", autocompletion=complete_task
        ),
    ],
    plugin: Annotated[
        Optional[list[str]],
        typer.Option(
            "--plugin",
            "-p",
            metavar="ARCH",
            help="Architecture to train (repeatable; default: [train] architectures in celeba.toml, "
            "else those of the task's earlier runs).",
            show_default=False,
            autocompletion=complete_architecture,
        ),
    ] = None,
    epochs: Annotated[
        Optional[int],
        typer.Option("--epochs", metavar="N", help="Epochs (default: the recipe's, 25, more when the labels are few)."),
    ] = None,
    max_images: Annotated[
        Optional[int],
        typer.Option("--max-images", metavar="N", help="Train on at most this many labelled images (seeded sample)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Training seed.")] = 0,
    pseudo_labels: Annotated[
        bool,
        typer.Option(
            "--pseudo-labels",
            help="Self-training round: train on the ensemble's earlier automatic labels too (train split only).",
        ),
    ] = False,
    soft_targets_from: SoftTargetsFromOption = None,
    augment: AugmentOption = None,
    start_from: Annotated[
        Optional[list[str]],
        typer.Option(
            "--start-from",
            metavar="RUN",
            help="Networks of this run's architecture start from its weights (repeatable, one per architecture; "
            "`celeba train --start-from`).",
            show_default=False,
            autocompletion=complete_run,
        ),
    ] = None,
    device: Annotated[str, typer.Option("--device", metavar="NAME", help="auto, cpu or cuda.")] = "auto",
    precision: Annotated[
        str,
        typer.Option(
            "--precision",
            metavar="P",
            help="fp32, fp16 or int8: how the runs are exported.",
            autocompletion=complete_precision,
        ),
    ] = "fp32",
    high: HighOption = 0.9,
    low: LowOption = None,
    target_precision: TargetPrecisionOption = None,
    calibrate_on: CalibrateOnOption = "split",
    tta: TtaOption = "flip",
    provider: Annotated[
        str,
        typer.Option(
            "--provider",
            metavar="NAME",
            help="auto, tensorrt, cuda or cpu (inference).",
            autocompletion=complete_provider,
        ),
    ] = "auto",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan and stop.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Label even where every model scored what guessing scores on its validation split."
        ),
    ] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run the study's loop once: train, export, auto-label, then say what people should label next.

    Prints its plan first. A run trained on exactly the current labels, architecture and
    settings is reused, not trained again; an export of it at the same precision is reused.

    \b
    Example: celeba cycle -t light -p cnn4 -p residual_blocks --target-precision 0.95
    """
    from celeba_tui.autolabel.cycle import CycleOptions, plan_cycle, run_cycle
    from celeba_tui.autolabel.rules import default_low

    check_one_way_to_threshold(ctx, low, target_precision)
    check_tta(tta)
    ws = open_workspace(workspace)
    options = CycleOptions(
        task=task,
        architectures=tuple(plugin or ()),
        epochs=epochs,
        max_images=max_images,
        pseudo_labels=pseudo_labels,
        soft_targets_from=soft_targets_from,
        augment=augment,
        start_from=tuple(start_from or ()),
        seed=seed,
        device=device,
        precision=precision,
        high=high,
        low=default_low(high) if low is None else low,
        target_precision=target_precision,
        force=force,
        calibrate_on=calibrate_on,
        tta=tta == "flip",
        provider=provider,
    )
    plan = plan_cycle(ws, options)
    if json_output and dry_run:
        print_json({"plan": plan.to_dict()})
        return
    if not json_output:
        typer.echo("\n".join(printable(line) for line in plan.lines()))
    if dry_run:
        return
    from celeba_tui.progress import RichReporter, SilentReporter

    reporter = SilentReporter() if json_output else RichReporter()
    try:
        result = run_cycle(ws, plan, reporter)
    finally:
        reporter.close()
    if json_output:
        print_json(result.to_dict())
        return
    from celeba_tui.cli.onnx_commands import print_autolabel_report

    typer.echo("")
    for model in result.models:
        typer.echo(printable(f"{model['action']} {model['path']} (run {model['run_id']})"))
    print_autolabel_report(result.autolabel)
    typer.echo("")
    if not result.next:
        typer.echo(f"nothing for people to label in {task}: no suspects, and the manual queue is empty", err=True)
    # What to run next goes to stderr, as every command's "Next:" (stdout is the report).
    for step in result.next:
        typer.echo(printable(f"Next: {step.queue} queue, {step.count:,} images ({step.why}):"), err=True)
        typer.echo(printable(f"  {as_invoked(step.command)}"), err=True)  # with the -w typed, to run from here
