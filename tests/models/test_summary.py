"""`celeba summary`: Keras-style layer tables and counts that match the study's tables."""

from __future__ import annotations

import json

import pytest
from torch import nn
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.models.summary import format_summary, layer_modules, parameter_counts, summarize
from celeba_tui.plugins import get_architecture

pytestmark = pytest.mark.usefixtures("one_thread")


def rows_by_name(summary) -> dict:
    return {row.name: row for row in summary.layers}


def test_batch_norm_statistics_count_as_non_trainable_like_keras():
    assert parameter_counts(nn.BatchNorm2d(16)) == (32, 32)  # gamma, beta / moving mean, variance
    frozen = nn.Linear(4, 2)
    frozen.bias.requires_grad_(False)
    assert parameter_counts(frozen) == (8, 2)


def test_cnn4_summary_json_matches_table_3():
    result = CliRunner().invoke(app, ["summary", "cnn4", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == (16_849_235, 16_849_235, 0)
    assert data["input_shape"] == [None, 3, 64, 64] and data["training_only_params"] == 0
    convs = [layer for layer in data["layers"] if layer["type"] == "Conv2d"]
    assert [c["params"] for c in convs] == [608, 3216, 12832, 51264]
    assert [c["output_shape"] for c in convs] == [
        [None, 8, 64, 64],
        [None, 16, 64, 64],
        [None, 32, 64, 64],
        [None, 64, 32, 32],
    ]
    dense = [layer for layer in data["layers"] if layer["type"] == "Linear"]
    assert [(d["name"], d["params"]) for d in dense] == [("dense", 16_778_240), ("dense_1", 3075)]
    assert next(layer for layer in data["layers"] if layer["type"] == "Flatten")["output_shape"] == [None, 16384]


def test_summary_text_is_a_keras_style_table():
    result = CliRunner().invoke(app, ["summary", "cnn4", "--classes", "5"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith('Model: "cnn4"') and "5 classes" in lines[0]
    assert lines[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#"]
    assert any(line.split() == ["conv2d", "(Conv2d)", "(None,", "8,", "64,", "64)", "608"] for line in lines)
    assert "Total params: 16,851,285" in lines and "Non-trainable params: 0" in lines


def test_residual_blocks_match_table_7_block_by_block():
    summary = summarize(get_architecture("residual_blocks"))
    blocks = [row for row in summary.layers if row.type == "Residual"]
    assert [row.params for row in blocks] == [7888, 39392, 156608]
    assert [row.output_shape for row in blocks] == [(None, 16, 32, 32), (None, 32, 16, 16), (None, 64, 8, 8)]
    assert [row.non_trainable for row in blocks] == [96, 192, 384]
    assert (summary.trainable, summary.non_trainable, summary.total) == (4_401_619, 672, 4_402_291)
    assert rows_by_name(summary)["dense"].params == 4_195_328


def test_vgg19_variation_matches_table_5():
    summary = summarize(get_architecture("vgg19_variation"))
    convs = [row for row in summary.layers if row.type == "Conv2d"]
    assert [row.output_shape[2] for row in convs] == [62, 62, 62, 31, 31, 31, 15, 15, 15]
    assert [row.params for row in convs] == [896, 9248, 9248, 18496, 36928, 36928, 73856, 147584, 147584]
    assert rows_by_name(summary)["flatten"].output_shape == (None, 6272)
    assert summary.total == summary.trainable == 1_284_099


def test_vgg19_scratch_follows_table_4s_shapes_not_its_two_inconsistent_counts():
    summary = summarize(get_architecture("vgg19_scratch"))
    convs = [row for row in summary.layers if row.type == "Conv2d"]
    assert [row.output_shape[2] for row in convs] == [126, 124, 60, 58, 27, 25, 10, 8]  # 'valid' 3x3, 128 input
    assert [row.params for row in convs[:7]] == [1792, 36928, 73856, 147584, 295168, 590080, 1180160]
    assert rows_by_name(summary)["conv2d_7"].params == 3 * 3 * 512 * 512 + 512 == 2_359_808  # Table 4: 2,401,289
    assert rows_by_name(summary)["flatten"].output_shape == (None, 4 * 4 * 512)  # Table 4: 8,336
    assert rows_by_name(summary)["dense"].params == 8192 * 4096 + 4096
    assert [rows_by_name(summary)[n].params for n in ("dense_1", "dense_2")] == [16_781_312, 12_291]  # as Table 4
    assert summary.total == 55_037_507


def test_inception_v3_without_its_training_only_auxiliary_classifier_matches_table_8():
    summary = summarize(get_architecture("inception_v3"))
    auxiliary = [row for row in summary.layers if row.training_only]
    assert auxiliary and all(row.name.startswith("aux_head.") for row in auxiliary)
    assert summary.inference == 27_118_307
    assert summary.trainable - sum(row.trainable for row in auxiliary) == 27_083_875
    assert summary.non_trainable - sum(row.non_trainable for row in auxiliary) == 34_432
    mixed = [row for row in summary.layers if row.name.split(".")[-1].startswith("mixed")]
    assert [row.output_shape[1] for row in mixed] == [256, 288, 288, 768, 768, 768, 768, 768, 1280, 2048, 2048]
    dense = [row.output_shape[1] for row in summary.layers if row.name.startswith("head.dense")]
    assert dense == [2048, 512, 128, 32, 8, 3]
    text = format_summary(summary)
    assert "[training only]" in text and "inference uses 27,118,307" in text


def test_custom_models_are_summarised_by_their_children():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.body(x).mean((2, 3)))

    assert [name for name, _ in layer_modules(Net())] == ["body.0", "body.1", "head"]
    assert [name for name, _ in layer_modules(nn.Linear(2, 2))] == ["Linear"]


def test_summary_of_an_unknown_architecture_lists_the_installed_ones():
    result = CliRunner().invoke(app, ["summary", "vgg16"])
    assert result.exit_code == 2
    assert "unknown architecture 'vgg16' (installed: cnn4, inception_v3," in result.output
