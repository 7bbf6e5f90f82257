"""What an exported model says about itself: the ONNX `metadata_props` schema.

Everything inference needs travels inside the .onnx file, so a model can be used
without the run directory it came from::

    celeba_metadata   schema version of these keys ("1")
    task              the task name, e.g. "light"
    classes           JSON list of class names in output order
    input_size        side of the square input in pixels
    input_name        the graph input: uint8 RGB (batch, size, size, 3), batch dynamic
    output_name       the graph output: float32 class probabilities (batch, classes)
    preprocess        the preprocessing spec the model was trained with ("resize:64")
    normalisation     what the graph does to the uint8 pixels ("x/255 in the graph")
    architecture      the plugin architecture name, e.g. "cnn4"
    plugin            the plugin that provided it
    run_id            the training run
    validation        JSON of the run's validation metrics (val_acc, val_loss, ...) and the
                      calibration fitted there (temperature, class_bias; the graph applies both)
    precision         fp32, fp16 or int8 (weights; inputs and outputs stay uint8 / fp32)
    celeba_tui_version, exported
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from celeba_tui.architecture import MAX_INPUT_SIZE
from celeba_tui.errors import CelebaError

METADATA_VERSION = "1"
REQUIRED = ("task", "classes", "input_size", "input_name", "output_name", "preprocess")
ONNX_UINT8 = 2  # onnx.TensorProto.UINT8 (onnx is imported only where a file is read)
# The calibration fitted on the validation split rides along: the graph already applies it.
VALIDATION_KEYS = (
    "val_acc",
    "val_loss",
    "val_balanced_acc",
    "val_macro_f1",
    "majority_baseline",
    "best_epoch",
    "temperature",
    "class_bias",
)


class ModelFileError(CelebaError):
    """An ONNX file that cannot be used: missing, not a model, or without our metadata."""


@dataclass(frozen=True)
class ModelMetadata:
    task: str
    classes: tuple[str, ...]
    input_size: int
    input_name: str = "pixels"
    output_name: str = "probabilities"
    preprocess: str = ""
    normalisation: str = "x/255 in the graph (feed uint8 RGB NHWC)"
    architecture: str = ""
    plugin: str = ""
    run_id: str = ""
    validation: dict = field(default_factory=dict)
    precision: str = "fp32"
    celeba_tui_version: str = ""
    exported: str = ""

    def to_props(self) -> dict[str, str]:
        """The metadata as ONNX metadata_props (all strings)."""
        props = {"celeba_metadata": METADATA_VERSION}
        for key, value in asdict(self).items():
            if key == "classes":
                value = json.dumps(list(value))
            elif key == "validation":
                value = json.dumps(value, sort_keys=True)
            props[key] = str(value)
        return props

    @classmethod
    def from_props(cls, props: dict[str, str], where: str) -> "ModelMetadata":
        """Parse metadata_props; a ModelFileError naming `where` when they are missing or invalid."""
        if "celeba_metadata" not in props:
            raise ModelFileError(f"{where}: no celeba metadata in the model (export it with `celeba export-onnx`)")
        if props["celeba_metadata"] != METADATA_VERSION:
            raise ModelFileError(
                f"{where}: model metadata version {props['celeba_metadata']!r} is not supported "
                f"(this celeba-tui reads {METADATA_VERSION})"
            )
        missing = [key for key in REQUIRED if not props.get(key)]
        if missing:
            raise ModelFileError(f"{where}: model metadata lacks {', '.join(missing)}")
        try:
            classes = json.loads(props["classes"])
            input_size = int(props["input_size"])
            # NaN and Infinity are not JSON: read as null (no figure), as `--json` prints them.
            validation = json.loads(props.get("validation") or "{}", parse_constant=lambda _: None)
        except (ValueError, TypeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ModelFileError(f"{where}: invalid model metadata ({reason})") from None
        if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
            raise ModelFileError(f"{where}: model metadata 'classes' must list two or more class names")
        if not isinstance(validation, dict):
            raise ModelFileError(f"{where}: model metadata 'validation' must be a JSON object of figures")
        if not 1 <= input_size <= MAX_INPUT_SIZE:
            raise ModelFileError(
                f"{where}: model metadata 'input_size' is {input_size}; it must be between 1 and {MAX_INPUT_SIZE} pixels"
            )
        _check_preprocess(props.get("preprocess") or "", where)
        known = {k: v for k, v in props.items() if k in cls.__dataclass_fields__}
        known.update(classes=tuple(classes), input_size=input_size, validation=validation)
        return cls(**known)


def _check_preprocess(spec: str, where: str) -> None:
    """A ModelFileError naming `where` for a 'preprocess' the registered ops cannot run
    (attack pass 43: autolabel refused it after loading, naming no model; inspect passed
    it). A spec of resizes only needs no op: decoding resizes (onnx.runtime.pixel_transform)."""
    from celeba_tui.preprocess import resizes_only

    if resizes_only(spec):
        return
    from celeba_tui.plugins import parse_spec

    try:
        parse_spec(spec)
    except CelebaError as exc:
        raise ModelFileError(f"{where}: model metadata 'preprocess': {exc}") from None


# One protobuf message holds at most 2 GiB: the ensemble's merged graph, with every
# model's weights, must fit in it. A model declaring more (a sparse external-data file,
# say) is refused before a byte of its weights is read.
MAX_WEIGHT_BYTES = 2**31 - 1


def load_model_proto(path: Path, *, with_weights: bool = True):
    """Load an ONNX model, turning every way a file can fail to be one into a ModelFileError."""
    import onnx

    path = Path(path)
    if not path.is_file():
        what = "not a regular file" if path.exists() else "no such model file"  # a FIFO, a device, a folder
        raise ModelFileError(f"{path}: {what}")
    size = path.stat().st_size
    if size > MAX_WEIGHT_BYTES:  # attack pass 43: a sparse 3 GB file was read whole (3.2 GB of memory)
        raise ModelFileError(f"{path}: {size:,} bytes; one ONNX file holds at most {MAX_WEIGHT_BYTES:,}")
    try:
        model = onnx.load(path, load_external_data=False)
        if with_weights:
            size = weight_bytes(model, path)
            if size > MAX_WEIGHT_BYTES:
                raise ModelFileError(
                    f"{path}: {size:,} bytes of weights; an ensemble's models hold at most {MAX_WEIGHT_BYTES:,}"
                )
            model = onnx.load(path, load_external_data=True)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001  (protobuf raises assorted errors for junk)
        raise ModelFileError(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    if model.ir_version < 1 or not model.graph.node or not model.graph.input or not model.graph.output:
        raise ModelFileError(f"{path}: not an ONNX model (no graph)")
    return model


def weight_bytes(model, path: Path) -> int:
    """The bytes of weights `model` (loaded without its external data) holds: the file's
    own size plus what its tensors declare in external files (their length, else the
    rest of the file from their offset)."""
    import os

    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    total = os.stat(path).st_size
    for tensor in model.graph.initializer:
        if not uses_external_data(tensor):
            continue
        info = ExternalDataInfo(tensor)
        if info.length:
            total += int(info.length)
            continue
        try:
            total += max(0, os.stat(path.parent / info.location).st_size - int(info.offset or 0))
        except (OSError, ValueError):
            pass  # onnx.load says what is wrong with the location
    return total


def check_ensemble_size(models: list, paths: list[Path]) -> None:
    """A ModelFileError unless the loaded `models` together fit in one graph (MAX_WEIGHT_BYTES)."""
    total = sum(model.ByteSize() for model in models)
    if total > MAX_WEIGHT_BYTES:
        raise ModelFileError(
            f"{', '.join(map(str, paths))}: {total:,} bytes together; one ensemble graph holds at most "
            f"{MAX_WEIGHT_BYTES:,}: auto-label with fewer models"
        )


def read_metadata(path: Path) -> ModelMetadata:
    """The celeba metadata of a model file (weights not loaded).

    Parsing the file takes ~0.45 s per 300 MB, so a version of a file already read (same
    inode, size and modification time) is answered from memory: `autolabel -t` checks a
    model's task before the ensemble reads it."""
    try:
        info = os.stat(path)
    except OSError:
        return _parsed_metadata(str(path), None)  # load_model_proto says what is wrong
    return _parsed_metadata(str(path), (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns))


