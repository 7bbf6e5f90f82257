"""The training loop's moving parts: devices, batches from the cache, train and eval steps.

Batches are gathered from the decoded-image cache (uint8, NHWC) by a background thread
while the model computes, flipped (with their labels mirrored) when augmenting, and
turned into model input on the device (`model_io.to_model_input`), so a CUDA batch
crosses the bus as uint8 and arrives channels-last.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from celeba_tui.errors import CelebaError
from celeba_tui.models.landmark_cues import flip_cues
from celeba_tui.models.model_io import main_logits, to_model_input
from celeba_tui.training.augment import augment_tensor, flip_images, flip_labels, random_flips
from celeba_tui.training.recipes import STUDY, Recipe
from celeba_tui.training.soft_targets import flip_targets

DEVICES = ("auto", "cpu", "cuda")


def cpu_has_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic natively (AVX-512 BF16 or AMX), so autocast pays.

    Not oneDNN's own check, which says yes for any AVX-512 CPU (bfloat16 emulated, slower)."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


def mixed_precision(device: torch.device, requested: bool | None) -> torch.dtype | None:
    """The autocast dtype for training on `device`, or None for float32.

    None (auto) and True: bfloat16 on a GPU that has it, else float16 (with loss scaling);
    bfloat16 on a CPU that computes it natively (1.6-1.8x faster steps for small_resnet
    here, docs/performance.md), float32 on others, where emulated bfloat16 is slower.
    False: float32 everywhere."""
    if requested is False:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if cpu_has_bf16():
        return torch.bfloat16
    if requested:
        raise CelebaError("--amp: this CPU has no native bfloat16 (AVX-512 BF16 or AMX); use --no-amp")
    return None


def pick_device(requested: str, local_rank: int = 0) -> torch.device:
    """cpu, cuda (this process's GPU under torchrun), or auto: cuda when there is one."""
    if requested not in DEVICES:
        raise CelebaError(f"unknown device {requested!r} (one of {', '.join(DEVICES)})")
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise CelebaError("--device cuda: no CUDA GPU is available to this torch (use --device cpu or auto)")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def batch_stream(
    frames: np.ndarray,
    rows: np.ndarray,
    labels: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    *,
    mirror: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    cues: np.ndarray | None = None,
    targets: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, ...]]:
    """(uint8 images (B, H, W, 3), int64 labels) in `order`, plus the batch's landmark cues
    (B, K) when `cues` is given; random mirrored flips if `mirror` is given. With soft
    `targets` (N, C), the batch's targets (B, C) take the labels' place."""
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        # Reading frames in file order is kinder to the page cache; order within a batch is irrelevant.
        chosen = chosen[np.argsort(rows[chosen], kind="stable")]
        images = np.asarray(frames[rows[chosen]])
        batch_labels = labels[chosen] if targets is None else targets[chosen]
        batch_cues = None if cues is None else cues[chosen]
        if mirror is not None and rng is not None:
            flip = flip_labels if targets is None else flip_targets
            batch_labels, done = flip(batch_labels, random_flips(len(chosen), rng), mirror)
            images = flip_images(images, done)
            batch_cues = None if batch_cues is None else flip_cues(batch_cues, done)
        yield (images, batch_labels) if batch_cues is None else (images, batch_labels, batch_cues)


