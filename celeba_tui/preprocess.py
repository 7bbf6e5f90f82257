"""Registered, composable preprocessing ops on RGB uint8 (H, W, 3) arrays, and their pipelines.

A spec is a comma-separated list of `name` or `name:argument` steps, e.g.
`resize:64,contrast:1.5`. Ops come from plugins (hook `register_preprocess_ops`); the
built-ins are resize, contrast, blur, grayscale and binarize (study section 2.3).

Resizing happens while decoding (`celeba_tui.images.decode_resized`), so a resize may
only be the first step: callers decode at `Pipeline.size` and then apply
`Pipeline.without_resize()`. `Pipeline.spec` is canonical (`contrast:1.50` becomes
`contrast:1.5`) because it is used as a cache key and stored in ONNX metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from celeba_tui.errors import CelebaError

RESIZE = "resize"


class PreprocessError(CelebaError):
    """A preprocessing spec that cannot be parsed or an op given a bad argument."""


def no_argument(text: str | None) -> None:
    """Argument parser of ops that take none."""
    if text is not None:
        raise ValueError("takes no argument")


@dataclass(frozen=True)
class PreprocessOp:
    """A named operation: `parse` turns the spec argument into a value, `apply(img, value)` runs it.

    `parse` raises ValueError with a short reason for a bad argument; `format` turns a
    value back into its canonical argument text (None: no argument).
    """

    name: str
    apply: Callable[[np.ndarray, Any], np.ndarray]
    description: str
    parse: Callable[[str | None], Any] = no_argument
    format: Callable[[Any], str | None] = lambda value: None if value is None else str(value)
    argument: str = ""  # how the argument is written, for help texts ("N or WxH"); "" if none


@dataclass(frozen=True)
class Step:
    """One op with its parsed argument."""

    op: PreprocessOp
    value: Any

    @property
    def spec(self) -> str:
        text = self.op.format(self.value)
        return self.op.name if text is None else f"{self.op.name}:{text}"

    def apply(self, img: np.ndarray) -> np.ndarray:
        return self.op.apply(img, self.value)


@dataclass(frozen=True)
class Pipeline:
    """Steps applied in order to an RGB uint8 (H, W, 3) image."""

    steps: tuple[Step, ...] = ()

    @property
    def spec(self) -> str:
        return ",".join(step.spec for step in self.steps)

    @property
    def size(self) -> tuple[int, int] | None:
        """The resize target (width, height), if the pipeline resizes."""
        if self.steps and self.steps[0].op.name == RESIZE:
            return self.steps[0].value
        return None

    def without_resize(self) -> "Pipeline":
        """The steps that run after the decoder has resized the image."""
        return Pipeline(self.steps[1:]) if self.size is not None else self

    def apply(self, img: np.ndarray) -> np.ndarray:
        check_image(img)
        for step in self.steps:
            img = step.apply(img)
        return img

    def __str__(self) -> str:
        return self.spec


def check_image(img: np.ndarray) -> None:
    """Raise ValueError unless `img` is an RGB uint8 (H, W, 3) array."""
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        shape = getattr(img, "shape", None)
        dtype = getattr(img, "dtype", type(img).__name__)
        raise ValueError(f"expected an RGB uint8 (H, W, 3) array, got {dtype} {shape}")


def resizes_only(spec: str) -> bool:
    """Whether a spec's steps are all resizes (or none): decoding resizes, so no op runs."""
    return all(step.split(":")[0].strip() == "resize" for step in (spec or "").split(",") if step.strip())


def parse_spec(spec: str, ops: Mapping[str, PreprocessOp]) -> Pipeline:
    """Parse `resize:64,contrast:1.5` into a validated Pipeline of `ops` (name -> op).

    `celeba_tui.plugins.parse_spec(spec)` parses with every registered op.
    """
    known = ", ".join(sorted(ops)) or "none"
    steps: list[Step] = []
    for position, text in enumerate(part.strip() for part in spec.split(",")):
        if not text:
            if spec.strip():
                raise PreprocessError(f"preprocessing spec {spec!r}: empty step at position {position + 1}")
            continue
        name, sep, argument = text.partition(":")
        name = name.strip()
        op = ops.get(name)
        if op is None:
            raise PreprocessError(f"unknown preprocessing op {name!r} in {spec!r} (known ops: {known})")
        try:
            value = op.parse(argument.strip() if sep else None)
        except ValueError as exc:
            usage = f"{name}:{op.argument}" if op.argument else name
            raise PreprocessError(f"preprocessing op {text!r}: {exc} (usage: {usage}; known ops: {known})") from None
        if name == RESIZE and steps:
            raise PreprocessError(
                f"preprocessing spec {spec!r}: resize must be the first step (images are resized while decoding)"
            )
        steps.append(Step(op, value))
    return Pipeline(tuple(steps))


def with_default_size(pipeline: Pipeline, side: int, ops: Mapping[str, PreprocessOp]) -> Pipeline:
    """`pipeline` with `resize:side` prepended when it does not resize (so the model gets its input size)."""
    if pipeline.size is not None:
        return pipeline
    return parse_spec(",".join(filter(None, (f"{RESIZE}:{side}", pipeline.spec))), ops)
