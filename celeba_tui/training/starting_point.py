"""`celeba train --start-from RUN`: begin from another run's weights instead of random ones.

The real photographs' limit is how many different people a model has seen
(docs/label-quality.md, "Real photographs"); `celeba synth` renders as many as asked, each
with its true angles. A network trained on renders' true classes is a better starting
point for few human labels than random weights (eighteenth round there: precision at 80%
coverage 0.918 -> 0.960 over four seeds). The run named is read like any other (a
selector, a run id or a run directory), its checkpoint weights-only; it must be of the
architecture being trained. Every tensor whose name and shape fit is taken; the rest
start fresh, as they would without it. The output layer is taken only where its outputs
mean this run's: the same classes (and landmark cues), in this run's order where the start
had them in another; a start whose classes are other names (`yes`/`no` against
`left`/`right`, as many of them) leaves it fresh, and the progress line says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError
from celeba_tui.models.network_contract import built_network

if TYPE_CHECKING:
    from torch import nn

SHOWN_FRESH = 4  # names of tensors left fresh shown in the progress line
# A start must fill more than this share of the network's tensors: fewer, and the run is of
# another network whatever its config.json says (a head and landmark cues differ: 2 of ~70).
MIN_SHARE_FITTING = 0.5


@dataclass(frozen=True)
class StartingPoint:
    """The weights of the run a training starts from, checked, and where they came from."""

    run_path: Path
    run_id: str
    task: str
    architecture: str
    state: dict
    named: str = ""  # as the user named it (--start-from), where that is not the run id
    outputs: tuple[str, ...] = ()  # what its network's outputs mean: its classes, then its landmark cues

    @property
    def shown(self) -> str:
        """How messages name it: as the user named it, with the run id its config.json
        claims (a copied or forged run folder must not read as the workspace's own run)."""
        from celeba_tui.console import printable

        if not self.named or self.named == self.run_id:
            return f"run {printable(self.run_id)}"
        return f"{printable(self.named)} (run {printable(self.run_id)})"

    @property
    def weights(self) -> str:
        """What the weights are, whatever the file's name or bytes (`weights_digest`)."""
        return weights_digest(self.state)


@dataclass(frozen=True)
class Started:
    """What a module took from a starting point: the names it took and the ones left fresh."""

    start: StartingPoint
    taken: tuple[str, ...]
    fresh: tuple[str, ...]
    outputs: str = ""  # what became of the output layer where the start's outputs mean others

    @property
    def tensors(self) -> int:
        return len(self.taken) + len(self.fresh)

    def line(self) -> str:
        """What the run starts from, for the progress output (another run's names, made printable)."""
        from celeba_tui.console import printable

        shown = ", ".join(self.fresh[:SHOWN_FRESH]) + (" ..." if len(self.fresh) > SHOWN_FRESH else "")
        fresh = f"; fresh: {shown}" if self.fresh else ""
        outputs = f" ({self.outputs})" if self.outputs else ""
        return (
            f"starting from {self.start.shown} ({printable(self.start.task)}): "
            f"{len(self.taken)} of {self.tensors} tensors{fresh}{outputs}"
        )

    def record(self) -> dict:
        """config.json's `started_from`."""
        return {
            "run": str(self.start.run_path),
            "run_id": self.start.run_id,
            "task": self.start.task,
            "tensors": f"{len(self.taken)}/{self.tensors}",
            "weights": self.start.weights,
        }


def weights_digest(state: dict) -> str:
    """The first 16 hex digits of a SHA-256 over a state dict's names, kinds, shapes and
    values in name order: the same weights give the same digest, in any file."""
    import hashlib

    import torch

    digest = hashlib.sha256()
    for name in sorted(state):
        value = state[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{value.dtype}\0{tuple(value.shape)}\0".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def resolve_start(text: str, runs_dir: Path, task: str):
    """The run `text` names: a selector (`best:ARCH`...) among the runs of `task`, the task
    being trained; a run id or folder whatever its task (a renders' run of another task too)."""
    from celeba_tui.training.run_selection import parse_selector, resolve_run

    return resolve_run(text, runs_dir, task if parse_selector(text) is not None else None)


def read_starting_point(text: str, runs_dir: Path, architecture, task) -> StartingPoint:
    """The run `text` names (`resolve_start`), checked by `check_start`."""
    return check_start(resolve_start(text, runs_dir, task.name), text, architecture, task)


def check_start(run, text: str, architecture, task) -> StartingPoint:
    """`run` (named `text`) as a start, if it is a run of `architecture` with a readable
    weights-only checkpoint of dense finite tensors, most of which fit the network it builds
    for `task`; else a CelebaError (before any work)."""
    from celeba_tui.models.model_io import read_checkpoint
    from celeba_tui.models.run_files import run_outputs

    name = architecture.name
    if run.architecture != name:
        raise CelebaError(
            f"--start-from {text}: run {run.run_id} is a {run.architecture} run; "
            f"start {name} from a {name} run (train one with -p {name})"
        )
    state = read_checkpoint(run.checkpoint)  # named dense tensors only (model_io.check_weight_tensor)
    outputs = run_outputs(run)
    start = StartingPoint(run.path.resolve(), run.run_id, run.task, run.architecture, state, text, outputs)
    fitting(built_network(architecture, len(task.classes), learning=False), start)  # shapes only: fit probes it all
    return start


def fitting(module: nn.Module, start: StartingPoint) -> dict:
    """The tensors of `start` whose name, shape and kind fit `module`, in `module`'s dtypes; a
    CelebaError when no more than MIN_SHARE_FITTING of the module's do (the run's network is
    another one), or when one holds NaN or infinities there (float64 past float32's range too)."""
    from celeba_tui.models.model_io import non_finite_tensor

    own = module.state_dict()
    fits = {
        name: value.to(own[name].dtype)
        for name, value in start.state.items()
        if name in own and own[name].shape == value.shape and own[name].is_floating_point() == value.is_floating_point()
    }
    if len(fits) <= MIN_SHARE_FITTING * len(own):
        raise CelebaError(
            f"--start-from {start.shown}: only {len(fits)} of its {len(start.state)} tensors fit "
            f"the {len(own)} of this {start.architecture} network (was it trained with another network, "
            "or the plugin changed since?)"
        )
    bad = non_finite_tensor(fits)
    if bad is not None:
        raise CelebaError(
            f"--start-from {start.shown}: tensor {bad!r} holds NaN or infinite weights "
            f"(as {str(own[bad].dtype).removeprefix('torch.')})"
        )
    return fits


def output_dimensions(own: dict, n_outputs: int, build) -> dict[str, int]:
    """The tensors of a network (its state dict `own`, built with `n_outputs`) that hold one
    slice per output, and the dimension they are sliced along: those whose shape changes
    when `build` makes it with one output more (output layers, an auxiliary head too). The
    probe's random weights leave the caller's random numbers where they were."""
    import torch

    with torch.random.fork_rng(devices=[]):
        wider = build(n_outputs + 1).state_dict()
    return {
        name: next(d for d, (a, b) in enumerate(zip(value.shape, wider[name].shape, strict=True)) if a != b)
        for name, value in own.items()
        if name in wider and wider[name].dim() == value.dim() and wider[name].shape != value.shape
    }


def matched_outputs(fits: dict, own: dict, theirs: tuple[str, ...], ours: tuple[str, ...], build) -> tuple[dict, str]:
    """`fits` with the output layer's tensors made to mean `ours`: as they are where the
    start's outputs are `ours`; reordered where they are `ours` in another order; left out
    (fresh) where they mean others. Also a few words on which, for the progress line ("" when
    they are the same). A start whose outputs are unknown (`()`) keeps them as they fit."""
    if not theirs or tuple(theirs) == tuple(ours):
        return fits, ""
    dims = {name: d for name, d in output_dimensions(own, len(ours), build).items() if name in fits}
    if not dims:
        return fits, ""
    from celeba_tui.console import printable

    fitting_order = all(fits[name].shape[d] == len(ours) for name, d in dims.items())
    if sorted(theirs) == sorted(ours) and len(set(ours)) == len(ours) and fitting_order:
        import torch

        order = torch.tensor([list(theirs).index(name) for name in ours])
        return fits | {name: fits[name].index_select(d, order) for name, d in dims.items()}, (
            "its outputs reordered to this run's: " + ", ".join(printable(name) for name in ours)
        )
    shown = ", ".join(printable(name) for name in theirs[:6]) + (" ..." if len(theirs) > 6 else "")
    kept = {name: value for name, value in fits.items() if name not in dims}
    return kept, f"output layer fresh: the start's outputs are {shown}"


def start_from(module: nn.Module, start: StartingPoint, outputs: tuple[str, ...], build) -> Started:
    """Load into `module` (built by `build` with `outputs`) every tensor of `start` that fits
    it (see `fitting`)."""
    fits, note = matched_outputs(fitting(module, start), module.state_dict(), start.outputs, outputs, build)
    module.load_state_dict(fits, strict=False)
    return Started(start, tuple(sorted(fits)), tuple(sorted(set(module.state_dict()) - set(fits))), note)
