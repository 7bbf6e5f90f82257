"""Running one exported model with onnxruntime: session options and the input an image becomes.

Shared by the export's parity check (celeba_tui.onnx.export) and the auto-labelling
ensemble (celeba_tui.autolabel.inference), so both feed a model exactly the same pixels.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from celeba_tui.errors import CelebaError
from celeba_tui.onnx.metadata import ModelMetadata

INSTALL_HINT = (
    "pip install 'celeba-tui[cpu]' (the CPU build), or 'celeba-tui[gpu]' where there is an NVIDIA GPU; "
    "`make venv` picks one"
)


def onnxruntime_module():
    """The onnxruntime module, or a one-line error saying how to install one of its builds."""
    try:
        import onnxruntime
    except ImportError:
        raise CelebaError(f"onnxruntime is not installed: {INSTALL_HINT}") from None
    return onnxruntime


def default_threads() -> int:
    """All cores the process may use (decode threads interleave; spinning is off)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def session_options(threads: int | None = None, *, spinning: bool = False):
    ort = onnxruntime_module()

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Fatal only: provider load failures are reported by plan_providers in one line, and a
    # graph that fails while running raises, said in one line naming the member model
    # (its ERROR log came first, with colour codes: attack pass 35).
    options.log_severity_level = 4
    return options


def pixel_transform(spec: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """The preprocessing after decode+resize (contrast, blur...), or None when there is none."""
    from celeba_tui.preprocess import resizes_only

    if resizes_only(spec):
        return None
    from celeba_tui.plugins import parse_spec

    return parse_spec(spec).without_resize().apply


def model_input(path: Path, meta: ModelMetadata) -> np.ndarray:
    """The uint8 (size, size, 3) pixels a model sees for one image file."""
    from celeba_tui.images import decode_resized

    pixels = decode_resized(path, meta.input_size)
    transform = pixel_transform(meta.preprocess)
    return transform(pixels) if transform else pixels
