"""How many images `celeba demo` labels automatically, and how well, on this machine.

These figures move with the CPU's float arithmetic (the quick demo's weak models sit near
the study's thresholds), so they are measured here, with floors as margins, and not in
the test suite. Runs the demo into a temporary folder (or --out) and prints, per task,
the automatic labels, coverage of the unlabelled images, precision against the
generator's ground truth and the held-out precision the thresholds were chosen on, each
next to its floor. Exits 1 when a figure is under its floor.

    python benchmarks/demo_quality.py            # the quick demo (~90 s on 2 cores)
    python benchmarks/demo_quality.py --full     # the default demo (~6 minutes)
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

# Floors, set below what the demos measured (docs/performance.md, "Demo"; 2026-12-03 on
# an AMD EPYC, second round: quick light 8.3% at 100%, orientation 23.3% at 98.6%;
# default light 16.6% at 100%, orientation 49.7% at 99.7%).
FLOORS = {
    "quick": {"light": {"coverage": 0.02, "precision": 0.85}, "orientation": {"coverage": 0.05, "precision": 0.85}},
    "full": {"light": {"coverage": 0.10, "precision": 0.95}, "orientation": {"coverage": 0.30, "precision": 0.95}},
}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="Run the default demo instead of --quick.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="Demo folder to create (default: a temporary one).")
    args = parser.parse_args()

    from celeba_tui.demo import run_demo

    mode = "full" if args.full else "quick"
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "demo"
        started = time.perf_counter()
        result = run_demo(out, quick=not args.full, seed=args.seed)
        seconds = time.perf_counter() - started

    print(f"\n{mode} demo, seed {args.seed}, {cpu_name()}: {seconds:.0f} s")
    print(f"{'task':<12} {'automatic':>9} {'coverage':>9} {'floor':>6} {'precision':>9} {'floor':>6} {'held-out':>8}")
    failed = False
    for score in result.scores:
        floor = FLOORS[mode][score["task"]]
        precision = score["precision_vs_truth"]
        held_out = score["held_out_precision"]
        low = score["coverage"] < floor["coverage"] or (
            floor["precision"] > 0 and (precision is None or precision < floor["precision"])
        )
        failed |= low
        print(
            f"{score['task']:<12} {score['automatic']:>9} {score['coverage']:>9.1%} {floor['coverage']:>6.1%} "
            f"{'-' if precision is None else f'{precision:.1%}':>9} {floor['precision']:>6.0%} "
            f"{'-' if held_out is None else f'{held_out:.1%}':>8}{'  UNDER FLOOR' if low else ''}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
