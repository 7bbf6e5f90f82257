"""Calibration on held-out labels: temperature scaling and a bias per class (pure parts),
the run's recorded values read back, and the exported graph computing them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from celeba_tui.mirror import mirror_map
from celeba_tui.models.calibration import (
    MAX_BIAS,
    MAX_TEMPERATURE,
    MIN_BIAS_LABELS,
    Calibration,
    bias_groups,
    calibrate,
    calibration_line,
    expected_calibration_error,
    fit_temperature,
    fit_temperature_and_bias,
    negative_log_likelihood,
    softmax,
)
from celeba_tui.models.run_files import Run, run_class_bias, run_temperature

CLASSES = ("left", "center", "right")


def test_temperature_scaling_recovers_an_overconfident_model():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 1.5, size=(4000, 3))
    labels = np.array([rng.choice(3, p=p) for p in softmax(true_logits)])
    overconfident = true_logits * 3.0  # a model three times too sure of itself
    temperature = fit_temperature(overconfident, labels)
    assert 2.5 < temperature < 3.5
    result = calibrate(overconfident, labels)
    assert result.ece_after < result.ece_before
    # Accuracy is untouched: dividing logits by T keeps every argmax.
    assert (softmax(overconfident, temperature).argmax(1) == overconfident.argmax(1)).all()
    assert fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int)) == 1.0
    assert fit_temperature(np.full((2, 3), np.nan), np.array([0, 1])) == 1.0
    assert expected_calibration_error(np.array([[1.0, 0, 0]]), np.array([0])) == 0.0


def test_a_run_with_a_hostile_temperature_is_refused(tmp_path):
    from celeba_tui.models.run_files import Run

    for bad in ("hot", True, -1, 0, MAX_TEMPERATURE * 2, float("inf")):
        run = Run(tmp_path, {}, json.loads(json.dumps({"temperature": bad})))
        with pytest.raises(CelebaError, match="temperature"):
            run_temperature(run)
    assert run_temperature(Run(tmp_path, {}, {})) == 1.0
    assert run_temperature(Run(tmp_path, {}, {"temperature": 0.5})) == 0.5


def _shifted_model(seed: int = 0, n: int = 4000):
    """Labels drawn from softmax(z + bias), and a model that says 2z: twice too sure, and
    blind to the bias (it calls `center` less often than the labels do)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, 3))
    true_bias = np.array([-0.4, 0.8, -0.4])
    labels = np.array([rng.choice(3, p=p) for p in softmax(z, 1.0, true_bias)])
    return 2.0 * z, labels, true_bias


def test_a_bias_per_class_moves_the_boundary_back_to_the_held_out_labels():
    logits, labels, true_bias = _shifted_model()
    temperature, bias = fit_temperature_and_bias(logits, labels, mirror_map(CLASSES))
    assert 1.7 < temperature < 2.3
    assert np.allclose(bias, true_bias - true_bias.mean(), atol=0.15) and abs(sum(bias)) < 1e-9
    assert bias[0] == bias[2]  # left and right share one bias
    # It fits the held-out labels better than the temperature alone, and moves decisions
    # towards the class the model under-calls.
    alone = fit_temperature(logits, labels)
    assert negative_log_likelihood(logits, labels, temperature, bias) < negative_log_likelihood(logits, labels, alone)
    before = np.bincount(logits.argmax(1), minlength=3)
    after = np.bincount(softmax(logits, temperature, bias).argmax(1), minlength=3)
    assert after[1] > before[1]

    result = calibrate(logits, labels, bias=True, mirror=mirror_map(CLASSES))
    assert result.bias == bias and result.temperature == temperature
    assert result.ece_after < result.ece_before
    assert calibrate(logits, labels).bias is None  # the temperature alone unless asked


def test_classes_without_a_mirror_get_a_bias_each():
    assert bias_groups(mirror_map(CLASSES), 3).tolist() == [0, 1, 0]
    assert bias_groups(mirror_map(("yes", "no")), 2).tolist() == [0, 1]
    assert bias_groups(mirror_map(("upper_left", "lower_left")), 2).tolist() == [0, 1]  # mirrors absent
    assert bias_groups(None, 3).tolist() == [0, 1, 2]
    logits, labels, _ = _shifted_model(seed=1, n=1500)
    _, untied = fit_temperature_and_bias(logits, labels)
    assert untied[0] != untied[2]


