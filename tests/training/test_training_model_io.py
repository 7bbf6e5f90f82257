"""Loading runs back: the classifier, and clear errors for what is not a usable run."""

import json
import shutil

import pytest
import torch

from celeba_tui.errors import CelebaError
from celeba_tui.models.model_io import ImageClassifier, build_classifier, to_model_input
from celeba_tui.models.run_files import load_run
from celeba_tui.training.trainer import TrainOptions, train

from training_data import build_tiny


@pytest.fixture
def run_path(labelled_workspace, tiny_architecture, one_thread):
    return train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1)).run_path


def edit_config(path, **changes):
    config = json.loads((path / "config.json").read_text())
    config.update(changes)
    (path / "config.json").write_text(json.dumps(config))


def test_classifier_takes_uint8_nhwc_and_returns_probabilities():
    torch.manual_seed(0)
    classifier = ImageClassifier(build_tiny(3)).eval()
    pixels = torch.randint(0, 256, (5, 16, 16, 3), dtype=torch.uint8)
    probabilities = classifier(pixels)
    assert probabilities.shape == (5, 3) and torch.allclose(probabilities.sum(1), torch.ones(5))
    model_input = to_model_input(pixels)
    assert model_input.shape == (5, 3, 16, 16) and model_input.max() <= 1 and model_input.min() >= 0
    assert torch.equal(model_input[1, 2], pixels[1, :, :, 2].float() / 255)


def test_not_a_run_directory(tmp_path):
    with pytest.raises(CelebaError, match="no such run directory"):
        load_run(tmp_path / "nope")
    with pytest.raises(CelebaError, match="not a training run"):
        load_run(tmp_path)


def test_unfinished_run_and_missing_checkpoint(run_path):
    (run_path / "best.pt").unlink()
    with pytest.raises(CelebaError, match="no checkpoint"):
        load_run(run_path)
    (run_path / "summary.json").unlink()
    with pytest.raises(CelebaError, match="unfinished run"):
        load_run(run_path)


def test_run_from_another_plugin_is_a_clear_error(run_path):
    edit_config(
        run_path, architecture="vgg19_variation", input_size=64, plugin="celeba_tui.builtin_plugins.vgg19_variation"
    )
    run = load_run(run_path)
    with pytest.raises(
        CelebaError, match=r"trained with plugin celeba_tui.builtin_plugins.vgg19_variation .*does not fit"
    ):
        build_classifier(run)


def test_run_of_an_architecture_not_installed(run_path):
    edit_config(run_path, architecture="gone_net", plugin="gone-plugin 1.0")
    with pytest.raises(CelebaError, match=r"'gone_net' \(gone-plugin 1.0\), which is not available.*installed:"):
        build_classifier(load_run(run_path))


def test_checkpoint_with_another_class_count(run_path):
    edit_config(run_path, classes=["left", "right"])
    with pytest.raises(CelebaError, match="2 classes.*does not fit"):
        build_classifier(load_run(run_path))


def test_checkpoint_that_is_not_a_state_dict(run_path, tmp_path):
    (run_path / "best.pt").write_bytes(b"garbage")
    with pytest.raises(CelebaError, match="not a readable checkpoint"):
        build_classifier(load_run(run_path))
    torch.save([1, 2, 3], run_path / "best.pt")
    with pytest.raises(CelebaError, match="not a state dict"):
        build_classifier(load_run(run_path))


def test_copied_run_still_loads(run_path, tmp_path):
    copy = tmp_path / "elsewhere" / run_path.name
    shutil.copytree(run_path, copy)
    assert load_run(copy).run_id == run_path.name
    assert isinstance(build_classifier(load_run(copy)), ImageClassifier)


def test_a_checkpoint_that_misses_the_network_is_told_in_counts_and_a_few_names():
    # Attack pass 30: torch's message listed every key, one error line of ~4,000 characters.
    from celeba_tui.models.model_io import misfit

    own = {f"block{i}.weight": torch.zeros(2) for i in range(10)} | {"head.weight": torch.zeros(3, 2)}
    state = {f"layer{i}.weight": torch.zeros(2) for i in range(7)} | {"head.weight": torch.zeros(5, 2)}
    assert misfit(own, state) == (
        "10 tensors missing (block0.weight, block1.weight, block2.weight, ...); "
        "7 tensors unexpected (layer0.weight, layer1.weight, layer2.weight, ...); "
        "1 tensor of another shape (head.weight)"
    )
