"""`celeba train`: from a task's human labels to a finished run directory.

Order of work: resolve the architecture, task and preprocessing; gather the labels and
refuse unusable ones (before any training); split; fill the decoded-image cache; train
with early stopping; write the run. Under torchrun, rank 0 does the preparation and
all writing, the other ranks receive what it prepared.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from celeba_tui.architecture import STUDY_DEFAULTS
from celeba_tui.errors import CelebaError
from celeba_tui.progress import SilentReporter
from celeba_tui.training import distributed
from celeba_tui.training.dataset import (
    automatic_labels,
    check_trainable,
    labelled_set,
    settled_labels,
    subsample,
    with_train_only,
)
from celeba_tui.training.fit import Prepared, TrainResult
from celeba_tui.training.recipes import (
    DEFAULT_RECIPE,
    LANDMARK_CUE_WEIGHT,
    SOFT_TARGET_SOURCES,
    Recipe,
    get_recipe,
    parse_augment,
)

if TYPE_CHECKING:
    import numpy as np

    from celeba_tui.store.label_store import LabelStore
    from celeba_tui.workspace import Workspace

# A learning rate past this diverges with any optimiser here (the defaults peak at 3e-3).
MAX_LR = 10.0
# More epochs than this is a typo, not a plan (the study trained 50; a run that would never
# end otherwise runs until killed). Batches: more images than any GPU here holds at once.
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 65_536
# The largest seed every generator here takes (numpy's legacy seeding stops at 2**32 - 1).
MAX_SEED = 2**32 - 1


def check_seed(seed: int) -> None:
    """A CelebaError for a seed some generator of the run would refuse, before any work."""
    if isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise CelebaError(f"--seed {seed}: must be between 0 and {MAX_SEED}")


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
    amp: bool | None = None  # None: mixed precision where the device computes it natively; False: float32
    recipe: str = DEFAULT_RECIPE
    augment: str | None = None  # None: the recipe's augmentations; "none" or steps "flip,geometry,..."
    balance_classes: bool | None = None  # None: the recipe's
    landmark_cues: bool | None = None  # None: the recipe's (False turns the cue targets off)
    pseudo_labels: bool = False  # also train on the ensemble's automatic labels (train split only)
    soft_targets: bool | None = None  # None: the recipe's
    soft_targets_from: str | None = None  # "dawid-skene" or "votes"; None: the recipe's
    preprocess: str | None = None
    patience_acc: int | None = None
    patience_loss: int | None = None
    new_split: bool = False
    max_images: int | None = None
    decode_workers: int | None = None
    start_from: str | None = None  # a RUN whose weights the network starts from (None: random ones)


def resolve_pipeline(architecture, spec: str | None):
    """The preprocessing pipeline for a run: the given spec (or the default), resized to the input size."""
    from celeba_tui.plugins import parse_spec, with_default_size

    side = architecture.input_size
    pipeline = with_default_size(parse_spec(architecture.preprocess if spec is None else spec), side)
    if pipeline.size != (side, side):
        raise CelebaError(
            f"--preprocess {spec!r}: {architecture.name} takes {side}x{side} images; "
            f"use resize:{side} or leave the resize step out"
        )
    return pipeline


def resolve_recipe(options: TrainOptions) -> Recipe:
    """The named recipe, with what --augment and --balance-classes replace."""
    from dataclasses import replace

    recipe = get_recipe(options.recipe)
    if options.augment is not None:
        recipe = replace(recipe, augment=parse_augment(options.augment))
    if options.balance_classes is not None:
        recipe = replace(recipe, balance_classes=options.balance_classes)
    if options.soft_targets is not None:
        recipe = replace(recipe, soft_targets=options.soft_targets)
    if options.soft_targets_from is not None:
        if options.soft_targets_from not in SOFT_TARGET_SOURCES:
            raise CelebaError(
                f"--soft-targets-from {options.soft_targets_from!r}: one of {', '.join(SOFT_TARGET_SOURCES)}"
            )
        recipe = replace(recipe, soft_targets_from=options.soft_targets_from)
    if options.landmark_cues is False:
        recipe = replace(recipe, landmark_cue_weight=0.0)
    elif options.landmark_cues and not recipe.landmark_cue_weight:
        recipe = replace(recipe, landmark_cue_weight=LANDMARK_CUE_WEIGHT)
    return recipe


def hyper_parameters(architecture, options: TrainOptions, recipe: Recipe) -> dict:
    """epochs, batch_size, lr and the patiences: the option if given, else the recipe's, else the architecture's.

    The recipe's epochs replace the study's 50 (with early stopping) only: an architecture
    that sets its own epochs keeps them. A recipe without early stopping (a one-cycle
    schedule needs all its epochs) sets both patiences to 0 unless the user gave them.
    """
    defaults = architecture.defaults.to_dict()
    if recipe.epochs is not None and defaults["epochs"] == STUDY_DEFAULTS.epochs:
        defaults["epochs"] = recipe.epochs
    if recipe.lr is not None:
        defaults["lr"] = recipe.lr
    if not recipe.early_stopping:
        defaults["patience_acc"] = defaults["patience_loss"] = 0
    chosen = {
        name: (value if getattr(options, name) is None else getattr(options, name)) for name, value in defaults.items()
    }
    for name, most in (("epochs", MAX_EPOCHS), ("batch_size", MAX_BATCH_SIZE)):
        if not 1 <= chosen[name] <= most:
            raise CelebaError(f"--{name.replace('_', '-')} must be between 1 and {most:,}, not {chosen[name]:,}")
    if not 0 < chosen["lr"] <= MAX_LR:  # also refuses NaN and inf
        raise CelebaError(f"--lr must be positive and at most {MAX_LR:g}, not {chosen['lr']}")
    if chosen["patience_acc"] < 0 or chosen["patience_loss"] < 0:
        raise CelebaError("--patience-acc and --patience-loss must be 0 (off) or more epochs")
    return chosen


def prepare(workspace: Workspace, task, pipeline, options: TrainOptions, reporter, recipe: Recipe) -> Prepared:
    """Labels -> checks -> split -> cache. Raises CelebaError before any training if unusable."""
    from celeba_tui.training.cache import DecodedCache
    from celeba_tui.training.split import split_digest, task_split

    with workspace.open_store() as store:
        current = store.current_labels(task.name)
        labels, skipped = settled_labels(current, task)
        check_trainable(labels["label"], task)
        split = task_split(workspace, task.name, labels, seed=options.seed, new=options.new_split)
        split_sha256 = split_digest(workspace.splits_dir, task.name)
        soft = None
        if recipe.soft_targets:
            from celeba_tui.training.soft_targets import task_soft_targets

            soft, conflicts = task_soft_targets(store, task, current, recipe.soft_targets_from)
            split = with_train_only(split, conflicts)
            reporter.message(
                f"soft targets ({soft.method}) for {len(soft.images):,} images, "
                f"{len(conflicts):,} conflicts among them (train split only)"
                + (f"; vote shares, not dawid-skene: {soft.fallback}" if soft.fallback else "")
            )
        pseudo_images: set[str] = set()
        if options.pseudo_labels:
            before = set(split["image"])
            split = with_train_only(split, automatic_labels(current, task))
            pseudo_images = set(split["image"]) - before
        # At most --max-images in all, conflicts and automatic labels counted (they were
        # added after the sample: `--max-images 60` trained on 137, the model-side walkthrough of 2026-12-07).
        if options.max_images is not None and len(split) > options.max_images:
            reporter.message(f"a sample of {options.max_images:,} of {len(split):,} labelled images (--max-images)")
            split = subsample(split, options.max_images, seed=options.seed)
        pseudo = int(split["image"].isin(pseudo_images).sum())
        if options.pseudo_labels:
            reporter.message(f"training on {pseudo:,} automatic labels too (train split only)")
        size = pipeline.size[0]
        cache = DecodedCache(workspace.cache_dir, size, pipeline.spec)
        todo = cache.missing(split["image"], workspace.image_root)
        advance = reporter.start_stage(f"decoding {len(todo):,} images", len(todo)) if todo else None
        update = cache.update(
            split["image"], workspace.image_root, workers=options.decode_workers, progress=advance, todo=todo
        )
        reporter.end_stage()
        if update.skipped:
            _record_problems(store, update.skipped)
    unreadable = {name for name, _ in update.skipped}
    usable = split[~split["image"].isin(unreadable)]
    skipped = skipped + update.skipped
    if unreadable:
        why = unreadable_summary(update.skipped, workspace.image_root)
        check_trainable(usable["label"], task, where=f"after skipping {len(unreadable):,} that cannot be read: {why}")
        reporter.message(
            f"skipped {len(unreadable):,} labelled images that cannot be read: {why} (the run's summary.json lists them)"
        )
    data = labelled_set(usable, task, skipped)
    for which in ("train", "val"):
        if len(data.indices(which)) == 0:
            raise CelebaError(f"task {task.name!r}: the {which} split is empty; label more images")
    if soft is not None:
        from celeba_tui.training.soft_targets import targets_for

        data.targets = targets_for(soft, data.images, data.labels, len(data.classes))
    relevance = None
    if recipe.landmark_cue_weight > 0:
        data.cues, relevance = landmark_cue_targets(workspace.image_root, data, force=options.landmark_cues is True)
        if relevance is not None:
            reporter.message(cue_decision(relevance, data))
    return Prepared(
        data,
        pipeline.spec,
        size,
        update.decoded,
        skipped,
        pseudo_labels=pseudo,
        soft_targets=soft and (soft.method + (f" ({soft.fallback})" if soft.fallback else "")),
        cue_relevance=relevance,
        split_sha256=split_sha256,
    )


def unreadable_summary(skipped: list[tuple[str, str]], image_root) -> str:
    """Why the labelled images were unreadable, most common reason first, with an example;
    and, where files are missing, under which root they were looked for (helper-72: a
    changed `images` root read as 300 damaged files, pointing at a summary never written). Pure."""
    from collections import Counter

    reasons = Counter(reason for _, reason in skipped)
    (reason, n), *others = reasons.most_common()
    example = next(name for name, r in skipped if r == reason)
    if reason == "file not found":
        text = f"{n:,} not found under {image_root} (e.g. {example}; did `images` in celeba.toml change?)"
    else:
        text = f"{n:,} {reason} (e.g. {example})"
    if others:
        text += f", {sum(k for _, k in others):,} for other reasons"
    return text


def landmark_cue_targets(image_root, data, *, force: bool = False) -> "tuple[np.ndarray | None, float | None]":
    """(standardised landmark cues of `data`'s images or None, how well they tell the classes
    apart or None). None cues: no CelebA landmark file beside the images, none of the images
    in it, or (unless `force`) cues that do not tell the classes apart better than chance
    by RELEVANCE_MARGIN."""
    from celeba_tui.images import celeba_files
    from celeba_tui.models.landmark_cues import RELEVANCE_MARGIN, cue_relevance, read_cues, standardise, usable_share

    path = celeba_files(image_root).get("landmarks")
    if path is None:
        return None, None
    cues = read_cues(path, data.images)
    if usable_share(cues) == 0:
        return None, None
    train = data.indices("train")
    relevance = cue_relevance(cues[train], data.labels[train], len(data.classes))
    if not force and relevance < 1.0 / len(data.classes) + RELEVANCE_MARGIN:
        return None, relevance
    return standardise(cues, train), relevance


def cue_decision(relevance: float, data) -> str:
    """One line on whether the landmark cues are learnt, and why."""
    from celeba_tui.models.landmark_cues import RELEVANCE_MARGIN, usable_share

    chance = 1.0 / len(data.classes)
    alone = f"alone they tell the classes apart at {relevance:.2f} balanced accuracy"
    if data.cues is None:
        return (
            f"landmark cues not learnt: {alone}, under chance ({chance:.2f}) + {RELEVANCE_MARGIN:g}; "
            "--landmark-cues forces them"
        )
    return f"landmark cues learnt too ({usable_share(data.cues):.0%} of the images; {alone}, chance {chance:.2f})"


def _record_problems(store: LabelStore, skipped: list[tuple[str, str]]) -> None:
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


def train(workspace: Workspace, options: TrainOptions, reporter=None) -> TrainResult:
    """Train one architecture on one task; returns where the run was written."""
    from celeba_tui.plugins import get_architecture
    from celeba_tui.training.loop import mixed_precision, pick_device

    dist = distributed.from_environment()
    reporter = reporter if (reporter is not None and dist.is_main) else SilentReporter()
    architecture = get_architecture(options.plugin)
    task = workspace.task(options.task)
    recipe = resolve_recipe(options)
    if options.max_images is not None and options.max_images < 1:
        raise CelebaError(f"--max-images must be at least 1, not {options.max_images}")
    check_seed(options.seed)
    pipeline = resolve_pipeline(architecture, options.preprocess)
    hyper = hyper_parameters(architecture, options, recipe)
    device = pick_device(options.device, dist.local_rank)
    amp_dtype = mixed_precision(device, options.amp)  # before any work: --amp on a CPU without bfloat16 is refused
    start = None
    if options.start_from is not None:
        from celeba_tui.training.starting_point import read_starting_point

        start = read_starting_point(options.start_from, workspace.runs_dir, architecture, task)
    distributed.start(dist, device.type)
    try:
        prepared = _from_rank0(dist, lambda: prepare(workspace, task, pipeline, options, reporter, recipe))
        from celeba_tui.training.fit import fit

        return fit(
            workspace, architecture, task, prepared, hyper, recipe, options, device, amp_dtype, dist, reporter, start
        )
    finally:
        reporter.close()
        distributed.stop(dist)
