"""`celeba train`: from a task's human labels to a finished run directory.

Order of work: resolve the architecture, task and preprocessing; gather the labels and
refuse unusable ones (before any training); split; fill the decoded-image cache; train
with early stopping; write the run. Under torchrun, rank 0 does the preparation and
all writing, the other ranks receive what it prepared.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from celeba_tui.errors import CelebaError
from celeba_tui.training import distributed
from celeba_tui.training.augment import AUGMENTATIONS
from celeba_tui.training.dataset import LabelledSet, check_trainable, human_labels, labelled_set, subsample
from celeba_tui.progress import SilentReporter



@dataclass
class TrainOptions:
    """What the user asked for; None means the architecture's default."""

    plugin: str
    task: str
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    device: str = "auto"
    augment: str = "flip"
    preprocess: str | None = None
    patience_acc: int | None = None
    patience_loss: int | None = None
    new_split: bool = False
    max_images: int | None = None
    decode_workers: int | None = None


@dataclass
class Prepared:
    """Rank 0's preparation, shared with the other ranks."""

    data: LabelledSet
    spec: str
    size: int
    decoded: int
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TrainResult:
    run_path: Path | None  # None on ranks other than 0
    config: dict
    summary: dict


def resolve_pipeline(architecture, spec: str | None):
    """The preprocessing pipeline for a run: the given spec (or the default), resized to the input size."""
    from celeba_tui.preprocess import parse_spec, with_default_size

    side = architecture.input_size
    pipeline = with_default_size(parse_spec(architecture.preprocess if spec is None else spec), side)
    if pipeline.size != (side, side):
        raise CelebaError(
            f"--preprocess {spec!r}: {architecture.name} takes {side}x{side} images; "
            f"use resize:{side} or leave the resize step out"
        )
    return pipeline


def hyper_parameters(architecture, options: TrainOptions) -> dict:
    """epochs, batch_size, lr and the patiences: the option if given, else the architecture's default."""
    defaults = architecture.defaults.to_dict()
    chosen = {name: (value if getattr(options, name) is None else getattr(options, name)) for name, value in defaults.items()}
    for name in ("epochs", "batch_size"):
        if chosen[name] < 1:
            raise CelebaError(f"--{name.replace('_', '-')} must be at least 1, not {chosen[name]}")
    if not chosen["lr"] > 0:
        raise CelebaError(f"--lr must be positive, not {chosen['lr']}")
    if chosen["patience_acc"] < 0 or chosen["patience_loss"] < 0:
        raise CelebaError("--patience-acc and --patience-loss must be 0 (off) or more epochs")
    return chosen


def plugin_description(architecture_name: str) -> str:
    """Which plugin registered an architecture, with its distribution's version if known."""
    import celeba_tui
    from celeba_tui.plugins import default_registry

    registry = default_registry()
    owner = registry.registrations().owners.get(("architectures", architecture_name), "unknown")
    origin = registry.origins.get(owner)
    if origin is None:
        return f"{owner} (registered at runtime)"
    if origin.builtin:
        return f"{owner} (built-in, celeba-tui {celeba_tui.__version__})"
    return f"{owner} ({origin.distribution or 'unknown distribution'} {origin.version or ''})".replace(" )", ")")


def prepare(workspace, task, pipeline, options: TrainOptions, reporter) -> Prepared:
    """Labels -> checks -> split -> cache. Raises CelebaError before any training if unusable."""
    from celeba_tui.training.cache import DecodedCache
    from celeba_tui.training.split import task_split

    with workspace.open_store() as store:
        labels, skipped = human_labels(store, task)
        check_trainable(labels["label"], task)
        split = task_split(workspace, task.name, labels, seed=options.seed, new=options.new_split)
        split = subsample(split, options.max_images, seed=options.seed)
        size = pipeline.size[0]
        cache = DecodedCache(workspace.cache_dir, size, pipeline.spec)
        todo = cache.missing(split["image"])
        advance = reporter.start_stage(f"decoding {len(todo):,} images", len(todo)) if todo else None
        update = cache.update(split["image"], workspace.image_root, workers=options.decode_workers, progress=advance)
        reporter.end_stage()
        if update.skipped:
            _record_problems(store, update.skipped)
    unreadable = {name for name, _ in update.skipped}
    usable = split[~split["image"].isin(unreadable)]
    skipped = skipped + update.skipped
    if unreadable:
        reporter.message(f"skipped {len(unreadable):,} labelled images that cannot be read (listed in summary.json)")
        check_trainable(usable["label"], task, where=f"after skipping {len(unreadable)} unreadable images")
    data = labelled_set(usable, task, skipped)
    for which in ("train", "val"):
        if len(data.indices(which)) == 0:
            raise CelebaError(f"task {task.name!r}: the {which} split is empty; label more images")
    return Prepared(data, pipeline.spec, size, update.decoded, skipped)


