"""What an export wrote and what it left out, and why: the summary every export prints."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

# Why an image is left out of an export (one wording, used by every format).
CONFLICT = "a conflict waits for review"
OTHER_SOURCE = "the current label is from a source not asked for (--source)"
SOME_TASKS = "only some tasks labelled (one-hot needs every task)"
NOT_IN_ROOT = "not in the image root (no file to write)"


@dataclass(frozen=True)
class LeftOut:
    """`images` images left out for `reason` (of one task's folder when `task` is set)."""

    reason: str
    images: int
    task: str | None = None

    def line(self) -> str:
        where = f"{self.task}: " if self.task else ""
        noun = "image" if self.images == 1 else "images"
        return f"{where}left out {self.images:,} {noun}: {self.reason}"

    def empty_line(self) -> str:
        """Said of images written with this task's value left empty (`ExportReport.empty_values`)."""
        noun = "image" if self.images == 1 else "images"
        return f"{self.task}: {self.images:,} {noun} written with no value: {self.reason}"


@dataclass(frozen=True)
class ExportReport:
    """An export's summary (`celeba export --json` prints it)."""

    format: str
    rows: int  # CSV / Parquet rows, JSON lines, or image files written
    images: int  # distinct images written
    tasks: list[str]
    sources: list[str] | None  # None: every source
    paths: list[str]  # what was written; "-" for stdout
    left_out: list[LeftOut] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)  # image folders: hardlink / symlink / copy counts
    # hf: images written whose value for a task is left empty, and why (a conflict, a source
    # not asked for), per task; apart from `left_out`, whose images were not written at all.
    empty_values: list[LeftOut] = field(default_factory=list)
    # onehot: images written with an automatic label (source model) for some task. A file has
    # no column to say so: imported back, they would read as a person's (attack pass 41).
    automatic: int = 0

    def as_json(self) -> dict:
        return asdict(self)

    def left_out_lines(self) -> list[str]:
        return [item.line() for item in self.left_out] + [item.empty_line() for item in self.empty_values]


def count_reasons(reasons: Iterable[str], task: str | None = None) -> list[LeftOut]:
    """One LeftOut per distinct reason, the most frequent first (then by reason)."""
    counts = Counter(reasons)
    return [LeftOut(reason, n, task) for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