@lru_cache(maxsize=32)
def _parsed_metadata(path: str, version: tuple | None) -> ModelMetadata:
    model = load_model_proto(Path(path), with_weights=False)
    meta = ModelMetadata.from_props({p.key: p.value for p in model.metadata_props}, path)
    check_graph_matches(model, meta, path)
    return meta


def check_graph_matches(model, meta: ModelMetadata, where: str) -> None:
    """The metadata must describe the graph (input/output names, input shape, class count);
    a file edited by hand or by another tool otherwise fails deep inside inference."""
    inputs = {v.name: v for v in model.graph.input}
    outputs = {v.name: v for v in model.graph.output}
    for kind, name, found in (("input", meta.input_name, inputs), ("output", meta.output_name, outputs)):
        if name not in found:
            raise ModelFileError(
                f"{where}: metadata names {kind} {name!r}, but the graph's {kind}s are {', '.join(found) or 'none'}"
            )
    image = inputs[meta.input_name].type.tensor_type
    shape = [d.dim_value or None for d in image.shape.dim]  # None: a named or unknown dimension
    expected = [None, meta.input_size, meta.input_size, 3]
    mismatched = any(s not in (None, e) for s, e in zip(shape[1:], expected[1:]))
    if image.elem_type != ONNX_UINT8 or len(shape) != 4 or mismatched:
        raise ModelFileError(
            f"{where}: metadata says uint8 input (batch, {meta.input_size}, {meta.input_size}, 3), but the graph "
            f"takes {_value_info(inputs[meta.input_name])['type']} {_shape_text(shape)}"
        )
    probs = [d.dim_value or None for d in outputs[meta.output_name].type.tensor_type.shape.dim]
    if len(probs) != 2 or probs[1] not in (None, len(meta.classes)):
        raise ModelFileError(
            f"{where}: metadata lists {len(meta.classes)} classes, but the graph outputs {_shape_text(probs)}"
        )
    fixed = next((dims[0] for dims in (shape, probs) if dims[0] is not None), None)
    if fixed is not None:  # auto-labelling sends batches of any size (flip TTA doubles them)
        raise ModelFileError(
            f"{where}: the graph takes batches of exactly {fixed} image(s); export it with a dynamic batch "
            "axis (as celeba export-onnx does)"
        )


