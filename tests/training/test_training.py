"""Training end to end on tiny learnable data: the run, its files, and bad input."""

import csv
import json

import numpy as np
import pandas as pd
import pytest
import torch

from celeba_tui.errors import CelebaError
from celeba_tui.images import decode_resized
from celeba_tui.models.model_io import ImageClassifier, build_classifier
from celeba_tui.models.run_files import load_run
from celeba_tui.training.trainer import TrainOptions, train

from training_data import add_labels, make_labelled_workspace

pytestmark = pytest.mark.usefixtures("one_thread")

CONFIG_KEYS = {
    "run_id",
    "architecture",
    "task",
    "classes",
    "input_size",
    "preprocess",
    "normalisation",
    "epochs",
    "batch_size",
    "lr",
    "seed",
    "augment",
    "split",
    "plugin",
    "celeba_tui_version",
}
SUMMARY_KEYS = {
    "best_epoch",
    "epochs_run",
    "val_acc",
    "val_loss",
    "val_balanced_acc",
    "val_macro_f1",
    "majority_baseline",
    "params_trainable",
    "params_non_trainable",
    "train_seconds",
    "images_per_s",
    "confusion",
    "n_train",
    "n_val",
    "skipped_images",
}


def test_two_epochs_lower_the_loss_and_write_a_loadable_run(labelled_workspace, tiny_architecture):
    result = train(
        labelled_workspace,
        TrainOptions(plugin=tiny_architecture, task="light", epochs=2, patience_acc=0, patience_loss=0),
    )
    path = result.run_path
    assert path.parent == labelled_workspace.runs_dir and path.name.startswith("light-tiny_test-")
    with open(path / "metrics.csv") as handle:
        metrics = list(csv.DictReader(handle))
    assert list(metrics[0]) == [
        "epoch",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "val_balanced_acc",
        "seconds",
        "images_per_s",
    ]
    assert len(metrics) == 2 and float(metrics[1]["train_loss"]) < float(metrics[0]["train_loss"])

    config = json.loads((path / "config.json").read_text())
    assert CONFIG_KEYS <= set(config)
    assert config["classes"] == ["left", "center", "right"] and config["preprocess"] == "resize:16"
    assert (
        config["split"] == str(labelled_workspace.splits_dir / "light.csv")
        and config["augment"] == "flip,geometry,photometric,noise"
    )
    assert (config["recipe"], config["optimizer"], config["schedule"]) == ("noisy-labels", "adamw", "one-cycle")
    assert pd.read_csv(config["split"])["split"].value_counts().to_dict() == {"train": 28, "val": 12}
    summary = json.loads((path / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["n_train"] == 28 and summary["n_val"] == 12 and summary["skipped_images"] == []
    # The default recipe fits a softmax temperature on the validation split; a bias per
    # class only with MIN_BIAS_LABELS validation labels per class (here 4).
    assert 0.05 <= summary["temperature"] <= 20 and summary["val_ece_calibrated"] is not None
    assert summary["class_bias"] is None
    assert summary["params_trainable"] == sum(
        p.numel() for p in torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Linear(128, 3)).parameters()
    )
    assert np.array(summary["confusion"]).sum() == 12
    assert abs(summary["majority_baseline"] - 4 / 12) < 1e-9
    for figure in ("curves.png", "confusion.png"):
        assert (path / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    state = torch.load(path / "best.pt", weights_only=True)
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    run = load_run(path)
    classifier = build_classifier(run)
    assert isinstance(classifier, ImageClassifier) and not classifier.training
    pixels = np.stack([decode_resized(labelled_workspace.image_root / f"{i:06d}.jpg", 16) for i in range(1, 7)])
    with torch.inference_mode():
        probabilities = classifier(torch.from_numpy(pixels))
    assert probabilities.shape == (6, 3)
    assert torch.allclose(probabilities.sum(1), torch.ones(6), atol=1e-5)


def test_training_learns_the_task_and_keeps_the_best_epoch(labelled_workspace, tiny_architecture):
    result = train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=12, seed=3))
    summary = result.summary
    assert summary.val_acc >= 0.9 > summary.majority_baseline
    history = pd.read_csv(result.run_path / "metrics.csv")
    best = history.loc[history["epoch"] == summary.best_epoch].iloc[0]
    assert best["val_acc"] == pytest.approx(summary.val_acc) == history["val_acc"].max()


def test_same_seed_same_run(labelled_workspace, tiny_architecture):
    options = TrainOptions(plugin=tiny_architecture, task="light", epochs=2, seed=5)
    first, second = train(labelled_workspace, options), train(labelled_workspace, options)
    assert first.run_path != second.run_path
    a = pd.read_csv(first.run_path / "metrics.csv")
    b = pd.read_csv(second.run_path / "metrics.csv")
    assert np.allclose(a[["train_loss", "val_loss"]], b[["train_loss", "val_loss"]], atol=1e-5)


def test_only_human_decisions_are_trained_on(tmp_path, tiny_architecture):
    workspace, names, labels = make_labelled_workspace(tmp_path, n=46, labels_for=40)
    with workspace.open_store() as store:
        rows = [
            {"image": n, "task": "light", "label": "left", "annotator": "ensemble", "source": "model"}
            for n in names[40:]
        ]
        store.add_labels(pd.DataFrame(rows))
        # A conflict (two annotators disagree) has no current label: left out too.
        add_labels(store, [names[0]], ["right" if labels[0] != "right" else "left"], annotator="bob", tasks=("light",))
    hard = TrainOptions(plugin=tiny_architecture, task="light", epochs=1, soft_targets=False)
    summary = train(workspace, hard).summary
    assert summary.n_train + summary.n_val == 39
    # The default soft targets learn the conflict too (train split only), never the model labels.
    summary = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1)).summary
    assert summary.n_train + summary.n_val == 40


