"""Training recipes and label-keeping augmentations (pure parts)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from celeba_tui.errors import CelebaError
from celeba_tui.training import augment
from celeba_tui.training.recipes import (
    DEFAULT_RECIPE,
    NOISY_LABELS,
    RECIPES,
    STUDY,
    Schedule,
    get_recipe,
    parse_augment,
    with_min_steps,
)
from celeba_tui.training.trainer import TrainOptions, hyper_parameters, resolve_recipe


def test_recipes_and_augmentation_lists():
    assert DEFAULT_RECIPE == "noisy-labels" and set(RECIPES) == {"noisy-labels", "study"}
    assert get_recipe("study").early_stopping and not get_recipe("noisy-labels").early_stopping
    assert get_recipe("noisy-labels").soft_targets and not get_recipe("study").soft_targets
    assert get_recipe("noisy-labels").landmark_cue_weight > 0 == get_recipe("study").landmark_cue_weight
    with pytest.raises(CelebaError, match="unknown recipe 'fast'"):
        get_recipe("fast")
    assert parse_augment("none") == ()
    assert parse_augment("noise, flip") == ("flip", "noise")  # application order, whatever the order given
    for bad in ("", "rotate", "flip,rotate", "none,flip"):
        with pytest.raises(CelebaError, match="unknown augmentation"):
            parse_augment(bad)


def test_hyper_parameters_come_from_option_then_recipe_then_architecture():
    from celeba_tui.plugins import get_architecture

    cnn4 = get_architecture("cnn4")
    study = resolve_recipe(TrainOptions(plugin="cnn4", task="light", recipe="study"))
    assert hyper_parameters(cnn4, TrainOptions(plugin="cnn4", task="light"), study) == {
        "epochs": 50,
        "batch_size": 32,
        "lr": 1e-3,
        "patience_acc": 5,
        "patience_loss": 3,
    }
    noisy = resolve_recipe(TrainOptions(plugin="cnn4", task="light"))
    chosen = hyper_parameters(cnn4, TrainOptions(plugin="cnn4", task="light", epochs=4), noisy)
    assert chosen == {"epochs": 4, "batch_size": 32, "lr": 1e-3, "patience_acc": 0, "patience_loss": 0}
    flips_only = resolve_recipe(TrainOptions(plugin="cnn4", task="light", augment="flip"))
    assert flips_only.augment == ("flip",) and flips_only.optimizer == "adamw"


def _mirror_symmetric_batch(n: int = 6, side: int = 16) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    half = torch.rand((n, 3, side, side // 2), generator=generator)
    return torch.cat([half, half.flip(3)], dim=3)


def test_few_labels_take_smaller_batches_then_more_epochs():
    wanted = Schedule(batch_size=64, epochs=25, lr=3e-3)
    # Plenty of labels: unchanged. So is the study's recipe, which has no minimum.
    assert with_min_steps(wanted, 2000, NOISY_LABELS.min_steps, set()) == wanted
    assert with_min_steps(wanted, 300, STUDY.min_steps, set()) == wanted
    # ~500 labels: batches of 32 (lr scaled alike) reach the minimum without more epochs.
    chosen = with_min_steps(wanted, 490, NOISY_LABELS.min_steps, set())
    assert (chosen.batch_size, chosen.epochs) == (32, 25) and chosen.lr == pytest.approx(3e-3 / 2)
    assert chosen.steps(490) >= NOISY_LABELS.min_steps
    # Fewer still: batches of 16, then more epochs, up to four times the recipe's.
    chosen = with_min_steps(wanted, 100, NOISY_LABELS.min_steps, set())
    assert chosen.batch_size == 16 and chosen.epochs == 58 and chosen.steps(100) >= NOISY_LABELS.min_steps
    assert with_min_steps(wanted, 3, NOISY_LABELS.min_steps, set()).epochs == 100
    # What the user gave stays.
    kept = with_min_steps(wanted, 100, NOISY_LABELS.min_steps, {"batch_size", "lr"})
    assert (kept.batch_size, kept.lr, kept.epochs) == (64, 3e-3, 100)
    assert with_min_steps(wanted, 100, NOISY_LABELS.min_steps, {"epochs"}).epochs == 25
    # A smaller batch that takes no more steps is not taken: it would only lower the rate
    # (attack pass 33: 14 images took batches of 16 at half the rate, one step an epoch as before).
    small = Schedule(batch_size=32, epochs=2, lr=1e-3)
    assert with_min_steps(small, 14, NOISY_LABELS.min_steps, {"epochs"}) == small
    # ... but one that does after another that does not is (the review: 20 images kept 64).
    assert with_min_steps(wanted, 20, NOISY_LABELS.min_steps, set()).batch_size == 16


def test_photometric_changes_never_move_the_light():
    """Global brightness/contrast/colour: a left-right symmetric image stays symmetric, so
    no augmentation can make one side brighter (which would change the light's class)."""
    images = _mirror_symmetric_batch()
    out = augment.photometric(images, torch.Generator().manual_seed(2))
    assert not torch.allclose(out, images)
    torch.testing.assert_close(out, out.flip(3))


def test_geometry_and_noise_keep_shape_and_stay_small():
    images = _mirror_symmetric_batch()
    for step in ("geometry", "noise"):
        out = augment.TENSOR_STEPS[step](images, torch.Generator().manual_seed(3))
        assert out.shape == images.shape and out.dtype == images.dtype
        assert 0 < float((out - images).abs().mean()) < 0.25
    untouched = augment.augment_tensor(images, ("flip",), torch.Generator().manual_seed(4))
    assert untouched is images  # the flip happens on the uint8 batch, with its labels


def test_class_balancing_weights_favour_rare_classes_mildly():
    from celeba_tui.training.fit import balancing_weights

    weights = balancing_weights(np.array([1] * 60 + [0] * 15 + [2] * 15), 3)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[0] == pytest.approx(weights[2]) and weights[0] == pytest.approx(2 * weights[1])
    assert np.isfinite(balancing_weights(np.array([0, 0, 1]), 3)).all()  # an absent class does not divide by 0
    balanced = resolve_recipe(TrainOptions(plugin="cnn4", task="light", balance_classes=True))
    assert balanced.balance_classes and not get_recipe("noisy-labels").balance_classes


def test_a_run_keeps_the_epoch_its_recipe_judges_best():
    # Twenty-fifth round of docs/label-quality.md: by accuracy (both recipes), balanced accuracy, or the last.
    from celeba_tui.training.fit import kept_score
    from celeba_tui.training.recipes import KEEP_BY, NOISY_LABELS, STUDY

    record = {"epoch": 7, "val_acc": 0.8, "val_balanced_acc": 0.6}
    assert [kept_score(record, keep) for keep in KEEP_BY] == [0.8, 0.6, 7.0]
    assert NOISY_LABELS.keep_best_by == STUDY.keep_best_by == "accuracy"
