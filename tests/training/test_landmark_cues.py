"""Landmark cues: the pure geometry, the file, and training with them end to end."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from celeba_tui.errors import CelebaError
from celeba_tui.formats.celeba_txt import LANDMARK_COLUMNS, write_celeba_table
from celeba_tui.images import decode_resized
from celeba_tui.models.landmark_cues import (
    CUES,
    RELEVANCE_MARGIN,
    cue_relevance,
    cue_table,
    flip_cues,
    read_cues,
    standardise,
)
from celeba_tui.models.model_io import build_classifier
from celeba_tui.models.run_files import load_run, run_cue_outputs
from celeba_tui.training.trainer import TrainOptions, train

from training_data import make_labelled_workspace

pytestmark = pytest.mark.usefixtures("one_thread")


def landmarks(rows: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=LANDMARK_COLUMNS, index=[f"{i:06d}.jpg" for i in range(1, len(rows) + 1)])


def test_a_frontal_face_has_zero_cues_and_a_turned_one_has_the_sign_of_its_turn():
    frontal = [69, 110, 109, 110, 89, 130, 72, 152, 106, 152]
    nose_right = [69, 110, 109, 110, 99, 130, 82, 152, 116, 152]
    cues = cue_table(landmarks([frontal, nose_right]))
    assert cues.shape == (2, len(CUES)) and cues.dtype == np.float32
    assert np.all(cues[0] == 0)
    assert cues[1, 0] == pytest.approx(10 / 40) and cues[1, 1] == pytest.approx(10 / 40)


def test_mirroring_the_landmarks_negates_the_cues():
    rng = np.random.default_rng(0)
    width = 178
    rows = []
    for _ in range(50):
        left_eye, right_eye = sorted(rng.integers(40, 140, size=2))
        right_eye = max(right_eye, left_eye + 5)
        nose, left_mouth, right_mouth = rng.integers(40, 140, size=3)
        rows.append([left_eye, 100, right_eye, 100, nose, 130, left_mouth, 150, right_mouth, 150])
    original = landmarks(rows)
    mirrored = original.copy()
    for column in LANDMARK_COLUMNS:
        if column.endswith("_x"):
            mirrored[column] = width - 1 - original[column]
    # The mirror's left eye is the original's right eye (and likewise the mouth corners).
    mirrored = mirrored.rename(
        columns={
            "lefteye_x": "righteye_x",
            "righteye_x": "lefteye_x",
            "leftmouth_x": "rightmouth_x",
            "rightmouth_x": "leftmouth_x",
        }
    )
    assert np.allclose(cue_table(mirrored), -cue_table(original), atol=1e-6)
    flipped = flip_cues(cue_table(original), np.arange(50) % 2 == 0)
    assert np.allclose(flipped[::2], -cue_table(original)[::2]) and np.allclose(
        flipped[1::2], cue_table(original)[1::2]
    )


def test_eyes_closer_than_a_pixel_give_unknown_cues_and_missing_columns_are_refused():
    cues = cue_table(landmarks([[80, 110, 80, 110, 90, 130, 72, 152, 106, 152]]))
    assert np.isnan(cues).all()
    with pytest.raises(CelebaError, match="missing column"):
        cue_table(landmarks([[1] * 10]).drop(columns=["nose_x"]))


def test_read_cues_follows_the_requested_order_and_leaves_unknown_images_unknown(tmp_path):
    path = tmp_path / "list_landmarks_align_celeba.txt"
    write_celeba_table(
        landmarks(
            [[69, 110, 109, 110, 99, 130, 82, 152, 116, 152], [69, 110, 109, 110, 89, 130] + [72, 152, 106, 152]]
        ),
        path,
    )
    cues = read_cues(path, ["000002.jpg", "nobody.jpg", "000001.jpg"])
    assert cues[0, 0] == 0 and np.isnan(cues[1]).all() and cues[2, 0] > 0


def test_a_broken_landmark_file_is_one_clear_error(tmp_path):
    path = tmp_path / "list_landmarks_align_celeba.txt"
    path.write_text("2\nlefteye_x lefteye_y\n000001.jpg 1 x\n")
    with pytest.raises(CelebaError, match="landmarks: .*list_landmarks_align_celeba.txt"):
        read_cues(path, ["000001.jpg"])


def test_standardise_scales_to_unit_spread_on_the_fitting_rows_and_clips_outliers():
    cues = np.array([[1.0, 2.0], [-1.0, -2.0], [1.0, 2.0], [-1.0, -2.0], [100.0, np.nan]], dtype=np.float32)
    scaled = standardise(cues, np.arange(4))
    assert np.allclose(scaled[:4], np.sign(cues[:4]))
    assert scaled[4, 0] == 4.0 and np.isnan(scaled[4, 1])


def celeba_layout_workspace(root, n=36, *, with_landmarks=True, related=True):
    """A labelled workspace over `root/data/img_align_celeba` and a landmark file beside it whose
    nose offset follows the class (as a turned head's would), or not at all (`related=False`)."""
    workspace, _, labels = make_labelled_workspace(root, n, folder="data/img_align_celeba")
    rng = np.random.default_rng(1)
    rows = [
        [69, 110, 109, 110, {"left": 80, "center": 89, "right": 98}[label] if related else int(rng.integers(80, 99))]
        + [130, 72, 152, 106, 152]
        for label in labels
    ]
    if with_landmarks:
        write_celeba_table(landmarks(rows), root / "data" / "list_landmarks_align_celeba.txt")
    return workspace


def small_run(workspace, architecture, **options):
    return train(
        workspace,
        TrainOptions(
            plugin=architecture, task="light", epochs=2, batch_size=8, patience_acc=0, patience_loss=0, **options
        ),
    )


def test_training_with_a_landmark_file_learns_the_cues_and_exports_only_the_classes(tmp_path, tiny_architecture):
    workspace = celeba_layout_workspace(tmp_path)
    result = small_run(workspace, tiny_architecture)
    config = json.loads((result.run_path / "config.json").read_text())
    assert config["landmark_cues"] == list(CUES) and config["landmark_cue_weight"] > 0
    run = load_run(result.run_path)
    assert run_cue_outputs(run) == len(CUES)
    # The network has class + cue outputs; the classifier (what ONNX exports) gives classes only.
    state = torch.load(result.run_path / "best.pt", weights_only=True)
    assert state["4.weight"].shape[0] == 3 + len(CUES)
    classifier = build_classifier(run)
    pixels = np.stack([decode_resized(workspace.image_root / f"{i:06d}.jpg", 16) for i in range(1, 5)])
    with torch.inference_mode():
        probabilities = classifier(torch.from_numpy(pixels))
    assert probabilities.shape == (4, 3) and torch.allclose(probabilities.sum(1), torch.ones(4), atol=1e-5)


def test_exported_onnx_of_a_cue_run_has_the_classes_as_its_only_output(tmp_path, tiny_architecture):
    pytest.importorskip("onnxruntime")
    from celeba_tui.onnx.export import export_run

    workspace = celeba_layout_workspace(tmp_path)
    result = small_run(workspace, tiny_architecture)
    exported = export_run(result.run_path, tmp_path / "cues.onnx", image_root=workspace.image_root)
    assert exported.parity.argmax_agreement == 1.0
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "cues.onnx"), providers=["CPUExecutionProvider"])
    pixels = np.stack([decode_resized(workspace.image_root / f"{i:06d}.jpg", 16) for i in range(1, 4)])
    (probabilities,) = session.run(None, {session.get_inputs()[0].name: pixels})
    assert probabilities.shape == (3, 3)


