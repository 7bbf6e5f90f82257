"""`celeba export-onnx`: a training run to one self-describing ONNX file, checked against PyTorch.

The exported graph is the run's `ImageClassifier`: uint8 RGB (batch, size, size, 3) in,
float32 class probabilities (batch, classes) out, normalisation inside the graph, batch
axis dynamic. It is exported in eval mode (Dropout would otherwise stay in the graph)
with the dynamo exporter into a single file (no external data).

`--fp16` converts weights and arithmetic to float16 with onnxconverter-common, keeping
the uint8 input and the float32 output. Parity tolerances on probabilities: 1e-4 for
fp32 and 1e-2 for fp16 (measured on trained runs: fp16 differs from PyTorch by 3.5e-4
for cnn4 and 5e-6 for vgg19_variation; float16 keeps ~3 significant digits).

`--int8` quantises statically, calibrated on the run's training images
(celeba_tui.onnx.quantize); its tolerance is 0.1 (measured on the demo's trained cnn4 and
residual_blocks, 1,000 images each: max difference 0.017-0.049, mean 0.002-0.006, argmax
agreement 99.0-99.9%, accuracy within 0.2 points). The check reports the argmax
agreement beside the difference.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from celeba_tui import __version__
from celeba_tui.errors import CelebaError
from celeba_tui.onnx.metadata import VALIDATION_KEYS, ModelMetadata, model_hash, write_metadata
from celeba_tui.onnx.quantize import CALIBRATION_IMAGES
from celeba_tui.onnx.quiet import quiet

FP32_TOLERANCE = 1e-4
FP16_TOLERANCE = 1e-2
INT8_TOLERANCE = 0.1
TOLERANCES = {"fp32": FP32_TOLERANCE, "fp16": FP16_TOLERANCE, "int8": INT8_TOLERANCE}
PARITY_IMAGES = 32
INPUT_NAME = "pixels"
OUTPUT_NAME = "probabilities"


@dataclass(frozen=True)
class Parity:
    """PyTorch vs onnxruntime on the same uint8 batch."""

    n: int
    max_abs_diff: float
    argmax_agreement: float
    tolerance: float
    source: str  # where the batch came from

    @property
    def passed(self) -> bool:
        return self.max_abs_diff <= self.tolerance


@dataclass(frozen=True)
class ExportResult:
    path: Path
    metadata: ModelMetadata
    parity: Parity
    seconds: float
    bytes: int
    hash: str

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "hash": self.hash,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 2),
            "task": self.metadata.task,
            "architecture": self.metadata.architecture,
            "precision": self.metadata.precision,
            "parity": {
                "images": self.parity.n,
                "source": self.parity.source,
                "max_abs_diff": self.parity.max_abs_diff,
                "argmax_agreement": self.parity.argmax_agreement,
                "tolerance": self.parity.tolerance,
                "passed": self.parity.passed,
            },
        }


def metadata_for_run(run, precision: str = "fp32") -> ModelMetadata:
    """The ONNX metadata of a run (see celeba_tui.onnx.metadata)."""
    from celeba_tui.models.model_io import NORMALISATION

    summary = run.summary
    return ModelMetadata(
        task=run.task,
        classes=tuple(run.classes),
        input_size=run.input_size,
        input_name=INPUT_NAME,
        output_name=OUTPUT_NAME,
        preprocess=run.config.get("preprocess") or f"resize:{run.input_size}",
        normalisation=run.config.get("normalisation", NORMALISATION),
        architecture=run.architecture,
        plugin=str(run.config.get("plugin", "")),
        run_id=run.run_id,
        validation={key: summary[key] for key in VALIDATION_KEYS if key in summary},
        precision=precision,
        celeba_tui_version=__version__,
        exported=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


# The dynamo exporter writes opset 18 and up; asked for less, it wrote 18 without a word
# (or failed in the version converter with a traceback on stderr and exit status 0).
MIN_OPSET = 18


def check_opset(opset: int | None) -> None:
    """A CelebaError unless `opset` (None: the exporter's default) is one this exporter writes."""
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if opset is not None and (isinstance(opset, bool) or not MIN_OPSET <= opset <= newest):
        raise CelebaError(
            f"--opset {opset}: must be between {MIN_OPSET} and {newest} (the opsets this exporter writes)"
        )


def export_module(module, input_size: int, out: Path, metadata: ModelMetadata, *, opset: int | None = None) -> None:
    """Export a uint8-in, probabilities-out module to `out` (fp32 or fp16 per metadata.precision)."""
    from celeba_tui.atomic import atomic_path

    proto = onnx_proto(module, input_size, metadata, opset=opset)
    with atomic_path(out) as tmp:
        save_proto(proto, tmp)


def save_proto(proto, path: Path) -> None:
    """Write a model to `path` as it is (the caller's own temporary file); OSErrors propagate."""
    import onnx

    onnx.save_model(proto, str(path))


def onnx_proto(module, input_size: int, metadata: ModelMetadata, *, opset: int | None = None):
    """The checked ONNX model of a uint8-in, probabilities-out module, with its metadata."""
    import onnx
    import torch

    check_opset(opset)
    module.eval()
    example = torch.zeros((2, input_size, input_size, 3), dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1)
    try:
        with quiet("torch.onnx"), torch.inference_mode(False), torch.no_grad():
            program = torch.onnx.export(
                module,
                (example,),
                None,
                dynamo=True,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: batch},),
                external_data=False,
                verbose=False,
            )
    except Exception as exc:  # noqa: BLE001  (the exporter raises many types)
        stopped = interruption(exc)
        if stopped is not None:  # Ctrl+C or `kill` while it traced: stop, not "cannot export"
            raise stopped from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CelebaError(
            f"cannot export {metadata.architecture or 'model'} to ONNX (opset {opset or 'default'}): {first}"
        ) from None
    proto = program.model_proto
    written = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is not None and written != opset:
        raise CelebaError(
            f"cannot export {metadata.architecture or 'model'} at opset {opset}: the exporter wrote {written}"
        )
    for node in proto.graph.node:
        # The exporter annotates nodes with Python stack traces: local paths, no use here.
        del node.metadata_props[:]
    if metadata.precision == "fp16":
        proto = to_fp16(proto)
    write_metadata(proto, metadata)
    onnx.checker.check_model(proto)
    return proto


