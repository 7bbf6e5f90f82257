"""Trained models in and out: the uint8-in, probabilities-out classifier built from a run.

`ImageClassifier` is what gets exported to ONNX: uint8 RGB (N, H, W, 3) in, softmax
probabilities (N, C) out, with the x/255 normalisation inside the graph so every
consumer feeds the same bytes `celeba_tui.images.decode_resized` produced. Reading a
run's files (`Run`, `load_run`) is `celeba_tui.models.run_files`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn

from celeba_tui.errors import CelebaError
from celeba_tui.models.network_contract import built_network
from celeba_tui.models.run_files import Run, run_class_bias, run_cue_outputs, run_temperature

NORMALISATION = "x/255 (uint8 RGB NHWC in the ONNX graph)"


def to_model_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) RGB -> float (N, 3, H, W) in [0, 1] (channels-last strides)."""
    return images.permute(0, 3, 1, 2).float() / 255


def main_logits(output) -> torch.Tensor:
    """The main head's logits (train-mode InceptionV3 also returns auxiliary logits)."""
    return output[0] if isinstance(output, (tuple, list)) else output


class ImageClassifier(nn.Module):
    """An architecture's module behind uint8 input and softmax output, its logits divided by
    the run's fitted temperature and shifted by its class biases (1.0 and none for runs not
    calibrated: celeba_tui.models.calibration), so the exported graph computes them too.

    A module trained with landmark cues has outputs past its classes; with `n_classes`
    given, only the first n_classes outputs are classes (the cues stay out of the graph's output)."""

    def __init__(
        self,
        module: nn.Module,
        temperature: float = 1.0,
        n_classes: int | None = None,
        class_bias: Sequence[float] | None = None,
    ):
        super().__init__()
        self.module = module
        self.temperature = float(temperature)
        self.n_classes = n_classes
        bias = None if class_bias is None else torch.tensor([float(v) for v in class_bias], dtype=torch.float32)
        self.register_buffer("class_bias", bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = main_logits(self.module(to_model_input(images)))
        if self.n_classes is not None:
            logits = logits[:, : self.n_classes]
        if self.temperature != 1.0:
            logits = logits / self.temperature
        if self.class_bias is not None:
            logits = logits + self.class_bias
        return torch.softmax(logits, dim=1)


def build_classifier(run: Run, device: str | torch.device = "cpu") -> ImageClassifier:
    """The run's architecture with its best weights, in eval mode, ready for uint8 batches."""
    from celeba_tui.plugins import get_architecture

    plugin = run.config.get("plugin") or "unknown plugin"
    try:
        architecture = get_architecture(run.architecture)
    except CelebaError as exc:
        raise CelebaError(
            f"run {run.path} was trained with architecture {run.architecture!r} ({plugin}), "
            f"which is not available: {exc}"
        ) from None
    if architecture.input_size != run.input_size:
        raise CelebaError(
            f"run {run.path} was trained with {run.architecture!r} ({plugin}) at {run.input_size} px, "
            f"but the installed {run.architecture!r} takes {architecture.input_size} px"
        )
    cue_outputs = run_cue_outputs(run)
    module = built_network(architecture, len(run.classes) + cue_outputs, learning=False)
    state = read_checkpoint(run.checkpoint)
    try:
        module.load_state_dict(state)
    except RuntimeError:
        raise CelebaError(
            f"run {run.path} was trained with plugin {plugin} (architecture {run.architecture!r}, "
            f"{len(run.classes)} classes); its checkpoint does not fit the installed {run.architecture!r}: "
            f"{misfit(module.state_dict(), state)}"
        ) from None
    bad = non_finite_tensor(module.state_dict())
    if bad is not None:
        raise CelebaError(f"run {run.path}: its checkpoint's tensor {bad!r} holds NaN or infinite weights")
    n_classes = len(run.classes) if cue_outputs else None
    classifier = ImageClassifier(module, run_temperature(run), n_classes, run_class_bias(run)).to(device)
    classifier.eval()
    return classifier


def non_finite_tensor(tensors: dict) -> str | None:
    """The name of the first floating tensor holding NaN or an infinity, None if none does."""
    for name, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return name
    return None


SHOWN_MISFITS = 3  # tensor names shown per kind of misfit (a network has dozens)


def misfit(own: dict, state: dict) -> str:
    """How a checkpoint's tensors miss a network's: counts and the first few names of each
    kind (torch's own message lists every name, thousands of characters on one line)."""
    from celeba_tui.console import counted, printable

    kinds = (
        ("missing", [n for n in own if n not in state]),
        ("unexpected", [n for n in state if n not in own]),
        ("of another shape", [n for n in own if n in state and tuple(own[n].shape) != tuple(state[n].shape)]),
    )
    parts = []
    for kind, names in kinds:
        if names:
            shown = ", ".join(printable(n) for n in names[:SHOWN_MISFITS]) + (
                ", ..." if len(names) > SHOWN_MISFITS else ""
            )
            parts.append(f"{counted(len(names), 'tensor')} {kind} ({shown})")
    return "; ".join(parts) or "its tensors do not load"


# An exported model holds at most ~2 GiB of weights (celeba_tui.onnx.metadata.MAX_WEIGHT_BYTES);
# a checkpoint larger than that is no run of ours, and reading it could fill the memory.
MAX_CHECKPOINT_BYTES = 2**31


def read_checkpoint(path) -> dict:
    """A run's best.pt as a state dict of named dense tensors, read weights-only: a file
    holding Python objects, or anything but such a dict, is a CelebaError naming it (never
    unpickled in full); so is anything but a regular file of at most MAX_CHECKPOINT_BYTES
    (a FIFO, a device), and a zip whose members would unpack past it (`check_unpacked_size`)."""
    from celeba_tui.regular_files import FileRefused, open_regular_file

    try:
        handle = open_regular_file(path, MAX_CHECKPOINT_BYTES)
    except (FileRefused, OSError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        raise CelebaError(f"{path}: {reason}") from None
    with handle:
        check_unpacked_size(path, handle)
        try:
            state = torch.load(handle, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001  (torch raises many types for a bad file)
            # torch's weights-only message spans lines and suggests weights_only=False: never for a file we did not write.
            blocked = re.search(r"unsupported global:? (?:GLOBAL )?(\S+)", str(exc), re.IGNORECASE)
            if blocked:
                raise CelebaError(
                    f"{path}: refused: the checkpoint holds Python objects, not just weights "
                    f"({blocked.group(1)}); checkpoints are loaded with weights_only=True"
                ) from None
            weights_only = "Weights only load failed" in str(exc) or "weights_only" in str(exc)
            first = "not a weights-only file" if weights_only else (str(exc).strip().splitlines() or [""])[0]
            raise CelebaError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {first})") from None
    if not isinstance(state, dict):
        raise CelebaError(f"{path}: not a state dict")
    for key, value in state.items():
        check_weight_tensor(path, key, value)
    return state


def check_unpacked_size(path, handle) -> None:
    """A CelebaError unless the zip checkpoint open in `handle` unpacks to at most
    MAX_CHECKPOINT_BYTES (torch writes its members stored, unpacked; a deflated member of
    1 MB can ask for a terabyte). A file that is no zip (torch's legacy format) is left
    to torch, which reads it at its size. `handle` is left at its start."""
    import zipfile

    try:
        if not zipfile.is_zipfile(handle):
            return
        handle.seek(0)
        with zipfile.ZipFile(handle) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except Exception as exc:  # noqa: BLE001  (a hostile directory; torch's own reader must not see it either)
        raise CelebaError(f"{path}: not a readable checkpoint (its zip directory: {type(exc).__name__})") from None
    finally:
        handle.seek(0)
    if unpacked > MAX_CHECKPOINT_BYTES:
        raise CelebaError(
            f"{path}: refused: its members unpack to {unpacked:,} bytes, over the {MAX_CHECKPOINT_BYTES:,} "
            "a checkpoint may hold"
        )


def check_weight_tensor(path, key, value) -> None:
    """A CelebaError naming the checkpoint and entry unless it is a named tensor of weights a
    network can take: dense, on the CPU, holding its values (not a meta, nested, quantized,
    sparse, conjugate or negative view)."""
    if not isinstance(key, str) or not isinstance(value, torch.Tensor):
        raise CelebaError(f"{path}: entry {key!r} is not a named tensor")
    if (
        value.layout != torch.strided
        or value.is_quantized
        or value.is_nested
        or value.device.type != "cpu"
        or value.is_conj()
        or value.is_neg()
    ):
        raise CelebaError(f"{path}: tensor {key!r} is not a dense tensor of weights")
