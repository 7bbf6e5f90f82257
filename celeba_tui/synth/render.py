"""Rasterising one synthetic portrait: z-buffered ellipsoids, painted albedo, lights, camera.

Rendered at half CelebA size (89 x 109) with numpy over the whole pixel grid, then
upsampled to 178 x 218: fast enough for hundreds of images per second per core.

Lighting, chosen so that cheap global cues (left-vs-right brightness) are unreliable
while local ones (cast shadows, the terminator on the nose, highlights) stay true: a
key light with hard-ish wrap and soft cast shadows from nose and brow; fill lights from
random directions that wrap far and cast nothing; a sky-like ambient; and large
surfaces (clothes, hair) that wrap the key more than skin does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from celeba_tui.synth.geometry import (
    Ellipsoid,
    Grid,
    Hit,
    bounding_box,
    cast,
    direction,
    smooth_union,
    union_box,
    unshadowed,
)
from celeba_tui.synth.paint import linear, paint_face
from celeba_tui.synth.rig import Rig, build_rig
from celeba_tui.synth.scene import Backdrop, Hair, Scene

GRID = Grid(89, 109)
UPSCALE = 2
OUTPUT_SIZE = (GRID.width * UPSCALE, GRID.height * UPSCALE)  # (178, 218), CelebA's aligned size

BACKGROUND, FACE, SKIN, HAIR, CLOTHES, HAT = range(6)
# How far the key light wraps past the terminator, on top of the scene's own wrap: large
# surfaces (cheeks, forehead, clothes) wrap far, so their broad left/right brightness says
# little; small ones (nose, brow) keep a hard terminator and cast hard-edged shadows.
WRAP_LARGE_SKIN, WRAP_SMALL_SKIN = 0.3, 0.0
WRAP = {SKIN: 0.25, HAIR: 0.35, CLOTHES: 0.6, HAT: 0.4}
MATERIAL_SPECULAR = np.array([0.0, 0.10, 0.05, 0.10, 0.0, 0.03], dtype=np.float32)


@dataclass
class Canvas:
    z: np.ndarray
    normal: list[np.ndarray]
    material: np.ndarray
    detail: np.ndarray  # albedo multiplier (hair strands)
    wrap: np.ndarray  # the key light's extra wrap

    @classmethod
    def empty(cls, grid: Grid) -> Canvas:
        shape = (grid.height, grid.width)
        return cls(
            np.full(shape, -np.inf, np.float32),
            [np.zeros(shape, np.float32), np.zeros(shape, np.float32), np.ones(shape, np.float32)],
            np.zeros(shape, np.uint8),
            np.ones(shape, np.float32),
            np.zeros(shape, np.float32),
        )

    def draw(self, hit: Hit | None, material: int, keep=None, detail=None, wrap=None) -> None:
        """Put a surface where it is nearer than what is there (and `keep` allows it).

        `detail` (albedo multiplier) and `wrap` are arrays over the hit's box or scalars.
        """
        if hit is None:
            return
        z = self.z[hit.rows, hit.cols]
        nearer = hit.mask & (hit.z > z)
        if keep is not None:
            nearer &= keep
        np.copyto(z, hit.z, where=nearer)
        for target, source in zip(self.normal, hit.normal):
            np.copyto(target[hit.rows, hit.cols], source, where=nearer)
        np.copyto(self.material[hit.rows, hit.cols], np.uint8(material), where=nearer)
        np.copyto(self.detail[hit.rows, hit.cols], np.float32(1) if detail is None else detail, where=nearer)
        np.copyto(
            self.wrap[hit.rows, hit.cols], np.float32(WRAP.get(material, 0) if wrap is None else wrap), where=nearer
        )


def render(scene: Scene, rig: Rig | None = None) -> np.ndarray:
    """The portrait as uint8 RGB (218, 178, 3)."""
    from PIL import Image

    half = render_half(scene, rig)
    image = Image.fromarray(half).resize(OUTPUT_SIZE, Image.Resampling.BILINEAR)
    return np.asarray(image)


@dataclass
class Surfaces:
    """The canvas's solid pixels as flat arrays (everything but the backdrop)."""

    where: np.ndarray  # bool (H, W)
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    normal: tuple[np.ndarray, np.ndarray, np.ndarray]
    material: np.ndarray
    detail: np.ndarray
    wrap: np.ndarray

    @classmethod
    def of(cls, canvas: Canvas) -> Surfaces:
        where = canvas.material != BACKGROUND
        xs, ys = np.broadcast_arrays(GRID.xs[None, :], GRID.ys[:, None])
        return cls(
            where,
            xs[where],
            ys[where],
            canvas.z[where],
            tuple(n[where] for n in canvas.normal),
            canvas.material[where],
            canvas.detail[where],
            canvas.wrap[where],
        )


