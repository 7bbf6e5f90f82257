"""onnxruntime sessions: provider choice and fallback, the merged ensemble graph, model inputs."""

from __future__ import annotations

import numpy as np
import pytest

from celeba_tui.autolabel.inference import (
    NOT_IN_BUILD,
    PROVIDERS,
    ProviderPlan,
    check_providers,
    input_groups,
    open_ensemble,
    plan_providers,
)
from celeba_tui.errors import CelebaError
from celeba_tui.onnx.metadata import read_metadata
from celeba_tui.onnx.runtime import model_input, pixel_transform

ALL = [PROVIDERS["tensorrt"], PROVIDERS["cuda"], PROVIDERS["cpu"]]


@pytest.fixture(scope="module")
def models(oracles):
    """Light oracles: sharp and soft at 32 px, one at 48 px."""
    return [oracles["sharp"], oracles["soft"], oracles["big"]]


# ---------------------------------------------------------------- providers
def test_auto_falls_back_with_one_reason_per_provider():
    missing = {"tensorrt": "cannot load (libnvinfer.so.10 missing)", "cuda": "cannot load (libcublasLt.so.12 missing)"}
    plan = plan_providers("auto", ALL, missing.get)
    assert plan.candidates == ["cpu"]
    assert plan.fallbacks == [f"tensorrt: {missing['tensorrt']}", f"cuda: {missing['cuda']}"]
    plan.used = "cpu"
    assert plan.describe() == (
        "provider: cpu (fell back: tensorrt: cannot load (libnvinfer.so.10 missing); "
        "cuda: cannot load (libcublasLt.so.12 missing))"
    )


def test_auto_on_a_cpu_only_build_and_with_working_gpu_libraries():
    plan = plan_providers("auto", [PROVIDERS["cpu"]], lambda name: pytest.fail("not asked"))
    assert plan.candidates == ["cpu"]
    assert plan.fallbacks == [f"tensorrt, cuda: {NOT_IN_BUILD}"]
    assert plan_providers("auto", ALL, lambda name: None).candidates == ["tensorrt", "cuda", "cpu"]
    assert plan_providers("cuda", ALL, lambda name: None).candidates == ["cuda", "cpu"]
    assert plan_providers("cpu", ALL, lambda name: pytest.fail("not asked")).candidates == ["cpu"]


def test_explicit_gpu_provider_that_cannot_load_is_an_error():
    with pytest.raises(CelebaError, match="--provider cuda: cannot load"):
        plan_providers("cuda", ALL, lambda name: "cannot load (libcudart.so.12 missing)")
    with pytest.raises(CelebaError, match="--provider tensorrt: not in this onnxruntime build"):
        plan_providers("tensorrt", [PROVIDERS["cpu"]], lambda name: None)
    with pytest.raises(CelebaError, match="unknown provider 'gpu'"):
        plan_providers("gpu", ALL, lambda name: None)


def test_session_that_silently_runs_on_cpu_is_reported():
    # onnxruntime-gpu logs and runs on CPU when CUDA fails at session start.
    plan = ProviderPlan("auto", ["cuda", "cpu"])
    check_providers(plan, [PROVIDERS["cpu"]])
    assert plan.used == "cpu" and plan.fallbacks == ["cuda: did not start (no usable GPU, driver or CUDA libraries)"]
    plan = ProviderPlan("cuda", ["cuda", "cpu"])
    with pytest.raises(CelebaError, match="--provider cuda: onnxruntime did not start it"):
        check_providers(plan, [PROVIDERS["cpu"]])
    plan = ProviderPlan("auto", ["tensorrt", "cuda", "cpu"])
    check_providers(plan, [PROVIDERS["cuda"], PROVIDERS["cpu"]])
    assert plan.used == "cuda" and plan.fallbacks == [
        "tensorrt: did not start (no usable GPU, driver or CUDA libraries)"
    ]