def test_a_class_with_too_few_held_out_labels_gets_no_bias():
    logits, labels, _ = _shifted_model(seed=2, n=600)
    few = np.concatenate([np.flatnonzero(labels != 2), np.flatnonzero(labels == 2)[: MIN_BIAS_LABELS - 1]])
    assert calibrate(logits[few], labels[few], bias=True).bias is None
    enough = np.concatenate([np.flatnonzero(labels != 2), np.flatnonzero(labels == 2)[:MIN_BIAS_LABELS]])
    assert calibrate(logits[enough], labels[enough], bias=True).bias is not None
    assert fit_temperature_and_bias(np.zeros((0, 3)), np.zeros(0, dtype=int)) == (1.0, (0.0, 0.0, 0.0))
    assert fit_temperature_and_bias(np.full((2, 3), np.nan), np.array([0, 1])) == (1.0, (0.0, 0.0, 0.0))


def test_one_class_always_right_keeps_the_bias_within_its_bounds():
    # Held-out labels the logits cannot explain (every label `center`, logits saying `left`)
    # would push the bias without end; it stops at the bounds and stays readable.
    logits = np.tile([4.0, 0.0, 0.0], (50, 1))
    labels = np.ones(50, dtype=int)
    temperature, bias = fit_temperature_and_bias(logits, labels)
    assert all(abs(value) <= MAX_BIAS for value in bias) and temperature <= MAX_TEMPERATURE


def test_calibration_line_names_each_class_bias():
    line = calibration_line(Calibration(0.61, (0.1, -0.2, 0.1), 0.062, 0.039), CLASSES)
    assert line == (
        "temperature 0.61, class biases left +0.10 center -0.20 right +0.10: "
        "validation calibration error 0.062 -> 0.039"
    )
    assert calibration_line(Calibration(1.5, None, 0.1, 0.05), CLASSES).startswith("temperature 1.50: ")
    # At its bound the "calibrated" error is the flattening's, not a success (an ML walkthrough).
    flat = calibration_line(Calibration(20.0, None, 0.096, 3e-6), CLASSES)
    assert "the temperature reached its bound, 20" in flat and "confidence says almost nothing" in flat
    assert "bound" not in calibration_line(Calibration(19.0, None, 0.096, 0.01), CLASSES)


def test_a_run_with_hostile_class_biases_is_refused(tmp_path):
    config = {"classes": list(CLASSES)}
    for bad in ("up", [1, 2], [0, "a", 0], [0, True, 0], [0, MAX_BIAS * 2, 0], [0, float("inf"), 0], {"left": 1}):
        run = Run(tmp_path, config, json.loads(json.dumps({"class_bias": bad})))
        with pytest.raises(CelebaError, match="class_bias"):
            run_class_bias(run)
    assert run_class_bias(Run(tmp_path, config, {})) is None
    assert run_class_bias(Run(tmp_path, config, {"class_bias": None})) is None
    assert run_class_bias(Run(tmp_path, config, {"class_bias": [0.5, -1, 0.5]})) == [0.5, -1.0, 0.5]


def test_the_exported_graph_applies_the_runs_temperature_and_class_biases(tmp_path):
    import onnxruntime as ort

    from celeba_tui.onnx.export import export_run

    from onnx_models import write_run

    plain = write_run(tmp_path / "plain", "cnn4")
    calibrated = write_run(
        tmp_path / "calibrated", "cnn4", summary={"temperature": 0.5, "class_bias": [1.0, -2.0, 1.0]}
    )
    pixels = np.random.default_rng(0).integers(0, 256, size=(8, 64, 64, 3), dtype=np.uint8)
    outputs = []
    for run, name in ((plain, "plain.onnx"), (calibrated, "calibrated.onnx")):
        result = export_run(run, tmp_path / name)
        assert result.parity.passed
        assert result.metadata.validation.get("class_bias") == (None if run == plain else [1.0, -2.0, 1.0])
        session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
        outputs.append(session.run(None, {"pixels": pixels})[0].astype(np.float64))
    expected = softmax(np.log(outputs[0]), 0.5, [1.0, -2.0, 1.0])
    assert np.allclose(outputs[1], expected, atol=1e-4)
    assert not np.allclose(outputs[1], outputs[0], atol=1e-2)
    # `celeba inspect` says which calibration the graph applies.
    shown = CliRunner().invoke(app, ["inspect", str(tmp_path / "calibrated.onnx")])
    assert shown.exit_code == 0 and "class_bias +1 -2 +1," in shown.output and "temperature 0.5," in shown.output
