"""The study's early-stopping rule on scripted metric sequences."""

import pytest

from celeba_tui.training.early_stopping import EarlyStopping


def run(sequence, **patience):
    """Feed (acc, loss) pairs; return (epoch it stopped at or None, best epoch, reasons)."""
    rule = EarlyStopping(**patience)
    for epoch, (acc, loss) in enumerate(sequence, 1):
        decision = rule.update(epoch, acc, loss)
        if decision.stop:
            return epoch, rule.best_epoch, decision.reason
    return None, rule.best_epoch, ""


def test_steady_improvement_never_stops():
    sequence = [(0.5 + 0.01 * i, 1.0 - 0.01 * i) for i in range(30)]
    assert run(sequence) == (None, 30, "")


def test_stops_after_five_epochs_without_accuracy_gain():
    # Loss keeps falling, accuracy peaks at epoch 3: stop at epoch 8, keep epoch 3.
    sequence = [(0.6, 1.0), (0.7, 0.9), (0.8, 0.8)] + [(0.79, 0.7 - 0.01 * i) for i in range(10)]
    stopped, best, reason = run(sequence)
    assert (stopped, best) == (8, 3)
    assert "accuracy" in reason and "5" in reason


def test_stops_after_three_epochs_without_loss_decrease():
    # Accuracy keeps rising but the loss bottoms out at epoch 2: stop at epoch 5.
    sequence = [(0.6, 1.0), (0.7, 0.5), (0.71, 0.6), (0.72, 0.7), (0.73, 0.8), (0.74, 0.9)]
    stopped, best, reason = run(sequence)
    assert (stopped, best) == (5, 5)
    assert "loss" in reason and "3" in reason


def test_equal_accuracy_is_not_a_gain_but_lower_loss_breaks_the_tie():
    rule = EarlyStopping(patience_acc=2, patience_loss=0)
    assert rule.update(1, 0.8, 0.5).is_best
    second = rule.update(2, 0.8, 0.4)
    assert second.is_best and not second.stop  # same accuracy, lower loss: better weights
    third = rule.update(3, 0.8, 0.3)
    assert third.stop and rule.best_epoch == 3  # but two epochs without an accuracy gain


def test_best_weights_are_the_best_accuracy_not_the_last_epoch():
    sequence = [(0.5, 0.9), (0.9, 0.5), (0.6, 0.4), (0.6, 0.3), (0.6, 0.2), (0.6, 0.1), (0.6, 0.05)]
    stopped, best, _ = run(sequence)
    assert (stopped, best) == (7, 2)


@pytest.mark.parametrize(
    ("patience_acc", "patience_loss", "stop_at"), [(2, 0, 3), (7, 3, 8), (0, 3, None), (0, 0, None)]
)
def test_patiences_are_configurable_and_zero_switches_off(patience_acc, patience_loss, stop_at):
    # Accuracy peaks at epoch 1; the loss keeps falling, so only the accuracy rule can stop.
    sequence = [(0.9, 0.5)] + [(0.8, 0.5 - 0.01 * i) for i in range(1, 10)]
    stopped, best, _ = run(sequence, patience_acc=patience_acc, patience_loss=patience_loss)
    assert stopped == stop_at and best == 1


def test_loss_criterion_alone():
    sequence = [(0.5, 0.5), (0.6, 0.6), (0.7, 0.7), (0.8, 0.8), (0.9, 0.9)]
    assert run(sequence, patience_acc=0, patience_loss=5)[0] is None
    assert run(sequence, patience_acc=0, patience_loss=4)[0] == 5
    assert run(sequence, patience_acc=0, patience_loss=2)[0] == 3


def test_nan_loss_counts_as_no_decrease():
    sequence = [(0.5, 0.5), (0.6, float("nan")), (0.7, float("nan")), (0.8, float("nan"))]
    assert run(sequence)[0] == 4


def test_negative_patience_is_refused():
    with pytest.raises(ValueError):
        EarlyStopping(patience_acc=-1)