def _record_problems(store, skipped: list[tuple[str, str]]) -> None:
    """Note unreadable images in the store's problem list once (the TUI shows it)."""
    known = set(store.problems()[["image", "message"]].itertuples(index=False, name=None))
    for image, reason in skipped:
        if (image, reason) not in known:
            store.add_problem(image, "unreadable", reason, "train")


def _from_rank0(dist, produce):
    """Run `produce` on rank 0 and hand its result (or its user error) to every rank."""
    if not dist.enabled:
        return produce()
    payload = None
    if dist.is_main:
        try:
            payload = ("ok", produce())
        except CelebaError as exc:
            payload = ("error", str(exc))
            distributed.broadcast(dist, payload)
            raise
        except BaseException as exc:
            distributed.broadcast(dist, ("bug", repr(exc)))
            raise
    payload = distributed.broadcast(dist, payload)
    if payload[0] == "error":
        raise CelebaError(payload[1])
    if payload[0] == "bug":
        raise RuntimeError(f"rank 0 failed while preparing: {payload[1]}")
    return payload[1]


def train(workspace, options: TrainOptions, reporter=None) -> TrainResult:
    """Train one architecture on one task; returns where the run was written."""
    from celeba_tui.plugins import get_architecture
    from celeba_tui.training.loop import pick_device

    dist = distributed.from_environment()
    reporter = reporter if (reporter is not None and dist.is_main) else SilentReporter()
    architecture = get_architecture(options.plugin)
    task = workspace.task(options.task)
    if options.augment not in AUGMENTATIONS:
        raise CelebaError(f"unknown augmentation {options.augment!r} (one of {', '.join(AUGMENTATIONS)})")
    if options.max_images is not None and options.max_images < 1:
        raise CelebaError(f"--max-images must be at least 1, not {options.max_images}")
    pipeline = resolve_pipeline(architecture, options.preprocess)
    hyper = hyper_parameters(architecture, options)
    device = pick_device(options.device, dist.local_rank)
    distributed.start(dist, device.type)
    try:
        prepared = _from_rank0(dist, lambda: prepare(workspace, task, pipeline, options, reporter))
        from celeba_tui.training.fit import fit

        return fit(workspace, architecture, task, prepared, hyper, options, device, dist, reporter)
    finally:
        reporter.close()
        distributed.stop(dist)


def run_config(
    run_id: str, workspace, architecture, task, prepared: Prepared, hyper: dict, options: TrainOptions, device, dist
) -> dict:
    """config.json of the run contract (plus the training settings that reproduce it)."""
    import celeba_tui
    from celeba_tui.models.model_io import NORMALISATION
    from celeba_tui.training.split import split_path

    return {
        "run_id": run_id,
        "architecture": architecture.name,
        "task": task.name,
        "classes": list(task.classes),
        "input_size": architecture.input_size,
        "preprocess": prepared.spec,
        "normalisation": NORMALISATION,
        **hyper,
        "seed": options.seed,
        "augment": options.augment,
        "split": str(split_path(workspace.splits_dir, task.name)),
        "plugin": plugin_description(architecture.name),
        "celeba_tui_version": celeba_tui.__version__,
        "aux_loss_weight": architecture.aux_loss_weight,
        "optimizer": "adam",
        "loss": "cross_entropy",
        "max_images": options.max_images,
        "device": str(device),
        "world_size": dist.world_size,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def copy_state(module) -> dict:
    """A CPU copy of a module's weights (the best epoch's, kept while training goes on)."""
    return {key: value.detach().to("cpu", copy=True) for key, value in module.state_dict().items()}


def majority_of(data: LabelledSet) -> float:
    from celeba_tui.training.metrics import majority_baseline

    return majority_baseline(data.labels[data.indices("train")], data.labels[data.indices("val")], len(data.classes))


def class_counts(data: LabelledSet, which: str) -> dict[str, int]:
    counts = np.bincount(data.labels[data.indices(which)], minlength=len(data.classes))
    return {name: int(n) for name, n in zip(data.classes, counts)}
