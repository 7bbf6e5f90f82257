"""kill -9 at 100+ random moments: labelling, import, merge beside a reviewer, autolabel.

    python benchmarks/crash.py                      # 120 kills, 30 per target
    python benchmarks/crash.py --kills 8 --seed 3   # a quick look
    python benchmarks/crash.py --only merge --kills 30 --keep

Four real processes are killed with SIGKILL at random moments (benchmarks/crash_targets.py
builds each one's workspace and checks the store after every kill):

- **label**: the real Textual app, headless, keys scripted (tests/reliability/headless_annotator.py
  logs each decision only after the store committed it), 0-2.5 s after its first decision; the
  same annotator starts again after each kill, as a person would. Every logged decision and
  undo is stored as logged, at most one row more per kill (committed in the instant before the
  kill, not yet logged), and no question holds two live decisions of the annotator.
- **import**: `celeba import first.csv second.csv` (30,000 one-hot rows each, from a fresh copy
  of the store every time; every third kill right after the first rows appear, i.e. after the
  first file's commit, or the command's where it is one transaction): each file is in the store
  whole or not at all, the first before the second.
- **merge**: `celeba merge --policy prefer:annx|prefer:anny` (the other policy than the last
  committed one, so every committed merge rewrites every unreviewed conflict) while a reviewer
  process (benchmarks/crash_reviewer.py) stores `review` decisions every 20-100 ms; every third
  kill lands right after the merge's commit, before the process exits. After each
  kill every unreviewed conflict holds exactly one live merge row, all of one merge and with its
  preferred annotator's label (the last merge is there whole or not at all), and on every
  (image, task) a person reviewed, the person's decision is the newest review row and the
  current label (a merge never overrules a person). The reviewer's logged decisions are its rows, exactly.
- **autolabel**: 5,000 images, two small ONNX models (tests/onnx_models.py); each round starts
  from the labelled store, kills up to three runs in a row (the first at random, the second right
  after the first committed batch of predictions, the third right after the last batch, before the
  automatic labels, unless earlier runs got that far: then at random), lets the next run finish,
  and compares predictions, live labels and current labels with one uninterrupted run's.

After every kill `PRAGMA integrity_check` must say ok. The table gives, per target, the kills,
the range of kill moments, the state the kills left, and the violations; every violation is
then printed in full. Exit status 1 when any invariant failed (the work folder is kept then).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crash_targets import TargetResult, crash_autolabel, crash_import, crash_labelling, crash_merge  # noqa: E402

TARGETS = {"label": crash_labelling, "import": crash_import, "merge": crash_merge, "autolabel": crash_autolabel}


def split_kills(total: int, targets: list[str]) -> dict[str, int]:
    """`total` kills shared evenly, the remainder to the first targets."""
    share, extra = divmod(total, len(targets))
    return {name: share + (i < extra) for i, name in enumerate(targets)}


def table(results: list[TargetResult], seconds: dict[str, float]) -> str:
    lines = [
        "| target | kills | kill moments (s) | state the kills left | violations | wall time |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        moments = (
            f"{min(result.moments):.2f}-{max(result.moments):.2f} after {result.moment_origin}"
            if result.moments
            else "-"
        )
        states = ", ".join(f"{state}: {n}" for state, n in result.states.most_common())
        lines.append(
            f"| {result.target} | {result.kills} | {moments} | {states} | "
            f"**{len(result.violations)}** | {seconds[result.target]:.0f} s |"
        )
    total = sum(r.kills for r in results)
    lines.append(
        f"| **all** | **{total}** | | | **{sum(len(r.violations) for r in results)}** | {sum(seconds.values()):.0f} s |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=120, help="kill points in all, shared by the targets")
    parser.add_argument("--only", action="append", choices=list(TARGETS), help="only this target (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments and scripted choices")
    parser.add_argument("--workdir", type=Path, help="work here (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder even when all holds")
    args = parser.parse_args(argv)
    names = args.only or list(TARGETS)
    if args.kills < len(names):
        parser.error(f"--kills must be at least {len(names)} (one per target)")
    root = Path(args.workdir or tempfile.mkdtemp(prefix="celeba-crash-"))
    root.mkdir(parents=True, exist_ok=True)
    results, seconds = [], {}
    for name, kills in split_kills(args.kills, names).items():
        started = time.monotonic()
        folder = root / name
        folder.mkdir(exist_ok=True)
        result = TARGETS[name](folder, kills, random.Random(f"{args.seed}-{name}"))
        seconds[result.target] = time.monotonic() - started
        results.append(result)
        print(
            f"{result.target}: {result.kills} kills, {len(result.violations)} violations, "
            f"{seconds[result.target]:.0f} s",
            flush=True,
        )
    print()
    print(table(results, seconds))
    for result in results:
        for note in result.notes:
            print(f"- {result.target}: {note}")
    violations = [v for r in results for v in r.violations]
    if violations:
        print(f"\n{len(violations)} violations (seed {args.seed}; work folder kept: {root}):")
        for violation in violations:
            print(f"- {violation}")
    elif not args.keep and args.workdir is None:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
