"""`celeba train --start-from RUN`: begin from another run's weights instead of random ones.

The real photographs' limit is how many different people a model has seen
(docs/label-quality.md, "Real photographs"); `celeba synth` renders as many as asked, each
with its true angles. A network trained on renders' true classes is a better starting
point for few human labels than random weights (eighteenth round there: precision at 80%
coverage 0.918 -> 0.948 over four seeds). The run named is read like any other (a
selector, a run id or a run directory), its checkpoint weights-only; it must be of the
architecture being trained. Every tensor whose name and shape fit is taken (the output
layer too where the outputs agree); the rest start fresh, as they would without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError

if TYPE_CHECKING:
    from torch import nn

SHOWN_FRESH = 4  # names of tensors left fresh shown in the progress line


@dataclass(frozen=True)
class StartingPoint:
    """The weights of the run a training starts from, checked, and where they came from."""

    run_path: Path
    run_id: str
    task: str
    architecture: str
    state: dict


@dataclass(frozen=True)
class Started:
    """What a module took from a starting point: the names it took and the ones left fresh."""

    taken: tuple[str, ...]
    fresh: tuple[str, ...]

    def line(self, start: StartingPoint) -> str:
        """What the run starts from, for the progress output."""
        shown = ", ".join(self.fresh[:SHOWN_FRESH]) + (" ..." if len(self.fresh) > SHOWN_FRESH else "")
        fresh = f"; fresh: {shown}" if self.fresh else ""
        return (
            f"starting from run {start.run_id} ({start.task}): "
            f"{len(self.taken)} of {len(self.taken) + len(self.fresh)} tensors{fresh}"
        )

    def record(self, start: StartingPoint) -> dict:
        """config.json's `started_from`."""
        return {
            "run": str(start.run_path),
            "run_id": start.run_id,
            "task": start.task,
            "tensors": f"{len(self.taken)}/{len(self.taken) + len(self.fresh)}",
        }


def read_starting_point(text: str, runs_dir: Path, architecture, n_classes: int) -> StartingPoint:
    """The run `text` names (as every RUN argument), if it is a run of `architecture` with a
    readable weights-only checkpoint of finite tensors, some of which fit the network it
    builds for `n_classes`; else a CelebaError (before any work)."""
    import torch

    from celeba_tui.models.model_io import read_checkpoint
    from celeba_tui.training.run_selection import resolve_run

    run = resolve_run(text, runs_dir)
    name = architecture.name
    if run.architecture != name:
        raise CelebaError(
            f"--start-from {text}: run {run.run_id} is a {run.architecture} run; "
            f"start {name} from a {name} run (train one with -p {name})"
        )
    state = read_checkpoint(run.checkpoint)
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CelebaError(f"{run.checkpoint}: entry {key!r} is not a named tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CelebaError(f"{run.checkpoint}: tensor {key!r} holds NaN or infinite weights")
    start = StartingPoint(run.path.resolve(), run.run_id, run.task, run.architecture, state)
    fitting(architecture.build(n_classes), start)
    return start


def fitting(module: nn.Module, start: StartingPoint) -> dict:
    """The tensors of `start` whose name, shape and kind fit `module`; a CelebaError when none
    does (the run's network has nothing in common with this one)."""
    own = module.state_dict()
    fits = {
        name: value
        for name, value in start.state.items()
        if name in own and own[name].shape == value.shape and own[name].is_floating_point() == value.is_floating_point()
    }
    if not fits:
        raise CelebaError(
            f"--start-from {start.run_id}: none of its {len(start.state)} tensors fit this {start.architecture} "
            "network (was the plugin changed since?)"
        )
    return fits


def start_from(module: nn.Module, start: StartingPoint) -> Started:
    """Load into `module` every tensor of `start` that fits it (see `fitting`)."""
    fits = fitting(module, start)
    module.load_state_dict(fits, strict=False)
    return Started(tuple(sorted(fits)), tuple(sorted(set(module.state_dict()) - set(fits))))
