"""Ground-truth classes from continuous angles, and sampling angles for a requested class mix.

Both tasks are signed angles in the viewer's frame: negative is the picture's left.
A class is a threshold on the angle, so images near a threshold are ambiguous, as in
real photos. Thresholds (documented in docs/synthetic-data.md):

- orientation: yaw within +-ORIENTATION_THRESHOLD_DEG is `center`;
- light: key-light azimuth within +-LIGHT_THRESHOLD_DEG is `center`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CLASSES = ("left", "center", "right")
ORIENTATION_THRESHOLD_DEG = 12.0
LIGHT_THRESHOLD_DEG = 25.0
# Real CelebA's mix as the study's own labels show it (left, center, right).
DEFAULT_ORIENTATION_MIX = (0.17, 0.70, 0.13)
DEFAULT_LIGHT_MIX = (0.20, 0.61, 0.19)
# CelebA's aligned faces: yaws to +-45 degrees, heads hardly tilted up or down. Renders meant as a
# network's starting point for other photographs may reach further (`celeba synth --max-yaw/--max-pitch`).
DEFAULT_MAX_YAW_DEG = 45.0
DEFAULT_MAX_PITCH_DEG = 15.0
MAX_POSE_DEG = 90.0


@dataclass(frozen=True)
class AngleClasses:
    """How one task's angle is drawn: class mix, centre half-width and the largest angle."""

    mix: tuple[float, float, float]
    threshold: float
    limit: float
    # Beta(1, side_shape) over (threshold, limit]: more images just past the threshold.
    side_shape: float = 2.0

    def sample(self, rng: np.random.Generator) -> float:
        """One angle whose class follows `mix`; uniform inside the centre band."""
        cls = rng.choice(3, p=self.mix)
        if cls == 1:
            return float(self.threshold * (2 * rng.random() - 1))
        side = self.threshold + (self.limit - self.threshold) * rng.beta(1.0, self.side_shape)
        return float(-side if cls == 0 else side)

    def classify(self, angles) -> np.ndarray:
        return classify(angles, self.threshold)


def classify(angles, threshold: float) -> np.ndarray:
    """Class names for signed angles: below -threshold left, above +threshold right."""
    angles = np.asarray(angles, dtype=float)
    index = np.where(angles < -threshold, 0, np.where(angles > threshold, 2, 1))
    return np.asarray(CLASSES, dtype=object)[index]


def parse_mix(text: str) -> tuple[float, float, float]:
    """'0.2,0.6,0.2' -> a normalised (left, center, right) mix; ValueError when malformed."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3:
        raise ValueError(f"expected three comma-separated fractions (left,center,right), got {text!r}")
    values = [float(p) for p in parts]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"fractions must be finite numbers, got {text!r}")
    if any(v < 0 for v in values) or sum(values) <= 0:
        raise ValueError(f"fractions must be non-negative with a positive sum, got {text!r}")
    total = sum(values)
    left, center, _ = (v / total for v in values)
    return (left, center, max(0.0, 1.0 - left - center))


def orientation_classes(mix=DEFAULT_ORIENTATION_MIX, max_yaw: float = DEFAULT_MAX_YAW_DEG) -> AngleClasses:
    return AngleClasses(tuple(mix), ORIENTATION_THRESHOLD_DEG, limit=max_yaw, side_shape=3.0)


def light_classes(mix=DEFAULT_LIGHT_MIX) -> AngleClasses:
    return AngleClasses(tuple(mix), LIGHT_THRESHOLD_DEG, limit=90.0, side_shape=1.4)