@pytest.mark.parametrize("with_landmarks, option", [(True, False), (False, None)])
def test_no_cues_without_a_landmark_file_or_when_turned_off(tmp_path, tiny_architecture, with_landmarks, option):
    workspace = celeba_layout_workspace(tmp_path, with_landmarks=with_landmarks)
    result = small_run(workspace, tiny_architecture, landmark_cues=option)
    config = json.loads((result.run_path / "config.json").read_text())
    assert config["landmark_cues"] == [] and config["landmark_cue_weight"] == 0
    state = torch.load(result.run_path / "best.pt", weights_only=True)
    assert state["4.weight"].shape[0] == 3


def test_the_study_recipe_has_no_cues(tmp_path, tiny_architecture):
    workspace = celeba_layout_workspace(tmp_path)
    result = small_run(workspace, tiny_architecture, recipe="study")
    assert json.loads((result.run_path / "config.json").read_text())["landmark_cues"] == []


@pytest.mark.parametrize("value", ["nose_offset", ["ears"], [1], {"a": 1}])
def test_a_run_whose_config_names_unknown_cues_is_refused(tmp_path, tiny_architecture, value):
    workspace = celeba_layout_workspace(tmp_path)
    result = small_run(workspace, tiny_architecture)
    config_path = result.run_path / "config.json"
    config = json.loads(config_path.read_text())
    config["landmark_cues"] = value
    config_path.write_text(json.dumps(config))
    with pytest.raises(CelebaError, match="landmark_cues"):
        build_classifier(load_run(result.run_path))


def test_cues_that_follow_the_classes_are_relevant_and_unrelated_ones_are_not():
    rng = np.random.default_rng(0)
    labels = np.arange(300) % 3
    related = (labels[:, None] - 1.0) + rng.normal(0, 0.2, size=(300, 2))
    unrelated = rng.normal(0, 1, size=(300, 2))
    assert cue_relevance(related.astype(np.float32), labels, 3) > 0.9
    assert cue_relevance(unrelated.astype(np.float32), labels, 3) < 1 / 3 + RELEVANCE_MARGIN
    # Too few known cues per class to tell: chance.
    few = np.full((300, 2), np.nan, dtype=np.float32)
    few[:4] = 0
    assert cue_relevance(few, labels, 3) == pytest.approx(1 / 3)


def test_cues_unrelated_to_the_classes_are_not_learnt_unless_forced(tmp_path, tiny_architecture):
    workspace = celeba_layout_workspace(tmp_path, n=60, related=False)
    config = json.loads((small_run(workspace, tiny_architecture).run_path / "config.json").read_text())
    assert config["landmark_cues"] == [] and config["landmark_cue_relevance"] < 1 / 3 + RELEVANCE_MARGIN
    forced = json.loads(
        (small_run(workspace, tiny_architecture, landmark_cues=True).run_path / "config.json").read_text()
    )
    assert forced["landmark_cues"] == list(CUES)
