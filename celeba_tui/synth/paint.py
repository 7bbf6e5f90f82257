"""Painting a face's albedo: eyes, brows, nose shadows, lips, beard, glasses.

Features are drawn in head-frame coordinates (u, v in head half-widths: u toward the
face's own left-to-right, v up from eye level), so they turn and foreshorten with the
head. Works on the flat arrays of face pixels only. Colours are linear (sRGB squared).
"""

from __future__ import annotations

import numpy as np

from celeba_tui.synth.rig import EYE_U, MOUTH_V
from celeba_tui.synth.scene import Scene

SCLERA = (0.80, 0.76, 0.72)
LASH = (0.05, 0.035, 0.03)


def linear(rgb) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float32) ** 2


def _mix(albedo: np.ndarray, colour, alpha: np.ndarray) -> None:
    albedo += alpha[:, None] * (linear(colour) - albedo)


def _ramp(x: np.ndarray, width: float) -> np.ndarray:
    """0 where x <= 0, rising to 1 over `width`: a soft edge of a region x > 0."""
    return np.clip(x * np.float32(1 / width), 0, 1)


def paint_face(albedo: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray, scene: Scene) -> None:
    """Paint features onto `albedo` (n, 3) of face pixels at head-frame (u, v, w=z/depth)."""
    face, hair, acc = scene.face, scene.hair, scene.accessories
    front = w > 0.25
    side_u = np.abs(u) - np.float32(EYE_U)
    es = face.eye_size

    # Eye sockets and cheeks: broad, soft albedo changes that read as depth.
    socket = (side_u / 0.27) ** 2 + ((v + 0.02) / 0.17) ** 2
    albedo *= (1 - 0.22 * _ramp(1 - socket, 0.6))[:, None]
    cheek = ((np.abs(u) - 0.45) / 0.28) ** 2 + ((v + 0.42) / 0.22) ** 2
    _mix(albedo, (0.9, 0.45, 0.42), 0.12 * _ramp(1 - cheek, 0.8))

    # Eyes: almond-shaped whites, iris following the gaze, dark lash line on top.
    eye = (side_u / (0.155 * es)) ** 2 + (v / (0.062 * es)) ** 2
    inside = _ramp(1 - eye, 0.25) * front
    _mix(albedo, SCLERA, inside * 0.9)
    iris_u = u - np.sign(u) * np.float32(EYE_U) - np.float32(face.gaze[0])
    iris = (iris_u**2 + (v - np.float32(face.gaze[1])) ** 2) / np.float32((0.068 * es) ** 2)
    _mix(albedo, face.iris, inside * _ramp(1 - iris, 0.3))
    _mix(albedo, LASH, inside * _ramp(0.35 - iris, 0.15))
    lash = _ramp(0.35 - np.abs(eye - 1.1), 0.25) * (v > -0.01) * front
    _mix(albedo, LASH, 0.85 * lash)

    # Brows: arcs above the eyes, in a darker shade of the hair.
    brow_colour = np.asarray(hair.colour) * 0.6 if hair.family not in ("bald", "gray", "blond") else (0.22, 0.16, 0.12)
    across = (np.abs(u) - 0.36) / 0.24
    brow_v = 0.21 + 0.045 * (1 - across**2)
    brow = _ramp(1 - np.abs(v - brow_v) / np.float32(0.034 * face.brow_thickness), 0.5) * _ramp(1 - np.abs(across), 0.3)
    _mix(albedo, brow_colour, 0.9 * brow * front)

    # Nostrils.
    nostril = ((np.abs(u) - 0.075) / 0.045) ** 2 + ((v + 0.53 * face.nose_length) / 0.022) ** 2
    _mix(albedo, LASH, 0.6 * _ramp(1 - nostril, 0.5))

    _paint_mouth(albedo, u, v, scene)
    if face.beard > 0:
        beard_colour = hair.colour if hair.family != "bald" else (0.16, 0.11, 0.08)
        below = _ramp(-0.5 - v, 0.18) * _ramp(1.02 - np.abs(u), 0.3)
        lips = ((u / (0.33 * face.mouth_width)) ** 2 + ((v - MOUTH_V) / 0.1) ** 2) < 1
        grain = 0.75 + 0.25 * np.cos(u * 61.0) * np.sin(v * 53.0)
        _mix(albedo, beard_colour, face.beard * below * grain * ~lips)
        if face.mustache:
            stache = _ramp(0.08 - np.abs(v - (MOUTH_V + 0.16)), 0.04) * _ramp(0.36 - np.abs(u), 0.08)
            _mix(albedo, beard_colour, 0.9 * stache)
    if acc.glasses is not None:
        _paint_glasses(albedo, u, v, w, acc.glasses, acc.frame)


def _paint_mouth(albedo: np.ndarray, u: np.ndarray, v: np.ndarray, scene: Scene) -> None:
    face = scene.face
    half_width = 0.30 * face.mouth_width
    t = u / np.float32(half_width)
    across = np.clip(1 - t * t, 0, 1)
    line = MOUTH_V + 0.06 * face.smile * t * t  # corners rise with the smile
    upper = line + 0.02 + 0.055 * across
    lower = line - 0.02 - (0.075 + 0.03 * face.smile) * across
    lips = _ramp(np.minimum(upper - v, v - lower), 0.02) * _ramp(1 - np.abs(t), 0.12)
    _mix(albedo, face.lips, 0.9 * lips)
    gap = 0.006 + 0.045 * max(face.smile - 0.5, 0.0) * across
    opening = _ramp(gap - np.abs(v - line), 0.01) * _ramp(1 - np.abs(t), 0.15)
    _mix(albedo, (0.88, 0.85, 0.78) if face.smile > 0.5 else (0.25, 0.08, 0.07), 0.9 * opening)
    _mix(albedo, (0.25, 0.08, 0.07), 0.6 * _ramp(0.006 - np.abs(v - line - gap), 0.006) * _ramp(1 - np.abs(t), 0.1))


def _paint_glasses(albedo: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray, kind: str, frame) -> None:
    side_u = np.abs(u) - np.float32(EYE_U)
    ring = np.sqrt((side_u / 0.25) ** 2 + ((v + 0.01) / 0.18) ** 2)
    lens = _ramp(1 - ring, 0.05) * (w > 0.3)
    if kind == "sun":
        albedo *= (1 - 0.88 * lens)[:, None]
    else:
        _mix(albedo, (0.85, 0.9, 0.95), 0.12 * lens)
    rim = _ramp(0.1 - np.abs(ring - 1), 0.05)
    bridge = _ramp(0.03 - np.abs(v - 0.05), 0.015) * (np.abs(u) < 0.16)
    temple = _ramp(0.028 - np.abs(v - 0.04), 0.015) * (np.abs(u) > 0.6) * (w < 0.7)
    _mix(albedo, frame, np.maximum(np.maximum(rim * (w > 0.3), bridge), temple))
