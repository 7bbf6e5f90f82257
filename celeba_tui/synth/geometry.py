"""Rigid poses, orthographic ray casting of ellipsoids and soft cast shadows.

World frame: x toward the picture's right, y up, z toward the viewer; one unit is one
pixel of the half-size render, origin at the picture's centre. Every solid in a face
is an ellipsoid, so visibility, normals and shadows are closed-form quadratics that
vectorise over the pixel grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def rotation(yaw_deg: float, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """Local -> world rotation of a head.

    yaw > 0 turns the face toward the picture's right (its +z axis gains +x), pitch > 0
    tilts it up, roll > 0 turns it counter-clockwise on screen.
    """
    y, p, r = (math.radians(v) for v in (yaw_deg, -pitch_deg, roll_deg))
    yaw = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    pitch = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    roll = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return yaw @ pitch @ roll


def direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    """Unit vector toward a light: azimuth > 0 is the picture's right, 0 is the camera."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return np.array([math.sin(az) * math.cos(el), math.sin(el), math.cos(az) * math.cos(el)])


@dataclass(frozen=True)
class Ellipsoid:
    center: np.ndarray  # (3,) world
    rotation: np.ndarray  # (3, 3) local -> world
    radii: np.ndarray  # (3,)

    def to_world(self, local: np.ndarray) -> np.ndarray:
        """Local points (..., 3), unscaled, to world coordinates."""
        return local @ self.rotation.T + self.center


def place(parent: Ellipsoid, offset, radii, rotation_in_parent: np.ndarray | None = None) -> Ellipsoid:
    """An ellipsoid fixed to `parent` (e.g. the nose on the head): offset in its local frame."""
    local_rot = np.eye(3) if rotation_in_parent is None else rotation_in_parent
    return Ellipsoid(
        parent.to_world(np.asarray(offset, dtype=float)), parent.rotation @ local_rot, np.asarray(radii, dtype=float)
    )


@dataclass(frozen=True)
class Grid:
    """Pixel-centre coordinates of a width x height render, symmetric about x = 0."""

    width: int
    height: int

    @property
    def xs(self) -> np.ndarray:
        return np.arange(self.width, dtype=np.float32) - (self.width - 1) / 2

    @property
    def ys(self) -> np.ndarray:
        return (self.height - 1) / 2 - np.arange(self.height, dtype=np.float32)

    def to_pixel(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World x, y to (column, row) in pixel units of this grid."""
        return x + (self.width - 1) / 2, (self.height - 1) / 2 - y


@dataclass
class Hit:
    """Where one ellipsoid covers the picture, within its bounding box."""

    rows: slice
    cols: slice
    mask: np.ndarray  # bool (h, w)
    z: np.ndarray  # world z of the visible surface
    normal: tuple[np.ndarray, np.ndarray, np.ndarray]  # world unit normal
    ellipsoid: Ellipsoid
    dx: np.ndarray  # (1, w) x offsets from the ellipsoid's centre
    dy: np.ndarray  # (h, 1)
    first_share: np.ndarray | None = None  # of a smooth union: how much comes from its first solid

    def scaled_local(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The hit points in the ellipsoid's frame over its radii (on the unit sphere)."""
        e = self.ellipsoid
        inv = (e.rotation / e.radii).T.astype(np.float32)
        dz = self.z - np.float32(e.center[2])
        return tuple(inv[i, 0] * self.dx + inv[i, 1] * self.dy + inv[i, 2] * dz for i in range(3))


Box = tuple[slice, slice]  # rows, cols


def bounding_box(ellipsoid: Ellipsoid, grid: Grid) -> Box | None:
    """The pixel rows and columns an ellipsoid can cover; None when off the picture."""
    rot, radii, center = ellipsoid.rotation, ellipsoid.radii, ellipsoid.center
    half = np.sqrt(((rot * radii) ** 2).sum(axis=1))
    col0, col1 = grid.to_pixel(center[0] - half[0], 0)[0], grid.to_pixel(center[0] + half[0], 0)[0]
    row0, row1 = grid.to_pixel(0, center[1] + half[1])[1], grid.to_pixel(0, center[1] - half[1])[1]
    cols = slice(max(0, math.floor(col0)), min(grid.width, math.ceil(col1) + 1))
    rows = slice(max(0, math.floor(row0)), min(grid.height, math.ceil(row1) + 1))
    if cols.start >= cols.stop or rows.start >= rows.stop:
        return None
    return rows, cols


def union_box(boxes) -> Box | None:
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    return (
        slice(min(b[0].start for b in boxes), max(b[0].stop for b in boxes)),
        slice(min(b[1].start for b in boxes), max(b[1].stop for b in boxes)),
    )


def cast(ellipsoid: Ellipsoid, grid: Grid, back: bool = False, box: Box | None = None) -> Hit | None:
    """Intersect the view rays (along -z) with an ellipsoid: its front (or back) surface.

    `box` evaluates over given rows and columns (so several hits can be combined).
    The quadric's terms that depend on x or y alone are computed on a row or a column
    and broadcast: only a handful of operations run over the whole box.
    """
    rot, radii, center = ellipsoid.rotation, ellipsoid.radii, ellipsoid.center
    box = box or bounding_box(ellipsoid, grid)
    if box is None:
        return None
    rows, cols = box
    dx = (grid.xs[cols] - np.float32(center[0]))[None, :]
    dy = (grid.ys[rows] - np.float32(center[1]))[:, None]
    # Scaled local point q = inv @ (dx, dy, z - cz); |q|^2 = 1 on the surface.
    inv = (rot / radii).T
    ex, ey, ez = inv[:, 0], inv[:, 1], inv[:, 2]
    a = float(ez @ ez)
    b_half = (np.float32(ex @ ez) * dx) + (np.float32(ey @ ez) * dy)
    c = (np.float32(ex @ ex) * dx * dx) + (np.float32(ey @ ey) * dy * dy - 1) + np.float32(2 * (ex @ ey)) * dx * dy
    disc = b_half * b_half - np.float32(a) * c
    mask = disc > 0
    root = np.sqrt(np.maximum(disc, 0))
    dz = ((-b_half - root) if back else (-b_half + root)) * np.float32(1 / a)
    # World normal: rot @ (q / radii) = N @ (dx, dy, dz) with N = rot diag(1/r^2) rot^T.
    shape = (rot / radii**2) @ rot.T
    n = [(np.float32(shape[j, 0]) * dx + np.float32(shape[j, 1]) * dy) + np.float32(shape[j, 2]) * dz for j in range(3)]
    inv_len = np.float32(-1 if back else 1) / np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2] + np.float32(1e-12))
    normal = (n[0] * inv_len, n[1] * inv_len, n[2] * inv_len)
    return Hit(rows, cols, mask, dz + np.float32(center[2]), normal, ellipsoid, dx, dy)


