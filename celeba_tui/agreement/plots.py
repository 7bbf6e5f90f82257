"""Confusion-matrix PNGs for `celeba agreement --plot DIR` (matplotlib, Agg canvas, no pyplot)."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from celeba_tui.agreement.measures import PairAgreement, TaskAgreement
from celeba_tui.atomic import atomic_path, check_output_folder
from celeba_tui.errors import CelebaError

# Each name's share of a plot's file name: three of them stay well under the 255 bytes
# file systems allow, whatever annotators are called.
NAME_PART_LENGTH = 60


def safe_name_part(name: str) -> str:
    """`name` with characters unsafe in file names replaced; a long one is cut and given a
    short hash of the whole, so two long names that share a start stay apart."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    if len(safe) <= NAME_PART_LENGTH:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[: NAME_PART_LENGTH - 9]}~{digest}"


def plot_file_name(pair: PairAgreement) -> str:
    """`confusion-<task>-<a>-vs-<b>.png`, each name made safe for a file name (safe_name_part)."""
    safe = [safe_name_part(part) for part in (pair.task, pair.annotator_a, pair.annotator_b)]
    return f"confusion-{safe[0]}-{safe[1]}-vs-{safe[2]}.png"


def write_confusion_plot(pair: PairAgreement, classes: list[str], path: Path) -> Path:
    """One pair's confusion matrix as a PNG: rows are A's labels, columns B's, counts in cells."""
    from celeba_tui.figures import agg_figure

    figure = agg_figure(figsize=(4.2, 3.8), dpi=100)
    axes = figure.add_subplot()
    image = axes.imshow(pair.confusion, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    ticks = range(len(classes))
    axes.set_xticks(ticks, classes)
    axes.set_yticks(ticks, classes)
    axes.set_xlabel(pair.annotator_b)
    axes.set_ylabel(pair.annotator_a)
    peak = max((max(row) for row in pair.confusion), default=0)
    for i, row in enumerate(pair.confusion):
        for j, count in enumerate(row):
            axes.text(
                j, i, f"{count:,}", ha="center", va="center", color="white" if peak and count > peak / 2 else "black"
            )
    title = f"{pair.task}: {pair.overlapping:,} shared"
    if pair.percent_agreement is not None:
        title += f", {pair.percent_agreement:.0f}% agree"
    if pair.kappa is not None:
        title += f", kappa {pair.kappa:.2f}"
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path


def write_confusion_plots(report: list[TaskAgreement], out_dir: Path) -> list[Path]:
    """A PNG per task and pair of annotators with shared images; returns the files written.

    `out_dir` is made if missing, its parents are not (a typo should not grow folders).
    """
    out_dir = check_output_folder(out_dir)
    planned = plot_paths(report, Path(out_dir))
    for _, _, path in planned:
        # The folder is named, its files are not: a link or a FIFO planted under one of
        # their names must not send the plot somewhere else. Checked before any is written.
        if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
            raise CelebaError(f"cannot write {path}: it exists and is not a regular file (remove it first)")
    written: list[Path] = []
    for pair, classes, path in planned:
        try:
            written.append(write_confusion_plot(pair, classes, path))
        except OSError as exc:
            raise CelebaError(f"{path}: cannot write plot ({exc.strerror or exc})") from None
    return written


def plot_paths(report: list[TaskAgreement], out_dir: Path) -> list[tuple[PairAgreement, list[str], Path]]:
    """(pair, the task's classes, file) for each pair of annotators with shared images."""
    planned: list[tuple[PairAgreement, list[str], Path]] = []
    taken: set[Path] = set()
    for task in report:
        for pair in task.pairs:
            if pair.overlapping == 0:
                continue
            path = out_dir / plot_file_name(pair)
            # Names differing only in replaced characters would collide: number the later ones.
            stem, n = path.stem, 2
            while path in taken:
                path = path.with_name(f"{stem}-{n}.png")
                n += 1
            taken.add(path)
            planned.append((pair, task.classes, path))
    return planned
