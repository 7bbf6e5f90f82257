"""Keras-style model summaries: layers, output shapes and parameter counts, as in the study's tables.

Counts follow Keras: batch-norm running mean and variance are non-trainable parameters
(two per channel); scale and shift are trainable. Rows are the network's layers in the
order they run; containers (`nn.Sequential`, module lists, and modules whose class sets
`expand_in_summary = True`) are replaced by their children. Shapes are PyTorch's NCHW,
with `None` for the batch. A layer that runs in training but not in eval mode (an
auxiliary classifier) is marked training-only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from celeba_tui.architecture import Architecture
from celeba_tui.models.network_contract import built_network

if TYPE_CHECKING:
    from torch import nn

RUNNING_STATISTICS = ("running_mean", "running_var")


@dataclass(frozen=True)
class LayerRow:
    name: str
    type: str
    output_shape: tuple[int | None, ...] | None
    params: int
    trainable: int
    non_trainable: int
    training_only: bool


@dataclass(frozen=True)
class ModelSummary:
    architecture: str
    input_size: int
    num_classes: int
    layers: tuple[LayerRow, ...]
    trainable: int
    non_trainable: int

    @property
    def total(self) -> int:
        return self.trainable + self.non_trainable

    @property
    def training_only(self) -> int:
        return sum(row.params for row in self.layers if row.training_only)

    @property
    def inference(self) -> int:
        """Parameters of the network that eval mode (and an ONNX export) uses."""
        return self.total - self.training_only

    def to_dict(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture,
            "input_shape": [None, 3, self.input_size, self.input_size],
            "num_classes": self.num_classes,
            "layers": [asdict(row) for row in self.layers],
            "total_params": self.total,
            "trainable_params": self.trainable,
            "non_trainable_params": self.non_trainable,
            "training_only_params": self.training_only,
            "inference_params": self.inference,
        }


def parameter_counts(module: "nn.Module") -> tuple[int, int]:
    """(trainable, non-trainable) counted as Keras does."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    statistics = sum(
        buffer.numel() for name, buffer in module.named_buffers() if name.rsplit(".", 1)[-1] in RUNNING_STATISTICS
    )
    return trainable, frozen + statistics


def is_container(module: "nn.Module") -> bool:
    from torch import nn

    return isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)) or getattr(
        module, "expand_in_summary", False
    )


def layer_modules(model: "nn.Module") -> list[tuple[str, "nn.Module"]]:
    """The summary's rows: (dotted name, module), the model and containers expanded."""
    rows: list[tuple[str, nn.Module]] = []

    def walk(prefix: str, module: "nn.Module") -> None:
        for name, child in module.named_children():
            full = f"{prefix}.{name}" if prefix else name
            if is_container(child):
                walk(full, child)
            else:
                rows.append((full, child))

    walk("", model)  # the model itself is always expanded, like Keras lists a model's layers
    return rows or [(type(model).__name__, model)]


def run_and_record(model: "nn.Module", rows: list, x, training: bool) -> dict[str, tuple[int, ...]]:
    """Run the model once; the output shape of each row that ran, by name."""
    import torch

    shapes: dict[str, tuple[int, ...]] = {}

    def recorder(name: str):
        def hook(_module, _inputs, output) -> None:
            first = output[0] if isinstance(output, (tuple, list)) else output
            shapes.setdefault(name, tuple(first.shape))

        return hook

    handles = [module.register_forward_hook(recorder(name)) for name, module in rows]
    try:
        model.train(training)
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def summarize(arch: Architecture, num_classes: int = 3) -> ModelSummary:
    """Build `arch`, run it once in train and once in eval mode, and count its parameters."""
    import torch

    model = built_network(arch, num_classes)
    rows = layer_modules(model)
    generator = torch.Generator().manual_seed(0)
    # Batch of 2: batch norm in train mode needs more than one value per channel.
    x = torch.rand(2, 3, arch.input_size, arch.input_size, generator=generator)
    trained = run_and_record(model, rows, x, training=True)
    evaluated = run_and_record(model, rows, x, training=False)
    order = {name: index for index, name in enumerate(trained)}
    layers = []
    for name, module in sorted(rows, key=lambda row: order.get(row[0], len(order))):
        trainable, non_trainable = parameter_counts(module)
        shape = trained.get(name)
        layers.append(
            LayerRow(
                name=name,
                type=type(module).__name__,
                output_shape=(None, *shape[1:]) if shape else None,
                params=trainable + non_trainable,
                trainable=trainable,
                non_trainable=non_trainable,
                training_only=name in trained and name not in evaluated,
            )
        )
    trainable, non_trainable = parameter_counts(model)
    return ModelSummary(arch.name, arch.input_size, num_classes, tuple(layers), trainable, non_trainable)


def format_summary(summary: ModelSummary) -> str:
    """The Keras-style text table."""
    header = ("Layer (type)", "Output Shape", "Param #")
    cells = [
        (
            f"{row.name} ({row.type})" + (" [training only]" if row.training_only else ""),
            "?" if row.output_shape is None else "(" + ", ".join(str(d) for d in row.output_shape) + ")",
            f"{row.params:,}",
        )
        for row in summary.layers
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) + 2 for i in range(3)]
    rule_width = sum(widths)

    def line(values: tuple[str, str, str]) -> str:
        return (values[0].ljust(widths[0]) + values[1].ljust(widths[1]) + values[2].rjust(widths[2] - 2)).rstrip()

    side = summary.input_size
    lines = [
        f'Model: "{summary.architecture}"  input (None, 3, {side}, {side}), {summary.num_classes} classes',
        "_" * rule_width,
        line(header),
        "=" * rule_width,
        *(line(cell) for cell in cells),
        "=" * rule_width,
        f"Total params: {summary.total:,}",
        f"Trainable params: {summary.trainable:,}",
        f"Non-trainable params: {summary.non_trainable:,}",
    ]
    if summary.training_only:
        lines.append(f"Training-only params: {summary.training_only:,} (inference uses {summary.inference:,})")
    return "\n".join(lines)
