"""Rich rendering of `celeba stats`."""

from __future__ import annotations

from rich.table import Table

from celeba_tui.console import literal, output_console


def print_stats(data: dict) -> None:
    console = output_console()
    console.print(f"[bold]{data['images']:,}[/] images in {literal(data['image_root'])}")
    if data["images_not_in_root"]:
        console.print(f"{data['images_not_in_root']:,} labelled images are not in the image root")
    table = Table(title="Current labels per task")
    for column in ("task", "labelled", "unlabelled", "conflicts", "classes"):
        table.add_column(column, justify="left" if column in ("task", "classes") else "right")
    for name, task in data["tasks"].items():
        classes = "  ".join(f"{c} {n:,}" for c, n in task["classes"].items())
        table.add_row(
            literal(name),
            f"{task['labelled']:,}",
            f"{task['unlabelled']:,}",
            f"{task['conflicts']:,}",
            literal(classes),
        )
    console.print(table)
    if data["annotators"]:
        tasks = list(data["tasks"])
        by_annotator = Table(title="Labels per annotator")
        by_annotator.add_column("annotator")
        for task in tasks:
            by_annotator.add_column(literal(task), justify="right")
        for name, counts in sorted(data["annotators"].items()):
            by_annotator.add_row(literal(name), *(f"{counts.get(t, 0):,}" for t in tasks))
        console.print(by_annotator)
    if data["sources"]:
        console.print("By source: " + ", ".join(f"{literal(k)} {v:,}" for k, v in data["sources"].items()))
