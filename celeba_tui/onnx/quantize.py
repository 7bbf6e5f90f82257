"""int8 models for CPU auto-labelling: onnxruntime static quantisation, calibrated on real images.

`celeba export-onnx --int8` exports the fp32 graph, then quantises it with
onnxruntime.quantization: QDQ format (what onnxruntime's CPU provider fuses into
QLinearConv/MatMulInteger kernels and what TensorRT reads), int8 weights per output
channel, uint8 activations, MinMax ranges observed on the run's own training images.
The uint8 input and the float32 probabilities stay as they are, so autolabel, the
ensemble and the confidence rules take the file like any other.

Why: on CPUs with VNNI (AVX-512 or AVX-VNNI) int8 convolutions run 2.5-3x faster than
fp32, which already runs at the core's fp32 peak (docs/performance.md). The price is
measured, not assumed: the export checks the int8 model against PyTorch on the run's
validation images (max |p| difference and argmax agreement), and autolabel chooses
its thresholds from the held-out predictions of the models it actually runs.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from celeba_tui.atomic import scratch_folder
from celeba_tui.errors import CelebaError

CALIBRATION_IMAGES = 256
CALIBRATION_BATCH = 64


def quantize_model_file(fp32_model: Path, out: Path, calibration: np.ndarray):
    """Write `out`: the celeba ONNX file `fp32_model` in int8, its metadata kept with precision int8.

    Returns the metadata written. `out` appears whole or not at all.
    """
    import onnx

    from celeba_tui.atomic import atomic_path

    proto, metadata = quantized_proto(fp32_model, calibration)
    with atomic_path(out) as tmp:
        onnx.save_model(proto, str(tmp))
    return metadata


def quantized_proto(fp32_model: Path, calibration: np.ndarray):
    """(the checked int8 model of the celeba ONNX file `fp32_model`, its metadata with precision int8)."""
    import onnx

    from celeba_tui.onnx.metadata import read_metadata, write_metadata

    metadata = replace(read_metadata(fp32_model), precision="int8")
    with scratch_folder("int8") as scratch:
        quantized = scratch / "int8.onnx"
        quantize_int8(fp32_model, quantized, calibration, metadata.input_name)
        proto = onnx.load(str(quantized))
    del proto.metadata_props[:]
    write_metadata(proto, metadata)
    onnx.checker.check_model(proto)
    return proto, metadata


def quantize_int8(fp32_model: Path, out: Path, calibration: np.ndarray, input_name: str) -> None:
    """Write `out`: `fp32_model` with int8 weights and activations, ranges from `calibration`.

    `calibration` is a uint8 batch (n, size, size, 3) as the model sees it. The
    quantiser does not promise to keep the metadata: quantize_model_file rewrites it.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from celeba_tui.onnx.quiet import quiet

    if len(calibration) == 0:
        raise CelebaError("int8 quantisation needs at least one calibration image")

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(
                {input_name: calibration[i : i + CALIBRATION_BATCH]}
                for i in range(0, len(calibration), CALIBRATION_BATCH)
            )

        def get_next(self):
            return next(self._batches, None)

    with quiet(""):  # the quantiser notes through the root logger that it leaves the uint8 input alone
        try:
            quantize_static(
                str(fp32_model),
                str(out),
                Batches(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                calibrate_method=CalibrationMethod.MinMax,
                # Probabilities stay float: in uint8 they would step by 1/255 and not sum to 1.
                nodes_to_exclude=_softmax_nodes(fp32_model),
            )
        except Exception as exc:  # noqa: BLE001  (the quantiser raises assorted errors)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CelebaError(f"cannot quantise {fp32_model.name} to int8: {first}") from None


def _softmax_nodes(model: Path) -> list[str]:
    import onnx

    graph = onnx.load(str(model), load_external_data=False).graph
    return [node.name for node in graph.node if node.op_type == "Softmax"]