def to_fp16(proto):
    """float16 weights and arithmetic, uint8 input and float32 output kept (onnxconverter-common)."""
    from onnx import TensorProto
    from onnxconverter_common import float16

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about values clipped to the fp16 range
        converted = float16.convert_float_to_float16(proto, keep_io_types=True)
    # The converter retypes the tensor after the uint8 -> float Cast to float16 but leaves
    # the Cast's target type at float; make the Cast produce what the graph now expects.
    types = {v.name: v.type.tensor_type.elem_type for v in [*converted.graph.value_info, *converted.graph.output]}
    for node in converted.graph.node:
        if node.op_type == "Cast" and types.get(node.output[0]) == TensorProto.FLOAT16:
            for attribute in node.attribute:
                if attribute.name == "to" and attribute.i == TensorProto.FLOAT:
                    attribute.i = TensorProto.FLOAT16
    return converted


def parity_check(module, path: Path, pixels: np.ndarray, tolerance: float, source: str) -> Parity:
    """Run the same uint8 batch through PyTorch and onnxruntime (CPU) and compare probabilities."""
    import onnxruntime as ort
    import torch

    from celeba_tui.onnx.runtime import session_options

    with torch.no_grad():
        expected = module(torch.from_numpy(pixels)).float().numpy()
    session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
    got = session.run(None, {INPUT_NAME: pixels})[0]
    # An image whose outputs are not all finite (NaN weights, say) agrees with nothing.
    finite = np.isfinite(got).all(axis=1) & np.isfinite(expected).all(axis=1)
    return Parity(
        n=len(pixels),
        max_abs_diff=float(np.abs(got - expected).max()),
        argmax_agreement=float((finite & (got.argmax(1) == expected.argmax(1))).mean()),
        tolerance=tolerance,
        source=source,
    )


def validation_pixels(run, image_root: Path | None, n: int = PARITY_IMAGES, seed: int = 0) -> tuple[np.ndarray, str]:
    """A batch of the run's validation images as the model sees them; seeded noise when there are none."""
    batch = split_pixels(run, image_root, "val", n)
    if len(batch):
        return batch, f"{len(batch)} validation images"
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (n, run.input_size, run.input_size, 3), dtype=np.uint8)
    return noise, f"{n} random images (no validation images found)"


def split_pixels(run, image_root: Path | None, split: str, n: int) -> np.ndarray:
    """Up to `n` images of one part of the run's split ("train" or "val"), as the model sees them.

    Images that cannot be read are passed over; an empty batch when there are none.
    """
    from celeba_tui.images import ImageDecodeError
    from celeba_tui.onnx.runtime import model_input

    meta = metadata_for_run(run)
    batch = []
    if image_root is not None:
        for name in _split_names(run, split):
            try:
                batch.append(model_input(image_root / name, meta))
            except (ImageDecodeError, OSError):
                continue
            if len(batch) == n:
                break
    if not batch:
        return np.empty((0, run.input_size, run.input_size, 3), dtype=np.uint8)
    return np.stack(batch)