def prefetched(batches: Iterable, depth: int = 3) -> Iterator:
    """Iterate `batches` in a background thread, `depth` items ahead."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                if stop.is_set():
                    return
                items.put(item)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the consumer)
            items.put(exc)
        items.put(done)

    thread = threading.Thread(target=produce, daemon=True, name="batch-prefetch")
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(0.01)


@dataclass
class StepTotals:
    """Sums over a pass: loss (main head, summed over samples), correct predictions, samples."""

    loss_sum: float = 0.0
    correct: int = 0
    count: int = 0


class Stepper:
    """One model's optimiser steps and evaluation, channels-last, under autocast when `amp_dtype` is given."""

    def __init__(
        self,
        model: nn.Module,
        lr: float,
        device: torch.device,
        aux_loss_weight: float = 0.0,
        eval_model: nn.Module | None = None,
        *,
        recipe: Recipe = STUDY,
        total_steps: int = 0,
        seed: int = 0,
        class_weights: np.ndarray | None = None,
        n_classes: int | None = None,
        cue_weight: float = 0.0,
        amp_dtype: torch.dtype | None = None,
    ):
        self.model = model
        # Outputs past the first n_classes predict landmark cues (None: every output is a class).
        self.n_classes = n_classes
        self.cue_weight = cue_weight
        # Under DDP, evaluation runs on the bare module: ranks evaluate different numbers
        # of batches, and the wrapper's per-forward buffer broadcast would then deadlock.
        self.eval_model = eval_model if eval_model is not None else model
        self.device = device
        self.aux_loss_weight = aux_loss_weight
        self.recipe = recipe
        self.optimizer = make_optimizer(model, recipe, lr)
        self.scheduler = make_scheduler(self.optimizer, recipe, lr, total_steps)
        self.generator = torch.Generator().manual_seed(seed)
        self.class_weights = (
            None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32, device=device)
        )
        self.cuda = device.type == "cuda"
        self.amp_dtype = amp_dtype
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)

    def _inputs(self, images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = torch.from_numpy(images)
        labels = np.asarray(labels)
        # Class indices (B,), or soft targets (B, C): a probability per class.
        targets = torch.from_numpy(labels.astype(np.float32 if labels.ndim == 2 else np.int64))
        if self.cuda:
            pixels = pixels.pin_memory().to(self.device, non_blocking=True)
            targets = targets.to(self.device, non_blocking=True)
        # NHWC storage: already channels-last, which the model's weights are in too.
        return to_model_input(pixels).contiguous(memory_format=torch.channels_last), targets

    def _autocast(self, evaluating: bool = False):
        """Autocast for a training step; for evaluation on a GPU only. On a CPU, validation
        (the best epoch, the temperature) runs in float32, as the exported model does."""
        enabled = self.amp_dtype is not None and (self.cuda or not evaluating)
        return torch.autocast(self.device.type, dtype=self.amp_dtype if enabled else None, enabled=enabled)

    def class_logits(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs if self.n_classes is None else outputs[:, : self.n_classes]

    def train_batch(
        self, images: np.ndarray, labels: np.ndarray, cues: np.ndarray | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimiser step; (summed main-head loss, correct predictions) as device tensors.

        With `cues` (B, K; NaN where unknown) the outputs past the classes regress them."""
        x, y = self._inputs(images, labels)
        x = augment_tensor(x, self.recipe.augment, self.generator)
        smoothing = self.recipe.label_smoothing
        with self._autocast():
            output = self.model(x)
            outputs = main_logits(output)
            logits = self.class_logits(outputs)
            weight = None if self.class_weights is None else self.class_weights.to(logits.dtype)
            loss = F.cross_entropy(logits, y, weight=weight, label_smoothing=smoothing)
            total = loss
            if isinstance(output, (tuple, list)) and self.aux_loss_weight:
                total = loss + self.aux_loss_weight * sum(
                    F.cross_entropy(self.class_logits(aux), y, weight=weight, label_smoothing=smoothing)
                    for aux in output[1:]
                )
            if cues is not None and self.cue_weight and self.n_classes is not None:
                total = total + self.cue_weight * self._cue_loss(outputs[:, self.n_classes :], cues)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.scheduler is not None:
            self.scheduler.step()
        # Kept on the device: reading them back every step would stall a GPU's queue.
        classes = y.argmax(1) if y.ndim == 2 else y
        return loss.detach().float() * len(y), (logits.detach().argmax(1) == classes).sum()

    def _cue_loss(self, predicted: torch.Tensor, cues: np.ndarray) -> torch.Tensor:
        """Smooth L1 between predicted and known cues (unknown ones, NaN, count for nothing)."""
        target = torch.from_numpy(np.asarray(cues, dtype=np.float32)).to(self.device)
        known = torch.isfinite(target)
        if not bool(known.any()):
            return predicted.sum() * 0.0
        return F.smooth_l1_loss(predicted.float()[known], target[known])

    @torch.inference_mode()
    def eval_batch(self, images: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
        """(summed loss, predicted class per sample) in eval mode."""
        x, y = self._inputs(images, labels)
        with self._autocast(evaluating=True):
            logits = self.class_logits(main_logits(self.eval_model(x))).float()
        loss = F.cross_entropy(logits, y, reduction="sum")
        return float(loss), logits.argmax(1).cpu().numpy()


def make_optimizer(model: nn.Module, recipe: Recipe, lr: float) -> torch.optim.Optimizer:
    """Adam (the study) or AdamW; weight decay never applies to biases and normalisation scales."""
    if recipe.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=recipe.weight_decay)
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim > 1], "weight_decay": recipe.weight_decay},
        {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def make_scheduler(optimizer: torch.optim.Optimizer, recipe: Recipe, lr: float, total_steps: int):
    """One-cycle (15% warm-up, cosine decay to lr/10^4) stepped per batch, or None for a constant lr."""
    if recipe.schedule == "constant" or total_steps < 1:
        return None
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=0.15)


def train_epoch(stepper: Stepper, batches: Iterable, on_batch: Callable[[int], None] | None = None) -> StepTotals:
    """One pass over `batches` in train mode; `on_batch(n_images)` after each step."""
    stepper.model.train()
    loss_sum = torch.zeros((), device=stepper.device)
    correct = torch.zeros((), dtype=torch.int64, device=stepper.device)
    count = 0
    for images, labels, *cues in batches:
        batch_loss, batch_correct = stepper.train_batch(images, labels, *cues)
        loss_sum += batch_loss
        correct += batch_correct
        count += len(labels)
        if on_batch is not None:
            on_batch(len(labels))
    return StepTotals(float(loss_sum), int(correct), count)


def evaluate(stepper: Stepper, batches: Iterable, n_classes: int) -> tuple[float, int, np.ndarray]:
    """(summed loss, samples, confusion matrix) over `batches` in eval mode."""
    from celeba_tui.agreement.measures import confusion_matrix

    stepper.eval_model.eval()
    loss_sum, count = 0.0, 0
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    for images, labels, *_ in batches:
        batch_loss, predicted = stepper.eval_batch(images, labels)
        loss_sum += batch_loss
        count += len(labels)
        confusion += confusion_matrix(labels, predicted, n_classes)
    return loss_sum, count, confusion


@torch.inference_mode()
def validation_logits(stepper: Stepper, batches: Iterable) -> tuple[np.ndarray, np.ndarray]:
    """(float64 logits (N, C), labels (N,)) of the evaluation model over `batches`."""
    stepper.eval_model.eval()
    all_logits, all_labels = [], []
    for images, labels, *_ in batches:
        x, _ = stepper._inputs(images, labels)
        with stepper._autocast(evaluating=True):
            logits = stepper.class_logits(main_logits(stepper.eval_model(x))).float()
        all_logits.append(logits.cpu().numpy().astype(np.float64))
        all_labels.append(np.asarray(labels, dtype=np.int64))
    if not all_logits:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    return np.concatenate(all_logits), np.concatenate(all_labels)
