"""Throughput of every registered architecture: training steps and eval forwards, images/s.

Also InceptionV3 at 75, 96 and 128 px, the figures behind its default input size.
Run: python benchmarks/architectures.py [--threads N] [--batch B] [--device cpu|cuda] [--steps S]
"""

from __future__ import annotations

import argparse
import time

import torch

from celeba_tui.models.summary import parameter_counts
from celeba_tui.plugins import get_architecture, list_architectures


def images_per_second(model, side: int, batch: int, steps: int, device: str, train: bool, aux_weight: float) -> float:
    x = torch.rand(batch, 3, side, side, device=device)
    y = torch.randint(0, 3, (batch,), device=device)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    model.train(train)

    def step() -> None:
        if not train:
            with torch.no_grad():
                model(x)
            return
        output = model(x)
        logits, aux = (output, None) if isinstance(output, torch.Tensor) else output
        loss = torch.nn.functional.cross_entropy(logits, y)
        if aux is not None:
            loss = loss + aux_weight * torch.nn.functional.cross_entropy(aux, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up: kernel selection and allocation
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"device {args.device}, {args.threads} thread(s), batch {args.batch}, {args.steps} timed steps")
    print(
        f"{'architecture':<26}{'input':>6}{'params':>13}{'train img/s':>13}{'eval img/s':>12}{'epoch of 10,457 (s)':>21}"
    )
    runs = [(name, None) for name in list_architectures()] + [("inception_v3", side) for side in (75, 96)]
    for name, side in runs:
        arch = get_architecture(name)
        side = side or arch.input_size
        model = arch.build(3).to(args.device)
        trainable, frozen = parameter_counts(model)
        train = images_per_second(model, side, args.batch, args.steps, args.device, True, arch.aux_loss_weight)
        evaluate = images_per_second(model, side, args.batch, args.steps, args.device, False, 0.0)
        # 10,457: the study's light-task training set (Table 2).
        print(f"{name:<26}{side:>6}{trainable + frozen:>13,}{train:>13.1f}{evaluate:>12.1f}{10457 / train:>21.0f}")


if __name__ == "__main__":
    main()
