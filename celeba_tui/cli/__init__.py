"""`celeba` command line. Each `*_commands` module registers its commands on `app`."""

from __future__ import annotations

# Ctrl-C while the commands load (a second or so of imports) exits as it does later: 130,
# no traceback.
try:
    from celeba_tui.cli import (
        annotator_commands,  # noqa: F401  (registers commands)
        browse_commands,  # noqa: F401  (registers commands)
        cycle_commands,  # noqa: F401  (registers commands)
        demo_commands,  # noqa: F401  (registers commands)
        help_command,  # noqa: F401  (registers commands)
        label_commands,  # noqa: F401  (registers commands)
        merge_commands,  # noqa: F401  (registers commands)
        onnx_commands,  # noqa: F401  (registers commands)
        plugin_commands,  # noqa: F401  (registers commands)
        synth_commands,  # noqa: F401  (registers commands)
        train_commands,  # noqa: F401  (registers commands)
        workspace_commands,  # noqa: F401  (registers commands)
    )
    from celeba_tui.cli.app import app
except KeyboardInterrupt:
    raise SystemExit(130) from None


def main() -> None:
    # One name however it is started (`celeba`, `python -m celeba_tui`, `torchrun -m celeba_tui`):
    # usage lines, "Try 'celeba train -h'" and --show-completion's script all say `celeba`.
    try:
        app(prog_name="celeba")
    except KeyboardInterrupt:  # before click's own handling starts (building the commands)
        raise SystemExit(130) from None
