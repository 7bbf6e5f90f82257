"""Simulated annotators with the disagreement the study saw.

Each annotator perceives an image's true angle with Gaussian noise and then applies
their own idea of where "center" ends, with a small lapse rate (a random key). So
errors fall near the class boundaries, light is harder than orientation (more noise,
and more still in flat, ambient-lit photos), and annotators differ in standard:

- ann1 is strict about "center" (narrower centre band: says center less often), the
  study's own group;
- ann2 is loose (wider centre band), the other groups in the study;
- ann3... are typical, with small differences in standard and care.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from celeba_tui.errors import CelebaError
from celeba_tui.synth.truth import CLASSES, LIGHT_THRESHOLD_DEG, ORIENTATION_THRESHOLD_DEG, classify

THRESHOLDS = {"light": LIGHT_THRESHOLD_DEG, "orientation": ORIENTATION_THRESHOLD_DEG}
ANGLE_COLUMNS = {"light": "light_azimuth_deg", "orientation": "yaw_deg"}
# Standard deviation of a typical annotator's reading of the angle, in degrees.
BASE_NOISE_DEG = {"light": 14.0, "orientation": 2.5}


@dataclass(frozen=True)
class AnnotatorProfile:
    name: str
    kind: str  # strict, loose, typical
    light_center: float  # times the light task's centre half-width
    orientation_center: float  # times the orientation task's centre half-width
    noise: float  # times the base reading noise
    lapse: float  # probability of a random label

    def center_scale(self, task: str) -> float:
        return self.light_center if task == "light" else self.orientation_center


def annotator_profiles(k: int) -> list[AnnotatorProfile]:
    """ann1 strict, ann2 loose, the rest typical (deterministic).

    The strict/loose gap is wider for light, where the study's two groups agreed on
    52% of images, than for orientation (84%).
    """
    fixed = [
        AnnotatorProfile("ann1", "strict", light_center=0.5, orientation_center=0.8, noise=0.9, lapse=0.015),
        AnnotatorProfile("ann2", "loose", light_center=1.6, orientation_center=1.2, noise=1.1, lapse=0.03),
    ]
    scales, noises = (0.92, 1.08, 0.96, 1.04, 1.0), (1.0, 1.05, 0.95, 1.1, 1.0)
    typical = [
        AnnotatorProfile(
            f"ann{i + 1}", "typical", scales[(i - 2) % 5], scales[(i - 2) % 5], noises[(i - 2) % 5], lapse=0.02
        )
        for i in range(2, k)
    ]
    return (fixed + typical)[:k]


def reading_noise(ground_truth: pd.DataFrame, task: str) -> np.ndarray:
    """Per-image noise (deg) of a typical annotator: light gets harder as the key light weakens."""
    base = np.full(len(ground_truth), BASE_NOISE_DEG[task])
    if task == "light" and "light_strength" in ground_truth:
        base = base * 0.45 / np.clip(ground_truth["light_strength"].to_numpy(dtype=float), 0.15, 1.0)
    return base


def assign_images(n: int, k: int, overlap: float, coverage: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Row indices each of k annotators labels: a `coverage` share of all images, split
    evenly, and an `overlap` share of those labelled by a second, different annotator."""
    labelled = rng.permutation(n)[: round(coverage * n)]
    first = rng.permutation(np.arange(len(labelled)) % k)
    doubled = rng.permutation(len(labelled))[: round(overlap * len(labelled))]
    second = (first[doubled] + rng.integers(1, k, len(doubled))) % k if k > 1 else np.empty(0, int)
    return [np.sort(np.concatenate([labelled[first == a], labelled[doubled[second == a]]])) for a in range(k)]


MAX_ANNOTATORS = 100  # a simulated study, not a crowd: each writes a file and a column per task


def check_options(k: int, overlap: float, coverage: float) -> None:
    """CelebaError naming the bad option."""
    if not 1 <= k <= MAX_ANNOTATORS:
        raise CelebaError(f"annotators: need between 1 and {MAX_ANNOTATORS}, got {k}")
    if not 0 <= overlap <= 1:
        raise CelebaError(f"overlap must be a fraction between 0 and 1, got {overlap}")
    if overlap > 0 and k < 2:
        raise CelebaError(
            "overlap needs at least 2 annotators (an overlapping image is labelled by two); use --overlap 0"
        )
    if not 0 < coverage <= 1:
        raise CelebaError(f"coverage must be a fraction in (0, 1], got {coverage}")


def simulate_annotators(
    ground_truth: pd.DataFrame, k: int, overlap: float, seed: int, *, coverage: float = 1.0
) -> dict[str, pd.DataFrame]:
    """Labels of k simulated annotators: {name: long frame (image, task, label)}."""
    check_options(k, overlap, coverage)
    rng = np.random.default_rng([seed, 2])
    truth = ground_truth.reset_index(drop=True)
    rows = assign_images(len(truth), k, overlap, coverage, rng)
    labels = {}
    for profile, picked in zip(annotator_profiles(k), rows):
        subset = truth.iloc[picked]
        frames = [
            pd.DataFrame(
                {
                    "image": subset["image"].to_numpy(),
                    "task": task,
                    "label": annotator_answer(profile, subset, task, rng),
                }
            )
            for task in THRESHOLDS
        ]
        labels[profile.name] = pd.concat(frames, ignore_index=True)
    return labels


def annotator_answer(
    profile: AnnotatorProfile, images: pd.DataFrame, task: str, rng: np.random.Generator
) -> np.ndarray:
    """The class `profile` gives each row of `images` (ground-truth rows) for `task`: the true
    angle read with the annotator's noise, their own centre band, and a lapse now and then."""
    angle = images[ANGLE_COLUMNS[task]].to_numpy(dtype=float)
    seen = angle + rng.normal(0, 1, len(angle)) * reading_noise(images, task) * profile.noise
    label = classify(seen, THRESHOLDS[task] * profile.center_scale(task))
    lapse = rng.random(len(angle)) < profile.lapse
    label[lapse] = np.asarray(CLASSES, dtype=object)[rng.integers(0, 3, int(lapse.sum()))]
    return label


def annotator_summary(labels: dict[str, pd.DataFrame], ground_truth: pd.DataFrame) -> list[dict]:
    """Per annotator: images, accuracy against ground truth and center rate, per task."""
    truth = ground_truth.set_index("image")
    profiles = {p.name: p for p in annotator_profiles(len(labels))}
    summary = []
    for name, frame in labels.items():
        entry = {
            "annotator": name,
            "kind": profiles[name].kind if name in profiles else "",
            "images": int(frame["image"].nunique()),
        }
        for task in THRESHOLDS:
            rows = frame[frame["task"] == task]
            entry[f"{task}_accuracy"] = (
                float((rows["label"].to_numpy() == truth.loc[rows["image"], task].to_numpy()).mean())
                if len(rows)
                else float("nan")
            )
            entry[f"{task}_center_rate"] = float((rows["label"] == "center").mean()) if len(rows) else float("nan")
        summary.append(entry)
    return summary


def pairwise_agreement(labels: dict[str, pd.DataFrame]) -> dict[str, dict]:
    """On images labelled twice: how many, and the share with equal labels, per task."""
    everything = pd.concat([f.assign(annotator=name) for name, f in labels.items()], ignore_index=True)
    result = {}
    for task, rows in everything.groupby("task"):
        twice = rows[rows.duplicated("image", keep=False)]
        per_image = twice.groupby("image")["label"].nunique()
        result[str(task)] = {
            "images": int(len(per_image)),
            "agreement": float((per_image == 1).mean()) if len(per_image) else float("nan"),
        }
    return result
