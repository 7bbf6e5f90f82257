"""Rich rendering of `celeba stats`, readable at any width from 80 columns.

Numbers and names are never cut. Each table is tried in layouts from the widest to the
narrowest, and the first that fits the console is printed:

1. per task: the `classes` and `status` lists on one line each;
2. the lists one entry per line;
3. the lists in tables of their own (task, class, images; task, status, images).

The per-annotator table has a column per task, or, when that does not fit, a row per
(annotator, task). Should a single name be wider than the console, it folds onto the
next line rather than losing characters.
"""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from celeba_tui.console import literal, output_console
from celeba_tui.store.stats import BUCKETS

LISTS = ("classes", "status")


def print_stats(data: dict, console: Console | None = None) -> None:
    console = console or output_console()
    console.print(f"[bold]{data['images']:,}[/] images in {literal(data['image_root'])}")
    for table in _first_fitting(console, _bucket_layouts("Current labels per task", data["tasks"])):
        console.print(table)
    absent = data["images_not_in_root"]
    if absent:
        console.print(f"{absent:,} {'image' if absent == 1 else 'images'} in the store but not in the image root:")
        for table in _first_fitting(console, _bucket_layouts("Images not in the image root", data["not_in_root"])):
            console.print(table)
    if data["annotators"]:
        for table in _first_fitting(console, _annotator_layouts(data["annotators"], list(data["tasks"]))):
            console.print(table)
    if data["sources"]:
        tasks = list(data["tasks"])
        # Said so (helper-77), under the title (helper-91: "light, orientation together" read as a stray line).
        caption = f"counted over {', '.join(tasks)}" if len(tasks) > 1 else ""
        # A row per source (helper-87: a column each, stretched to the title's width, read sparse).
        table = _table("Live labels per source")
        table.caption, table.min_width = literal(caption) or None, max(table.min_width or 0, len(caption))
        table.add_column("source", no_wrap=True)
        table.add_column("labels", justify="right", no_wrap=True)
        for source, count in data["sources"].items():
            table.add_row(literal(source), f"{count:,}")
        console.print(table)
    for line in lapsed_lines(data.get("lapsed_merge_decisions") or {}, data["annotators"]):
        console.print(line)


def lapsed_lines(lapsed: dict[str, dict[str, int]], annotators) -> list[str]:
    """Per merge annotator: its decisions that lapsed (people answered on their images
    since, so they no longer count) and what decides them again: its policy where it runs
    on the `annotators` with live labels now (apply_merge.redo_merge), else people, in the
    review queue (the review policy's, or a `prefer:NAME` whose NAME has no labels now)."""
    if not lapsed:
        return []
    from celeba_tui.agreement.apply_merge import redo_merge
    from celeba_tui.cli.merge_view import redo_command

    lines = []
    for name, per_task in lapsed.items():
        n = sum(per_task.values())
        tasks = ", ".join(f"{literal(task)} {k:,}" for task, k in per_task.items())
        found = redo_merge(name, per_task, annotators)
        redo = "celeba label --queue review" if found is None else redo_command(found)
        one = n == 1
        lines.append(
            f"{n:,} {'decision' if one else 'decisions'} of {literal(name)} ({tasks}) no longer "
            f"{'counts' if one else 'count'}: people answered on {'its image' if one else 'their images'} since; "
            f"[bold]{literal(redo)}[/] decides {'it' if one else 'them'} again"
        )
    return lines


def _table(title: str) -> Table:
    """A table at least as wide as its title, so the title stays on one line."""
    return Table(title=literal(title), min_width=len(title))


def _fits(console: Console, table: Table) -> bool:
    # Measured without the console's limit: a measurement is clamped to the room it is given.
    unbounded = console.options.update_width(1_000_000)
    return Measurement.get(console, unbounded, table).maximum <= console.width


def _first_fitting(console: Console, layouts: list[list[Table]]) -> list[Table]:
    """The first layout whose every table fits the console's width; else the last (it folds names)."""
    for tables in layouts:
        if all(_fits(console, t) for t in tables):
            return tables
    return layouts[-1]


def _list_text(counts: dict[str, int], *, skip_zero: bool, separator: str) -> str:
    return separator.join(f"{literal(k)} {n:,}" for k, n in counts.items() if n or not skip_zero)


def _bucket_layouts(title: str, tasks: dict[str, dict]) -> list[list[Table]]:
    layouts = []
    for separator in ("  ", "\n"):
        table = _bucket_table(title, LISTS)
        for name, task in tasks.items():
            table.add_row(
                literal(name),
                *(f"{task[b]:,}" for b in BUCKETS),
                _list_text(task["classes"], skip_zero=False, separator=separator),
                _list_text(task["status"], skip_zero=True, separator=separator),
            )
        layouts.append([table])
    main = _bucket_table(title, ())
    for name, task in tasks.items():
        main.add_row(literal(name), *(f"{task[b]:,}" for b in BUCKETS))
    lists = [
        _long_table(f"{title}: classes", "class", {name: task["classes"] for name, task in tasks.items()}),
        _long_table(f"{title}: status", "status", {name: task["status"] for name, task in tasks.items()}, zeros=False),
    ]
    layouts.append([main, *lists])
    # Narrower still (COLUMNS=40): the buckets a row each too, so the task column keeps its room.
    buckets = {name: {bucket: task[bucket] for bucket in BUCKETS} for name, task in tasks.items()}
    layouts.append([_long_table(title, "state", buckets), *lists])
    return layouts


def _long_table(title: str, heading: str, counts: dict[str, dict[str, int]], *, zeros: bool = True) -> Table:
    """One row per task and item (a class, a status, a bucket) with its count; zero counts
    only with `zeros` (a class nobody chose is worth seeing, a status nobody has is not)."""
    table = _table(title)
    table.add_column("task", overflow="fold")
    table.add_column(heading, overflow="fold")
    table.add_column("images", justify="right", no_wrap=True)
    for name, items in counts.items():
        for item, n in items.items():
            if n or zeros:
                table.add_row(literal(name), literal(item), f"{n:,}")
    return table


def _bucket_table(title: str, lists: tuple[str, ...]) -> Table:
    table = _table(title)
    table.add_column("task", overflow="fold")
    for bucket in BUCKETS:
        table.add_column(bucket, justify="right", no_wrap=True)
    for key in lists:
        table.add_column(key, overflow="fold")
    return table


def _annotator_layouts(annotators: dict[str, dict[str, int]], tasks: list[str]) -> list[list[Table]]:
    wide = _table("Labels per annotator")
    wide.add_column("annotator", overflow="fold")
    for task in tasks:
        wide.add_column(literal(task), justify="right", no_wrap=True)
    long = _table("Labels per annotator")
    long.add_column("annotator", overflow="fold")
    long.add_column("task", overflow="fold")
    long.add_column("labels", justify="right", no_wrap=True)
    for name, counts in sorted(annotators.items()):
        wide.add_row(literal(name), *(f"{counts.get(t, 0):,}" for t in tasks))
        for task in tasks:
            long.add_row(literal(name), literal(task), f"{counts.get(task, 0):,}")
    return [[wide], [long]]
