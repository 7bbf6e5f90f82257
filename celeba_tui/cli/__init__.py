"""`celeba` command line. Each `*_commands` module registers its commands on `app`."""

from __future__ import annotations

from celeba_tui.cli import workspace_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import annotator_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import plugin_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import label_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import merge_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import train_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import onnx_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import synth_commands  # noqa: F401  (registers commands)
from celeba_tui.cli import demo_commands  # noqa: F401  (registers commands)
from celeba_tui.cli.app import app


def main() -> None:
    app()