def _shape_text(shape: list) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"


def write_metadata(model, metadata: ModelMetadata) -> None:
    """Replace a ModelProto's metadata_props with `metadata` (in place)."""
    del model.metadata_props[:]
    for key, value in metadata.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def model_hash(path: Path) -> str:
    """The model's identity: the first 16 hex digits of the file's SHA-256."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def describe(path: Path) -> dict:
    """Everything `celeba inspect` shows: metadata, graph inputs/outputs, opset, size, hash."""
    path = Path(path)
    model = load_model_proto(path, with_weights=False)
    props = {p.key: p.value for p in model.metadata_props}
    info = {
        "path": str(path),
        "hash": model_hash(path),
        "bytes": path.stat().st_size,
        "opset": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "inputs": [_value_info(v) for v in model.graph.input],
        "outputs": [_value_info(v) for v in model.graph.output],
        "nodes": len(model.graph.node),
    }
    meta = ModelMetadata.from_props(props, str(path))
    check_graph_matches(model, meta, str(path))
    _check_graph_is_valid(model, str(path))
    info["metadata"] = asdict(meta)
    info["metadata"]["classes"] = list(info["metadata"]["classes"])
    info["metadata"]["celeba_metadata"] = props["celeba_metadata"]  # the schema version (from_props checked it)
    return info


def _check_graph_is_valid(model, where: str) -> None:
    """onnx's checker (topological order, known ops, types); autolabel meets the same through onnxruntime."""
    import onnx

    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        raise ModelFileError(f"{where}: broken ONNX graph ({first})") from None


def _value_info(value) -> dict:
    import onnx

    tensor = value.type.tensor_type
    shape = [d.dim_param or d.dim_value for d in tensor.shape.dim]
    return {"name": value.name, "type": onnx.TensorProto.DataType.Name(tensor.elem_type).lower(), "shape": shape}


def check_same_classes(named: list[tuple[str, ModelMetadata]]) -> None:
    """Models of one task must name the same classes in the same order."""
    first_name, first = named[0]
    for name, meta in named[1:]:
        if tuple(meta.classes) != tuple(first.classes):
            what = "class order" if sorted(meta.classes) == sorted(first.classes) else "class names"
            raise CelebaError(
                f"models disagree on {what} for task {first.task!r}: {first_name} has "
                f"{list(first.classes)}, {name} has {list(meta.classes)}"
            )
