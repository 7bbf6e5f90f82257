"""The epochs of one run: train, validate, stop early, keep the best weights, write the run."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from celeba_tui.errors import CelebaError
from celeba_tui.models.calibration import Calibration, calibration_line
from celeba_tui.training import distributed
from celeba_tui.training.dataset import LabelledSet

if TYPE_CHECKING:
    from celeba_tui.training.recipes import Recipe
    from celeba_tui.training.starting_point import StartingPoint
    from celeba_tui.training.trainer import TrainOptions
    from celeba_tui.workspace import Workspace


@dataclass
class Prepared:
    """Rank 0's preparation, shared with the other ranks."""

    data: LabelledSet
    spec: str
    size: int
    decoded: int
    skipped: list[tuple[str, str]] = field(default_factory=list)
    pseudo_labels: int = 0  # automatic labels added to the train split (--pseudo-labels)
    soft_targets: str | None = None  # how soft targets were made (--soft-targets), None: hard labels
    cue_relevance: float | None = None  # balanced accuracy of the landmark cues alone (None: no landmarks)
    # sha256 of the split file as this run read or wrote it (another run may replace it meanwhile).
    split_sha256: str | None = None


@dataclass(frozen=True)
class RunSummary:
    """How a run went (its best epoch's validation figures and the run's facts); `to_dict()` is summary.json."""

    best_epoch: int
    epochs_run: int
    val_acc: float
    val_loss: float
    val_balanced_acc: float
    val_macro_f1: float
    majority_baseline: float
    params_trainable: int
    params_non_trainable: int
    train_seconds: float
    images_per_s: float
    confusion: list[list[int]]
    n_train: int
    n_val: int
    skipped_images: list[dict[str, str]]
    train_loss: float
    train_acc: float
    stopped_early: str | None
    class_counts: dict[str, dict[str, int]]
    images_decoded: int
    # Softmax temperature fitted on the validation split (1.0: not calibrated), the bias
    # per class added to logits / temperature (None: none), and the expected calibration
    # error there before and after them.
    temperature: float = 1.0
    class_bias: list[float] | None = None
    val_ece: float | None = None
    val_ece_calibrated: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    run_path: Path | None  # None on ranks other than 0
    config: dict
    summary: RunSummary