def render_half(scene: Scene, rig: Rig | None = None, noise: bool = True) -> np.ndarray:
    """The portrait at half size, uint8 RGB (109, 89, 3), before upsampling."""
    rig = rig or build_rig(scene)
    canvas = Canvas.empty(GRID)
    _draw_solids(canvas, rig, scene)
    surfaces = Surfaces.of(canvas)
    lit = _shade(surfaces, _albedo(surfaces, rig, scene), rig, scene)
    face = surfaces.material == FACE
    face_mean = float(lit[face].mean()) if face.any() else float(lit.mean()) if len(lit) else 0.25
    colour = _backdrop(scene.backdrop)
    colour[surfaces.where] = lit
    return _camera(colour, face_mean, scene, noise)


def _draw_solids(canvas: Canvas, rig: Rig, scene: Scene) -> None:
    canvas.draw(cast(rig.torso, GRID), CLOTHES)
    canvas.draw(cast(rig.neck, GRID), SKIN)
    if rig.hair_curtain is not None:
        hit = cast(rig.hair_curtain, GRID)
        canvas.draw(hit, HAIR, detail=hit and _strands(hit.scaled_local(), scene.hair.part))
    box = union_box([bounding_box(part, GRID) for part in rig.skull])
    if box is not None:
        a = rig.scale
        skull = smooth_union([cast(part, GRID, box=box) for part in rig.skull], blend=0.10 * a)
        face = smooth_union([skull] + [cast(part, GRID, box=box) for part in rig.features], blend=0.035 * a)
        canvas.draw(face, FACE, wrap=WRAP_SMALL_SKIN + (WRAP_LARGE_SKIN - WRAP_SMALL_SKIN) * face.first_share)
    for ear in rig.ears:
        canvas.draw(cast(ear, GRID), SKIN)
    if rig.hair_shell is not None:
        for back in (True, False):
            hit = cast(rig.hair_shell, GRID, back=back)
            if hit is not None:
                local = hit.scaled_local()
                canvas.draw(
                    hit, HAIR, keep=_hair_region(local, rig, scene.hair), detail=_strands(local, scene.hair.part)
                )
    if rig.hat_shell is not None:
        hit = cast(rig.hat_shell, GRID)
        if hit is not None:
            line = 0.42 if scene.accessories.hat == "brim" else 0.30
            canvas.draw(hit, HAT, keep=_head_height(hit.scaled_local()[1], rig.hat_shell, rig.head) > line)
        if rig.brim is not None:
            canvas.draw(cast(rig.brim, GRID), HAT)
    for part in rig.hand:
        canvas.draw(cast(part, GRID), SKIN)


def _strands(local, part: float) -> np.ndarray:
    """Fine streaks running down from the crown, bent by the parting (even in x, so that
    a mirrored scene has mirrored hair)."""
    x, y, z = local
    around = x / np.sqrt(x * x + z * z + np.float32(0.05))
    wave = np.cos(np.float32(23) * (around + np.float32(0.25 * part) * y)) * (
        np.float32(0.75) + np.float32(0.25) * np.sin(np.float32(7) * y)
    )
    return np.float32(0.88) + np.float32(0.12) * wave


def _head_height(scaled_y: np.ndarray, shell: Ellipsoid, head: Ellipsoid) -> np.ndarray:
    """Height above eye level (head half-widths) of shell points given their scaled local y."""
    offset_y = float((head.rotation.T @ (shell.center - head.center))[1])
    return (scaled_y * np.float32(shell.radii[1]) + np.float32(offset_y)) * np.float32(1 / head.radii[0])


