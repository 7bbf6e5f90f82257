"""Merging annotators: `celeba agreement` and `celeba merge`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, TasksOption, WorkspaceOption, app, next_step, open_workspace, print_json
from celeba_tui.cli.completion import complete_policy
from celeba_tui.console import counted
from celeba_tui.errors import CelebaError
from celeba_tui.vocabulary import CONFLICT


@app.command(short_help="How far annotators agree: Table 1, kappa, profiles.")
def agreement(
    task: TasksOption = None,
    plot: Annotated[
        Optional[Path],
        typer.Option("--plot", metavar="DIR", help="Write a confusion-matrix PNG per task and pair here."),
    ] = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """How far annotators agree: the study's Table 1, kappa, weighted kappa, per-annotator profiles."""
    from celeba_tui.agreement.apply_merge import human_labels
    from celeba_tui.agreement.measures import agreement_report
    from celeba_tui.agreement.profiles import annotator_profiles, chance_notes, strictness_notes

    ws = open_workspace(workspace)
    tasks = ws.select_tasks(task)
    with ws.open_store(readonly=True) as store:
        labels = human_labels(store, tasks)
        checks = store.checks()
        names = {t.name for t in tasks}
        conflicts = sum(
            n for task, status, _, n in store.current_label_counts() if status == CONFLICT and task in names
        )
    report = agreement_report(labels, tasks)
    profiles = annotator_profiles(labels, tasks, checks)
    plots = []
    if plot is not None:
        from celeba_tui.agreement.plots import write_confusion_plots

        plots = write_confusion_plots(report, plot)
    if json_output:
        print_json(
            {
                "tasks": [
                    {
                        **t.to_dict(),
                        "profiles": [p.to_dict() for p in profiles if p.task == t.task],
                        "strictness": strictness_notes([p for p in profiles if p.task == t.task]),
                        "near_chance": chance_notes(t),
                    }
                    for t in report
                ],
                "plots": [str(p) for p in plots],
            }
        )
        return
    from celeba_tui.cli.merge_view import print_agreement

    print_agreement(report, profiles, plots)
    if conflicts:
        # Agreed labels already stand and conflicts already wait in the review queue: a
        # person settles them, or a policy does (the walkthrough of 2026-12-07 ran `merge
        # --policy review`, which had nothing to write).
        next_step(
            "celeba label --queue review",
            f"{counted(conflicts, 'conflict')} wait{'s' if conflicts == 1 else ''} for a person; or `celeba merge --policy dawid-skene` settles them",
        )
    elif any(pair.overlapping for t in report for pair in t.pairs):
        from celeba_tui.autolabel.cycle import cycle_ready
        from celeba_tui.labelling.next_steps import cycle_command

        task_name = tasks[0].name if len(tasks) == 1 else "TASK"
        command = cycle_command(task_name, cycle_ready(ws, [task_name] if len(tasks) == 1 else []))
        next_step(command, "no conflict is open: train on the settled labels")


@app.command(short_help="Merge annotators' labels by a policy.")
def merge(
    policy: Annotated[
        Optional[str],
        typer.Option(
            "--policy",
            "-p",
            metavar="POLICY",
            help="review (the default: conflicts wait for people; given, it withdraws earlier policies' "
            "decisions), majority, prefer:NAME or dawid-skene.",
            autocompletion=complete_policy,
        ),
    ] = None,
    min_confidence: Annotated[
        float,
        typer.Option(
            "--min-confidence",
            metavar="P",
            help="Leave a conflict open for a person where the policy is less sure of its answer than P "
            "(majority: its share of the votes, 2/3 for two against one; prefer:NAME: the share NAME's label "
            "has; dawid-skene: its probability).",
        ),
    ] = 0.0,
    task: TasksOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Merge annotators: accept agreeing labels, resolve conflicts by a policy or leave them for review."""
    from celeba_tui.agreement.apply_merge import WithdrawalNotAsked, run_merge

    if not 0 <= min_confidence <= 1:  # also refuses NaN
        raise CelebaError(f"--min-confidence must be between 0 and 1, not {min_confidence:g}")
    ws = open_workspace(workspace)
    tasks = ws.select_tasks(task)
    with ws.open_store(readonly=dry_run) as store:
        try:
            run = run_merge(
                store,
                tasks,
                policy or "review",
                dry_run=dry_run,
                min_confidence=min_confidence,
                keep_standing=not policy,
            )
        except WithdrawalNotAsked as refused:
            raise CelebaError(withdrawal_refusal(refused, task or [])) from None
    if json_output:
        print_json(run.to_dict())
        return
    from celeba_tui.cli.merge_view import print_merge

    print_merge(run)
    if run.deferred:
        typer.echo(
            f"{counted(run.deferred, 'image')} labelled or reviewed by a person during the merge: left as they are"
        )


def withdrawal_refusal(refused, tasks_typed) -> str:
    """What a bare `celeba merge` says instead of withdrawing a merge's standing decisions
    (`apply_merge.WithdrawalNotAsked`): the review policy does so when asked by name
    (helper-87: the command the hints name undid a Dawid-Skene merge without a word first)."""
    import shlex

    from celeba_tui.cli.merge_view import redo_command

    standing = refused.withdrawn_from
    said = " and ".join(f"{counted(count, 'decision')} of {name}" for name, count in standing.items())
    verb = "stands" if list(standing.values()) == [1] else "stand"
    again = f", `{redo_command(refused.redo)}` decides again" if refused.redo is not None else ""
    return (
        f"{said} {verb}: a bare `celeba merge` would withdraw them (their conflicts back to people); "
        f"`celeba merge --policy review{''.join(f' -t {shlex.quote(t)}' for t in dict.fromkeys(tasks_typed))}` "
        f"does so{again}"
    )
