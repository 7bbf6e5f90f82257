"""Running under `torchrun`: process group, rank, and the few collectives training needs.

Without torchrun (no WORLD_SIZE in the environment) everything here is a no-op over
one process, so the training loop has a single code path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Distributed:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def from_environment() -> Distributed:
    """The rank and world size torchrun put in the environment (one process otherwise)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Distributed()
    return Distributed(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def start(dist: Distributed, device_type: str) -> None:
    """Join the process group (NCCL on CUDA, gloo on CPU) when running distributed."""
    if not dist.enabled:
        return
    import torch.distributed as torch_dist

    if device_type == "cuda":
        import torch

        torch.cuda.set_device(dist.local_rank)  # NCCL collectives use the current device
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")


def stop(dist: Distributed) -> None:
    if not dist.enabled:
        return
    import torch.distributed as torch_dist

    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def broadcast(dist: Distributed, value=None):
    """Rank 0's `value` on every rank (pickled; for small objects)."""
    if not dist.enabled:
        return value
    import torch.distributed as torch_dist

    box = [value]
    torch_dist.broadcast_object_list(box, src=0)
    return box[0]


def sum_across(dist: Distributed, values: np.ndarray) -> np.ndarray:
    """Element-wise sum of a float64 array over all ranks (counts, loss sums, confusion)."""
    values = np.asarray(values, dtype=np.float64)
    if not dist.enabled:
        return values
    import torch
    import torch.distributed as torch_dist

    tensor = torch.from_numpy(values.copy())
    if torch_dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    torch_dist.all_reduce(tensor, op=torch_dist.ReduceOp.SUM)
    return tensor.cpu().numpy()


def shard(indices: np.ndarray, dist: Distributed) -> np.ndarray:
    """This rank's share of evaluation indices (no padding, so every sample counts once)."""
    return indices[dist.rank :: dist.world_size]