def _hair_region(local, rig: Rig, hair: Hair) -> np.ndarray:
    """Where the shell is hair: above a hairline that is high at the forehead, lower at the
    temples and lowest at the back of the head."""
    x, y, z = local
    height = _head_height(y, rig.hair_shell, rig.head)
    back = {"short": -0.5, "medium": -1.0, "long": -1.3}.get(hair.style, -0.5)
    # The shell only frames the face down to the ears; longer hair is the curtain behind.
    side = max(hair.side, 0.0)
    toward_front = np.clip(z * np.float32(1.6), 0, 1)
    line = np.where(z >= 0, side + (hair.front - side) * toward_front, side + (back - side) * np.clip(-z, 0, 1))
    return height > line + np.float32(0.12 * hair.part) * x


def _albedo(surfaces: Surfaces, rig: Rig, scene: Scene) -> np.ndarray:
    """Linear albedo (n, 3) of the solid pixels: material colours, hair strands, painted face."""
    face, hair, acc = scene.face, scene.hair, scene.accessories
    table = np.stack(
        [
            np.zeros(3, np.float32),
            linear(face.skin),
            linear(face.skin) * 0.92,
            linear(hair.colour),
            linear(acc.clothes),
            linear(acc.hat_colour),
        ]
    )
    albedo = table[surfaces.material] * surfaces.detail[:, None]
    face_px = surfaces.material == FACE
    if face_px.any():
        head = rig.head
        rel = [
            surfaces.x[face_px] - np.float32(head.center[0]),
            surfaces.y[face_px] - np.float32(head.center[1]),
            surfaces.z[face_px] - np.float32(head.center[2]),
        ]
        rot = head.rotation.astype(np.float32)
        local = [rot[0, i] * rel[0] + rot[1, i] * rel[1] + rot[2, i] * rel[2] for i in range(3)]
        a, c = float(head.radii[0]), float(head.radii[2])
        painted = albedo[face_px]
        paint_face(
            painted, local[0] * np.float32(1 / a), local[1] * np.float32(1 / a), local[2] * np.float32(1 / c), scene
        )
        albedo[face_px] = painted
    return albedo


def _shade(surfaces: Surfaces, albedo: np.ndarray, rig: Rig, scene: Scene) -> np.ndarray:
    """Linear RGB (n, 3) of the solid pixels under the key, fill and ambient lights."""
    lighting = scene.lighting
    material = surfaces.material
    nx, ny, nz = surfaces.normal
    key = lighting.key
    to_key = direction(key.azimuth, key.elevation).astype(np.float32)
    n_dot_l = nx * to_key[0] + ny * to_key[1] + nz * to_key[2]
    wrap = np.float32(lighting.wrap) + surfaces.wrap
    diffuse = np.clip((n_dot_l + wrap) / (1 + wrap), 0, 1)
    diffuse *= _cast_shadows(surfaces, rig, to_key, lighting.softness)
    half_vector = to_key + np.array([0, 0, 1], np.float32)
    half_vector /= np.linalg.norm(half_vector)
    n_dot_h = np.clip(nx * half_vector[0] + ny * half_vector[1] + nz * half_vector[2], 0, 1)
    n_dot_h *= n_dot_h
    n_dot_h *= n_dot_h
    n_dot_h *= n_dot_h
    specular = MATERIAL_SPECULAR[material] * (n_dot_h * n_dot_h) * (diffuse > 0)

    ambient = lighting.ambient * linear(lighting.ambient_colour)
    light = (np.float32(0.75) + np.float32(0.25) * ny)[:, None] * ambient
    light += (key.strength * diffuse)[:, None] * np.asarray(key.colour, np.float32)
    for fill in lighting.fills:
        to_fill = direction(fill.azimuth, fill.elevation).astype(np.float32)
        soft = np.clip(
            (nx * to_fill[0] + ny * to_fill[1] + nz * to_fill[2] + np.float32(0.6)) * np.float32(fill.strength / 1.6),
            0,
            None,
        )
        light += soft[:, None] * np.asarray(fill.colour, np.float32)
    return albedo * light + (key.strength * specular)[:, None] * np.asarray(key.colour, np.float32)


