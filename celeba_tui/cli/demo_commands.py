"""`celeba demo`: the whole study on a synthetic CelebA."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from celeba_tui.cli.app import JsonOption, app, print_json


@app.command(short_help="Run the whole study on synthetic faces.")
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder for data, workspace, models and report.")
    ] = Path("demo-out"),
    quick: Annotated[bool, typer.Option("--quick", help="Fewer images and epochs (about 80 s on 2 cores).")] = False,
    seed: Annotated[
        int, typer.Option("--seed", metavar="N", help="Seed for the data, the annotators and training.")
    ] = 0,
    json_output: JsonOption = False,
) -> None:
    """Run the study end to end: render, label, merge, train, export, auto-label, report."""
    from celeba_tui.demo import run_demo

    result = run_demo(out, quick=quick, seed=seed)
    if json_output:
        print_json(result.to_dict())
