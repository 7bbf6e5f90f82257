"""What an architecture's `build` must give, checked before anything is written.

A plugin's network is outside code: `build(num_outputs)` must return a `torch.nn.Module`
with trainable parameters whose forward, on a batch of images of the architecture's input
size, gives floating-point logits of shape (batch, num_outputs) (or a tuple or list whose
first element is those logits: auxiliary heads), in eval mode and in train mode, where a
backward pass must reach its parameters. Anything else is one CelebaError naming
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


def built_network(architecture: Architecture, num_outputs: int, *, learning: bool = True) -> torch.nn.Module:
    """`architecture.build(num_outputs)`, checked against the contract (see the module).

    Probed twice: in eval mode without gradients (how it labels), then a copy of it in
    train mode with a backward pass (how it learns: attack pass 36 found networks that
    break only there, or whose output needs no gradient). Neither touches the network
    returned, its buffers or torch's global random state, so a seeded run stays reproducible.
    Without `learning` (a trained run's network, loaded to export or label) the eval probe only."""
    import copy

    import torch

    def refused(problem: str) -> CelebaError:
        return CelebaError(f"{_named(architecture)}: {problem}")

    try:
        module = architecture.build(num_outputs)
    except (Exception, SystemExit) as exc:  # a plugin's own code: any failure is its, said in one line
        raise refused(f"build({num_outputs}) raised {type(exc).__name__}: {exc}") from None
    if not isinstance(module, torch.nn.Module):
        raise refused(f"build({num_outputs}) returned {type(module).__name__}, not a torch.nn.Module")
    if not any(p.requires_grad for p in module.parameters()):
        raise refused("its network has no trainable parameters")
    size = architecture.input_size
    probe = torch.rand(PROBE_BATCH, 3, size, size, generator=torch.Generator().manual_seed(0))
    batch = f"a batch of {PROBE_BATCH} images of {size}x{size}"
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            _check_logits(module(probe), num_outputs, f"in eval mode, on {batch}", refused)
        if not learning:
            return module
        learner = copy.deepcopy(module).train()
        with torch.random.fork_rng(devices=[]):
            output = learner(probe)
            logits = _check_logits(output, num_outputs, f"in train mode, on {batch}", refused)
            heads = list(output[1:]) if isinstance(output, (tuple, list)) and architecture.aux_loss_weight else []
            for head in heads:
                _check_logits(head, num_outputs, "as an auxiliary head in train mode", refused)
            loss = sum((h.float().sum() for h in heads), logits.float().sum())
            if not loss.requires_grad:
                raise refused(f"its output in train mode needs no gradient: it cannot learn ({batch})")
            loss.backward()
    except CelebaError:
        raise
    except (Exception, SystemExit) as exc:
        raise refused(f"its network failed on {batch}: {type(exc).__name__}: {exc}") from None
    finally:
        module.train(was_training)
    return module


def _check_logits(output, num_outputs: int, where: str, refused):
    """The main logits of `output` (a tensor, or the first of a tuple or list), refused unless
    floating-point of shape (PROBE_BATCH, num_outputs)."""
    import torch

    logits = output[0] if isinstance(output, (tuple, list)) and output else output
    expected = (PROBE_BATCH, num_outputs)
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point() or tuple(logits.shape) != expected:
        raise refused(f"its network gave {_described(logits)} {where}, not floating-point logits of shape {expected}")
    return logits


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