def _cast_shadows(surfaces: Surfaces, rig: Rig, to_light: np.ndarray, softness: float) -> np.ndarray:
    """Light reaching each solid pixel past the nose, brow ridge and hat brim (skin only)."""
    lit = np.ones(surfaces.material.shape, np.float32)
    receivers = (surfaces.material == FACE) | (surfaces.material == SKIN)
    if not receivers.any():
        return lit
    points = (surfaces.x[receivers], surfaces.y[receivers], surfaces.z[receivers])
    reach = np.ones(points[0].shape, np.float32)
    for caster in rig.casters():
        reach *= unshadowed(points, to_light, caster, softness)
    lit[receivers] = reach
    return lit


def _backdrop(backdrop: Backdrop) -> np.ndarray:
    """The background in linear RGB (109, 89, 3): colour, gradient, a wave texture, blobs."""
    xs, ys = GRID.xs[None, :], GRID.ys[:, None]
    kx, ky, phase, amplitude = backdrop.wave
    shade = (
        np.float32(1) + np.float32(backdrop.gradient[0]) * xs + np.float32(backdrop.gradient[1]) * ys
    ) + np.float32(amplitude) * np.sin(np.float32(kx) * xs + (np.float32(ky) * ys + np.float32(phase)))
    colour = np.clip(shade, 0.2, 2)[..., None] * np.asarray(backdrop.colour, np.float32)
    for blob in backdrop.blobs:
        # Only the blob's own box: it is a soft-edged disc or rectangle.
        cols = _span(GRID.xs, blob.x - blob.rx, blob.x + blob.rx)
        rows = _span(GRID.ys[::-1], blob.y - blob.ry, blob.y + blob.ry, reverse=GRID.height)
        if cols is None or rows is None:
            continue
        dx = np.abs(GRID.xs[cols] - np.float32(blob.x))[None, :] * np.float32(1 / blob.rx)
        dy = np.abs(GRID.ys[rows] - np.float32(blob.y))[:, None] * np.float32(1 / blob.ry)
        distance = np.sqrt(dx * dx + dy * dy) if blob.round else np.maximum(dx, dy)
        alpha = np.clip((1 - distance) * np.float32(4), 0, 1)[..., None]
        patch = colour[rows, cols]
        patch += alpha * (np.asarray(blob.colour, np.float32) - patch)
    return colour * colour


def _span(values: np.ndarray, low: float, high: float, reverse: int | None = None) -> slice | None:
    """Indices of the sorted `values` within [low, high] (counted from the end when `reverse`)."""
    start, stop = int(np.searchsorted(values, low)), int(np.searchsorted(values, high, side="right"))
    if start >= stop:
        return None
    return slice(reverse - stop, reverse - start) if reverse else slice(start, stop)


def _camera(colour: np.ndarray, face_mean: float, scene: Scene, noise: bool) -> np.ndarray:
    """Auto-exposure on the face, gamma, saturation, contrast, sensor noise, 8 bits."""
    camera = scene.camera
    out = np.sqrt(np.maximum(colour, 0))
    out *= np.float32(camera.exposure / np.sqrt(max(face_mean, 1e-6)))
    grey = (out[..., 0] + out[..., 1] + out[..., 2]) * np.float32(1 / 3)
    # Saturation around the grey level and contrast around mid-grey, in one pass.
    offset = grey * np.float32((1 - camera.saturation) * camera.contrast) + np.float32(0.5 * (1 - camera.contrast))
    if noise:
        # Luma-like noise (after demosaicing and JPEG, colour noise is mostly gone).
        rng = np.random.default_rng(camera.noise_seed)
        offset += rng.standard_normal(grey.shape, dtype=np.float32) * np.float32(camera.noise)
    out *= np.float32(camera.saturation * camera.contrast * 255)
    out += (offset * np.float32(255) + np.float32(0.5))[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)
