"""Training recipes: how a run learns, independent of which network it trains.

`study` is the study's policy (section 4.2): Adam at the architecture's learning rate,
flips only, early stopping on validation accuracy/loss. Kept so the study's runs stay
reproducible.

`noisy-labels` (the default) is what measured best when the labels are few, noisy and
biased (docs/label-quality.md has the ablation):

- soft targets: each image's Dawid-Skene posterior over all its annotators' labels,
  conflicts included (`--hard-targets` learns the settled labels only);
- landmark cues where the images come with CelebA's landmark file and the cues tell the
  task's classes apart: the network also predicts where nose and mouth sit between the
  eyes, clean targets that teach it the face's geometry (`--no-landmark-cues`);
- AdamW with decoupled weight decay and a one-cycle schedule (warm-up, then cosine
  decay) over a fixed number of epochs; label smoothing;
- augmentations that keep the label (flip with left/right swapped, small
  rotation/scale/shift, global brightness/contrast/colour, sensor noise; never a
  horizontal brightness gradient, which would move the light);
- temperature scaling on the validation split, so the exported probabilities mean what
  they say, with a bias per class fitted beside it, so the model switches class where
  the people's held-out labels do (not where Dawid-Skene's reading of them does);
- at least 400 optimiser steps however few the labels: smaller batches (down to 16, the
  learning rate scaled with them), then more epochs (`with_min_steps`). With ~500 labels,
  25 epochs of 64 are ~200 steps, and orientation stayed at the majority class.

Either recipe can weight rare classes up in the loss (`--balance-classes`): it raises
balanced accuracy on a skewed task and costs precision on the confident share.

This module does not import torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from celeba_tui.errors import CelebaError

OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "one-cycle")
KEEP_BY = ("accuracy", "balanced_accuracy", "last")
# Label-keeping augmentations (celeba_tui.training.augment), in the order they are applied.
AUGMENTATION_STEPS = ("flip", "geometry", "photometric", "noise")
# The landmark-cue loss's weight beside the class loss, where a recipe (or --landmark-cues) learns them.
LANDMARK_CUE_WEIGHT = 1.0
# Few labels: the optimiser steps a run takes at least (measured on the quick demo's ~500
# labels per task: its ~430 steps in batches of 16 took orientation past the majority
# class on 3 of 3 seeds, where ~200 steps of 64 did not), the smallest batch it shrinks
# to, and how many times the recipe's epochs it may run. The default demo's ~1,000
# training images take 400 steps as they are.
MIN_STEPS = 400
SMALLEST_BATCH = 16
MAX_EPOCHS_FACTOR = 4


@dataclass(frozen=True)
class Recipe:
    name: str
    summary: str
    optimizer: str
    schedule: str
    lr: float | None  # None: the architecture's default learning rate
    epochs: int | None  # None: the architecture's default epochs
    weight_decay: float
    label_smoothing: float
    augment: tuple[str, ...]
    early_stopping: bool  # False: run every epoch (a one-cycle schedule needs its whole length)
    calibrate: bool  # fit a softmax temperature on the validation split
    # With `calibrate`, a bias per class too (mirrored classes share one): where the model
    # switches class moves to where the validation labels do (celeba_tui.models.calibration).
    calibrate_bias: bool = False
    balance_classes: bool = False  # weight the loss by (mean count / class count)^0.5
    # Weight of the landmark-cue loss (celeba_tui.models.landmark_cues) beside the class loss;
    # 0: no cue outputs. Used only where the images have a CelebA landmark file.
    landmark_cue_weight: float = 0.0
    # Train on soft targets (celeba_tui.training.soft_targets), conflicts included, made by
    # `soft_targets_from`: Dawid-Skene's posteriors or each image's vote shares.
    soft_targets: bool = False
    soft_targets_from: str = "dawid-skene"
    # Take at least this many optimiser steps, however few the labels (`with_min_steps`); 0: no minimum.
    min_steps: int = 0
    # Which epoch's weights the run keeps (KEEP_BY): the best by validation accuracy (the
    # study's rule), by balanced accuracy, or the last epoch's.
    keep_best_by: str = "accuracy"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["augment"] = list(self.augment)
        return data


STUDY = Recipe(
    name="study",
    summary="the study's policy: Adam at the architecture's lr, flips, early stopping",
    optimizer="adam",
    schedule="constant",
    lr=None,
    epochs=None,
    weight_decay=0.0,
    label_smoothing=0.0,
    augment=("flip",),
    early_stopping=True,
    calibrate=False,
)
NOISY_LABELS = Recipe(
    name="noisy-labels",
    summary="few noisy labels: Dawid-Skene soft targets, landmark cues where they help, AdamW, "
    "one-cycle over 25 epochs, label smoothing 0.1, label-keeping augmentations, "
    "temperature and class-bias scaling",
    optimizer="adamw",
    schedule="one-cycle",
    lr=None,  # the architecture's: the one-cycle schedule's peak
    epochs=25,
    weight_decay=5e-4,
    label_smoothing=0.1,
    augment=AUGMENTATION_STEPS,
    early_stopping=False,
    calibrate=True,
    calibrate_bias=True,
    landmark_cue_weight=LANDMARK_CUE_WEIGHT,
    soft_targets=True,
    min_steps=MIN_STEPS,
)
RECIPES = {recipe.name: recipe for recipe in (NOISY_LABELS, STUDY)}
DEFAULT_RECIPE = NOISY_LABELS.name


SOFT_TARGET_SOURCES = ("dawid-skene", "votes")


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise CelebaError(f"unknown recipe {name!r} (one of {', '.join(RECIPES)})") from None


def parse_augment(text: str) -> tuple[str, ...]:
    """'none' or a comma-separated list of AUGMENTATION_STEPS -> the steps, in application order."""
    steps = [step.strip() for step in text.split(",") if step.strip()]
    if steps == ["none"]:
        return ()
    unknown = [step for step in steps if step not in AUGMENTATION_STEPS]
    if unknown or not steps:
        raise CelebaError(
            f"unknown augmentation {text!r}: 'none' or a comma-separated list of {', '.join(AUGMENTATION_STEPS)}"
        )
    return tuple(step for step in AUGMENTATION_STEPS if step in steps)


# The options a Schedule holds, as TrainOptions and a run's config.json name them.
SCHEDULE_KEYS = ("batch_size", "epochs", "lr")


@dataclass(frozen=True)
class Schedule:
    """How many images per step and epochs a run takes, at what (peak) learning rate."""

    batch_size: int
    epochs: int
    lr: float

    def steps(self, n_train: int) -> int:
        return self.epochs * math.ceil(n_train / self.batch_size)


def with_min_steps(schedule: Schedule, n_train: int, min_steps: int, given: set[str]) -> Schedule:
    """The schedule, with smaller batches and then more epochs where it would take fewer than
    `min_steps` optimiser steps (a recipe's) over `n_train` images. Pure.

    Batches halve down to SMALLEST_BATCH, the learning rate scaled by the same factor
    (linear scaling); epochs then rise to reach the minimum, up to MAX_EPOCHS_FACTOR times
    the schedule's. What the user gave (`given`: "batch_size", "epochs", "lr") is kept."""
    if not min_steps or n_train < 1 or schedule.steps(n_train) >= min_steps:
        return schedule
    chosen = schedule
    if "batch_size" not in given:
        # Halvings down to SMALLEST_BATCH: the first (largest) batch that reaches the minimum,
        # else the largest of those that take the most steps. A halving that adds no step
        # would only lower the rate (14 images: batches of 32 or 16 take one step an epoch).
        sizes = [schedule.batch_size]
        while sizes[-1] // 2 >= SMALLEST_BATCH:
            sizes.append(sizes[-1] // 2)
        steps = [replace(chosen, batch_size=size).steps(n_train) for size in sizes]
        enough = [size for size, taken in zip(sizes, steps) if taken >= min_steps]
        batch = enough[0] if enough else sizes[steps.index(max(steps))]
        lr = schedule.lr if "lr" in given else schedule.lr * batch / schedule.batch_size
        chosen = replace(chosen, batch_size=batch, lr=lr)
    if "epochs" not in given and chosen.steps(n_train) < min_steps:
        per_epoch = math.ceil(n_train / chosen.batch_size)
        most = schedule.epochs * MAX_EPOCHS_FACTOR
        chosen = replace(chosen, epochs=min(most, math.ceil(min_steps / per_epoch)))
    return chosen


def asked_targets(options, recipe: Recipe) -> dict:
    """What a run was asked to learn from, as its config records it and `celeba cycle`
    compares before reusing a run: hard targets or what soft ones are made of, and the
    landmark cues off, forced, or learnt where they tell the classes apart. `options` are
    a run's TrainOptions, `recipe` is resolve_recipe's."""
    if not recipe.landmark_cue_weight:
        cues = "off"
    else:
        cues = "forced" if options.landmark_cues else "where they help"
    return {"target_kind": recipe.soft_targets_from if recipe.soft_targets else "hard", "landmark_cue_mode": cues}
