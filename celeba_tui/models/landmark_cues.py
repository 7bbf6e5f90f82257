"""Landmark cues: where the nose and mouth sit between the eyes, an auxiliary training target.

CelebA ships five landmarks per image (`list_landmarks_align_celeba.txt`; `celeba synth`
writes them from its geometry). How far the nose and the mouth's midpoint lie left or
right of the eyes' midpoint, in units of the distance between the eyes, tracks the
head's yaw. A model trained to predict these two numbers beside its classes learns to
look at the face's geometry, which few noisy class labels alone teach slowly; the
numbers are clean where the labels are not, and exist for every image.

Both cues are ratios of horizontal distances, so they survive crops, resizing and small
shifts; a horizontal flip negates them. An image without landmarks, or with eyes less
than a pixel apart, has NaN cues and adds nothing to the loss. Exported models drop the
cue outputs (`celeba_tui.models.model_io.ImageClassifier`).

This module does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.errors import CelebaError, FormatError

CUES = ("nose_offset", "mouth_offset")
# The cues are learnt only where they tell the task's classes apart: a linear classifier on
# them alone must beat chance (1 / classes) by this much balanced accuracy (cross-validated
# on the training labels). Head yaw passes by far (~0.85 on the demo's orientation labels);
# light direction does not (~0.33), and learning cues there cost it accuracy.
RELEVANCE_MARGIN = 0.2
# Standardised cues beyond this many standard deviations are clipped: one mistyped landmark
# must not dominate a batch's loss.
MAX_STANDARD_SCORE = 4.0


def cue_table(landmarks: pd.DataFrame) -> np.ndarray:
    """(N, 2) float32 cues from CelebA's landmark columns; NaN where they cannot be computed."""
    columns = ["lefteye_x", "righteye_x", "nose_x", "leftmouth_x", "rightmouth_x"]
    missing = [c for c in columns if c not in landmarks.columns]
    if missing:
        raise CelebaError(f"landmarks: missing column(s) {', '.join(missing)}")
    left_eye, right_eye, nose, left_mouth, right_mouth = (landmarks[c].to_numpy(dtype=np.float64) for c in columns)
    eye_middle = (left_eye + right_eye) / 2
    eye_distance = np.abs(right_eye - left_eye)
    with np.errstate(divide="ignore", invalid="ignore"):
        cues = np.stack([nose - eye_middle, (left_mouth + right_mouth) / 2 - eye_middle], axis=1)
        cues = cues / eye_distance[:, None]
    cues[~(eye_distance >= 1.0)] = np.nan
    return cues.astype(np.float32)


def read_cues(path: Path, images: Sequence[str]) -> np.ndarray:
    """The cues of `images` (in that order) from a landmark file; NaN rows for images it lacks.

    A file that is not a CelebA landmark table is refused with its path and line."""
    from celeba_tui.formats.celeba_txt import read_celeba_table

    try:
        table = read_celeba_table(path)
    except FormatError as exc:
        raise CelebaError(f"landmarks: {exc}") from None
    table = table[~table.index.duplicated(keep="first")]
    cues = cue_table(table)
    frame = pd.DataFrame(cues, index=table.index)
    return frame.reindex(list(images)).to_numpy(dtype=np.float32)


def standardise(cues: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
    """Cues scaled to unit standard deviation on `fit_rows` (centred at 0: a mirror image's cue
    is the negative of the image's, so 0 is the frontal face), clipped to +-MAX_STANDARD_SCORE."""
    known = cues[fit_rows]
    scale = np.nanstd(known, axis=0) if np.isfinite(known).any() else np.ones(cues.shape[1])
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    return np.clip(cues / scale, -MAX_STANDARD_SCORE, MAX_STANDARD_SCORE).astype(np.float32)


def flip_cues(cues: np.ndarray, flipped: np.ndarray) -> np.ndarray:
    """The cues of a batch after flipping the `flipped` images left to right."""
    return np.where(np.asarray(flipped, dtype=bool)[:, None], -cues, cues).astype(np.float32)


def cue_relevance(cues: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    """Balanced accuracy of a class-balanced logistic regression on the cues and their
    magnitudes (a centred class sits at small |cue|), 3-fold cross-validated; chance
    (1 / n_classes) when there are too few known cues per class to tell."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    known = np.isfinite(cues).all(axis=1)
    features = np.concatenate([cues[known], np.abs(cues[known])], axis=1).astype(np.float64)
    target = np.asarray(labels, dtype=np.int64)[known]
    counts = np.bincount(target, minlength=n_classes)
    if (counts < 3).any():
        return 1.0 / n_classes
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    model = LogisticRegression(max_iter=1000, class_weight="balanced")
    predicted = cross_val_predict(model, features, target, cv=folds)
    return float(balanced_accuracy_score(target, predicted))


def usable_share(cues: np.ndarray) -> float:
    """The share of rows whose cues are all known."""
    return float(np.isfinite(cues).all(axis=1).mean()) if len(cues) else 0.0
