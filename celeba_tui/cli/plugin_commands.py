"""`celeba plugins`, `celeba summary` and `celeba preview`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from celeba_tui.cli.app import JsonOption, app, open_workspace, print_json, warn
from celeba_tui.errors import CelebaError
from celeba_tui.workspace import MAX_CLASSES


@app.command("plugins", short_help="List architectures and preprocessing ops.")
def plugins_command(
    include_builtins: Annotated[bool, typer.Option("--all", help="Include the built-in plugins.")] = False,
    json_output: JsonOption = False,
) -> None:
    """List the architectures and preprocessing ops there are, and the plugins that add them.

    \b
    Example: celeba plugins --all
    """
    from celeba_tui.console import printable
    from celeba_tui.plugins import list_architectures, list_preprocess_ops, plugin_listing, plugin_load_errors

    listing = plugin_listing(include_builtins)
    errors = plugin_load_errors()
    architectures, ops = list_architectures(), list_preprocess_ops()
    if json_output:
        print_json(
            {
                "architectures": architectures,
                "preprocess_ops": ops,
                "plugins": listing,
                "load_errors": [asdict(error) for error in errors],
            }
        )
        return
    typer.echo(printable(f"Architectures (celeba train --plugin NAME): {', '.join(architectures)}"))
    typer.echo(printable(f"Preprocessing ops (--preprocess SPEC): {', '.join(ops)}"))
    typer.echo("")
    if not listing:
        typer.echo("No third-party plugins installed (--all lists the built-in ones).")
    for entry in listing:
        version = f" {entry['version']}" if entry["version"] else ""
        typer.echo(printable(f"{entry['name']}{version}  ({entry['source']}: {entry['module']})"))
        typer.echo(printable(f"  hooks: {', '.join(entry['hooks']) or '-'}"))
        for key, label in (("architectures", "architectures"), ("preprocess_ops", "preprocessing ops")):
            if entry[key]:
                typer.echo(printable(f"  {label}: {', '.join(entry[key])}"))
    for error in errors:
        warn(f"{error} (left out)")


@app.command("summary", short_help="Show an architecture's layers (Keras-style).")
def summary_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Architecture name (see `celeba plugins --all`).")],
    num_classes: Annotated[
        int, typer.Option("--classes", min=2, max=MAX_CLASSES, metavar="N", help="Number of output classes.")
    ] = 3,
    json_output: JsonOption = False,
) -> None:
    """Keras-style table of an architecture's layers, output shapes and parameter counts."""
    from celeba_tui.models.summary import format_summary, summarize
    from celeba_tui.plugins import get_architecture

    summary = summarize(get_architecture(name), num_classes)
    if json_output:
        print_json(summary.to_dict())
    else:
        typer.echo(format_summary(summary))


MAX_PREVIEW_PANELS = 12


@app.command("preview", short_help="Render an image under preprocessing pipelines.")
def preview_command(
    image: Annotated[
        Path, typer.Argument(metavar="FILE", help="Image file to preview (or an image's name in the workspace).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="PNG", help="PNG file to write.")],
    specs: Annotated[
        Optional[list[str]],
        typer.Option(
            "--preprocess",
            "-p",
            metavar="SPEC",
            help="A preprocessing spec per panel, e.g. resize:64,contrast:1.5 "
            "(repeatable; default: blur, contrast:1.5, binarize, resize:64).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Render the study's Figure 2: an image under several preprocessing pipelines."""
    from celeba_tui.atomic import check_output_path, protect
    from celeba_tui.images import ImageDecodeError, decode_full
    from celeba_tui.models.preview_figure import DEFAULT_PREVIEW_SPECS, preview_panels, render_preview
    from celeba_tui.plugins import parse_spec

    try:  # a workspace in reach protects its image root (a PNG there is queued as a face)
        ws = open_workspace(None)
    except CelebaError:
        ws = None  # preview needs no workspace
    if ws is not None and not image.is_file():  # an image name as `label --image` takes it
        named = ws.image_root / image
        if named.resolve().is_relative_to(ws.image_root.resolve()) and named.is_file():
            image = named
    protect(image, "the image being previewed")  # `-o` the input itself would destroy it
    out = check_output_path(out)
    if specs and len(specs) > MAX_PREVIEW_PANELS:
        raise CelebaError(f"at most {MAX_PREVIEW_PANELS} --preprocess panels in one figure; got {len(specs)}")
    pipelines = [parse_spec(spec) for spec in (specs or DEFAULT_PREVIEW_SPECS)]
    if not image.is_file():
        raise CelebaError(f"image {image} does not exist or is not a file")
    try:
        pixels = decode_full(image)
    except ImageDecodeError as exc:
        raise CelebaError(f"cannot decode {image}: {exc}") from None
    panels = preview_panels(pixels, pipelines)
    render_preview(panels, out, title=image.name)
    if json_output:
        print_json({"out": str(out), "image": str(image), "panels": [title for title, _ in panels]})
    else:
        typer.echo(f"wrote {out} ({len(panels)} panels)")
