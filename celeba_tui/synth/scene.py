"""Everything that varies between synthetic photos, sampled deterministically from a generator.

A `Scene` is plain data: the renderer turns it into pixels, the dataset writer turns it
into ground truth and attributes. `Scene.mirrored()` is the same photo flipped
horizontally, which swaps left and right for both tasks (the convention tests use it).
Colours are sRGB triples in [0, 1].
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from celeba_tui.synth.truth import DEFAULT_MAX_PITCH_DEG, AngleClasses, light_classes, orientation_classes

RGB = tuple[float, float, float]
# Hair families with CelebA-like frequencies; `bald` has no hair at all.
HAIR_FAMILIES = {
    "black": ((0.07, 0.06, 0.06), 0.26),
    "dark_brown": ((0.17, 0.11, 0.08), 0.20),
    "brown": ((0.33, 0.21, 0.13), 0.16),
    "blond": ((0.80, 0.66, 0.42), 0.17),
    "red": ((0.55, 0.25, 0.12), 0.05),
    "gray": ((0.62, 0.61, 0.60), 0.06),
    "bald": ((0.0, 0.0, 0.0), 0.03),
}
SKIN_RAMP = np.array([(0.30, 0.18, 0.12), (0.58, 0.39, 0.27), (0.80, 0.60, 0.48), (0.95, 0.79, 0.70)])


@dataclass(frozen=True)
class Pose:
    yaw: float
    pitch: float
    roll: float
    x: float  # where the crop's anchor lands, render pixels from the centre
    y: float
    scale: float  # head half-width in render pixels
    align: float  # the anchor: 1 the eyes' midpoint (CelebA's alignment) .. 0 the head's axis


@dataclass(frozen=True)
class Light:
    azimuth: float
    elevation: float
    strength: float
    colour: RGB


@dataclass(frozen=True)
class Lighting:
    key: Light
    fills: tuple[Light, ...]
    ambient: float
    ambient_colour: RGB
    wrap: float  # how far the key light wraps past the terminator (0 hard .. 0.5 soft)
    softness: float  # penumbra of cast shadows

    @property
    def directional_fraction(self) -> float:
        """The key light's share of all light: low means flat, ambient-looking photos."""
        return self.key.strength / (self.key.strength + self.ambient + sum(f.strength for f in self.fills))


@dataclass(frozen=True)
class Face:
    skin: RGB
    lips: RGB
    iris: RGB
    height: float  # head half-height over half-width
    depth: float  # head half-depth over half-width
    jaw: float  # jaw width relative to the cranium
    nose_length: float
    nose_depth: float
    eye_size: float
    mouth_width: float
    smile: float  # 0 neutral .. 1 broad smile with teeth
    gaze: tuple[float, float]
    brow_thickness: float
    beard: float  # 0 none .. 1 full
    mustache: bool


@dataclass(frozen=True)
class Hair:
    family: str
    colour: RGB
    style: str  # bald, short, medium, long
    volume: float
    front: float  # hairline height at the forehead (head frame, 1 = crown)
    side: float  # hairline height at the temples
    part: float  # signed: hair swept toward the picture's right when > 0
    bangs: bool


@dataclass(frozen=True)
class Hand:
    side: float  # -1 the picture's left, +1 right
    height: float
    tilt: float


@dataclass(frozen=True)
class Accessories:
    glasses: str | None  # clear, sun
    frame: RGB
    hat: str | None  # beanie, brim
    hat_colour: RGB
    hand: Hand | None
    clothes: RGB


@dataclass(frozen=True)
class Blob:
    x: float
    y: float
    rx: float
    ry: float
    colour: RGB
    round: bool


@dataclass(frozen=True)
class Backdrop:
    colour: RGB
    gradient: tuple[float, float]  # brightness change per render pixel along x and y
    blobs: tuple[Blob, ...]
    wave: tuple[float, float, float, float]  # kx, ky, phase, amplitude


@dataclass(frozen=True)
class Camera:
    exposure: float  # mean face brightness after tone mapping
    saturation: float
    contrast: float
    noise: float
    jpeg_quality: int
    noise_seed: int


