"""The solids of one synthetic portrait, posed, and the five CelebA landmarks they project to.

A face is a union of ellipsoids fixed to a head frame: cranium, jaw, nose bridge and
tip, brow ridge, ears; neck and torso turn less than the head; hair and hats are
shells around the cranium. The head frame's origin is at eye level on the head's
axis, its units are render pixels. It is placed so that a point between the eyes'
midpoint (CelebA aligned its crops on the eyes) and the head's axis lands on
`pose.x, pose.y`: photos are not all framed alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from celeba_tui.synth.geometry import Ellipsoid, Grid, place, rotation
from celeba_tui.synth.scene import Scene

EYE_U = 0.38  # eye centres at +-EYE_U head half-widths from the axis
MOUTH_V = -0.85  # mouth line below eye level, in head half-widths


@dataclass(frozen=True)
class Rig:
    head: Ellipsoid  # the head frame: radii (a, b, c) are half width, height and depth
    skull: tuple[Ellipsoid, ...]  # cranium and jaw: the painted face surface
    features: tuple[Ellipsoid, ...]  # nose bridge, nose tip, brow ridge (also cast shadows)
    ears: tuple[Ellipsoid, ...]
    neck: Ellipsoid
    torso: Ellipsoid
    hair_shell: Ellipsoid | None
    hair_curtain: Ellipsoid | None
    hat_shell: Ellipsoid | None
    brim: Ellipsoid | None
    hand: tuple[Ellipsoid, ...]

    @property
    def scale(self) -> float:
        return float(self.head.radii[0])

    def casters(self) -> tuple[Ellipsoid, ...]:
        """Solids whose cast shadows fall on skin: nose and brow, the jaw (on the neck), a brim."""
        return self.features + (self.skull[1],) + ((self.brim,) if self.brim is not None else ())


def _rot_x(deg: float) -> np.ndarray:
    return rotation(0.0, deg, 0.0)


def skull_depth(face_height: float, depth: float, jaw: float, u: float, v: float) -> float:
    """Head-frame z of the face surface at (u, v) in half-widths (the front of cranium or jaw)."""
    best = -math.inf
    for (oy, oz), (rx, ry, rz) in _skull_shapes(face_height, depth, jaw):
        inside = 1 - (u / rx) ** 2 - ((v - oy) / ry) ** 2
        if inside > 0:
            best = max(best, oz + rz * math.sqrt(inside))
    return best


def _skull_shapes(height: float, depth: float, jaw: float):
    """(offset y, offset z), (radii) of cranium and jaw, in head half-widths."""
    return (
        ((0.10 * height, -0.04 * depth), (1.0, 0.90 * height, depth)),
        ((-0.33 * height, 0.02 * depth), (jaw, 0.67 * height, 0.90 * depth)),
    )


def build_rig(scene: Scene) -> Rig:
    pose, face, hair, acc = scene.pose, scene.face, scene.hair, scene.accessories
    a = pose.scale
    b, c = face.height * a, face.depth * a
    rot = rotation(pose.yaw, pose.pitch, pose.roll)
    eye_z = a * skull_depth(face.height, face.depth, face.jaw, EYE_U, 0.0)
    origin = np.array([pose.x, pose.y, 0.0]) - rot @ np.array([0.0, 0.0, eye_z * pose.align])
    head = Ellipsoid(origin, rot, np.array([a, b, c]))

    skull = tuple(
        place(head, (0.0, oy * a, oz * a), (rx * a, ry * a, rz * a))
        for (oy, oz), (rx, ry, rz) in _skull_shapes(face.height, face.depth, face.jaw)
    )
    nl, nd = face.nose_length, face.nose_depth

    def surface(v: float) -> float:
        return a * skull_depth(face.height, face.depth, face.jaw, 0.0, v)

    bridge_v, tip_v = -0.24 * nl, -0.48 * nl
    features = (
        place(
            head, (0, bridge_v * a, surface(bridge_v) - 0.06 * a), (0.085 * a, 0.30 * nl * a, 0.22 * nd * a), _rot_x(22)
        ),
        place(head, (0, tip_v * a, surface(tip_v) + 0.05 * a * nd), (0.15 * a, 0.11 * a, 0.17 * nd * a)),
        place(head, (0, 0.19 * a, surface(0.19) - 0.13 * a), (0.62 * a, 0.085 * a, 0.16 * a)),
    )
    ears = tuple(
        place(head, (side * 0.95 * a, -0.15 * a, -0.10 * c), (0.10 * a, 0.27 * a, 0.19 * a), rotation(side * 25, 0, 0))
        for side in (-1.0, 1.0)
    )
    # The neck and shoulders turn less than the head, as in real portraits.
    body_frame = Ellipsoid(origin, rotation(0.35 * pose.yaw, 0.0, 0.4 * pose.roll), np.ones(3))
    neck = place(body_frame, (0, -1.0 * b, -0.25 * c), (0.50 * a, 0.80 * b, 0.52 * c))
    torso_frame = Ellipsoid(origin, rotation(0.15 * pose.yaw, 0.0, 0.2 * pose.roll), np.ones(3))
    torso = place(torso_frame, (0, -2.35 * b, -0.6 * c), (2.6 * a, 1.05 * b, 0.9 * a))

    hair_shell = hair_curtain = hat_shell = brim = None
    cranium_y, cranium_z = 0.10 * b, -0.04 * c
    if hair.style != "bald":
        grow = 1 + hair.volume
        hair_shell = place(head, (0, cranium_y + 0.04 * a, cranium_z - 0.03 * a), (a * grow, 0.9 * b * grow, c * grow))
        if hair.style in ("medium", "long"):
            length = 0.75 if hair.style == "medium" else 1.25
            hair_curtain = place(
                body_frame,
                (0, -length * 0.75 * b, -0.45 * c),
                ((0.98 + hair.volume) * a, length * b, 0.55 * c),
            )
    if acc.hat is not None:
        grow = 1.1 + (hair.volume if hair.style != "bald" else 0.0)
        hat_shell = place(head, (0, cranium_y + 0.05 * a, cranium_z - 0.02 * a), (a * grow, 0.9 * b * grow, c * grow))
        if acc.hat == "brim":
            brim = place(head, (0, 0.52 * a, cranium_z), (1.55 * a, 0.05 * a, 1.45 * c), _rot_x(6))
    hand: tuple[Ellipsoid, ...] = ()
    if acc.hand is not None:
        h = acc.hand
        palm_frame = Ellipsoid(
            body_frame.to_world(np.array([h.side * 0.62 * a, -1.1 * b + h.height * a, 0.85 * c])),
            rotation(0, 0, h.tilt),
            np.ones(3),
        )
        palm = place(palm_frame, (0, 0, 0), (0.34 * a, 0.42 * a, 0.14 * a))
        fingers = tuple(
            place(
                palm_frame,
                ((i - 1.5) * 0.14 * a, 0.58 * a - abs(i - 1.5) * 0.06 * a, 0.02 * a),
                (0.065 * a, 0.28 * a, 0.07 * a),
            )
            for i in range(4)
        )
        hand = (palm,) + fingers
    return Rig(head, skull, features, ears, neck, torso, hair_shell, hair_curtain, hat_shell, brim, hand)


def landmarks(rig: Rig, scene: Scene, grid: Grid, upscale: int) -> np.ndarray:
    """CelebA's five landmarks (left eye, right eye, nose, left and right mouth corner) as
    (x, y) pairs in output pixels; left is the picture's left."""
    a = rig.scale
    face = scene.face
    mouth_u = 0.30 * face.mouth_width
    points = []
    for u, v in ((-EYE_U, 0.0), (EYE_U, 0.0)):
        points.append((u * a, v * a, a * skull_depth(face.height, face.depth, face.jaw, u, v)))
    tip = rig.features[1]
    tip_local = rig.head.rotation.T @ (tip.center - rig.head.center) + np.array([0, 0, tip.radii[2]])
    points.append(tuple(tip_local))
    smile_lift = 0.06 * face.smile
    for u in (-mouth_u, mouth_u):
        v = MOUTH_V + smile_lift
        points.append((u * a, v * a, a * skull_depth(face.height, face.depth, face.jaw, u, v)))
    world = rig.head.to_world(np.array(points))
    col, row = grid.to_pixel(world[:, 0], world[:, 1])
    # Pixel centres: half-size pixel i covers output pixels upscale*i .. upscale*i + upscale - 1.
    xy = np.stack([(col + 0.5) * upscale - 0.5, (row + 0.5) * upscale - 0.5], axis=1)
    return xy
