"""onnxruntime for the ensemble: provider choice with stated fallbacks, one merged session, model inputs.

Choices measured on the 2-core CPU this was built on (benchmarks/autolabel.py):

* The ensemble's models are merged into one graph that still outputs each model's
  probabilities; one session with 2 intra-op threads beats two sessions run one after
  the other (two sessions with spinning thread pools lose ~25% on shared cores).
* Spinning is disabled: decode threads share the cores with inference, and a spinning
  pool burns the time they need.
* Inputs are uint8 NHWC; normalisation is in the graph (4x less host-to-GPU traffic,
  and normalising in numpy costs as much as decoding).
* onnxruntime-gpu does not raise when a GPU provider cannot load: it logs and runs on
  CPU. So each GPU provider's library is loaded first to learn why it would fail, and
  `session.get_providers()` is checked afterwards.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from celeba_tui.errors import CelebaError
from celeba_tui.onnx.metadata import ModelFileError, ModelMetadata
from celeba_tui.onnx.runtime import onnxruntime_module, session_options

PROVIDERS = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
PROVIDER_CHOICES = ("auto", *PROVIDERS)
_GPU_LIBRARIES = {"tensorrt": "onnxruntime_providers_tensorrt", "cuda": "onnxruntime_providers_cuda"}


# ------------------------------------------------------------------ providers
@dataclass
class ProviderPlan:
    """Which providers to hand onnxruntime, and a one-line reason for each one left out."""

    requested: str
    candidates: list[str]
    fallbacks: list[str] = field(default_factory=list)
    used: str = ""

    def describe(self) -> str:
        """One line: the provider in use and why the ones before it were not."""
        line = f"provider: {self.used or self.candidates[0]}"
        if self.fallbacks:
            line += " (fell back: " + "; ".join(self.fallbacks) + ")"
        return line


NOT_IN_BUILD = "not in this onnxruntime build (the CPU build; `pip install 'celeba-tui[gpu]'` on a GPU machine)"


def plan_providers(requested: str, available: list[str], library_error: Callable[[str], str | None]) -> ProviderPlan:
    """Order the providers for `requested` (auto: TensorRT, CUDA, then CPU).

    An explicitly requested GPU provider that cannot load is an error naming the
    reason; under `auto` it is a fallback with that reason.
    """
    if requested not in PROVIDER_CHOICES:
        raise CelebaError(f"unknown provider {requested!r} (one of {', '.join(PROVIDER_CHOICES)})")
    wanted = ["tensorrt", "cuda", "cpu"] if requested in ("auto", "tensorrt") else [requested, "cpu"]
    plan = ProviderPlan(requested, [])
    not_built = []
    for name in dict.fromkeys(wanted):
        reason = None
        if name != "cpu":
            if PROVIDERS[name] not in available:
                reason = NOT_IN_BUILD
            else:
                reason = library_error(name)
        if reason is None:
            plan.candidates.append(name)
        elif requested == name:
            raise CelebaError(f"--provider {name}: {reason}; use --provider auto or cpu")
        elif reason == NOT_IN_BUILD:
            not_built.append(name)
        else:
            plan.fallbacks.append(f"{name}: {reason}")
    if not_built:
        # The CPU build of onnxruntime: one reason for all its missing GPU providers.
        plan.fallbacks.insert(0, f"{', '.join(not_built)}: {NOT_IN_BUILD}")
    return plan


def provider_library_error(name: str) -> str | None:
    """Why onnxruntime could not load provider `name`'s library, or None when it can."""
    import ctypes

    import onnxruntime

    stem = _GPU_LIBRARIES[name]
    filename = f"{stem}.dll" if sys.platform == "win32" else f"lib{stem}.so"
    path = Path(onnxruntime.__file__).parent / "capi" / filename
    if not path.exists():
        return f"{filename} is not installed"
    try:
        ctypes.CDLL(str(path))
        return None
    except OSError as first:
        # CUDA libraries installed from pip (nvidia-* wheels, or PyTorch's) are not on
        # the loader path until onnxruntime preloads them.
        if hasattr(onnxruntime, "preload_dlls"):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                with contextlib.suppress(Exception):
                    onnxruntime.preload_dlls()
            try:
                ctypes.CDLL(str(path))
                return None
            except OSError:
                pass
        return f"cannot load ({str(first).split(': ')[0]} missing)" if "cannot open" in str(first) else str(first)


