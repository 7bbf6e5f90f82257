"""Training-step speed by memory layout and precision, side by side in one run.

One architecture's optimiser step (forward, cross-entropy, backward, AdamW) on random
64x64 batches, four ways: float32 in NCHW (contiguous) layout, float32 channels-last,
bfloat16 autocast in NCHW, and bfloat16 autocast channels-last (what `celeba train` does
on a CPU with native bfloat16, see docs/training.md). Rounds alternate the four, so that
load from other processes hits them alike; each figure is the median step of its best
round, and the ratios are against float32 NCHW. `--compile` adds the last way under
`torch.compile` (inductor) and prints its compile time.

    python benchmarks/training_step.py [--architecture small_resnet] [--batch-size 16 64] [--rounds 2] [--compile]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from celeba_tui.plugins import get_architecture  # noqa: E402
from celeba_tui.training.loop import cpu_has_bf16  # noqa: E402

WAYS = {
    "float32 NCHW": (False, False),
    "float32 channels-last": (True, False),
    "bfloat16 NCHW": (False, True),
    "bfloat16 channels-last": (True, True),
}


def step_seconds(
    architecture, batch_size: int, channels_last: bool, bf16: bool, steps: int, compiled: bool = False
) -> float:
    """Median seconds of an optimiser step (after 5 warm-up steps; with `compiled`, the first compiles)."""
    torch.manual_seed(0)
    side = architecture.input_size
    model = architecture.build(3)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    optimizer = torch.optim.AdamW(model.parameters(), 1e-3)
    if compiled:
        model = torch.compile(model)
    x = torch.randn(batch_size, 3, side, side).contiguous(memory_format=layout)
    y = torch.randint(0, 3, (batch_size,))
    times = []
    for i in range(steps + 5):
        started = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            out = out[0] if isinstance(out, (tuple, list)) else out
            loss = F.cross_entropy(out.float(), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 5:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--architecture", default="small_resnet")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--compile", action="store_true", help="also bfloat16 channels-last under torch.compile")
    args = parser.parse_args()
    architecture = get_architecture(args.architecture)
    native = cpu_has_bf16()
    print(f"{args.architecture}, {torch.get_num_threads()} threads; native bfloat16 on this CPU: {native}")
    for batch_size in args.batch_size:
        best = {name: float("inf") for name in WAYS}
        for _ in range(args.rounds):
            for name, (channels_last, bf16) in WAYS.items():
                seconds = step_seconds(architecture, batch_size, channels_last, bf16, args.steps)
                best[name] = min(best[name], seconds)
        if args.compile:
            started = time.perf_counter()
            step_seconds(architecture, batch_size, True, True, 1, compiled=True)
            print(f"batch {batch_size}: torch.compile and 6 steps took {time.perf_counter() - started:.1f} s")
            best["compiled bfloat16 channels-last"] = min(
                step_seconds(architecture, batch_size, True, True, args.steps, compiled=True)
                for _ in range(args.rounds)
            )
        base = best["float32 NCHW"]
        cells = [f"{name} {seconds * 1000:.1f} ms ({base / seconds:.2f}x)" for name, seconds in best.items()]
        print(f"batch {batch_size} ({batch_size / base:.0f} img/s in float32 NCHW): " + "; ".join(cells))


if __name__ == "__main__":
    main()
