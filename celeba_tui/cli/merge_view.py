"""Rich rendering of `celeba agreement` and `celeba merge`."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.table import Table

from celeba_tui.agreement.apply_merge import MergeRun
from celeba_tui.agreement.measures import PairAgreement, TaskAgreement
from celeba_tui.agreement.profiles import AnnotatorProfile, strictness_notes
from celeba_tui.console import literal, output_console

# A task with more pairs than this shows its confusion matrices only in --json / --plot.
MAX_PRINTED_CONFUSIONS = 3


def _table(**options) -> Table:
    """A borderless table, so the study's columns fit an 80-column terminal."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, **options)


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    """A share in [0, 1] as a percentage."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


def print_agreement(report: list[TaskAgreement], profiles: list[AnnotatorProfile], plots: list[Path]) -> None:
    console = output_console()
    for task in report:
        if not task.comparable:
            console.print(f"[bold]{literal(task.task)}[/]: nothing to compare ({literal(task.note)})")
            continue
        console.print(_pair_table(task))
        if task.alpha_ordinal is not None or task.alpha_nominal is not None:
            console.print(
                f"Krippendorff's alpha over {len(task.annotators)} annotators: "
                f"{_number(task.alpha_ordinal, 3)} ordinal, {_number(task.alpha_nominal, 3)} nominal"
            )
        for pair in task.pairs:
            if pair.note:
                console.print(literal(f"  {pair.annotator_a} / {pair.annotator_b}: {pair.note}"))
        if len(task.pairs) <= MAX_PRINTED_CONFUSIONS:
            for pair in task.pairs:
                if pair.overlapping:
                    console.print(_confusion_table(pair, task.classes))
        else:
            console.print(f"{len(task.pairs)} confusion matrices: see --json or --plot DIR")
        mine = [p for p in profiles if p.task == task.task]
        console.print(_profile_table(task, mine))
        for note in strictness_notes(mine):
            console.print(f"[yellow]{literal(note)}[/]")
        console.print()
    if plots:
        console.print(f"Wrote {len(plots)} confusion-matrix plot(s) to {literal(plots[0].parent)}")


def _pair_table(task: TaskAgreement) -> Table:
    table = _table(title=literal(f"{task.task}: agreement per pair of annotators ({task.images:,} images)"))
    # The study's Table 1 columns (count of each annotator, overlapping, mismatched, total).
    for column in ("A", "B", "#A", "#B", "overlap", "mismatch", "total", "agree", "kappa", "w.kappa"):
        table.add_column(column, justify="left" if column in ("A", "B") else "right")
    for p in task.pairs:
        table.add_row(
            literal(p.annotator_a),
            literal(p.annotator_b),
            f"{p.count_a:,}",
            f"{p.count_b:,}",
            f"{p.overlapping:,}",
            f"{p.mismatched:,}",
            f"{p.total:,}",
            "n/a" if p.percent_agreement is None else f"{p.percent_agreement:.1f}%",
            _number(p.kappa),
            _number(p.weighted_kappa),
        )
    return table


def _confusion_table(pair: PairAgreement, classes: list[str]) -> Table:
    table = _table(title=literal(f"{pair.task}: rows {pair.annotator_a}, columns {pair.annotator_b}"))
    table.add_column("")
    for name in classes:
        table.add_column(literal(name), justify="right")
    for name, row in zip(classes, pair.confusion):
        table.add_row(literal(name), *(f"{n:,}" for n in row))
    return table


def _profile_table(task: TaskAgreement, profiles: list[AnnotatorProfile]) -> Table:
    table = _table(title=literal(f"{task.task}: annotator profiles"))
    center = profiles[0].center_class if profiles else None
    columns = [
        "annotator",
        "labels",
        "classes",
        f"{center} vs others" if center else "center vs others",
        "agrees with consensus",
        "flip checks",
    ]
    for column in columns:
        table.add_column(
            literal(column),
            justify="left" if column in ("annotator", "classes") else "right",
            min_width=min(len(column), 11),
        )
    for p in profiles:
        shares = "  ".join(f"{c} {100 * n / p.labels:.0f}%" for c, n in p.class_counts.items()) if p.labels else ""
        diff = p.center_difference
        strictness = (
            "n/a"
            if diff is None
            else (f"{diff:+.1f} pts ({100 * p.center_rate:.0f}% vs {100 * p.others_center_rate:.0f}%)")
        )
        consensus = (
            "n/a" if p.consensus_agreement is None else (f"{_percent(p.consensus_agreement)} of {p.consensus_images:,}")
        )
        consistency = "no checks" if p.self_consistency is None else (f"{_percent(p.self_consistency)} of {p.checks:,}")
        table.add_row(literal(p.annotator), f"{p.labels:,}", literal(shares), strictness, consensus, consistency)
    return table


def print_merge(run: MergeRun) -> None:
    console = output_console()
    result = run.result
    title = f"Merge with policy {result.policy.name}" + (" (dry run)" if run.dry_run else "")
    table = _table(
        title=literal(title),
        caption="single: one annotator, whose label stands; agreed: accepted; resolved: by the "
        "policy; reviewed: a person decided; open: waits for review",
    )
    columns = ("task", "images", "single", "compared", "agreed", "resolved", "reviewed", "open")
    for column in columns:
        table.add_column(column, justify="left" if column == "task" else "right", min_width=len(column))
    for s in result.summary:
        table.add_row(
            literal(s.task),
            f"{s.images:,}",
            f"{s.single:,}",
            f"{s.compared:,}",
            f"{s.accepted:,}",
            f"{s.resolved:,}",
            f"{s.reviewed:,}",
            f"{s.left_for_review:,}",
        )
    console.print(table)
    if not any(s.compared for s in result.summary):
        console.print("Nothing to merge: no image was labelled by two annotators.")
    verb = ("would write", "would withdraw") if run.dry_run else ("wrote", "withdrew")
    console.print(
        f"{verb[0].capitalize()} {run.written:,} merge decision(s) as merge:{literal(result.policy.name)}; "
        f"{verb[1]} {run.withdrawn:,} earlier one(s); {run.unchanged:,} unchanged."
    )
    for task, estimate in result.confusion.items():
        console.print(_accuracy_table(task, estimate))
    waiting = sum(s.left_for_review for s in result.summary)
    if waiting:
        console.print(f"{waiting:,} conflict(s) wait for a person: celeba label --queue review")


def _accuracy_table(task: str, estimate: dict) -> Table:
    """Dawid-Skene's estimate of how often each annotator gives the true class, per class."""
    table = _table(title=literal(f"{task}: Dawid-Skene P(says the true class)"))
    table.add_column("annotator")
    for name in estimate["classes"]:
        table.add_column(literal(name), justify="right")
    for annotator, matrix in estimate["annotators"].items():
        table.add_row(literal(annotator), *(f"{matrix[i][i]:.2f}" for i in range(len(matrix))))
    return table
