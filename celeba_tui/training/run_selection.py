"""Naming a training run on the command line: a selector, a run id or a run directory.

Every command that takes a run (`export-onnx`, `report`, `autolabel`, `cycle`) reads it
here, so the words mean the same everywhere:

    latest          the most recently finished run
    best            the run with the highest validation balanced accuracy
    latest:ARCH     the same among one architecture's runs (best:cnn4 ...)
    best:ARCH
    RUN_ID          a folder name under <workspace>/runs/
    DIR             a run directory anywhere

A selector looks at the finished runs under the workspace's `runs/`, of the task given
with `-t/--task`; without one, the runs it matches must all be of one task. A folder
called `latest` or `best` is named as `./latest`. Ties in `best` go to the later run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError

if TYPE_CHECKING:  # run_files is loaded where a run is read, so the CLI's help stays light
    from celeba_tui.models.run_files import Run

SELECTOR_KINDS = ("latest", "best")
SHOWN_RUNS = 8
SELECTOR_HELP = (
    "latest, best, latest:ARCH, best:ARCH (best = highest validation balanced accuracy), a run id or a run directory"
)


@dataclass(frozen=True)
class RunSelector:
    """`latest` or `best`, optionally of one architecture."""

    kind: str
    architecture: str | None = None

    @property
    def text(self) -> str:
        return self.kind + (f":{self.architecture}" if self.architecture else "")


@dataclass(frozen=True)
class RunListing:
    """The finished runs of a runs folder and the folders left out (unfinished or damaged)."""

    runs_dir: Path
    runs: tuple[Run, ...]
    left_out: tuple[tuple[str, str], ...] = ()  # (folder name, why)

    @property
    def notes(self) -> list[str]:
        return [f"left out {name}: {why}" for name, why in self.left_out]


def parse_selector(text: str) -> RunSelector | None:
    """The selector `text` spells, or None when it is not one (then it is a run id or a folder)."""
    kind, colon, architecture = text.partition(":")
    if kind not in SELECTOR_KINDS:
        return None
    if colon and not architecture.strip():
        raise CelebaError(f"run selector {text!r} names no architecture: write {kind}:ARCH, e.g. {kind}:cnn4")
    return RunSelector(kind, architecture.strip() or None)


def list_runs(runs_dir: Path) -> RunListing:
    """Every finished run under `runs_dir`, in folder-name order; unfinished ones are left out and noted."""
    from celeba_tui.models.run_files import CONFIG_FILE, load_run

    runs_dir = Path(runs_dir)
    folders = sorted(p for p in runs_dir.iterdir() if p.is_dir()) if runs_dir.is_dir() else []
    runs, left_out = [], []
    for folder in folders:
        if not (folder / CONFIG_FILE).is_file():
            continue
        try:
            runs.append(load_run(folder))
        except CelebaError as exc:
            left_out.append((folder.name, str(exc)))
    return RunListing(runs_dir, tuple(runs), tuple(left_out))


def finished_at(run: Run) -> tuple[float, str]:
    """When a run was made (config `created`, else when its summary was written), then its id."""
    from celeba_tui.models.run_files import SUMMARY_FILE

    created = run.config.get("created")
    stamp = None
    if isinstance(created, str):
        try:
            stamp = datetime.strptime(created, "%Y-%m-%dT%H:%M:%S%z").timestamp()
        except ValueError:
            stamp = None
    if stamp is None:
        try:
            stamp = (run.path / SUMMARY_FILE).stat().st_mtime
        except OSError:
            stamp = 0.0
    return stamp, run.run_id


def balanced_accuracy(run: Run) -> float:
    """The run's validation balanced accuracy; -1 when the summary lacks it (never the best)."""
    value = run.summary.get("val_balanced_acc")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
        return -1.0
    return float(value)


def pick(listing: RunListing, selector: RunSelector, task: str | None = None) -> Run:
    """The run a selector names among `listing`'s runs (of `task` when given)."""
    candidates = [
        run
        for run in listing.runs
        if (task is None or run.task == task)
        and (selector.architecture is None or run.architecture == selector.architecture)
    ]
    if not candidates:
        raise CelebaError(_no_match(listing, selector, task))
    tasks = sorted({run.task for run in candidates})
    if len(tasks) > 1:
        raise CelebaError(
            f"run selector {selector.text!r} is ambiguous: it matches runs of tasks {', '.join(tasks)}; "
            f"add -t/--task {tasks[0]} (or {', '.join(tasks[1:])})"
        )
    if selector.kind == "latest":
        return max(candidates, key=finished_at)
    return max(candidates, key=lambda run: (balanced_accuracy(run), finished_at(run)))


