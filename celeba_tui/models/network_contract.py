"""What an architecture's `build` must give, checked before anything is written.

A plugin's network is outside code: `build(num_outputs)` must return a `torch.nn.Module`
with trainable parameters whose forward, on a batch of images of the architecture's input
size, gives floating-point logits of shape (batch, num_outputs) (or a tuple or list whose
first element is those logits: auxiliary heads). Anything else is one CelebaError naming
the architecture and its plugin, before a run folder is made (attack pass 35: a build
that returned a string, or a forward of the wrong shape, was a traceback and left a
half-made run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError

if TYPE_CHECKING:
    import torch

    from celeba_tui.architecture import Architecture

PROBE_BATCH = 2


def built_network(architecture: Architecture, num_outputs: int) -> torch.nn.Module:
    """`architecture.build(num_outputs)`, checked against the contract (see the module).

    The probe runs in eval mode without gradients and from its own random generator, so
    the network's weights, buffers and torch's global random state are as `build` left
    them (a seeded run stays reproducible). Its mode is restored afterwards."""
    import torch

    def refused(problem: str) -> CelebaError:
        return CelebaError(f"{_named(architecture)}: {problem}")

    try:
        module = architecture.build(num_outputs)
    except Exception as exc:  # a plugin's own code: any failure is its, said in one line
        raise refused(f"build({num_outputs}) raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(module, torch.nn.Module):
        raise refused(f"build({num_outputs}) returned {type(module).__name__}, not a torch.nn.Module")
    if not any(p.requires_grad for p in module.parameters()):
        raise refused("its network has no trainable parameters")
    size = architecture.input_size
    probe = torch.rand(PROBE_BATCH, 3, size, size, generator=torch.Generator().manual_seed(0))
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            output = module(probe)
    except Exception as exc:
        raise refused(
            f"its network failed on a batch of {PROBE_BATCH} images of {size}x{size}: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        module.train(was_training)
    logits = output[0] if isinstance(output, (tuple, list)) and output else output
    expected = (PROBE_BATCH, num_outputs)
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point() or tuple(logits.shape) != expected:
        raise refused(
            f"its network gave {_described(logits)} for a batch of {PROBE_BATCH} images of {size}x{size}, "
            f"not floating-point logits of shape {expected}"
        )
    return module


def _named(architecture: Architecture) -> str:
    """`architecture NAME (plugin OWNER)`, the owner as the plugin registry knows it."""
    from celeba_tui.plugins import default_registry

    owner = default_registry().registrations().owners.get(("architectures", architecture.name))
    return f"architecture {architecture.name}" + (f" (plugin {owner})" if owner else "")


def _described(value) -> str:
    import torch

    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).removeprefix('torch.')} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"
