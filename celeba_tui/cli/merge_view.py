"""Rich rendering of `celeba agreement` and `celeba merge`."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from celeba_tui.agreement.apply_merge import MergeRun, Redo, merge_annotator
from celeba_tui.agreement.measures import PairAgreement, TaskAgreement
from celeba_tui.agreement.profiles import AnnotatorProfile, chance_notes, strictness_notes
from celeba_tui.cli.app import next_step
from celeba_tui.console import counted, literal, output_console

# Narrowest a name column gets when a table must squeeze (its names fold onto more lines).
MIN_TEXT_WIDTH = 6
# A task with more pairs than this shows its confusion matrices only in --json / --plot.
MAX_PRINTED_CONFUSIONS = 3
# Rows of a task's pair table and profile table printed (a crowd's are in --json).
MAX_PRINTED_PAIRS = 50
MAX_PRINTED_PROFILES = 50


def _table(**options) -> Table:
    """A borderless table, two spaces between columns, so the study's columns fit an 80-column terminal."""
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), **options)


def _text_column(table: Table, heading: str) -> None:
    """A column of names or phrases: where the terminal is too narrow they wrap or fold, never get cut."""
    table.add_column(literal(heading), overflow="fold")


def _number_column(table: Table, heading: str, values: list[str]) -> None:
    """A right-aligned column as wide as its widest value: numbers never wrap or get cut."""
    width = max([len(heading), *(len(v) for v in values)])
    table.add_column(literal(heading), justify="right", no_wrap=True, min_width=width)


def _natural_width(table: Table, console: Console) -> int:
    """The table's width with every column as wide as its widest cell."""
    return console.measure(table, options=console.options.update_width(10_000)).maximum


def _fits(table: Table, console: Console) -> bool:
    return _natural_width(table, console) <= console.width