def _no_match(listing: RunListing, selector: RunSelector, task: str | None) -> str:
    wanted = f"run selector {selector.text!r}" + (f" with task {task!r}" if task else "")
    if not listing.runs:
        # Why the (first) folder was left out: unfinished, or refused (a damaged or hostile file).
        left_out = f" ({len(listing.left_out)} left out: {listing.left_out[0][1]})" if listing.left_out else ""
        return (
            f"{wanted} matches nothing: no finished runs in {listing.runs_dir}{left_out}; "
            f"train one with `celeba train --plugin ARCH -t TASK`"
        )
    if task is not None and not any(run.task == task for run in listing.runs):
        others = ", ".join(sorted({run.task for run in listing.runs}))
        return (
            f"{wanted} matches nothing: no finished {task} runs in {listing.runs_dir} (runs of: {others}); "
            f"train one with `celeba train --plugin ARCH -t {task}`"
        )
    seen = [f"{run.run_id} ({run.task}, {run.architecture})" for run in listing.runs]
    shown = ", ".join(seen[-SHOWN_RUNS:]) + (f" and {len(seen) - SHOWN_RUNS} more" if len(seen) > SHOWN_RUNS else "")
    pairs = sorted({(run.task, run.architecture) for run in listing.runs if task is None or run.task == task})
    hint = "; use one of: " + ", ".join(f"-t {t} best:{a}" for t, a in pairs[:SHOWN_RUNS])
    return f"{wanted} matches none of the finished runs in {listing.runs_dir}: {shown}{hint}"


def resolve_run(text: str, runs_dir: Path, task: str | None = None) -> Run:
    """RUN as typed: a selector, a run id under `runs_dir`, or a run directory; of `task` when given."""
    from celeba_tui.models.run_files import load_run

    selector = parse_selector(text)
    if selector is not None:
        return pick(list_runs(runs_dir), selector, task)
    run = load_run(_run_path(text, Path(runs_dir)))
    if task is not None and run.task != task:
        raise CelebaError(f"run {run.run_id} is a {run.task!r} run, not {task!r}: name a run of that task or drop -t")
    return run


def _run_path(text: str, runs_dir: Path) -> Path:
    path = Path(text)
    if path.is_dir():
        return path
    candidate = runs_dir / text
    if text and "/" not in text and candidate.is_dir():
        return candidate
    listing = list_runs(runs_dir)
    known = [run.run_id for run in listing.runs]
    shown = f" (finished runs: {', '.join(known[-SHOWN_RUNS:])})" if known else " (no finished runs yet)"
    raise CelebaError(
        f"no run {text!r}: not a run selector ({', '.join(SELECTOR_KINDS)}, with :ARCH), not a folder, "
        f"and not in {runs_dir}{shown}"
    )


def resolve_runs(
    texts: list[str] | None, runs_dir: Path, tasks: Sequence[str] | None = None
) -> tuple[list[Run], list[str]]:
    """Several RUNs (each as in resolve_run, once each; a selector picks one run per task of
    `tasks`), or every finished run (of `tasks`, when given) when none is named, with notes on
    the unfinished runs left out of that listing."""
    if not texts:
        listing = list_runs(runs_dir)
        return [run for run in listing.runs if not tasks or run.task in tasks], listing.notes
    runs: list[Run] = []
    for text in texts:
        if parse_selector(text) is not None:
            found = [resolve_run(text, runs_dir, task) for task in tasks or [None]]
        else:
            found = [resolve_run(text, runs_dir)]
            if tasks and found[0].task not in tasks:
                raise CelebaError(
                    f"run {found[0].run_id} is a {found[0].task!r} run, not {' or '.join(map(repr, tasks))}: "
                    "name a run of that task or drop -t"
                )
        for run in found:
            if all(run.path.resolve() != known.path.resolve() for known in runs):
                runs.append(run)
    return runs, []


def runs_naming(runs_dir: Path, task: str, name: str) -> list[str]:
    """The finished runs of `task` whose classes include `name` (trained before a class was
    renamed: `celeba rename-class`), oldest first by folder name."""
    return [run.run_id for run in list_runs(runs_dir).runs if run.task == task and name in run.classes]