@dataclass(frozen=True)
class Scene:
    pose: Pose
    lighting: Lighting
    face: Face
    hair: Hair
    accessories: Accessories
    backdrop: Backdrop
    camera: Camera

    def mirrored(self) -> Scene:
        """The same photo flipped left-right."""
        pose = replace(self.pose, yaw=-self.pose.yaw, roll=-self.pose.roll, x=-self.pose.x)
        light = self.lighting
        lighting = replace(
            light,
            key=replace(light.key, azimuth=-light.key.azimuth),
            fills=tuple(replace(f, azimuth=-f.azimuth) for f in light.fills),
        )
        face = replace(self.face, gaze=(-self.face.gaze[0], self.face.gaze[1]))
        hair = replace(self.hair, part=-self.hair.part)
        acc = self.accessories
        hand = acc.hand and replace(acc.hand, side=-acc.hand.side, tilt=-acc.hand.tilt)
        back = self.backdrop
        kx, ky, phase, amp = back.wave
        backdrop = replace(
            back,
            gradient=(-back.gradient[0], back.gradient[1]),
            blobs=tuple(replace(b, x=-b.x) for b in back.blobs),
            wave=(-kx, ky, phase, amp),
        )
        return replace(
            self,
            pose=pose,
            lighting=lighting,
            face=face,
            hair=hair,
            accessories=replace(acc, hand=hand),
            backdrop=backdrop,
        )


def sample_scene(
    rng: np.random.Generator,
    orientation: AngleClasses | None = None,
    light: AngleClasses | None = None,
    max_pitch: float = DEFAULT_MAX_PITCH_DEG,
) -> Scene:
    """Draw one photo's parameters; the yaw and key-light azimuth follow the class mixes, the
    head's pitch a normal distribution cut at +-max_pitch (its spread 1/2.5 of that)."""
    orientation = orientation or orientation_classes()
    light = light or light_classes()
    pose = Pose(
        yaw=orientation.sample(rng),
        pitch=float(np.clip(rng.normal(0, abs(max_pitch) / 2.5), -max_pitch, max_pitch)),  # abs: -0.0 is 0
        roll=float(np.clip(rng.normal(0, 3.5), -9, 9)),
        x=float(np.clip(rng.normal(0, 5), -12, 12)),
        y=float(np.clip(rng.normal(-1.5, 3.5), -10, 7)),
        scale=float(24 * rng.uniform(0.84, 1.16)),
        align=float(rng.uniform(0.2, 1.0)),
    )
    lighting = _sample_lighting(rng, light.sample(rng))
    hair = _sample_hair(rng)
    face = _sample_face(rng, hair)
    return Scene(pose, lighting, face, hair, _sample_accessories(rng), _sample_backdrop(rng), _sample_camera(rng))


def _tint(rng: np.random.Generator, spread: float) -> RGB:
    warm = rng.uniform(-spread, spread)
    return (1.0 + warm, 1.0 + 0.3 * warm, 1.0 - warm)


def _sample_lighting(rng: np.random.Generator, azimuth: float) -> Lighting:
    flat = rng.random() < 0.15  # overcast / ambient-dominated photos
    strength = rng.uniform(0.35, 0.6) if flat else rng.uniform(0.8, 1.6)
    key = Light(azimuth, float(rng.uniform(-5, 40)), float(strength), _tint(rng, 0.12))
    # Fills from anywhere, up to most of the key's strength: broad brightness alone misleads.
    n_fills = int(rng.choice(3, p=[0.15, 0.55, 0.3]))
    fills = tuple(
        Light(
            float(rng.uniform(-100, 100)),
            float(rng.uniform(-20, 50)),
            float(strength * rng.uniform(0.15, 0.7)),
            _tint(rng, 0.2),
        )
        for _ in range(n_fills)
    )
    ambient = rng.uniform(0.5, 0.9) if flat else rng.uniform(0.12, 0.5)
    return Lighting(
        key,
        fills,
        float(ambient),
        _tint(rng, 0.15),
        wrap=float(rng.uniform(0.0, 0.3)),
        softness=float(rng.uniform(0.05, 0.3)),
    )


def _sample_hair(rng: np.random.Generator) -> Hair:
    names = list(HAIR_FAMILIES)
    weights = np.array([HAIR_FAMILIES[n][1] for n in names])
    family = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    colour = np.clip(np.array(HAIR_FAMILIES[family][0]) * rng.uniform(0.8, 1.2, 3) ** 0.5, 0, 1)
    if family == "bald":
        return Hair(family, tuple(colour), "bald", 0.0, 2.0, 2.0, 0.0, False)
    style = str(rng.choice(["short", "medium", "long"], p=[0.35, 0.2, 0.45]))
    bangs = bool(rng.random() < 0.15)
    front = rng.uniform(0.25, 0.35) if bangs else rng.uniform(0.42, 0.62)
    side = {"short": rng.uniform(0.05, 0.25), "medium": rng.uniform(-0.35, -0.05), "long": rng.uniform(-0.7, -0.4)}[
        style
    ]
    return Hair(
        family,
        tuple(float(c) for c in colour),
        style,
        float(rng.uniform(0.04, 0.16)),
        float(front),
        float(side),
        float(rng.uniform(-1, 1)),
        bangs,
    )


