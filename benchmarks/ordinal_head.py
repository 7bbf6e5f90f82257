"""Lever 5 of the label-quality issue: an ordinal head, measured (tried, not kept).

Runs `benchmarks/label_quality.py` with its arguments, every architecture's class outputs
replaced by a cumulative-logit (proportional-odds) head: the network's first output is
one score s along the angle, and with learnt cut points t1 < t2,

    P(left) = 1 - sigmoid(s - t1),  P(center) = sigmoid(s - t1) - sigmoid(s - t2),
    P(right) = sigmoid(s - t2).

It is the annotators' own model (a reading of the angle, with logistic noise, cut at two
boundaries), and every label of either boundary teaches the same score. The head returns
log-probabilities, which the trainer's loss, the temperature, the class biases and the
ONNX export read as logits; outputs past the classes (landmark cues) pass through.

    python benchmarks/ordinal_head.py --seed 0                       # the default demo, scored
    python benchmarks/ordinal_head.py --real ../shared/real-faces --set head-yaw --folds 6

docs/label-quality.md (fifteenth round) has the figures next to the plain head's.
"""

from __future__ import annotations

import runpy
import sys
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import celeba_tui.plugins as plugins  # noqa: E402

ORDERED_CLASSES = 3  # left < center < right, both tasks
# Cut points start 4 apart: P(center) can reach 0.76 at once. At 1 apart (0.24 at most) the
# run's few hundred steps never widened them and "center" almost never won the argmax.
FIRST_GAP = 4.0


class OrdinalHead(nn.Module):
    """`inner`'s first output as a score along the classes' order, cut at learnt points."""

    def __init__(self, inner: nn.Module, n_classes: int):
        super().__init__()
        self.inner = inner
        self.n_classes = n_classes
        self.centre = nn.Parameter(torch.zeros(()))
        gap = torch.tensor(FIRST_GAP)
        self.gaps = nn.Parameter(torch.full((n_classes - 1,), float(gap + torch.log(-torch.expm1(-gap)))))

    def cut_points(self) -> torch.Tensor:
        rising = torch.cumsum(F.softplus(self.gaps) + 1e-3, 0)
        return rising - rising.mean() + self.centre

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.inner(x)
        cuts = self.cut_points()
        above = out[:, :1].float() - cuts  # (N, K-1): the logit of "past cut k"
        log_above, log_below = F.logsigmoid(above), F.logsigmoid(-above)
        parts = [log_below[:, :1]]
        for k in range(1, self.n_classes - 1):
            # log(sigmoid(a_{k-1}) - sigmoid(a_k)), computed without cancelling.
            between = torch.log(-torch.expm1(-(cuts[k] - cuts[k - 1])))
            parts.append(log_above[:, k - 1 : k] + log_below[:, k : k + 1] + between)
        parts.append(log_above[:, -1:])
        return torch.cat([torch.cat(parts, 1).to(out.dtype), out[:, self.n_classes :]], 1)


def with_ordinal_head(get_architecture):
    def patched(name: str):
        architecture = get_architecture(name)
        return replace(architecture, build=lambda n, build=architecture.build: OrdinalHead(build(n), ORDERED_CLASSES))

    return patched


if __name__ == "__main__":
    plugins.get_architecture = with_ordinal_head(plugins.get_architecture)
    sys.argv = [str(ROOT / "benchmarks" / "label_quality.py"), *sys.argv[1:]]
    runpy.run_path(sys.argv[0], run_name="__main__")
