"""Workspace commands: init, scan, import, export, stats."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, WorkspaceOption, app, open_workspace, print_json, warn


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    images: Annotated[Path, typer.Option("--images", help="Image root: a folder of images, or a CelebA folder with img_align_celeba/.")],
    json_output: JsonOption = False,
) -> None:
    """Create a workspace for an image folder and register its images."""
    from celeba_tui.images import detect_layout
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace

    layout = detect_layout(images)
    workspace = create_workspace(directory, layout.image_root)
    with workspace.open_store(create=True) as store:
        result = register_images(store, workspace.image_root)
    summary = {
        "workspace": str(workspace.path),
        "image_root": str(workspace.image_root),
        "layout": layout.kind,
        "celeba_files": {k: str(v) for k, v in layout.files.items()},
        "images": result.total,
        "skipped": len(result.skipped),
        "tasks": {t.name: list(t.classes) for t in workspace.tasks},
    }
    if json_output:
        print_json(summary)
        return
    typer.echo(f"Created workspace {workspace.path}")
    typer.echo(f"  images: {result.total:,} in {workspace.image_root} ({layout.kind} layout)")
    for task in workspace.tasks:
        typer.echo(f"  task {task.name}: {', '.join(task.classes)}")
    _report_skipped(result.skipped)
    typer.echo(f"Next: cd {workspace.path} && celeba label")


@app.command()
def scan(workspace: WorkspaceOption = None, json_output: JsonOption = False) -> None:
    """Re-scan the image root: register new images, mark vanished ones (labels are kept)."""
    from celeba_tui.store.registration import register_images

    ws = open_workspace(workspace)
    with ws.open_store() as store:
        result = register_images(store, ws.image_root)
    if json_output:
        print_json({"images": result.total, "new": result.new, "skipped": result.skipped})
        return
    typer.echo(f"{result.total:,} images in {ws.image_root} ({result.new:,} new)")
    _report_skipped(result.skipped)


@app.command("import")
def import_command(
    files: Annotated[list[Path], typer.Argument(help="Label files: the study's one-hot CSV, long CSV, Parquet, or another store (.sqlite).")],
    annotator: Annotated[Optional[str], typer.Option(help="Annotator name (default: from the file, else its name without suffix).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, onehot, long, parquet or store.")] = "auto",
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import labels; each file is all or nothing, and a bad line names file and line."""
    from celeba_tui.formats.importing import import_labels

    ws = open_workspace(workspace)
    reports = []
    with ws.open_store() as store:
        for path in files:
            reports.append(import_labels(store, ws, path, fmt=fmt, annotator=annotator))
    if json_output:
        print_json([vars(r) for r in reports])
        return
    for report in reports:
        typer.echo(
            f"{report.path}: {report.format}, {report.rows:,} labels for {report.images:,} images "
            f"by {', '.join(report.annotators)} ({report.written:,} new)"
        )
        for task, counts in report.per_task.items():
            typer.echo(f"  {task}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if report.unknown_images:
            warn(f"{report.unknown_images:,} labelled images of {report.path} are not in the image root (labels kept)")


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="onehot (the study's CSV), long (CSV) or parquet.")] = "long",
    out: Annotated[Optional[Path], typer.Option("--out", help="Output file (default: stdout).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only these sources, comma-separated: human,review,model,import.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Export labels (onehot: current labels; long/parquet: every annotator's labels)."""
    from celeba_tui.formats.exporting import export_labels, parse_sources

    ws = open_workspace(workspace)
    with ws.open_store() as store:
        rows = export_labels(store, ws, fmt, out if out is not None else sys.stdout, parse_sources(source))
    if out is not None:
        typer.echo(f"wrote {rows:,} rows to {out}", err=True)


@app.command()
def stats(workspace: WorkspaceOption = None, json_output: JsonOption = False) -> None:
    """Images, labelled and unlabelled per task, per class, per annotator, per source."""
    from celeba_tui.store.stats import store_stats

    ws = open_workspace(workspace)
    with ws.open_store() as store:
        data = store_stats(store, ws)
    if json_output:
        print_json(data)
        return
    from celeba_tui.cli.stats_view import print_stats

    print_stats(data)


def _report_skipped(skipped: list[tuple[str, str]]) -> None:
    if skipped:
        warn(f"skipped {len(skipped)} path(s), e.g. {skipped[0][0]}: {skipped[0][1]}")