def test_corrupt_and_missing_images_are_skipped_counted_and_listed(labelled_workspace, tiny_architecture):
    root = labelled_workspace.image_root
    (root / "000004.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "000005.jpg").unlink()
    result = train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1))
    skipped = {s["image"]: s["reason"] for s in result.summary.skipped_images}
    assert set(skipped) == {"000004.jpg", "000005.jpg"}
    assert "JPEG" in skipped["000004.jpg"] and "file not found" in skipped["000005.jpg"]
    assert result.summary.n_train + result.summary.n_val == 38
    with labelled_workspace.open_store() as store:
        problems = store.problems()
    assert set(problems["image"]) == {"000004.jpg", "000005.jpg"} and set(problems["reporter"]) == {"train"}
    train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1))
    with labelled_workspace.open_store() as store:
        assert len(store.problems()) == 2  # recorded once, not once per run


def test_images_missing_from_a_changed_root_are_said_so_before_training(labelled_workspace, tiny_architecture):
    # helper-72: `images` pointed elsewhere read as N damaged files "listed in summary.json",
    # a summary the refused run never wrote.
    import dataclasses

    elsewhere = labelled_workspace.image_root.parent / "elsewhere"
    elsewhere.mkdir()
    moved = dataclasses.replace(labelled_workspace, image_root=elsewhere)
    with pytest.raises(CelebaError) as refused:
        train(moved, TrainOptions(plugin=tiny_architecture, task="light", epochs=1))
    said = str(refused.value)
    assert f"not found under {elsewhere} (e.g. 000001.jpg; did `images` in celeba.toml change?)" in said, said
    assert "summary.json" not in said


def test_too_few_labels_is_refused_before_training(tmp_path, tiny_architecture):
    workspace = make_labelled_workspace(tmp_path, n=40, labels_for=8)[0]
    with pytest.raises(CelebaError, match="8 usable human labels.*at least 10"):
        train(workspace, TrainOptions(plugin=tiny_architecture, task="light"))
    assert not workspace.runs_dir.exists() and not workspace.cache_dir.exists()


def test_a_class_without_labels_is_refused_before_training(tmp_path, tiny_architecture):
    workspace, names, labels = make_labelled_workspace(tmp_path, n=30, labels_for=0)
    keep = [(n, label) for n, label in zip(names, labels) if label != "right"]
    with workspace.open_store() as store:
        add_labels(store, [n for n, _ in keep], [label for _, label in keep])
    with pytest.raises(CelebaError, match="class 'right' has no usable human labels"):
        train(workspace, TrainOptions(plugin=tiny_architecture, task="orientation"))
    assert not workspace.runs_dir.exists()


def test_unknown_plugin_lists_the_installed_ones(labelled_workspace):
    with pytest.raises(CelebaError, match=r"unknown architecture 'vgg99'.*installed: .*cnn4"):
        train(labelled_workspace, TrainOptions(plugin="vgg99", task="light"))


def test_unknown_task_is_the_workspace_error(labelled_workspace, tiny_architecture):
    with pytest.raises(CelebaError, match="unknown task 'smile'.*light, orientation"):
        train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="smile"))


def test_preprocessing_must_resize_to_the_input_size(labelled_workspace, tiny_architecture):
    with pytest.raises(CelebaError, match="takes 16x16 images"):
        train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", preprocess="resize:32"))
    result = train(
        labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1, preprocess="contrast:1.5")
    )
    assert result.config["preprocess"] == "resize:16,contrast:1.5"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "tpu"}, "unknown device"),
        ({"augment": "rotate"}, "unknown augmentation"),
        ({"epochs": 0}, "--epochs must be between 1 and 10,000, not 0"),
        ({"epochs": 10**20}, "--epochs must be between 1 and 10,000, not 100,000,000,000,000,000,000"),
        ({"batch_size": 10**9}, "--batch-size must be between 1 and 65,536"),
        ({"lr": -1.0}, "--lr must be positive"),
        ({"patience_loss": -1}, "must be 0 \\(off\\) or more"),
    ],
)
def test_bad_options_are_clear_errors(labelled_workspace, tiny_architecture, options, message):
    with pytest.raises(CelebaError, match=message):
        train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", **options))


def test_max_images_uses_a_seeded_sample(labelled_workspace, tiny_architecture):
    result = train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1, max_images=20))
    assert result.summary.n_train + result.summary.n_val == 20


def test_max_images_counts_the_conflicts_trained_on_too(labelled_workspace, tiny_architecture):
    # Found by the model-side walkthrough of 2026-12-07: `--max-images 60` trained on 137
    # images, the conflicts (soft targets) added after the sample was taken.
    with labelled_workspace.open_store() as store:
        current = store.current_labels("light")
        classes = ("left", "center", "right")
        for image, label in current[["image", "label"]].head(30).itertuples(index=False):
            store.add_label(image, "light", classes[(classes.index(label) + 1) % 3], "bob")
    result = train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1, max_images=20))
    assert result.summary.n_train + result.summary.n_val == 20