def fit(
    workspace: Workspace,
    architecture,
    task,
    prepared: Prepared,
    hyper: dict,
    recipe: Recipe,
    options,
    device,
    amp_dtype,
    dist,
    reporter,
    start: StartingPoint | None = None,
) -> TrainResult:
    import sklearn.metrics  # noqa: F401  (imported now, not inside the first epoch's timing)
    import torch
    from torch.utils.data import DistributedSampler

    from celeba_tui.mirror import flip_description, mirror_map
    from celeba_tui.models.network_contract import built_network
    from celeba_tui.models.summary import parameter_counts
    from celeba_tui.training import run_dir
    from celeba_tui.training.cache import DecodedCache
    from celeba_tui.training.early_stopping import EarlyStopping
    from celeba_tui.training.loop import (
        Stepper,
        batch_stream,
        evaluate,
        prefetched,
        train_epoch,
        validation_logits,
    )
    from celeba_tui.training.metrics import scores
    from celeba_tui.training.trained_on import write_trained_on

    data = prepared.data
    cache = DecodedCache(workspace.cache_dir, prepared.size, prepared.spec)
    frames, rows = cache.array(), cache.rows(data.images)
    train_idx, val_idx = data.indices("train"), data.indices("val")
    n_classes = len(data.classes)
    mirror = mirror_map(data.classes) if "flip" in recipe.augment else None
    hyper, asked = few_labels_schedule(hyper, -(-len(train_idx) // dist.world_size), recipe, options, reporter)
    batch_size, epochs = hyper["batch_size"], hyper["epochs"]

    n_cues = 0 if data.cues is None else data.cues.shape[1]
    torch.manual_seed(options.seed)
    module = built_network(architecture, n_classes + n_cues)  # the plugin's contract checked: no run folder yet
    started = None
    if start is not None:
        from celeba_tui.models.landmark_cues import CUES
        from celeba_tui.training.starting_point import start_from

        outputs = (*data.classes, *(CUES if n_cues else ()))
        started = start_from(module, start, outputs, architecture.build)
    params_trainable, params_non_trainable = parameter_counts(module)
    # Channels-last matches the NHWC batches and is faster on CPUs too (~1.35x a step, docs/performance.md).
    module = module.to(device).to(memory_format=torch.channels_last)
    model = module
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    # The same sampler alone and under torchrun: each rank gets an equal, disjoint share per epoch.
    sampler = DistributedSampler(
        range(len(train_idx)), num_replicas=dist.world_size, rank=dist.rank, shuffle=True, seed=options.seed
    )
    stepper = Stepper(
        model,
        hyper["lr"],
        device,
        architecture.aux_loss_weight,
        eval_model=module,
        recipe=recipe,
        total_steps=epochs * -(-len(sampler) // batch_size),
        seed=options.seed,
        class_weights=balancing_weights(data.labels[train_idx], n_classes) if recipe.balance_classes else None,
        n_classes=n_classes if n_cues else None,
        cue_weight=recipe.landmark_cue_weight if n_cues else 0.0,
        amp_dtype=amp_dtype,
    )
    val_shard = distributed.shard(val_idx, dist)

    run_path, config = None, {}
    if dist.is_main:
        run_id, run_path = run_dir.create_run_dir(workspace.runs_dir, task.name, architecture.name)
        config = run_config(
            run_id, workspace, architecture, task, prepared, hyper, recipe, options, device, dist, amp_dtype
        )
        config["started_from"] = started.record() if started is not None else None
        if asked is not None:
            config["asked_schedule"] = asked  # what the options and recipe asked for, before few_labels_schedule
        run_dir.write_config(run_path, config)
        write_trained_on(run_path, [data.images[i] for i in data.indices("train")])
        reporter.message(
            f"training {architecture.name} on {task.name}: {len(train_idx):,} train / {len(val_idx):,} val images, "
            f"{epochs} epochs in batches of {batch_size}, {device}, run {run_path}"
        )
        if started is not None:
            reporter.message(started.line())
        if mirror is not None:
            reporter.message(flip_description(data.classes))

    stopper = EarlyStopping(hyper["patience_acc"], hyper["patience_loss"])
    history: list[dict] = []
    best_state, best_record, best_confusion, stop_reason = None, None, None, ""
    train_images, train_seconds = 0, 0.0
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)
        order = train_idx[np.fromiter(iter(sampler), dtype=np.int64)]
        rng = np.random.default_rng([options.seed, epoch, dist.rank])
        reporter.epoch_start(epoch, epochs, len(order) * dist.world_size)
        epoch_start = time.perf_counter()
        batches = batch_stream(
            frames, rows, data.labels, order, batch_size, mirror=mirror, rng=rng, cues=data.cues, targets=data.targets
        )
        totals = train_epoch(stepper, prefetched(batches), on_batch=lambda n: reporter.advance(n * dist.world_size))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_phase = time.perf_counter() - epoch_start
        val_loss_sum, val_count, confusion = evaluate(
            stepper, prefetched(batch_stream(frames, rows, data.labels, val_shard, batch_size)), n_classes
        )
        reduced = distributed.sum_across(
            dist,
            np.concatenate(
                [
                    [totals.loss_sum, totals.correct, totals.count, val_loss_sum, val_count],
                    confusion.ravel(),
                ]
            ),
        )
        confusion = reduced[5:].reshape(n_classes, n_classes).round().astype(np.int64)
        val_scores = scores(confusion)
        seconds = time.perf_counter() - epoch_start
        record = {
            "epoch": epoch,
            "train_loss": reduced[0] / reduced[2],
            "train_acc": reduced[1] / reduced[2],
            "val_loss": reduced[3] / reduced[4],
            "val_acc": val_scores["acc"],
            "val_balanced_acc": val_scores["balanced_acc"],
            "val_macro_f1": val_scores["macro_f1"],
            "seconds": seconds,
            "images_per_s": reduced[2] / train_phase,
        }
        train_images += int(reduced[2])
        train_seconds += train_phase
        history.append(record)
        if not (math.isfinite(record["train_loss"]) and math.isfinite(record["val_loss"])):
            if dist.is_main:
                run_dir.append_metrics(run_path, record)
            raise CelebaError(diverged_message(record, run_path, hyper["lr"]))
        decision = stopper.update(epoch, kept_score(record, recipe.keep_best_by), record["val_loss"])
        if decision.is_best:
            best_state, best_record, best_confusion = copy_state(module), record, confusion
            if dist.is_main:
                run_dir.save_checkpoint(run_path, best_state)
        if dist.is_main:
            run_dir.append_metrics(run_path, record)
        reporter.epoch_end(record, decision.is_best, decision.reason)
        if decision.stop:
            stop_reason = decision.reason
            break
    module.load_state_dict(best_state)
    calibration = Calibration()
    if recipe.calibrate:
        from celeba_tui.mirror import mirror_map
        from celeba_tui.models.calibration import calibrate

        logits, labels = validation_logits(stepper, batch_stream(frames, rows, data.labels, val_idx, batch_size))
        calibration = calibrate(logits, labels, bias=recipe.calibrate_bias, mirror=mirror_map(data.classes))
        reporter.message(calibration_line(calibration, data.classes))
    elapsed = time.perf_counter() - started

    summary = RunSummary(
        best_epoch=best_record["epoch"],
        epochs_run=len(history),
        val_acc=best_record["val_acc"],
        val_loss=best_record["val_loss"],
        val_balanced_acc=best_record["val_balanced_acc"],
        val_macro_f1=best_record["val_macro_f1"],
        majority_baseline=majority_of(data),
        params_trainable=params_trainable,
        params_non_trainable=params_non_trainable,
        train_seconds=elapsed,
        images_per_s=train_images / train_seconds if train_seconds else float("nan"),
        confusion=best_confusion.tolist(),
        n_train=int(len(train_idx)),
        n_val=int(len(val_idx)),
        skipped_images=[{"image": image, "reason": reason} for image, reason in prepared.skipped],
        train_loss=best_record["train_loss"],
        train_acc=best_record["train_acc"],
        stopped_early=stop_reason,
        class_counts={"train": class_counts(data, "train"), "val": class_counts(data, "val")},
        images_decoded=prepared.decoded,
        temperature=calibration.temperature,
        class_bias=None if calibration.bias is None else list(calibration.bias),
        val_ece=calibration.ece_before,
        val_ece_calibrated=calibration.ece_after,
    )
    if dist.is_main:
        run_dir.write_summary(run_path, summary.to_dict())
        title = f"{architecture.name} on {task.name}"
        run_dir.plot_curves(run_path / "curves.png", history, title, best_record["epoch"])
        run_dir.plot_confusion(
            run_path / "confusion.png",
            best_confusion,
            list(data.classes),
            f"{title}: validation, epoch {best_record['epoch']} (acc {best_record['val_acc']:.3f})",
        )
    return TrainResult(run_path, config, summary)


def diverged_message(record: dict, run_path: Path | None, lr: float) -> str:
    """Why a run stopped when its loss was no longer a number (attack pass 35: it went on,
    saved NaN weights as its best epoch and ended as a finished run). Pure."""
    where = f"; run {run_path} is left unfinished (its metrics.csv holds the epochs)" if run_path else ""
    return (
        f"training diverged in epoch {record['epoch']}: train loss {record['train_loss']:.4g}, "
        f"val loss {record['val_loss']:.4g}{where}; try a lower --lr (this run's peak: {lr:g})"
    )


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


def run_config(
    run_id: str,
    workspace: Workspace,
    architecture,
    task,
    prepared: Prepared,
    hyper: dict,
    recipe: Recipe,
    options: TrainOptions,
    device,
    dist,
    amp_dtype=None,
) -> dict:
    """config.json of the run contract (plus the training settings that reproduce it)."""
    import celeba_tui
    from celeba_tui.models.landmark_cues import CUES
    from celeba_tui.models.model_io import NORMALISATION
    from celeba_tui.training.recipes import asked_targets
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
        "recipe": recipe.name,
        "augment": ",".join(recipe.augment) or "none",
        "split": str(split_path(workspace.splits_dir, task.name)),
        "split_sha256": prepared.split_sha256,
        "plugin": plugin_description(architecture.name),
        "celeba_tui_version": celeba_tui.__version__,
        "aux_loss_weight": architecture.aux_loss_weight,
        "optimizer": recipe.optimizer,
        "schedule": recipe.schedule,
        "weight_decay": recipe.weight_decay,
        "loss": "cross_entropy" + (f" (label smoothing {recipe.label_smoothing:g})" if recipe.label_smoothing else ""),
        "calibrate": recipe.calibrate,
        "balance_classes": recipe.balance_classes,
        "landmark_cues": list(CUES) if prepared.data.cues is not None else [],
        "landmark_cue_weight": recipe.landmark_cue_weight if prepared.data.cues is not None else 0.0,
        "landmark_cue_relevance": prepared.cue_relevance,
        "max_images": options.max_images,
        "min_steps": recipe.min_steps,
        "soft_targets": prepared.soft_targets or "none",
        **asked_targets(options, recipe),
        "pseudo_labels": options.pseudo_labels,
        "pseudo_label_images": prepared.pseudo_labels,
        "device": str(device),
        "autocast": str(amp_dtype).removeprefix("torch.") if amp_dtype is not None else "none",
        "world_size": dist.world_size,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def few_labels_schedule(hyper: dict, n_train: int, recipe: Recipe, options, reporter) -> tuple[dict, dict | None]:
    """`hyper` with the recipe's minimum of optimiser steps over this run's `n_train` images (per
    process), and the schedule asked for where that changed it (None where it did not)."""
    from celeba_tui.console import counted
    from celeba_tui.training.recipes import SCHEDULE_KEYS, Schedule, with_min_steps

    given = {name for name in SCHEDULE_KEYS if getattr(options, name) is not None}
    wanted = Schedule(hyper["batch_size"], hyper["epochs"], hyper["lr"])
    chosen = with_min_steps(wanted, n_train, recipe.min_steps, given)
    if chosen == wanted:
        return hyper, None
    reporter.message(
        f"few labels: batches of {chosen.batch_size} for {counted(chosen.epochs, 'epoch')} at a peak lr of {chosen.lr:.2g} "
        f"({chosen.steps(n_train)} steps; {wanted.batch_size} for {wanted.epochs} would take "
        f"{wanted.steps(n_train)}, and the recipe wants {recipe.min_steps})"
    )
    return {**hyper, **asdict(chosen)}, asdict(wanted)


def copy_state(module) -> dict:
    """A CPU copy of a module's weights (the best epoch's, kept while training goes on)."""
    return {key: value.detach().to("cpu", copy=True) for key, value in module.state_dict().items()}


def balancing_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Loss weight per class, (mean count / count)^0.5: a rare class counts more, but less than
    inverse frequency would make it (which over-corrects on few noisy labels). Mean weight 1."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).astype(np.float64)
    weights = np.sqrt(counts.mean() / np.maximum(counts, 1.0))
    return weights / weights.mean()


def majority_of(data: LabelledSet) -> float:
    from celeba_tui.training.metrics import majority_baseline

    return majority_baseline(data.labels[data.indices("train")], data.labels[data.indices("val")], len(data.classes))


def class_counts(data: LabelledSet, which: str) -> dict[str, int]:
    counts = np.bincount(data.labels[data.indices(which)], minlength=len(data.classes))
    return {name: int(n) for name, n in zip(data.classes, counts)}


def kept_score(record: dict, keep_best_by: str) -> float:
    """What an epoch is judged by (recipes.KEEP_BY): the higher, the better its weights."""
    if keep_best_by == "last":
        return float(record["epoch"])
    return record["val_balanced_acc" if keep_best_by == "balanced_accuracy" else "val_acc"]
