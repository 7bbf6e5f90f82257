"""Training commands: train, report."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, WorkspaceOption, app, next_step, open_workspace, print_json, warn
from celeba_tui.cli.completion import complete_architecture, complete_run, complete_task
from celeba_tui.training.recipes import DEFAULT_RECIPE
from celeba_tui.training.run_selection import SELECTOR_HELP

# `celeba train` and `celeba cycle` both take it.
SoftTargetsFromOption = Annotated[
    Optional[str],
    typer.Option(
        "--soft-targets-from",
        metavar="SOURCE",
        help="What soft targets are made of: dawid-skene (each annotator weighed by their estimated "
        "confusion) or votes (every label alike: the classes switch where the labels together do; "
        "docs/training.md). Default: the recipe's, dawid-skene.",
        show_default=False,
    ),
]
AugmentOption = Annotated[
    Optional[str],
    typer.Option(
        "--augment",
        metavar="STEPS",
        help="none, or some of flip,geometry,photometric,noise (default: the recipe's; flip swaps the classes "
        "named left/right and keeps the others: docs/training.md).",
        show_default=False,
    ),
]


@app.command(short_help="Train an architecture on a task's labels.")
def train(
    plugin: Annotated[
        str,
        typer.Option(
            "--plugin",
            "-p",
            metavar="ARCH",
            help="Architecture to train (see `celeba plugins --all`).",
            autocompletion=complete_architecture,
        ),
    ],
    task: Annotated[
        str,
        typer.Option(
            "--task",
            "-t",
            metavar="TASK",
            help="Task to learn, e.g. light or orientation.",
            autocompletion=complete_task,
        ),
    ],
    recipe: Annotated[
        str,
        typer.Option(
            "--recipe",
            "-r",
            metavar="NAME",
            help="How to train: noisy-labels (AdamW, one-cycle, label smoothing, label-keeping augmentations, "
            "temperature and class-bias calibration) or study (the study's Adam and early stopping).",
        ),
    ] = DEFAULT_RECIPE,
    epochs: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            help="Epochs (default: the architecture's own where it sets them, e.g. small_resnet_128's 40, else "
            "the recipe's: 25, more when the labels are few; 50 with early stopping under --recipe study).",
        ),
    ] = None,
    batch_size: Annotated[
        Optional[int],
        typer.Option(
            "--batch-size",
            metavar="N",
            help="Batch size (default: the architecture's; smaller when the labels are few).",
        ),
    ] = None,
    lr: Annotated[
        Optional[float],
        typer.Option(
            "--lr", metavar="X", help="(Peak) learning rate (default: the recipe's, else the architecture's)."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Seed for initial weights, shuffling, flips and a new split.")
    ] = 0,
    device: Annotated[str, typer.Option(metavar="DEVICE", help="auto (a GPU if there is one), cpu or cuda.")] = "auto",
    amp: Annotated[
        Optional[bool],
        typer.Option(
            "--amp/--no-amp",
            help="Mixed precision: bfloat16 (float16 on older GPUs) where the device computes it natively, "
            "float32 elsewhere (default: on where native; --no-amp: float32).",
            show_default=False,
        ),
    ] = None,
    augment: AugmentOption = None,
    balance_classes: Annotated[
        bool,
        typer.Option(
            "--balance-classes",
            help="Weight the loss by (mean class count / class count)^0.5: higher balanced accuracy on a skewed "
            "task, lower precision on its confident share (docs/label-quality.md).",
        ),
    ] = False,
    landmark_cues: Annotated[
        Optional[bool],
        typer.Option(
            "--landmark-cues/--no-landmark-cues",
            help="Also learn where nose and mouth sit between the eyes, from CelebA's landmark file beside the "
            "images (default: the recipe's; noisy-labels does where the file exists and the cues tell the "
            "classes apart).",
            show_default=False,
        ),
    ] = None,
    soft_targets: Annotated[
        Optional[bool],
        typer.Option(
            "--soft-targets/--hard-targets",
            help="Learn a probability per class from all annotators' labels, conflicts included, "
            "instead of one settled label per image (default: the recipe's).",
            show_default=False,
        ),
    ] = None,
    soft_targets_from: SoftTargetsFromOption = None,
    pseudo_labels: Annotated[
        bool,
        typer.Option(
            "--pseudo-labels",
            help="Also train on the ensemble's automatic labels (status model), in the train split only: "
            "a self-training round after `celeba autolabel`.",
        ),
    ] = False,
    preprocess: Annotated[
        Optional[str],
        typer.Option(
            metavar="SPEC", help="Preprocessing spec, e.g. resize:64,contrast:1.5 (default: the architecture's)."
        ),
    ] = None,
    patience_acc: Annotated[
        Optional[int],
        typer.Option(
            "--patience-acc",
            metavar="N",
            help="Stop after this many epochs without a validation-accuracy gain; 0: never (default: 0 under the "
            "default recipe, which runs every epoch; the architecture's, 5, under --recipe study).",
        ),
    ] = None,
    patience_loss: Annotated[
        Optional[int],
        typer.Option(
            "--patience-loss",
            metavar="N",
            help="Stop after this many epochs without a validation-loss decrease; 0: never (default: 0 under the "
            "default recipe; the architecture's, 3, under --recipe study).",
        ),
    ] = None,
    new_split: Annotated[
        bool, typer.Option("--new-split", help="Make a new 70/30 split for the task (replaces the stored one).")
    ] = False,
    max_images: Annotated[
        Optional[int],
        typer.Option("--max-images", metavar="N", help="Use at most this many labelled images (a seeded sample)."),
    ] = None,
    start_from: Annotated[
        Optional[str],
        typer.Option(
            "--start-from",
            metavar="RUN",
            help="Start from this run's weights instead of random ones: a run of the same architecture, e.g. one "
            "trained on `celeba synth` renders' true classes (docs/training.md); "
            f"{SELECTOR_HELP}.",
            autocompletion=complete_run,
        ),
    ] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Train an architecture on a task's human labels; prints the run directory.

    Runs unchanged under `torchrun --nproc_per_node=N -m celeba_tui train ...`.
    """
    from celeba_tui.progress import RichReporter, SilentReporter
    from celeba_tui.training.metrics import at_chance
    from celeba_tui.training.run_labels import train_recording_labels
    from celeba_tui.training.trainer import TrainOptions

    ws = open_workspace(workspace)
    options = TrainOptions(
        plugin=plugin,
        task=task,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        amp=amp,
        recipe=recipe,
        augment=augment,
        balance_classes=True if balance_classes else None,
        landmark_cues=landmark_cues,
        pseudo_labels=pseudo_labels,
        soft_targets=soft_targets,
        soft_targets_from=soft_targets_from,
        preprocess=preprocess,
        patience_acc=patience_acc,
        patience_loss=patience_loss,
        new_split=new_split,
        max_images=max_images,
        start_from=start_from,
    )
    reporter = SilentReporter() if json_output else RichReporter()
    result = train_recording_labels(ws, options, reporter)
    if result.run_path is None:  # a torchrun rank other than 0: rank 0 reports
        return
    summary = result.summary
    if summary.skipped_images:
        shown = ", ".join(f"{s['image']} ({s['reason']})" for s in summary.skipped_images[:5])
        more = len(summary.skipped_images) - 5
        warn(
            f"{len(summary.skipped_images)} labelled images skipped: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    warnings = []
    if at_chance(summary.val_balanced_acc, len(result.config["classes"])):
        warnings.append(
            f"balanced accuracy {summary.val_balanced_acc:.3f} is what guessing scores: "
            f"the model has not learnt {options.task} yet; its automatic labels would be guesses"
        )
    if json_output:  # the warning on stderr too: scripts that read only stdout still see it there
        for message in warnings:
            warn(message)
        print_json(
            {
                "run_dir": str(result.run_path),
                "config": result.config,
                "summary": summary.to_dict(),
                "warnings": warnings,
            }
        )
        return
    typer.echo(
        f"best epoch {summary.best_epoch}/{summary.epochs_run}: val acc {summary.val_acc:.3f}, "
        f"loss {summary.val_loss:.3f}, balanced acc {summary.val_balanced_acc:.3f}, "
        f"macro-F1 {summary.val_macro_f1:.3f} (majority class {summary.majority_baseline:.3f})",
        err=True,
    )
    if warnings:
        warn(warnings[0])
        next_step(f"celeba label -t {options.task}", "more labels, or train again with more --epochs")
    else:
        next_step(
            f"celeba autolabel -m latest:{options.plugin} -t {options.task}",
            "label the rest with it; celeba report compares the runs",
        )
    typer.echo(str(result.run_path))


@app.command(short_help="Compare training runs (the study's Table 9).")
def report(
    runs: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="RUN",
            help=f"Runs to compare: {SELECTOR_HELP} (default: every finished run of the workspace).",
            show_default=False,
        ),
    ] = None,
    tasks: Annotated[
        Optional[list[str]],
        typer.Option(
            "--task",
            "-t",
            metavar="TASK",
            help="Only runs of this task (repeat for several; default: all).",
            show_default=False,
            autocompletion=complete_task,
        ),
    ] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print Markdown tables (every column).")] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Compare runs: the study's Table 9 plus balanced accuracy, macro-F1 and the majority baseline.

    The tables fit the terminal: values are never cut; when it is too narrow whole columns
    are left out, in this order: img/s, time, parameters, epochs (best/run), model, task,
    majority, macro-F1, val loss (run, val acc and balanced acc stay; Table 9 drops its
    loss columns first). A note names what was left out; --markdown and --json have all.
    """
    from celeba_tui.training import report as run_report
    from celeba_tui.training.run_selection import resolve_runs

    ws = open_workspace(workspace)
    tasks = list(dict.fromkeys(tasks or []))
    for task in tasks:
        ws.task(task)
    found, notes = resolve_runs(runs, ws.runs_dir, tasks)
    for note in notes:
        warn(note)
    rows = run_report.report_rows(found, tasks)
    if json_output:
        tasks, models = run_report.table9(rows)
        print_json({"runs": rows, "table9": models, "tasks": tasks})
        return
    if not rows:
        of_tasks = f" for task{'s' if len(tasks) > 1 else ''} {', '.join(tasks)}" if tasks else ""
        typer.echo(f"no finished runs in {ws.runs_dir}{of_tasks}", err=True)
        return
    if markdown:
        typer.echo(run_report.markdown(rows), nl=False)
        return
    from celeba_tui.console import output_console
    from celeba_tui.training.report_layout import rich_tables

    console = output_console()
    for table in rich_tables(rows, console.width):
        console.print(table)