def _provider_options(
    name: str, input_shapes: dict[str, tuple[int, ...]], cache_dir: Path | None, fp16: bool, int8: bool = False
) -> dict:
    if name == "tensorrt":
        # One fixed batch shape: a single TensorRT profile, built once and cached.
        shapes = ",".join(f"{k}:{'x'.join(map(str, v))}" for k, v in input_shapes.items())
        options = {
            "trt_profile_min_shapes": shapes,
            "trt_profile_opt_shapes": shapes,
            "trt_profile_max_shapes": shapes,
            "trt_fp16_enable": str(fp16),
        }
        if int8:
            # QDQ models carry their own scales (explicit quantisation): no calibration table.
            options["trt_int8_enable"] = "True"
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            options.update(trt_engine_cache_enable="True", trt_engine_cache_path=str(cache_dir))
        return options
    return {}


# ---------------------------------------------------------- merged ensemble
def input_groups(metas: list[ModelMetadata]) -> list[tuple[int, str]]:
    """The distinct model inputs, (input size, preprocessing spec), in first-use order."""
    return list(dict.fromkeys((m.input_size, m.preprocess) for m in metas))


def merge_models(protos: list, metas: list[ModelMetadata]):
    """One graph running every model: an input `input_<g>` per input group (models that see
    the same pixels share it) and outputs `probabilities_of_model_<i>` in model order.

    Every tensor of model i is renamed `m<i>_NAME`, so no name of one model meets another's,
    and the merged graph's own names (`input_<g>`, `probabilities_of_model_<i>`) start
    otherwise: a model whose inner tensor is called `probabilities` or `input_0` joins."""
    import onnx
    from onnx import compose, helper, version_converter

    groups = input_groups(metas)
    opset = max(_default_opset(p) for p in protos)
    nodes, initializers, value_info, inputs, outputs, functions = [], [], [], {}, [], []
    other_domains: dict[str, int] = {}
    for i, (proto, meta) in enumerate(zip(protos, metas)):
        if _default_opset(proto) != opset:
            try:
                proto = version_converter.convert_version(proto, opset)
            except Exception as exc:  # noqa: BLE001  (the converter raises assorted errors)
                raise CelebaError(
                    f"model {i + 1} (opset {_default_opset(proto)}) cannot join opset {opset}: {exc}"
                ) from None
        for entry in proto.opset_import:
            if entry.domain not in ("", "ai.onnx"):
                other_domains[entry.domain] = max(other_domains.get(entry.domain, 0), entry.version)
        prefixed = compose.add_prefix(proto, f"m{i}_")
        source = f"m{i}_{meta.input_name}"
        shared = f"input_{groups.index((meta.input_size, meta.preprocess))}"
        for node in prefixed.graph.node:
            node.input[:] = [shared if name == source else name for name in node.input]
        if shared not in inputs:
            value = onnx.ValueInfoProto()
            value.CopyFrom(next(v for v in prefixed.graph.input if v.name == source))
            value.name = shared
            inputs[shared] = value
        nodes.extend(prefixed.graph.node)
        initializers.extend(prefixed.graph.initializer)
        value_info.extend(prefixed.graph.value_info)
        functions.extend(prefixed.functions)
        inner = f"m{i}_{meta.output_name}"
        output = next(v for v in prefixed.graph.output if v.name == inner)
        output.name = ensemble_output(i)
        for node in prefixed.graph.node:
            node.input[:] = [output.name if name == inner else name for name in node.input]
            node.output[:] = [output.name if name == inner else name for name in node.output]
        outputs.append(output)
    inputs = [inputs[f"input_{g}"] for g in range(len(groups))]
    graph = helper.make_graph(nodes, "celeba_ensemble", inputs, outputs, initializers, value_info=value_info)
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in other_domains.items()]
    merged = helper.make_model(graph, opset_imports=opsets, functions=functions, producer_name="celeba-tui")
    merged.ir_version = max(p.ir_version for p in protos)
    return merged