def _split_names(run, split_name: str) -> list[str]:
    """The run's split part; none when its split file is gone or damaged (parity then uses no images)."""
    from celeba_tui.training.split import split_images

    split = run.config.get("split")
    if not split or not Path(split).is_file():
        return []
    try:
        return split_images(Path(split), split_name)
    except CelebaError:
        return []


def parity_failure(parity, out: Path, precision: str, *, kept: bool) -> str:
    """The error line of a failed parity check: by how much, what became of `out`, and for
    int8 what to try."""
    where = (
        f"{out} (the file is kept for inspection)"
        if kept
        else f"{out}: the file there is left as it was (export to a new file to inspect the model)"
    )
    advice = "; int8 ranges may not fit this model: try more --calibration-images, or export fp32"
    return (
        f"parity check failed for {where}: max difference {parity.max_abs_diff:.2e} exceeds "
        f"{parity.tolerance:.0e}" + (advice if precision == "int8" else "")
    )


def export_run(
    run_path: Path,
    out: Path,
    *,
    image_root: Path | None = None,
    precision: str = "fp32",
    opset: int | None = None,
    n_check: int = PARITY_IMAGES,
    n_calibration: int = CALIBRATION_IMAGES,
    workspace_path: Path | None = None,
) -> ExportResult:
    """Export a run's best checkpoint and check it against PyTorch on its validation images.

    `precision` is fp32, fp16 or int8; int8 is calibrated on up to `n_calibration` of
    the run's training images, found under `image_root`. `out` is the user's output
    (atomic.atomic_path), or with `workspace_path` the workspace's own file in models/
    (atomic.owned_path). No output may go into the run folder itself.
    """
    from celeba_tui.atomic import check_output_path, output_file, protect_folder
    from celeba_tui.models.model_io import build_classifier
    from celeba_tui.models.run_files import load_run

    if precision not in TOLERANCES:
        raise CelebaError(f"unknown precision {precision!r} (one of {', '.join(TOLERANCES)})")
    protect_folder(Path(run_path), "the run being exported", ("",))
    out = Path(out) if workspace_path is not None else check_output_path(out)
    started = time.perf_counter()
    run = load_run(run_path)
    classifier = build_classifier(run)
    metadata = metadata_for_run(run, precision)
    replaces = out.is_file()  # a model that fails its check never takes a good one's place
    # The check reads the written file back: it reads the temporary one, since `out` may
    # be a FIFO or a device that cannot be read back.
    with output_file(out, workspace_path) as written:
        if precision == "int8":
            calibration = split_pixels(run, image_root, "train", n_calibration)
            if not len(calibration):
                where = f"under {image_root}" if image_root is not None else "(no image root: run inside the workspace)"
                raise CelebaError(f"--int8 needs the run's training images to calibrate on; none found {where}")
            export_int8(classifier, run.input_size, written, metadata, calibration, opset=opset)
        else:
            # Into output_file's temporary file as it is: a full disk then names `out`, not it.
            save_proto(onnx_proto(classifier, run.input_size, metadata, opset=opset), written)
        pixels, source = validation_pixels(run, image_root, n_check)
        parity = parity_check(classifier, written, pixels, TOLERANCES[precision], source)
        if not parity.passed and replaces:
            raise CelebaError(parity_failure(parity, out, precision, kept=False))
        size, digest = written.stat().st_size, model_hash(written)
    return ExportResult(out, metadata, parity, time.perf_counter() - started, size, digest)


def export_int8(
    module, input_size: int, out: Path, metadata: ModelMetadata, calibration: np.ndarray, *, opset=None
) -> None:
    """Export fp32 to a scratch file, then quantise it to int8 on `calibration` into `out`,
    the caller's own temporary file (written as it is: a full disk then names the caller's output)."""
    import tempfile

    from celeba_tui.atomic import scratch_folder
    from celeba_tui.onnx.quantize import quantized_proto

    with scratch_folder("export") as scratch:
        fp32 = scratch / "fp32.onnx"
        try:
            save_proto(onnx_proto(module, input_size, metadata, opset=opset), fp32)
        except OSError as exc:
            raise CelebaError(
                f"cannot quantise to int8: the float32 copy it starts from cannot be written in "
                f"{tempfile.gettempdir()} ({exc.strerror or exc})"
            ) from None
        proto, _ = quantized_proto(fp32, calibration)
    save_proto(proto, out)


def interruption(exc: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or SystemExit an exporter's error wraps (torch.export reports
    one raised inside its tracing as its own failure), else None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None
