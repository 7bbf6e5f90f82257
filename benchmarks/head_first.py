"""Label-quality lever (twenty-third round): train the fresh output layer alone first.

A network that starts from the renders' weights (`celeba train --start-from`) gets a fresh
output layer; fine-tuning everything from the first step lets that random layer's
gradients pull the trained features about (Kumar et al. 2022, "Fine-tuning can distort
pretrained features", LP-FT: a linear probe first, then fine-tuning, generalises better
to data unlike the training set). Here every tensor taken from the start is frozen for
the first FRACTION of the optimiser steps (the fresh layer learns alone, inside the
recipe's own schedule), then everything trains. The optimiser holds every tensor from
the start; a frozen one gets no gradient, so neither a step nor weight decay moves it.

This script patches the trainer in this process only and then runs
`benchmarks/synthetic_pretraining.py` with its arguments:

    python benchmarks/head_first.py --fraction 0.25 --pretrain-images 3000 \\
        --pretrain-mix 0.33,0.34,0.33 -- --real ../shared/real-faces --set head-yaw --folds 6 --seed 0

docs/label-quality.md (twenty-third round) has the figures next to the recipe's.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def patch_trainer(fraction: float) -> None:
    """Freeze the tensors a run takes from its start for the first `fraction` of its steps."""
    import celeba_tui.training.loop as loop
    import celeba_tui.training.starting_point as starting_point

    state = {"taken": [], "steps": 0, "limit": 0}
    start_from, init, train_batch = starting_point.start_from, loop.Stepper.__init__, loop.Stepper.train_batch

    def taking(module, start, *more):
        started = start_from(module, start, *more)
        fresh = set(started.fresh)
        state["taken"] = [p for name, p in module.named_parameters() if name not in fresh]
        print(f"head first: {len(state['taken'])} tensors wait; fresh: {sorted(fresh)}", flush=True)
        return started

    def stepper_init(self, *args, total_steps=0, **kwargs):
        init(self, *args, total_steps=total_steps, **kwargs)
        held = {id(p) for group in self.optimizer.param_groups for p in group["params"]}
        assert all(id(p) in held for p in state["taken"]), "the optimiser must hold every tensor"
        state["limit"], state["steps"] = int(fraction * total_steps), 0
        for p in state["taken"]:  # after the optimiser took them: it skips them while they wait
            p.requires_grad_(False)

    def stepping(self, *args, **kwargs):
        if state["taken"] and state["steps"] == state["limit"]:
            for p in state["taken"]:
                p.requires_grad_(True)
            print(f"head first: everything trains from step {state['steps']}", flush=True)
            state["taken"] = []
        state["steps"] += 1
        return train_batch(self, *args, **kwargs)

    starting_point.start_from = taking  # fit.py imports it where it calls it
    loop.Stepper.__init__ = stepper_init
    loop.Stepper.train_batch = stepping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fraction", type=float, default=0.25, help="share of the steps the fresh layer trains alone")
    args, rest = parser.parse_known_args()
    patch_trainer(args.fraction)
    sys.argv = [str(ROOT / "benchmarks" / "synthetic_pretraining.py"), *rest]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