def ensemble_output(index: int) -> str:
    """The merged graph's output of model `index`: probabilities (batch, classes)."""
    return f"probabilities_of_model_{index}"


def _default_opset(proto) -> int:
    return next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 0)


@dataclass
class EnsembleSession:
    """A merged ensemble in one onnxruntime session, run with IO binding on fixed-size batches."""

    session: object
    plan: ProviderPlan
    metas: list[ModelMetadata]
    paths: list[Path] = field(default_factory=list)  # the members' files, in the order of `metas`

    @property
    def device(self) -> str:
        return "cpu" if self.plan.used == "cpu" else "cuda"

    @property
    def groups(self) -> list[tuple[int, str]]:
        return input_groups(self.metas)

    def run(self, pixels: list[np.ndarray]) -> list[np.ndarray]:
        """Probabilities (batch, classes) per model, given one uint8 batch per input group."""
        binding = self.session.io_binding()
        for g, batch in enumerate(pixels):
            binding.bind_cpu_input(f"input_{g}", np.ascontiguousarray(batch))
        for i in range(len(self.metas)):
            # On a GPU the outputs stay on the device until the copy below.
            binding.bind_output(ensemble_output(i), self.device)
        try:
            self.session.run_with_iobinding(binding)
        except Exception as exc:  # onnxruntime's own error types: a graph that checked out but cannot run
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CelebaError(f"onnxruntime could not run {self.failed_member(reason)} on a batch: {reason}") from None
        return [np.asarray(out, dtype=np.float32) for out in binding.copy_outputs_to_cpu()]

    def failed_member(self, reason: str) -> str:
        """The member model whose node failed (merged nodes are named m<i>_...), else `the ensemble`."""
        found = re.search(r"Name:'m(\d+)_", reason)
        index = int(found.group(1)) if found else -1
        return f"model {self.paths[index]}" if 0 <= index < len(self.paths) else "the ensemble"


def open_ensemble(
    paths: list[Path],
    metas: list[ModelMetadata],
    *,
    provider: str = "auto",
    batch_size: int = 64,
    threads: int | None = None,
    cache_dir: Path | None = None,
    spinning: bool = False,
) -> EnsembleSession:
    """Load the models, merge them and start one session on the best provider that works.

    `batch_size` is the fixed batch every call will use (TensorRT builds one profile for it).
    """
    from celeba_tui.onnx.metadata import check_ensemble_size, load_model_proto

    ort = onnxruntime_module()

    plan = plan_providers(provider, ort.get_available_providers(), provider_library_error)
    models = [load_model_proto(p) for p in paths]
    check_ensemble_size(models, paths)
    merged = merge_models(models, metas)
    shapes = {f"input_{g}": (batch_size, size, size, 3) for g, (size, _) in enumerate(input_groups(metas))}
    fp16 = any(m.precision == "fp16" for m in metas)
    int8 = any(m.precision == "int8" for m in metas)
    providers = [(PROVIDERS[name], _provider_options(name, shapes, cache_dir, fp16, int8)) for name in plan.candidates]
    try:
        session = ort.InferenceSession(
            merged.SerializeToString(), session_options(threads, spinning=spinning), providers=providers
        )
    except Exception as exc:  # noqa: BLE001  (onnxruntime raises its own exception types)
        names = ", ".join(str(p) for p in paths)
        raise ModelFileError(f"onnxruntime cannot load {names}: {str(exc).splitlines()[0]}") from None
    check_providers(plan, session.get_providers())
    return EnsembleSession(session, plan, list(metas), list(paths))


def check_providers(plan: ProviderPlan, session_providers: list[str]) -> None:
    """Record what the session really uses; a GPU provider that failed to start is a fallback
    under auto and an error when requested explicitly."""
    by_name = {v: k for k, v in PROVIDERS.items()}
    used = by_name.get(session_providers[0], session_providers[0]) if session_providers else "cpu"
    for name in plan.candidates:
        if name == used:
            break
        if plan.requested == name:
            raise CelebaError(
                f"--provider {name}: onnxruntime did not start it (no usable GPU, driver or CUDA libraries); "
                "use --provider auto or cpu"
            )
        plan.fallbacks.append(f"{name}: did not start (no usable GPU, driver or CUDA libraries)")
    plan.used = used
