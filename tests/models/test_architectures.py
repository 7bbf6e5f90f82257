"""Every registered architecture builds, runs forward and backward, and has its documented size.

Parametrised over `list_architectures()`: a new plugin is tested by being registered.
"""

from __future__ import annotations

import pytest
import torch

from celeba_tui.architecture import Architecture, TrainingDefaults
from celeba_tui.models.summary import parameter_counts
from celeba_tui.plugins import get_architecture, list_architectures, parse_spec

# (trainable, non-trainable) with 3 classes, counted as Keras does (docs/architectures.md).
PARAMETER_COUNTS = {
    "cnn4": (16_849_235, 0),  # study Table 3
    "vgg19_scratch": (55_037_507, 0),  # Table 4 says 55,668,812; its own shapes give this
    "vgg19_variation": (1_284_099, 0),  # Table 5
    "resnet50": (23_514_179, 53_120),  # torchvision layout; Keras (Table 6) 23,540,739 + 53,120
    "residual_blocks": (4_401_619, 672),  # Table 7
    "residual_blocks_dropout": (4_401_619, 672),  # dropout adds no parameters
    "inception_v3": (27_083_875 + 233_603, 34_432 + 256),  # Table 8 plus the auxiliary classifier
    "small_resnet": (691_131, 2_160),  # not in the study: docs/architectures.md
    "small_resnet_128": (691_131, 2_160),  # the same network; a max-pool adds no parameters
}
INPUT_SIZES = {
    "small_resnet": 64,
    "small_resnet_128": 128,
    "cnn4": 64,
    "vgg19_scratch": 128,
    "vgg19_variation": 64,
    "resnet50": 64,
    "residual_blocks": 64,
    "residual_blocks_dropout": 64,
    "inception_v3": 128,
}
ARCHITECTURES = list_architectures()


pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_studys_architectures_are_registered():
    assert set(PARAMETER_COUNTS) <= set(ARCHITECTURES)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_declared_input_size_preprocessing_and_defaults(name):
    arch = get_architecture(name)
    assert parse_spec(arch.preprocess).size == (arch.input_size, arch.input_size)
    assert isinstance(arch.defaults, TrainingDefaults)
    if name in INPUT_SIZES:
        assert arch.input_size == INPUT_SIZES[name]
        assert arch.preprocess == f"resize:{arch.input_size}"
        if name.startswith("small_resnet"):  # the noisy-labels recipe's networks: its one-cycle peak lr
            epochs = 40 if name == "small_resnet_128" else 25
            assert (arch.defaults.epochs, arch.defaults.lr, arch.defaults.batch_size) == (epochs, 3e-3, 64)
            return
        expected_lr = 1e-4 if name == "vgg19_variation" else 1e-3  # see docs/architectures.md
        assert (arch.defaults.epochs, arch.defaults.lr, arch.defaults.batch_size) == (50, expected_lr, 32)
        assert (arch.defaults.patience_acc, arch.defaults.patience_loss) == (5, 3)


def test_training_defaults_from_a_plugins_dict_are_checked():
    arch = Architecture("tiny", build=lambda n: None, input_size=8, defaults={"epochs": 2, "lr": 1e-4})
    assert arch.defaults == TrainingDefaults(epochs=2, lr=1e-4)
    with pytest.raises(ValueError, match="unknown training default.*patience_accuracy"):
        Architecture("tiny", build=lambda n: None, input_size=8, defaults={"patience_accuracy": 5})
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        TrainingDefaults(epochs=0)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        TrainingDefaults(lr=-1)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_forward_in_eval_and_train_mode_and_backward(name):
    torch.manual_seed(0)
    arch = get_architecture(name)
    model = arch.build(4)
    x = torch.rand(2, 3, arch.input_size, arch.input_size)
    model.eval()
    with torch.no_grad():
        logits = model(x)
        again = model(x)
    assert logits.shape == (2, 4) and logits.dtype == torch.float32 and torch.isfinite(logits).all()
    assert torch.equal(logits, again), "eval mode must be deterministic (dropout off)"

    model.train()
    output = model(x)
    target = torch.tensor([0, 3])
    if arch.aux_loss_weight:
        assert isinstance(output, tuple) and len(output) == 2, "an auxiliary classifier returns (logits, aux_logits)"
        main, aux = output
        assert main.shape == aux.shape == (2, 4)
        loss = torch.nn.functional.cross_entropy(
            main, target
        ) + arch.aux_loss_weight * torch.nn.functional.cross_entropy(aux, target)
    else:
        assert isinstance(output, torch.Tensor) and output.shape == (2, 4)
        loss = torch.nn.functional.cross_entropy(output, target)
    loss.backward()
    missing = [
        n
        for n, p in model.named_parameters()
        if p.requires_grad and (p.grad is None or not torch.isfinite(p.grad).all())
    ]
    assert not missing, f"parameters without a finite gradient: {missing[:5]}"


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_parameter_counts_match_the_documented_numbers(name):
    if name not in PARAMETER_COUNTS:
        pytest.skip(f"{name} is not a built-in architecture; no documented count")
    assert parameter_counts(get_architecture(name).build(3)) == PARAMETER_COUNTS[name]


def test_the_head_follows_the_number_of_classes():
    model = get_architecture("cnn4").build(7)
    assert parameter_counts(model)[0] == 16_849_235 - 3 * 1025 + 7 * 1025


def test_the_dropout_variant_differs_only_by_dropout():
    plain = get_architecture("residual_blocks").build(3)
    dropout = get_architecture("residual_blocks_dropout").build(3)
    rates = [m.p for m in dropout.modules() if isinstance(m, torch.nn.Dropout)]
    assert rates.count(0.1) == 6 and rates.count(0.5) == 1  # after both ReLUs of each of the 3 blocks
    assert [m.p for m in plain.modules() if isinstance(m, torch.nn.Dropout)] == [0.5]
    assert parameter_counts(plain) == parameter_counts(dropout)
