"""Per-annotator profiles: class use, strictness about "center", consensus, self-consistency (pure).

The study's two groups disagreed mostly because one was stricter about calling a face
or a light "center". A profile makes that visible early: on the images an annotator
shares with others, how often they say center compared with the others' labels on
those same images, in percentage points (negative: stricter).
"""

from __future__ import annotations

import shlex
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from celeba_tui.agreement.measures import LabelMatrix, TaskAgreement, label_matrix
from celeba_tui.workspace import Task


def center_class(task: Task) -> str | None:
    """The neutral class whose use measures strictness: `center`, else the middle of an odd scale."""
    if "center" in task.classes:
        return "center"
    if len(task.classes) % 2 == 1:
        return task.classes[len(task.classes) // 2]
    return None


@dataclass(frozen=True)
class AnnotatorProfile:
    """How one annotator labels one task, compared with the others."""

    task: str
    annotator: str
    labels: int
    class_counts: dict[str, int]
    center_class: str | None
    shared_images: int
    center_rate: float | None
    others_center_rate: float | None
    consensus_images: int
    consensus_agreement: float | None
    checks: int = 0
    self_consistency: float | None = None

    @property
    def center_difference(self) -> float | None:
        """Percentage points more (positive) or less often than the others this annotator says center."""
        if self.center_rate is None or self.others_center_rate is None:
            return None
        return 100.0 * (self.center_rate - self.others_center_rate)

    def to_dict(self) -> dict:
        return {**asdict(self), "center_difference": self.center_difference}


def _rate(numerator: np.ndarray, denominator: np.ndarray) -> float | None:
    total = float(denominator.sum())
    return float(numerator.sum()) / total if total else None


def matrix_profiles(matrix: LabelMatrix) -> list[AnnotatorProfile]:
    """Profiles of every annotator in one task's label matrix (checks not yet included)."""
    task = matrix.task
    labelled = matrix.labelled
    n_labelled = labelled.sum(axis=1)
    counts = matrix.class_counts()
    center = center_class(task)
    is_center = matrix.codes == task.index(center) if center else None
    center_per_image = is_center.sum(axis=1) if center else None
    profiles = []
    for j, name in enumerate(matrix.annotators):
        mine = labelled[:, j]
        own_codes = matrix.codes[mine, j]
        class_counts = np.bincount(own_codes, minlength=len(task.classes))
        others_n = n_labelled - mine
        shared = mine & (others_n > 0)

        center_rate = others_rate = None
        if center:
            center_rate = _rate(is_center[shared, j], shared[shared])
            others_rate = _rate(center_per_image[shared] - is_center[shared, j], others_n[shared])

        # Consensus: the others' majority label on an image; ties have no consensus.
        others_counts = counts[shared].copy()
        others_counts[np.arange(len(others_counts)), matrix.codes[shared, j]] -= 1
        top = others_counts.max(axis=1, keepdims=True)
        unique_top = (others_counts == top).sum(axis=1) == 1
        consensus = others_counts.argmax(axis=1)
        agrees = consensus[unique_top] == matrix.codes[shared, j][unique_top]
        profiles.append(
            AnnotatorProfile(
                task=task.name,
                annotator=name,
                labels=int(mine.sum()),
                class_counts={c: int(n) for c, n in zip(task.classes, class_counts)},
                center_class=center,
                shared_images=int(shared.sum()),
                center_rate=center_rate,
                others_center_rate=others_rate,
                consensus_images=int(unique_top.sum()),
                consensus_agreement=float(agrees.mean()) if len(agrees) else None,
            )
        )
    return profiles


def self_consistency(checks: pd.DataFrame) -> pd.DataFrame:
    """Per (annotator, task): flip checks answered and the share answered as expected."""
    columns = ["annotator", "task", "checks", "consistent", "rate"]
    if checks.empty:
        return pd.DataFrame(columns=columns)
    scored = checks.assign(consistent=(checks["answer"] == checks["expected"]).astype(int))
    summary = scored.groupby(["annotator", "task"], as_index=False).agg(
        checks=("consistent", "size"), consistent=("consistent", "sum")
    )
    summary["rate"] = summary["consistent"] / summary["checks"]
    return summary[columns]


def annotator_profiles(
    labels: pd.DataFrame, tasks: tuple[Task, ...], checks: pd.DataFrame | None = None
) -> list[AnnotatorProfile]:
    """Profiles per task and annotator, with self-consistency from `LabelStore.checks()`."""
    consistency = {}
    if checks is not None:
        for row in self_consistency(checks).itertuples(index=False):
            consistency[(row.task, row.annotator)] = (int(row.checks), float(row.rate))
    profiles = []
    for task in tasks:
        for profile in matrix_profiles(label_matrix(labels, task)):
            n, rate = consistency.get((task.name, profile.annotator), (0, None))
            profiles.append(AnnotatorProfile(**{**asdict(profile), "checks": n, "self_consistency": rate}))
    return profiles


MIN_SHARED_FOR_STRICTNESS = 20  # fewer shared images: a rate of 100% vs 0% on one image says nothing


def strictness_notes(
    profiles: list[AnnotatorProfile], threshold: float = 5.0, min_shared: int = MIN_SHARED_FOR_STRICTNESS
) -> list[str]:
    """Sentences for annotators whose use of center differs from the others' by >= threshold
    points, on at least `min_shared` shared images."""
    notes = []
    for p in profiles:
        diff = p.center_difference
        if diff is None or abs(diff) < threshold or p.shared_images < min_shared:
            continue
        direction = "less" if diff < 0 else "more"
        notes.append(
            f"{p.task}: {p.annotator} says {p.center_class} {abs(diff):.0f} points {direction} often "
            f"than the others on {p.shared_images:,} shared images "
            f"({100 * p.center_rate:.0f}% vs {100 * p.others_center_rate:.0f}%)"
        )
    return notes


# Landis and Koch's "slight" agreement: up to 0.2 of Cohen's kappa is hardly more than chance.
CHANCE_KAPPA = 0.2
MIN_SHARED_FOR_KAPPA = 20  # fewer shared images say too little of one person
MIN_SHARED_AT_ALL = 5  # but a kappa over 0.6 on as few says they look


def chance_notes(
    task: TaskAgreement, *, max_kappa: float = CHANCE_KAPPA, min_shared: int = MIN_SHARED_FOR_KAPPA
) -> list[str]:
    """Sentences for annotators who agree with every other hardly more than chance (kappa at
    most `max_kappa` on at least `min_shared` shared images each) while others agree among
    themselves clearly better (by 0.2 of kappa or more): the odd one out, careless or working
    to other guidelines (the team-day walkthrough of 2026-12-07: one person's kappa of -0.19
    was there to read, and nothing pointed at them). Pure."""
    measured = [p for p in task.pairs if p.kappa is not None and p.overlapping >= min_shared]
    # Each person's pairs, looked up (a crowd of 3,000 has ~600,000 pairs: walking them all
    # for each person took minutes); `ranked` finds the others' best pair in a few steps.
    theirs: dict[str, list] = defaultdict(list)
    agreeing: set[str] = set()  # agree well with someone on fewer images: they look (attack pass 28)
    for p in task.pairs:
        if p.kappa is not None and p.kappa > max_kappa + 0.4 and p.overlapping >= MIN_SHARED_AT_ALL:
            agreeing.update((p.annotator_a, p.annotator_b))
    for p in measured:
        theirs[p.annotator_a].append(p)
        theirs[p.annotator_b].append(p)
    ranked = sorted(measured, key=lambda p: -p.kappa)  # stable: the first of equals, as max() took
    notes = []
    for name in task.annotators:
        mine = theirs.get(name, [])
        if not mine or len(mine) == len(measured) or name in agreeing:
            continue
        best_mine = max(p.kappa for p in mine)
        best_others = next(p for p in ranked if name not in (p.annotator_a, p.annotator_b))
        # The others must agree clearly above chance themselves: near chance all round, nobody is the odd one.
        if best_mine > max_kappa or best_others.kappa < max(best_mine, max_kappa) + 0.2:
            continue
        shown = ", ".join(
            f"{p.kappa:.2f} with {p.annotator_b if p.annotator_a == name else p.annotator_a} on {p.overlapping:,} images"
            for p in sorted(mine, key=lambda p: p.kappa)
        )
        notes.append(
            f"{task.task}: {name} agrees with the others hardly more than chance (Cohen's kappa {shown}), "
            f"where {best_others.annotator_a} and {best_others.annotator_b} reach {best_others.kappa:.2f}: "
            f"look at their labels (celeba browse --annotator {shlex.quote(name)}) before merging"
        )
    return notes