def _sample_face(rng: np.random.Generator, hair: Hair) -> Face:
    tone = rng.beta(2.2, 1.3) * (len(SKIN_RAMP) - 1)
    low = int(min(tone, len(SKIN_RAMP) - 2))
    skin = SKIN_RAMP[low] + (tone - low) * (SKIN_RAMP[low + 1] - SKIN_RAMP[low])
    skin = np.clip(skin * rng.uniform(0.94, 1.06, 3), 0, 1)
    lips = np.clip(skin * np.array([0.85, 0.55, 0.55]) * rng.uniform(0.85, 1.1), 0, 1)
    iris = np.array([(0.25, 0.15, 0.08), (0.12, 0.08, 0.05), (0.30, 0.42, 0.55), (0.32, 0.38, 0.22)])[
        int(rng.choice(4, p=[0.45, 0.3, 0.15, 0.1]))
    ]
    bearded = hair.style in ("short", "bald") and rng.random() < 0.35
    return Face(
        skin=tuple(float(c) for c in skin),
        lips=tuple(float(c) for c in lips),
        iris=tuple(float(c) for c in iris),
        height=float(rng.uniform(1.22, 1.36)),
        depth=float(rng.uniform(1.02, 1.25)),
        jaw=float(rng.uniform(0.74, 0.88)),
        nose_length=float(rng.uniform(0.85, 1.15)),
        nose_depth=float(rng.uniform(0.85, 1.2)),
        eye_size=float(rng.uniform(0.85, 1.15)),
        mouth_width=float(rng.uniform(0.85, 1.15)),
        smile=float(rng.choice([0.0, rng.uniform(0.2, 0.5), rng.uniform(0.6, 1.0)], p=[0.35, 0.25, 0.4])),
        gaze=(float(rng.normal(0, 0.015)), float(rng.normal(0, 0.01))),
        brow_thickness=float(rng.uniform(0.8, 1.3)),
        beard=float(rng.uniform(0.3, 0.9)) if bearded else 0.0,
        mustache=bool(bearded and rng.random() < 0.5),
    )


def _random_colour(rng: np.random.Generator, value=(0.1, 0.9), saturation=(0.0, 0.6)) -> RGB:
    rgb = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value))
    return tuple(float(c) for c in rgb)


def _sample_accessories(rng: np.random.Generator) -> Accessories:
    u = rng.random(3)
    glasses = None if u[0] >= 0.07 else ("sun" if rng.random() < 0.3 else "clear")
    hat = None if u[1] >= 0.05 else ("brim" if rng.random() < 0.5 else "beanie")
    hand = None
    if u[2] < 0.04:
        hand = Hand(
            side=float(rng.choice([-1.0, 1.0])), height=float(rng.uniform(-0.2, 0.2)), tilt=float(rng.uniform(-25, 25))
        )
    return Accessories(
        glasses, _random_colour(rng, (0.02, 0.5)), hat, _random_colour(rng), hand, _random_colour(rng, (0.05, 0.95))
    )


def _sample_backdrop(rng: np.random.Generator) -> Backdrop:
    blobs = tuple(
        Blob(
            float(rng.uniform(-50, 50)),
            float(rng.uniform(-60, 60)),
            float(rng.uniform(4, 35)),
            float(rng.uniform(4, 45)),
            _random_colour(rng, (0.05, 1.0), (0.0, 0.8)),
            bool(rng.random() < 0.5),
        )
        for _ in range(int(rng.integers(0, 5)))
    )
    angle = rng.uniform(0, 2 * np.pi)
    freq = rng.uniform(0.05, 0.5)
    return Backdrop(
        _random_colour(rng, (0.12, 0.92)),
        tuple(float(v) for v in rng.uniform(0, 0.006) * np.array([np.cos(angle), np.sin(angle)]) * 2),
        blobs,
        (
            float(freq * np.cos(angle * 1.7)),
            float(freq * np.sin(angle * 1.7)),
            float(rng.uniform(0, 6.3)),
            float(rng.uniform(0, 0.06)),
        ),
    )


def _sample_camera(rng: np.random.Generator) -> Camera:
    return Camera(
        exposure=float(rng.uniform(0.42, 0.62)),
        saturation=float(rng.uniform(0.75, 1.15)),
        contrast=float(rng.uniform(0.85, 1.2)),
        noise=float(rng.uniform(0.004, 0.03)),
        jpeg_quality=int(rng.integers(70, 96)),
        noise_seed=int(rng.integers(2**31)),
    )