# onnxruntime warns that CUDA is not among its providers: the situation this test makes on purpose.
@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider' is not in available provider names")
def test_fallback_path_with_a_gpu_provider_that_claims_to_load(models, monkeypatch):
    """Pretend the CUDA libraries load: onnxruntime is handed CUDA, and whatever the session
    really runs on is what gets reported (CPU on a machine without a GPU)."""
    import onnxruntime

    from celeba_tui.autolabel import inference

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [PROVIDERS["cuda"], PROVIDERS["cpu"]])
    monkeypatch.setattr(inference, "provider_library_error", lambda name: None)
    metas = [read_metadata(p) for p in models[:2]]
    session = open_ensemble(models[:2], metas, provider="auto", batch_size=4)
    used = session.session.get_providers()[0]
    assert session.plan.used == {v: k for k, v in PROVIDERS.items()}[used]
    if used == PROVIDERS["cpu"]:
        assert session.plan.fallbacks == [
            f"tensorrt: {NOT_IN_BUILD}",
            "cuda: did not start (no usable GPU, driver or CUDA libraries)",
        ]
        assert session.device == "cpu"


def test_real_auto_choice_names_the_provider(models):
    metas = [read_metadata(p) for p in models[:2]]
    session = open_ensemble(models[:2], metas, provider="auto", batch_size=4)
    assert session.plan.describe().startswith(f"provider: {session.plan.used}")
    if session.plan.used == "cpu":
        named = {name.strip() for line in session.plan.fallbacks for name in line.split(":")[0].split(",")}
        assert named <= {"tensorrt", "cuda"}


# ---------------------------------------------------------- merged ensemble
def test_merged_graph_outputs_each_models_probabilities(models):
    import onnxruntime as ort

    metas = [read_metadata(p) for p in models]
    assert input_groups(metas) == [(32, "resize:32"), (48, "resize:48")]
    session = open_ensemble(models, metas, provider="cpu", batch_size=6, threads=1)
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    large = rng.integers(0, 256, (6, 48, 48, 3), dtype=np.uint8)
    outputs = session.run([small, large])
    assert [o.shape for o in outputs] == [(6, 3)] * 3
    for path, pixels, got in zip(models, [small, small, large], outputs):
        alone = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (expected,) = alone.run(None, {"pixels": pixels})
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_model_that_onnxruntime_cannot_load_is_a_clear_error(models, tmp_path):
    import onnx

    from celeba_tui.onnx.metadata import ModelFileError

    broken = onnx.load(str(models[0]))
    broken.graph.node[0].op_type = "NoSuchOperator"
    path = tmp_path / "broken.onnx"
    onnx.save(broken, str(path))
    metas = [read_metadata(p) for p in (path, models[1])]
    with pytest.raises(ModelFileError, match="onnxruntime cannot load"):
        open_ensemble([path, models[1]], metas, provider="cpu")


# -------------------------------------------------------------- model input
def test_model_input_is_decode_resized_plus_the_preprocessing(tmp_path):
    from PIL import Image

    from celeba_tui.images import decode_resized
    from celeba_tui.onnx.metadata import ModelMetadata
    from celeba_tui.plugins import parse_spec

    path = tmp_path / "a.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(path)
    assert pixel_transform("resize:64") is None and pixel_transform("") is None
    plain = ModelMetadata("light", ("left", "center", "right"), 64, preprocess="resize:64")
    assert np.array_equal(model_input(path, plain), decode_resized(path, 64))
    spec = "resize:64,contrast:1.5"
    contrast = ModelMetadata("light", ("left", "center", "right"), 64, preprocess=spec)
    expected = parse_spec(spec).without_resize().apply(decode_resized(path, 64))
    assert np.array_equal(model_input(path, contrast), expected)
    assert not np.array_equal(expected, decode_resized(path, 64))


def test_provider_library_check_gives_one_line():
    from celeba_tui.autolabel.inference import provider_library_error

    reason = provider_library_error("cuda")
    assert reason is None or (reason and "\n" not in reason)


def test_tensorrt_gets_one_fixed_profile_and_an_engine_cache(tmp_path):
    from celeba_tui.autolabel.inference import _provider_options

    options = _provider_options("tensorrt", {"input_0": (64, 64, 64, 3)}, tmp_path / "trt", fp16=False)
    assert options["trt_profile_min_shapes"] == options["trt_profile_max_shapes"] == "input_0:64x64x64x3"
    assert options["trt_fp16_enable"] == "False" and options["trt_engine_cache_path"] == str(tmp_path / "trt")
    assert (tmp_path / "trt").is_dir()
    assert "trt_int8_enable" not in options
    assert (
        _provider_options("tensorrt", {"input_0": (8, 64, 64, 3)}, None, fp16=False, int8=True)["trt_int8_enable"]
        == "True"
    )
    assert _provider_options("cuda", {}, None, fp16=True) == {}