def unshadowed(points: tuple[np.ndarray, ...], light: np.ndarray, caster: Ellipsoid, softness: float) -> np.ndarray:
    """Fraction of a light reaching world points past an ellipsoid (1 lit, 0 in its shadow).

    The ray from each point toward the light passes the caster at a closest scaled
    distance m; m < 1 is a hit. Blending over m in [1 - softness, 1 + softness] gives a
    penumbra like that of a light of finite size.
    """
    inv = (caster.rotation / caster.radii).T.astype(np.float32)
    rel = [points[i] - np.float32(caster.center[i]) for i in range(3)]
    o = [inv[i, 0] * rel[0] + inv[i, 1] * rel[1] + inv[i, 2] * rel[2] for i in range(3)]
    d = inv @ light.astype(np.float32)
    dd = float(d @ d)
    od = o[0] * d[0] + o[1] * d[1] + o[2] * d[2]
    closest = o[0] * o[0] + o[1] * o[1] + o[2] * o[2] - od * od / np.float32(dd)
    lit = np.clip((closest - np.float32(1 - softness)) / np.float32(2 * softness), 0, 1)
    # Only rays that travel toward the caster (closest approach ahead of the point).
    return np.where(od < 0, lit, np.float32(1))


def smooth_union(hits: list[Hit], blend: float) -> Hit:
    """One surface from hits over the same box: a soft maximum of their depths with
    normals blended alike, so solids merge without a crease (blend: in pixels)."""
    z = np.stack([np.where(h.mask, h.z, -np.inf) for h in hits])
    top = z.max(axis=0)
    mask = np.isfinite(top)
    top = np.where(mask, top, 0)
    weights = np.exp((z - top) * np.float32(1 / blend))
    total = weights.sum(axis=0) + np.float32(1e-20)
    normal = [sum(w * h.normal[j] for w, h in zip(weights, hits)) for j in range(3)]
    inv_len = 1 / np.sqrt(normal[0] ** 2 + normal[1] ** 2 + normal[2] ** 2 + np.float32(1e-12))
    depth = top + np.float32(blend) * np.log(total)
    first = hits[0]
    normal = tuple(n * inv_len for n in normal)
    return Hit(first.rows, first.cols, mask, depth, normal, first.ellipsoid, first.dx, first.dy, weights[0] / total)
