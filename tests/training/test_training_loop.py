"""Loop parts: batch prefetching, devices, parameter counts, scores from confusion matrices."""

import threading

import numpy as np
import pytest
import torch

from celeba_tui.agreement.measures import confusion_matrix
from celeba_tui.errors import CelebaError
from celeba_tui.models.summary import parameter_counts
from celeba_tui.training import loop
from celeba_tui.training.loop import batch_stream, mixed_precision, pick_device, prefetched
from celeba_tui.training.metrics import at_chance, majority_baseline, scores


def test_prefetched_yields_everything_in_order():
    assert list(prefetched(iter(range(50)), depth=2)) == list(range(50))


def test_prefetched_passes_on_the_producers_error():
    def broken():
        yield 1
        raise ValueError("bad batch")

    with pytest.raises(ValueError, match="bad batch"):
        list(prefetched(broken()))


def test_leaving_early_stops_the_producer():
    before = threading.active_count()
    for item in prefetched(iter(range(1000)), depth=2):
        if item == 3:
            break
    assert threading.active_count() == before


def test_batch_stream_covers_the_order_once_without_augmentation():
    frames = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    rows = np.arange(10)[::-1].copy()  # dataset index i is frame 9 - i
    labels = np.arange(10) % 3
    batches = list(batch_stream(frames, rows, labels, np.array([4, 0, 7, 2, 9]), 2))
    assert [len(b[1]) for b in batches] == [2, 2, 1]
    for images, batch_labels in batches:
        dataset_index = 9 - images[:, 0, 0, 0].astype(int)
        assert (labels[dataset_index] == batch_labels).all()
    assert sorted(9 - int(img[0, 0, 0]) for images, _ in batches for img in images) == [0, 2, 4, 7, 9]


def test_devices():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(CelebaError, match="unknown device"):
        pick_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(CelebaError, match="no CUDA GPU"):
            pick_device("cuda")


def test_mixed_precision_on_cpu_only_where_bfloat16_is_native(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: True)
    assert mixed_precision(cpu, None) == mixed_precision(cpu, True) == torch.bfloat16
    assert mixed_precision(cpu, False) is None
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: False)
    assert mixed_precision(cpu, None) is None and mixed_precision(cpu, False) is None
    with pytest.raises(CelebaError, match="--no-amp"):
        mixed_precision(cpu, True)
    cuda = torch.device("cuda")  # only its type is looked at
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert mixed_precision(cuda, None) == torch.float16 and mixed_precision(cuda, False) is None


def test_a_bfloat16_step_trains_and_keeps_float32_weights():
    from celeba_tui.builtin_plugins.small_resnet import build_small_resnet
    from celeba_tui.training.loop import Stepper

    torch.manual_seed(0)
    model = build_small_resnet(3).to(memory_format=torch.channels_last)
    stepper = Stepper(model, 1e-3, torch.device("cpu"), amp_dtype=torch.bfloat16)
    images = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    before = [p.detach().clone() for p in model.parameters()]
    loss, _ = stepper.train_batch(images, np.array([0, 1, 2, 1]))
    assert torch.isfinite(loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    # With soft targets, class weights and landmark cues (two outputs past the classes) as the recipe uses them.
    model = build_small_resnet(5).to(memory_format=torch.channels_last)
    stepper = Stepper(
        model,
        1e-3,
        torch.device("cpu"),
        amp_dtype=torch.bfloat16,
        class_weights=np.array([1.2, 0.8, 1.0]),
        n_classes=3,
        cue_weight=1.0,
    )
    soft = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.0, 0.0, 1.0], [0.3, 0.4, 0.3]], dtype=np.float32)
    cues = np.array([[0.1, 0.2], [np.nan, np.nan], [-0.3, 0.1], [0.0, 0.5]], dtype=np.float32)
    loss, _ = stepper.train_batch(images, soft, cues)
    assert torch.isfinite(loss)


def test_batch_norm_statistics_count_as_non_trainable_like_keras():
    from celeba_tui.plugins import get_architecture

    # The study's Table 7: 4,401,619 trainable + 672 non-trainable.
    assert parameter_counts(get_architecture("residual_blocks").build(3)) == (4_401_619, 672)
    frozen = torch.nn.Linear(4, 2)
    frozen.weight.requires_grad_(False)
    assert parameter_counts(frozen) == (2, 8)


def test_scores_from_a_confusion_matrix():
    true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 1, 1, 0, 2, 0])
    confusion = confusion_matrix(true, pred, 3)
    assert confusion.tolist() == [[3, 1, 0], [1, 1, 0], [1, 0, 1]]
    result = scores(confusion)
    assert result["acc"] == pytest.approx(5 / 8)
    assert result["balanced_acc"] == pytest.approx((3 / 4 + 1 / 2 + 1 / 2) / 3)
    from sklearn.metrics import f1_score

    assert result["macro_f1"] == pytest.approx(f1_score(true, pred, average="macro"))
    assert np.isnan(scores(np.zeros((3, 3), int))["acc"])


def test_majority_baseline_uses_the_training_majority():
    assert majority_baseline(np.array([1, 1, 0]), np.array([1, 0, 0, 2]), 3) == pytest.approx(0.25)


def test_a_model_at_chance_is_told_apart_from_one_that_learnt_something():
    # Found by the walkthrough of 2026-12-06: `train` pointed to `autolabel` after a run
    # whose balanced accuracy was 0.333 (three classes: guessing), with no warning.
    one_class = scores(np.array([[0, 7, 0], [0, 5, 0], [0, 4, 0]]))["balanced_acc"]  # always "center"
    assert at_chance(one_class, 3)
    assert at_chance(0.35, 3) and not at_chance(0.40, 3) and at_chance(0.52, 2)
    assert not at_chance(float("nan"), 3)  # no validation images: nothing measured


def test_guessing_names_what_scored_chance_and_takes_unrecorded_scores_at_their_word():
    from celeba_tui.training.metrics import guessing, guessing_text

    scored = [("a", 0.34, 3), ("b", 0.9, 3), ("c", None, 3), ("d", 0.5, 2), ("e", True, 3), ("f", float("nan"), 3)]
    found = guessing(scored)
    assert found == [("a", 0.34), ("d", 0.5)]
    assert guessing_text(found).endswith("at what guessing scores (a 0.340, d 0.500)")
