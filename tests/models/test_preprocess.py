"""Preprocessing ops, spec parsing and `celeba preview`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageEnhance
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.plugins import parse_spec, with_default_size
from celeba_tui.preprocess import Pipeline, PreprocessError


def random_image(height=24, width=20, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def op(spec: str):
    return parse_spec(spec).apply


# ------------------------------------------------------------------ ops
def test_binarize_thresholds_the_grey_level_at_its_mean():
    grey = np.array([[10, 20], [30, 40]], np.uint8)  # mean 25
    img = np.repeat(grey[..., None], 3, axis=2)
    out = op("binarize")(img)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    assert (out[..., 0] == [[0, 0], [255, 255]]).all() and (out == out[..., :1]).all()
    at_mean = np.repeat(np.array([[0, 25], [25, 50]], np.uint8)[..., None], 3, axis=2)
    assert (op("binarize")(at_mean)[..., 0] == [[0, 0], [0, 255]]).all()  # exactly the mean is not above it
    assert set(np.unique(op("binarize")(random_image()))) == {0, 255}


def test_grayscale_is_pils_luma_in_three_channels():
    img = random_image()
    out = op("grayscale")(img)
    expected = np.asarray(Image.fromarray(img).convert("L"))
    assert (out == expected[..., None]).all() and out.shape == img.shape
    primaries = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    assert op("grayscale")(primaries)[0, :, 0].tolist() == [76, 150, 29, 255]  # 0.299, 0.587, 0.114


def test_contrast_factor_one_is_the_identity():
    for seed in range(5):
        img = random_image(seed=seed)
        assert np.array_equal(op("contrast:1")(img), img)


def test_contrast_scales_the_distance_from_the_mean_grey():
    img = random_image()
    flat = op("contrast:0")(img)
    assert len(np.unique(flat)) == 1  # every pixel becomes the mean grey
    assert abs(int(flat[0, 0, 0]) - np.asarray(Image.fromarray(img).convert("L")).mean()) <= 0.5
    stronger = op("contrast:2")(img).astype(float)
    assert stronger.std() > img.std()
    pil = np.asarray(ImageEnhance.Contrast(Image.fromarray(img)).enhance(1.5)).astype(int)
    assert np.abs(op("contrast:1.5")(img).astype(int) - pil).max() <= 1  # PIL rounds its mean to an integer


def test_blur_is_the_5x5_gaussian_and_preserves_the_mean():
    impulse = np.zeros((9, 9, 3), np.uint8)
    impulse[4, 4] = 255
    kernel = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1])
    out = op("blur")(impulse)[..., 0].astype(int)
    assert np.array_equal(out[2:7, 2:7], (255 * kernel + 128) >> 8)
    assert out.sum() - out[2:7, 2:7].sum() == 0
    constant = np.full((7, 5, 3), 77, np.uint8)
    assert np.array_equal(op("blur")(constant), constant)
    img = random_image(64, 48)
    blurred = op("blur")(img)
    assert abs(blurred.astype(float).mean() - img.astype(float).mean()) < 0.5
    assert blurred.astype(float).std() < img.astype(float).std()


def test_blur_handles_images_smaller_than_its_kernel():
    for shape in [(1, 1, 3), (2, 3, 3), (3, 2, 3)]:
        img = random_image(*shape[:2])
        assert op("blur")(img).shape == shape


def test_resize_matches_pil_bilinear_and_takes_width_by_height():
    img = random_image(218, 178)
    out = op("resize:32x16")(img)
    assert out.shape == (16, 32, 3)
    expected = np.asarray(Image.fromarray(img).resize((32, 16), Image.Resampling.BILINEAR))
    assert np.array_equal(out, expected)
    assert op("resize:64")(img).shape == (64, 64, 3)


@pytest.mark.parametrize("spec", ["resize:16", "contrast:1.7", "blur", "grayscale", "binarize"])
def test_ops_leave_their_input_unchanged(spec):
    img = random_image(20, 20)
    before = img.copy()
    out = op(spec)(img)
    assert np.array_equal(img, before) and out is not img and out.dtype == np.uint8 and out.ndim == 3


def test_pipelines_reject_arrays_that_are_not_rgb_uint8():
    for bad in [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)]:
        with pytest.raises(ValueError, match="RGB uint8"):
            parse_spec("blur").apply(bad)


# ------------------------------------------------------------------ specs
def test_specs_are_canonical_and_split_at_the_resize():
    pipeline = parse_spec(" resize:64 , contrast:1.50,blur ")
    assert pipeline.spec == str(pipeline) == "resize:64,contrast:1.5,blur"
    assert pipeline.size == (64, 64)
    assert pipeline.without_resize().spec == "contrast:1.5,blur"
    assert pipeline.without_resize().size is None
    assert parse_spec("resize:64x32").size == (64, 32) and parse_spec("resize:64x64").spec == "resize:64"
    assert parse_spec("").spec == "" and parse_spec("").apply(random_image()).shape == (24, 20, 3)
    assert parse_spec("blur").without_resize() == parse_spec("blur")
    assert with_default_size(parse_spec("contrast:2"), 64).spec == "resize:64,contrast:2.0"
    assert with_default_size(parse_spec("resize:32"), 64).spec == "resize:32"


def test_decoding_at_size_then_the_rest_equals_the_whole_pipeline():
    img = random_image(64, 64)
    pipeline = parse_spec("resize:64,contrast:1.5,binarize")
    assert np.array_equal(pipeline.without_resize().apply(img), pipeline.apply(img))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sharpen", r"unknown preprocessing op 'sharpen' in 'sharpen' \(known ops: binarize, blur, contrast"),
        ("resize:64,sharpen:2", r"unknown preprocessing op 'sharpen'"),
        ("contrast:abc", r"'contrast:abc': factor 'abc' is not a number \(usage: contrast:FACTOR; known ops:"),
        ("contrast:-1", r"must be a number from 0 to 100"),
        ("contrast:nan", r"must be a number from 0 to 100"),
        ("contrast:1e308", r"must be a number from 0 to 100"),
        ("contrast", r"'contrast': needs a factor"),
        ("resize", r"'resize': needs a size \(usage: resize:N or WxH"),
        ("resize:0", r"must be between 1 and"),
        ("resize:64x", r"is not N or WxH"),
        ("resize:1x2x3", r"is not N or WxH"),
        ("blur:3", r"'blur:3': takes no argument \(usage: blur;"),
        ("blur,resize:64", r"resize must be the first step"),
        ("blur,,binarize", r"empty step at position 2"),
    ],
)
def test_bad_specs_name_the_op_and_the_known_ops(spec, message):
    with pytest.raises(PreprocessError, match=message):
        parse_spec(spec)


STEPS = st.one_of(
    st.integers(1, 40).map(lambda n: f"resize:{n}"),
    st.tuples(st.integers(1, 40), st.integers(1, 40)).map(lambda wh: f"resize:{wh[0]}x{wh[1]}"),
    st.floats(0, 4, allow_nan=False).map(lambda f: f"contrast:{f}"),
    st.sampled_from(["blur", "grayscale", "binarize"]),
)


@settings(max_examples=60, deadline=None)
@given(first=STEPS, rest=st.lists(STEPS.filter(lambda s: not s.startswith("resize")), max_size=4))
def test_any_valid_spec_round_trips_and_keeps_images_rgb_uint8(first, rest):
    spec = ",".join([first, *rest])
    pipeline = parse_spec(spec)
    assert parse_spec(pipeline.spec) == pipeline
    out = pipeline.apply(random_image(13, 11))
    width, height = pipeline.size if pipeline.size else (11, 13)
    assert out.dtype == np.uint8 and out.shape == (height, width, 3)


def test_an_empty_pipeline_is_the_identity():
    img = random_image()
    assert np.array_equal(Pipeline().apply(img), img)


# ------------------------------------------------------------------ celeba preview
@pytest.fixture
def face(tmp_path):
    path = tmp_path / "000313.jpg"
    Image.fromarray(random_image(218, 178)).save(path, quality=90)
    return path


def test_preview_writes_the_figure_2_grid(face, tmp_path):
    out = tmp_path / "figs" / "fig.png"
    out.parent.mkdir()  # output folders are never created (tests/reliability/test_output_paths.py)
    result = CliRunner().invoke(app, ["preview", str(face), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["panels"] == ["original", "blur", "contrast:1.5", "binarize", "resize:64"]
    with Image.open(out) as png:
        assert png.format == "PNG" and png.width > 4 * png.height / 2


def test_preview_takes_one_panel_per_spec(face, tmp_path):
    out = tmp_path / "fig.png"
    result = CliRunner().invoke(
        app, ["preview", str(face), "-p", "resize:32,binarize", "--preprocess", "blur", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (3 panels)" in result.output and out.stat().st_size > 1000


def test_preview_reports_bad_specs_and_images(face, tmp_path):
    runner = CliRunner()
    bad_spec = runner.invoke(app, ["preview", str(face), "-p", "sharpen", "--out", str(tmp_path / "x.png")])
    assert bad_spec.exit_code == 2 and "unknown preprocessing op 'sharpen'" in bad_spec.output
    missing = runner.invoke(app, ["preview", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "x.png")])
    assert missing.exit_code == 2 and "nope.jpg does not exist" in missing.output
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff garbage")
    undecodable = runner.invoke(app, ["preview", str(broken), "--out", str(tmp_path / "x.png")])
    assert undecodable.exit_code == 2 and "cannot decode" in undecodable.output
    assert not (tmp_path / "x.png").exists()


def test_preview_caps_panel_count_and_size(face, tmp_path):
    """A figure of 8192 px panels took gigabytes of memory: sizes and panels are capped."""
    runner = CliRunner()
    out = str(tmp_path / "x.png")
    huge = runner.invoke(app, ["preview", str(face), "-p", "resize:8192", "--out", out])
    assert huge.exit_code == 2 and "must be between 1 and 2048" in huge.output
    many = runner.invoke(app, ["preview", str(face), *["-p", "blur"] * 13, "--out", out])
    assert many.exit_code == 2 and "at most 12 --preprocess panels" in many.output
    assert not (tmp_path / "x.png").exists()


def test_preview_of_an_image_whose_name_has_dollars(face, tmp_path):
    # Found by attack pass 13: "ParseFatalException: Unknown symbol: \x" from matplotlib's formulas.
    odd = face.with_name("a$\\x{$.jpg")
    face.rename(odd)
    out = tmp_path / "fig.png"
    result = CliRunner().invoke(app, ["preview", str(odd), "--out", str(out)])  # the title is its name
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_preview_takes_an_image_name_inside_a_workspace(workspace, tmp_path, monkeypatch):
    # Found by a new-user walkthrough: `label --image 000001.jpg` takes the name, preview wanted a path.
    monkeypatch.chdir(workspace.path)
    out = tmp_path / "fig.png"
    result = CliRunner().invoke(app, ["preview", "000001.jpg", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["image"] == str(workspace.image_root / "000001.jpg")
    missing = CliRunner().invoke(app, ["preview", "999999.jpg", "--out", str(out)])
    assert missing.exit_code == 2 and "999999.jpg does not exist" in missing.output