def _fit(table: Table, console: Console) -> Table | Group:
    """Share what the number columns leave among the text columns, so rich never has to cut a number.

    Left to itself rich narrows every column alike once wrapping is not enough, which cuts
    numbers (or drops a column). Here numbers keep their width and the text columns
    (names, phrases) split the rest, each wrapping or folding within its share.
    """
    if _fits(table, console):
        return table
    text = [c for c in table.columns if not c.no_wrap]
    gaps = 2 * (len(table.columns) - 1)
    fixed = sum(c.min_width or 0 for c in table.columns if c.no_wrap)
    if fixed + gaps + sum(max(_longest_word(c), MIN_TEXT_WIDTH) for c in text) > console.width:
        return _records(table)  # squeezed, its words would break ("an" / "n1"): a row per field
    room = max(console.width - fixed - gaps, MIN_TEXT_WIDTH * len(text))
    natural = {id(c): max(len(str(c.header)), *(len(str(cell)) for cell in c.cells)) for c in text}
    # Water-filling: columns narrower than an equal share keep their width; the rest share what is left.
    left, open_columns = room, list(text)
    while open_columns:
        share = left // len(open_columns)
        narrow = [c for c in open_columns if natural[id(c)] <= share]
        if not narrow:
            break
        for c in narrow:
            left -= natural[id(c)]
            open_columns.remove(c)
    widths = {id(c): max(left // len(open_columns), MIN_TEXT_WIDTH) for c in open_columns} if open_columns else {}
    _whole_words(open_columns, widths)
    for c in open_columns:
        c.max_width = widths[id(c)]
        c.min_width = None
    return table


def _records(table: Table) -> Group:
    """`table` turned on its side for a terminal too narrow for its columns: its title (a
    line of its own, wrapped at the terminal's width), then per row one line per column
    ("heading  value"), a blank line between rows."""
    records = _table(show_header=False)
    records.add_column("field", overflow="fold")
    records.add_column("value", overflow="fold")
    columns = [(str(c.header), list(c.cells)) for c in table.columns]
    for row in range(table.row_count):
        for j, (heading, cells) in enumerate(columns):
            records.add_row(heading, cells[row], end_section=j == len(columns) - 1)
    return Group(Text(str(table.title or ""), style="italic"), records) if table.title else Group(records)


def _whole_words(columns: list, widths: dict[int, int]) -> None:
    """Widen the columns whose longest word is wider than their share ("annotato" / "r" reads
    badly) with room the others do not need, where there is enough of it; else leave the
    shares (such words then fold)."""
    need = {id(c): _longest_word(c) - widths[id(c)] for c in columns if _longest_word(c) > widths[id(c)]}
    spare = {
        id(c): widths[id(c)] - max(_longest_word(c), MIN_TEXT_WIDTH)
        for c in columns
        if widths[id(c)] > max(_longest_word(c), MIN_TEXT_WIDTH)
    }
    if not need or sum(need.values()) > sum(spare.values()):
        return
    owed = sum(need.values())
    for key, extra in need.items():
        widths[key] += extra
    for key in sorted(spare, key=spare.get, reverse=True):
        taken = min(spare[key], owed)
        widths[key] -= taken
        owed -= taken


def _longest_word(column) -> int:
    """The longest word of a column's heading and cells (what it cannot wrap inside)."""
    texts = [str(column.header), *(str(cell) for cell in column.cells)]
    return max((len(word) for text in texts for word in text.split()), default=0)


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    """A share in [0, 1] as a percentage."""
    return "n/a" if value is None else f"{100 * value:.1f}%"


OVERLAP_ADVICE = "; `celeba label --assign I/N --overlap 0.2` shows a share of the images to two people on purpose"


def print_agreement(report: list[TaskAgreement], profiles: list[AnnotatorProfile], plots: list[Path]) -> None:
    console = output_console()
    for task in report:
        if not task.comparable:
            plan = OVERLAP_ADVICE if len(task.annotators) > 1 else ""  # several people, no image in common
            console.print(f"[bold]{literal(task.task)}[/]: nothing to compare ({literal(task.note)}){plan}")
            continue
        # Pairs with no image in common have nothing to measure: one line below, not n/a rows.
        compared = task.pairs
        # A crowd's every pair is not a table a person reads (300 annotators: 8,900 rows and
        # 13 s of rendering): those that share the most images, the rest in --json.
        shown_pairs = most(compared, lambda p: p.overlapping, MAX_PRINTED_PAIRS)
        for table in _pair_tables(replace(task, pairs=shown_pairs), console):
            console.print(_fit(table, console))
        if len(shown_pairs) < len(compared):
            console.print(
                f"  the {len(shown_pairs)} of {len(compared):,} pairs that share the most images; all in --json"
            )
        if task.alpha_ordinal is not None or task.alpha_nominal is not None:
            levels = (
                f"{_number(task.alpha_ordinal, 3)} ordinal, {_number(task.alpha_nominal, 3)} nominal"
                if task.ordered
                else f"{_number(task.alpha_nominal, 3)} nominal (the classes have no order)"
            )
            console.print(f"Krippendorff's alpha over {len(task.annotators)} annotators: {levels}")
        for pair in shown_pairs:
            if pair.note:
                console.print(literal(f"  {pair.annotator_a} / {pair.annotator_b}: {pair.note}"))
        if task.pairs_apart:  # one line, not a row each (six annotators: up to fifteen)
            more = ", ..." if task.pairs_apart > len(task.apart_examples) else ""
            shown = ", ".join(task.apart_examples) + more
            console.print(literal(f"  {counted(task.pairs_apart, 'pair')} share no image (not in the table): {shown}"))
        if len(compared) <= MAX_PRINTED_CONFUSIONS:
            for pair in compared:
                console.print(_fit(_confusion_table(pair, task.classes), console))
        else:
            console.print(f"{len(compared)} confusion matrices: see --json or --plot DIR")
        mine = [p for p in profiles if p.task == task.task]
        shown_profiles = most(mine, lambda p: p.labels, MAX_PRINTED_PROFILES)
        console.print(_fit(_profile_table(task, shown_profiles), console))
        if len(shown_profiles) < len(mine):
            console.print(
                f"  the {len(shown_profiles)} of {len(mine):,} annotators with the most labels; all in --json"
            )
        for note in strictness_notes(mine):
            console.print(f"[yellow]{literal(note)}[/]")
        for note in chance_notes(task):
            console.print(f"[bold yellow]{literal(note)}[/]")
        console.print()
    if plots:
        console.print(f"Wrote {counted(len(plots), 'confusion-matrix plot')} to {literal(plots[0].parent)}")


def most(items: list, size, limit: int) -> list:
    """The `limit` items of the largest `size`, in their own order (ties: the earlier)."""
    if len(items) <= limit:
        return items
    chosen = sorted(range(len(items)), key=lambda i: -size(items[i]))[:limit]
    return [items[i] for i in sorted(chosen)]


def _pair_tables(task: TaskAgreement, console: Console) -> list[Table]:
    """The study's Table 1 with kappa: one table, or counts and measures apart where one is too wide."""
    title = f"{task.task}: agreement per pair of annotators ({task.images:,} images in all)"
    # The study's Table 1 columns (count of each annotator, overlapping, mismatched, total).
    counts = {
        "#A": [f"{p.count_a:,}" for p in task.pairs],
        "#B": [f"{p.count_b:,}" for p in task.pairs],
        "overlap": [f"{p.overlapping:,}" for p in task.pairs],
        "mismatch": [f"{p.mismatched:,}" for p in task.pairs],
        "total": [f"{p.total:,}" for p in task.pairs],
    }
    measures = {
        "agree": ["n/a" if p.percent_agreement is None else f"{p.percent_agreement:.1f}%" for p in task.pairs],
        "kappa": [_number(p.kappa) for p in task.pairs],
    }
    if task.ordered:  # classes with no order have no weighted kappa
        measures["w.kappa"] = [_number(p.weighted_kappa) for p in task.pairs]
    whole = _pair_table(title, task, {**counts, **measures})
    if _fits(whole, console):
        return [whole]
    return [
        _pair_table(title + ", counts", task, counts),
        _pair_table(f"{task.task}: agreement measures", task, measures),
    ]


def _pair_table(title: str, task: TaskAgreement, columns: dict[str, list[str]]) -> Table:
    table = _table(title=literal(title))
    _text_column(table, "A")
    _text_column(table, "B")
    for heading, values in columns.items():
        _number_column(table, heading, values)
    for i, p in enumerate(task.pairs):
        table.add_row(literal(p.annotator_a), literal(p.annotator_b), *(values[i] for values in columns.values()))
    return table


def _confusion_table(pair: PairAgreement, classes: list[str]) -> Table:
    title = literal(f"{pair.task}: rows {pair.annotator_a}, columns {pair.annotator_b}")
    table = _table(title=title, min_width=len(title))  # as wide as its title, which then fits one line
    _text_column(table, "")
    for j, name in enumerate(classes):
        _number_column(table, name, [f"{row[j]:,}" for row in pair.confusion])
    for name, row in zip(classes, pair.confusion):
        table.add_row(literal(name), *(f"{n:,}" for n in row))
    return table


def _profile_table(task: TaskAgreement, profiles: list[AnnotatorProfile]) -> Table:
    table = _table(title=literal(f"{task.task}: annotator profiles"))
    center = profiles[0].center_class if profiles else None
    rows = [_profile_row(p) for p in profiles]
    if center is None:  # a task without a middle class (yes / no): the column would be all n/a
        rows = [row[:3] + row[4:] for row in rows]
    _text_column(table, "annotator")
    _number_column(table, "labels", [row[1] for row in rows])
    # Phrases ("93.1% of 1,234") wrap between words, so the table fits 80 columns.
    # The center rates are of the images shared with others (the classes column: all of theirs).
    for heading in ("classes", *([f"{center} vs others, shared images"] if center else []), "agrees with consensus"):
        _text_column(table, heading)
    _text_column(table, "flip checks")
    for row in rows:
        table.add_row(*row)
    return table


def _profile_row(p: AnnotatorProfile) -> list[str]:
    shares = "  ".join(f"{c} {100 * n / p.labels:.0f}%" for c, n in p.class_counts.items()) if p.labels else ""
    diff = p.center_difference
    strictness = (
        # The rates to the difference's decimal: "-1.9 pts (56% vs 57%)" read as a sum gone wrong.
        "n/a" if diff is None else f"{diff:+.1f} pts ({100 * p.center_rate:.1f}% vs {100 * p.others_center_rate:.1f}%)"
    )
    consensus = (
        "n/a" if p.consensus_agreement is None else f"{_percent(p.consensus_agreement)} of {p.consensus_images:,}"
    )
    consistency = "no checks" if p.self_consistency is None else f"{_percent(p.self_consistency)} of {p.checks:,}"
    return [literal(p.annotator), f"{p.labels:,}", literal(shares), strictness, consensus, consistency]


def print_merge(run: MergeRun) -> None:
    console = output_console()
    result = run.result
    title = f"Merge with policy {result.policy.name}" + (" (dry run)" if run.dry_run else "")
    headings = ("images", "single", "compared", "agreed", "resolved", "reviewed", "open")
    rows = [
        [f"{value:,}" for value in (s.images, s.single, s.compared, s.agreed, s.resolved, s.reviewed, s.open)]
        for s in result.summary
    ]
    table = _table(title=literal(title), min_width=len(title))
    _text_column(table, "task")
    for j, heading in enumerate(headings):
        _number_column(table, heading, [row[j] for row in rows])
    for s, row in zip(result.summary, rows):
        table.add_row(literal(s.task), *row)
    if not _fits(table, console):  # a narrow terminal: one row per task and count, nothing squeezed
        table = _table(title=literal(title), min_width=len(title))
        _text_column(table, "task")
        _text_column(table, "images")
        _number_column(table, "count", [value for row in rows for value in row])
        for s, row in zip(result.summary, rows):
            for heading, value in zip(headings, row):
                table.add_row(literal(s.task), "all" if heading == "images" else heading, value)
    console.print(_fit(table, console))
    console.print(
        "single: one annotator, whose label stands (reviewed or not); agreed: all gave the same label; "
        "resolved: by the policy; reviewed: a person decided the conflict; open: waits for review",
        style="dim",
    )
    if not any(s.compared for s in result.summary):
        console.print("Nothing to merge: no image was labelled by two annotators.")
    verb = ("would write", "would withdraw") if run.dry_run else ("wrote", "withdrew")
    if result.policy.name == "review" and not run.written and not run.withdrawn and not run.unchanged:
        # The review policy writes nothing of its own: agreed labels already stand and
        # conflicts already wait in the review queue (the walkthrough read "wrote 0" as a fault).
        console.print("Nothing to write: agreed labels stand and conflicts wait for a person.")
    elif result.policy.name == "review":
        # The walkthrough of helper-68: "Wrote 0 merge decision(s) as merge:review; withdrew 97
        # earlier one(s)" did not say that yesterday's dawid-skene merge was undone.
        again = ""
        if run.redo is not None:  # quoted, with its tasks (attack pass 34: `prefer:$(id)` ran as typed)
            its = f"its {run.redo.count:,}" if len(run.withdrawn_from) > 1 else "them"
            again = f" ({literal(redo_command(run.redo))} decides {its} again)"
        console.print(
            f"{verb[1].capitalize()} {withdrawn_text(run.withdrawn_from)}: their conflicts "
            + ("would wait" if run.dry_run else "wait")
            + f" for a person again{again}."
        )
    else:
        others = {name: n for name, n in run.withdrawn_from.items() if name != merge_annotator(result.policy)}
        console.print(
            f"{verb[0].capitalize()} {counted(run.written, 'merge decision')} as merge:{literal(result.policy.name)}; "
            f"{verb[1]} {counted(run.withdrawn, 'earlier one')}"
            + (f" ({withdrawn_text(others)})" if others else "")
            + f"; {run.unchanged:,} unchanged."
        )
    for task, estimate in result.confusion.items():
        console.print(_fit(_accuracy_table(task, estimate), console))
    for note in result.notes:
        console.print(f"[yellow]{literal(note)}[/]")
    waiting = sum(s.open for s in result.summary)
    if waiting:  # a dry run's say what would wait (helper-71)
        wait = "would wait" if run.dry_run else "wait"
        next_step(
            "celeba label --queue review",
            f"{counted(waiting, 'conflict')} {wait if waiting != 1 or run.dry_run else 'waits'} for a person",
        )


def redo_command(redo: Redo) -> str:
    """`celeba merge --policy POLICY -t TASK`: the merge that decides again, quoted for a shell."""
    return (
        f"celeba merge --policy {shlex.quote(redo.policy)}"
        + "".join(f" -t {shlex.quote(t)}" for t in redo.tasks)
        + (f" --min-confidence {redo.min_confidence:g}" if redo.min_confidence else "")
    )


def withdrawn_text(withdrawn_from: dict[str, int]) -> str:
    """`97 decisions of merge:dawid-skene`, whose withdrawn merge decisions, most first. Pure."""
    by_most = sorted(withdrawn_from.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{counted(n, 'decision')} of {literal(name)}" for name, n in by_most)


def _accuracy_table(task: str, estimate: dict) -> Table:
    """Dawid-Skene's estimate of how often each annotator gives the true class, per class."""
    title = f"{task}: Dawid-Skene P(says the true class)"
    table = _table(title=literal(title), min_width=len(title))  # the title on one line (helper-77)
    rows = {
        name: [f"{matrix[i][i]:.2f}" for i in range(len(matrix))] for name, matrix in estimate["annotators"].items()
    }
    _text_column(table, "annotator")
    for j, name in enumerate(estimate["classes"]):
        _number_column(table, name, [row[j] for row in rows.values()])
    for name, row in rows.items():
        table.add_row(literal(name), *row)
    return table
