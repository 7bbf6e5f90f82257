"""Plugin hook specifications (pluggy project "celeba"). Hooks only grow: add arguments, never rename."""

from __future__ import annotations

from typing import Callable

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("celeba")
hookimpl = HookimplMarker("celeba")


@hookspec
def register_architectures(register: Callable) -> None:
    """Register network architectures: call `register(Architecture(...))` for each."""


@hookspec
def register_preprocess_ops(register: Callable) -> None:
    """Register preprocessing operations: call `register(PreprocessOp(...))` for each."""
