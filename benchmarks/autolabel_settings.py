"""onnxruntime CPU session settings on the merged ensemble, for benchmarks/autolabel.py.

Each setting is timed in interleaved rounds so that a shared machine's load falls on
all of them alike.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

SETTINGS = (  # label, session_options changes, batch size, IO binding
    ("as shipped (ALL + NCHWc, no spin, b64, IO binding)", {}, 64, True),
    ("spinning thread pool", {"spinning": True}, 64, True),
    ("EXTENDED optimisation (no NCHWc layout)", {"level": "ORT_ENABLE_EXTENDED"}, 64, True),
    ("BASIC optimisation", {"level": "ORT_ENABLE_BASIC"}, 64, True),
    ("batch 32", {}, 32, True),
    ("batch 128", {}, 128, True),
    ("batch 256", {}, 256, True),
    ("memory arena and pattern off", {"arena": False}, 64, True),
    ("parallel execution (1 thread per model)", {"parallel": True}, 64, True),
    ("session.run instead of IO binding", {}, 64, False),
)


def measure_settings(paths: list[Path], pixels: np.ndarray, threads: int, rounds: int) -> dict[str, float]:
    """The merged ensemble's inference img/s under each of SETTINGS, timed in interleaved rounds."""
    import onnxruntime as ort

    from celeba_tui.autolabel.inference import merge_models
    from celeba_tui.onnx.metadata import load_model_proto, read_metadata
    from celeba_tui.onnx.runtime import session_options

    merged = merge_models([load_model_proto(p) for p in paths], [read_metadata(p) for p in paths]).SerializeToString()
    runs = {}
    for label, change, batch, binding in SETTINGS:
        options = session_options(threads, spinning=change.get("spinning", False))
        if "level" in change:
            options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, change["level"])
        if change.get("arena") is False:
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
        if change.get("parallel"):
            options.execution_mode = ort.ExecutionMode.ORT_PARALLEL
            options.inter_op_num_threads, options.intra_op_num_threads = threads, 1
        session = ort.InferenceSession(merged, options, providers=["CPUExecutionProvider"])
        batches = [pixels[i : i + batch] for i in range(0, len(pixels) - batch + 1, batch)]
        runs[label] = (_binding_runner if binding else _plain_runner)(session, batches)
        runs[label]()  # warm up: the first run allocates and packs weights
    seconds = {label: [] for label in runs}
    for _ in range(rounds):
        for label, run in runs.items():
            start = time.perf_counter()
            images = run()
            seconds[label].append(time.perf_counter() - start)
    return {label: images / sorted(times)[len(times) // 2] for label, times in seconds.items()}


def _binding_runner(session, batches):
    def run() -> int:
        for batch in batches:
            binding = session.io_binding()
            binding.bind_cpu_input("input_0", batch)
            for output in session.get_outputs():
                binding.bind_output(output.name, "cpu")
            session.run_with_iobinding(binding)
            binding.copy_outputs_to_cpu()
        return sum(len(b) for b in batches)

    return run


def _plain_runner(session, batches):
    def run() -> int:
        for batch in batches:
            session.run(None, {"input_0": batch})
        return sum(len(b) for b in batches)

    return run
