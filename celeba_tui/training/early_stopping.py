"""The study's early-stopping rule, as a pure state machine over per-epoch metrics.

Section 4.2 of the study: stop after 5 epochs in a row without a gain in validation
accuracy, or 3 in a row without a decrease in validation loss, whichever comes first,
and keep the best weights. "Best" here is the highest validation accuracy, ties going
to the lower validation loss, because accuracy is what the study's Table 9 compares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from celeba_tui.architecture import STUDY_DEFAULTS
from celeba_tui.console import counted


@dataclass(frozen=True)
class EpochDecision:
    """What to do after an epoch: save it as the best one, and/or stop training."""

    is_best: bool
    stop: bool
    reason: str = ""


@dataclass
class EarlyStopping:
    """Feed it each epoch's validation metrics; it says when to keep weights and stop.

    A patience of 0 switches that criterion off.
    """

    patience_acc: int = STUDY_DEFAULTS.patience_acc
    patience_loss: int = STUDY_DEFAULTS.patience_loss
    best_epoch: int | None = None
    best_acc: float = -math.inf
    best_loss_for_best_acc: float = math.inf
    lowest_loss: float = math.inf
    epochs_without_acc_gain: int = 0
    epochs_without_loss_decrease: int = 0

    def __post_init__(self) -> None:
        if self.patience_acc < 0 or self.patience_loss < 0:
            raise ValueError("patience must be >= 0 (0 switches the criterion off)")

    def update(self, epoch: int, val_acc: float, val_loss: float) -> EpochDecision:
        """Record one epoch's validation accuracy and loss; return the decision."""
        if val_acc > self.best_acc:
            self.epochs_without_acc_gain = 0
        else:
            self.epochs_without_acc_gain += 1
        if val_loss < self.lowest_loss:
            self.lowest_loss = val_loss
            self.epochs_without_loss_decrease = 0
        else:
            self.epochs_without_loss_decrease += 1

        is_best = val_acc > self.best_acc or (val_acc == self.best_acc and val_loss < self.best_loss_for_best_acc)
        if is_best:
            self.best_epoch = epoch
            self.best_acc = val_acc
            self.best_loss_for_best_acc = val_loss

        if self.patience_acc and self.epochs_without_acc_gain >= self.patience_acc:
            return EpochDecision(
                is_best, True, f"validation accuracy did not improve for {counted(self.patience_acc, 'epoch')}"
            )
        if self.patience_loss and self.epochs_without_loss_decrease >= self.patience_loss:
            return EpochDecision(
                is_best, True, f"validation loss did not decrease for {counted(self.patience_loss, 'epoch')}"
            )
        return EpochDecision(is_best, False)
