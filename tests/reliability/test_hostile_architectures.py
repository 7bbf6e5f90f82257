"""A plugin's network that breaks the architecture contract, or a run whose loss stops
being a number: one `error:` line naming the architecture, and no finished run (attack
pass 35: tracebacks, half-made run folders, a NaN run that ended as `latest`)."""

from __future__ import annotations

import contextlib

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from reliability.store_files import final_error_line

from training_data import build_tiny


def _returns_text(num_classes):
    return "a network"


def _raises(num_classes):
    raise RuntimeError("the plugin's own bug")


def _no_parameters(num_classes):
    from torch import nn

    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


def _wrong_width(num_classes):
    return build_tiny(num_classes + 1)


def _integers(num_classes):
    from torch import nn

    class Argmax(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = build_tiny(num_classes)

        def forward(self, x):
            return self.inner(x).argmax(1, keepdim=True).expand(-1, num_classes)

    return Argmax()


def _exits(num_classes):
    raise SystemExit(0)


def _breaks_when_training(num_classes):
    from torch import nn

    class Fussy(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = build_tiny(num_classes)

        def forward(self, x):
            if self.training:
                raise ValueError("[red]only[/] in train mode\nsecond line")
            return self.inner(x)

    return Fussy()


def _without_gradients(num_classes):
    import torch
    from torch import nn

    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = build_tiny(num_classes)

        def forward(self, x):
            with torch.no_grad():
                return self.inner(x)

    return Frozen()


def _not_a_number(num_classes):
    from torch import nn

    class Poisoned(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = build_tiny(num_classes)

        def forward(self, x):
            return self.inner(x) * float("nan") if self.training else self.inner(x)

    return Poisoned()


BROKEN = {
    "h_text": (_returns_text, "build(3) returned str, not a torch.nn.Module"),
    "h_raises": (_raises, "build(3) raised RuntimeError: the plugin's own bug"),
    "h_noparams": (_no_parameters, "its network has no trainable parameters"),
    "h_width": (_wrong_width, "gave a float32 tensor of shape (2, 4)"),
    "h_integers": (_integers, "gave a int64 tensor of shape (2, 3)"),
    # Attack pass 36: these passed a probe in eval mode only.
    "h_exits": (_exits, "build(3) raised SystemExit: 0"),
    "h_training": (
        _breaks_when_training,
        "failed on a batch of 2 images of 16x16: ValueError: [red]only[/] in train mode",
    ),
    "h_nograd": (_without_gradients, "its output in train mode needs no gradient: it cannot learn"),
}


class HostilePlugin:
    from celeba_tui.hookspecs import hookimpl

    @hookimpl
    def register_architectures(self, register):
        from celeba_tui.architecture import Architecture

        for name, (build, _) in {**BROKEN, "h_nan": (_not_a_number, "")}.items():
            register(Architecture(name, build, 16, defaults={"epochs": 2, "batch_size": 8, "lr": 0.01}))


@contextlib.contextmanager
def hostile_plugin():
    from celeba_tui.plugins import get_plugin_manager

    manager, plugin = get_plugin_manager(), HostilePlugin()
    manager.register(plugin, name="hostile")
    try:
        yield
    finally:
        manager.unregister(plugin)


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_network_that_breaks_the_contract_is_one_line_before_any_run_folder(labelled_workspace, name):
    workspace = labelled_workspace
    with hostile_plugin():
        result = CliRunner().invoke(app, ["train", "-w", str(workspace.path), "-p", name, "-t", "light"])
        line = final_error_line(result)
        assert f"architecture {name} (plugin hostile): " in line and BROKEN[name][1] in line, line
        assert not workspace.runs_dir.exists() or not any(workspace.runs_dir.iterdir())
        summary = CliRunner().invoke(app, ["summary", name])
        assert final_error_line(summary) == line


def test_a_run_whose_loss_is_no_number_stops_unfinished(labelled_workspace, one_thread):
    workspace = labelled_workspace
    with hostile_plugin():
        result = CliRunner().invoke(app, ["train", "-w", str(workspace.path), "-p", "h_nan", "-t", "light"])
    line = final_error_line(result)
    assert line.startswith("error: training diverged in epoch 1: train loss nan") and "try a lower --lr" in line, line
    (run,) = workspace.runs_dir.iterdir()
    assert not (run / "summary.json").exists() and not (run / "best.pt").exists()
    assert "unfinished" in CliRunner().invoke(app, ["autolabel", "-w", str(workspace.path), "-m", "latest", "-t", "light"]).stderr  # fmt: skip


def test_an_architecture_name_leaves_room_for_its_runs_ids():
    # Attack pass 36: a 190-character name trained a run whose id no selector could load.
    from celeba_tui.architecture import Architecture
    from celeba_tui.models.run_files import RUN_ID_PATTERN

    longest = "a" * 100
    Architecture(longest, build_tiny, 16)
    with pytest.raises(ValueError, match="up to 100 lowercase letters"):
        Architecture(longest + "a", build_tiny, 16)
    assert RUN_ID_PATTERN.match(f"{'t' * 64}-{longest}-20261207-211800-999")  # as run_dir.create_run_dir spells it
