"""Writing a synthetic CelebA: images, CelebA's annotation files and a ground-truth table.

Every image depends only on (seed, index): its generator is `default_rng([seed, index])`,
so a dataset is the same byte for byte whatever the number of worker processes.

Layout (CelebA's, plus ground truth)::

    img_align_celeba/000001.jpg ...   178 x 218 JPEG
    list_landmarks_align_celeba.txt    5 landmarks projected from the rendered geometry
    list_attr_celeba.txt               the CelebA attributes the renderer really draws
    list_eval_partition.txt            0 train / 1 val / 2 test, CelebA's proportions
    ground_truth.csv                   continuous yaw and light, and the classes
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.atomic import owned_folder, owned_path, write_owned_bytes
from celeba_tui.synth.truth import (
    DEFAULT_LIGHT_MIX,
    DEFAULT_MAX_PITCH_DEG,
    DEFAULT_MAX_YAW_DEG,
    DEFAULT_ORIENTATION_MIX,
    MAX_POSE_DEG,
    ORIENTATION_THRESHOLD_DEG,
    light_classes,
    orientation_classes,
)

IMAGE_DIR = "img_align_celeba"
LANDMARKS_FILE = "list_landmarks_align_celeba.txt"
ATTRIBUTES_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
GROUND_TRUTH_FILE = "ground_truth.csv"
# Written before the first image (synth.output.prepare_output) and removed once the ground
# truth, written last, is there: while it exists the folder is a synth run that did not finish.
STARTED_MARKER = ".celeba-synth-unfinished"
# CelebA's own split: 162,770 train, 19,867 validation, 19,962 test images, in file order.
CELEBA_PARTITION = (162_770, 19_867, 19_962)
# The CelebA attributes the renderer draws, in CelebA's column order.
ATTRIBUTES = (
    "Bald",
    "Bangs",
    "Black_Hair",
    "Blond_Hair",
    "Brown_Hair",
    "Eyeglasses",
    "Gray_Hair",
    "Mustache",
    "No_Beard",
    "Smiling",
    "Wearing_Hat",
)
GROUND_TRUTH_COLUMNS = (
    "image",
    "yaw_deg",
    "pitch_deg",
    "roll_deg",
    "light_azimuth_deg",
    "light_elevation_deg",
    "light_strength",
    "fill_lights",
    "face_scale",
    "jpeg_quality",
    "light",
    "orientation",
)
# Below this many images per worker, starting processes costs more than it saves.
MIN_IMAGES_PER_WORKER = 64
MAX_IMAGES = 999_999  # CelebA's names have six digits
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class SynthSpec:
    """What a synthetic dataset is made from: the seed, the class mixes (left, center, right)
    and how far heads turn (yaw) and tilt (pitch), in degrees."""

    seed: int = 0
    light_mix: tuple[float, float, float] = DEFAULT_LIGHT_MIX
    orientation_mix: tuple[float, float, float] = DEFAULT_ORIENTATION_MIX
    max_yaw: float = DEFAULT_MAX_YAW_DEG
    max_pitch: float = DEFAULT_MAX_PITCH_DEG

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED}; got {self.seed}")
        check_pose_range(self.max_yaw, self.max_pitch)


def check_pose_range(max_yaw: float, max_pitch: float) -> None:
    """ValueError unless the yaw reaches past `center`'s band and both stay within 90 degrees."""
    if not ORIENTATION_THRESHOLD_DEG < max_yaw <= MAX_POSE_DEG:  # also false for NaN
        raise ValueError(
            f"the largest yaw must be over {ORIENTATION_THRESHOLD_DEG:g} (center's band) "
            f"and at most {MAX_POSE_DEG:g} degrees; got {max_yaw:g}"
        )
    if not 0 <= max_pitch <= MAX_POSE_DEG:
        raise ValueError(f"the largest pitch must be between 0 and {MAX_POSE_DEG:g} degrees; got {max_pitch:g}")


@dataclass
class Rendered:
    """One image: JPEG bytes and its row of every table."""

    index: int
    jpeg: bytes
    truth: dict = field(default_factory=dict)
    landmarks: list[int] = field(default_factory=list)
    attributes: list[int] = field(default_factory=list)


def image_name(index: int) -> str:
    """CelebA's names: 1-based, six digits."""
    return f"{index:06d}.jpg"


def render_one(index: int, spec: SynthSpec) -> Rendered:
    """Sample, render and JPEG-encode image number `index` (1-based) of a dataset."""
    import simplejpeg

    from celeba_tui.synth.render import GRID, UPSCALE, render
    from celeba_tui.synth.rig import build_rig, landmarks
    from celeba_tui.synth.scene import sample_scene

    orientation, light = orientation_classes(spec.orientation_mix, spec.max_yaw), light_classes(spec.light_mix)
    scene = sample_scene(np.random.default_rng([spec.seed, index]), orientation, light, spec.max_pitch)
    rig = build_rig(scene)
    pixels = render(scene, rig)
    jpeg = simplejpeg.encode_jpeg(pixels, quality=scene.camera.jpeg_quality, colorspace="RGB", colorsubsampling="420")
    lighting = scene.lighting
    yaw, azimuth = round(scene.pose.yaw, 3), round(lighting.key.azimuth, 3)
    truth = {
        "image": image_name(index),
        "yaw_deg": yaw,
        "pitch_deg": round(scene.pose.pitch, 3),
        "roll_deg": round(scene.pose.roll, 3),
        "light_azimuth_deg": azimuth,
        "light_elevation_deg": round(lighting.key.elevation, 3),
        "light_strength": round(lighting.directional_fraction, 4),
        "fill_lights": len(lighting.fills),
        "face_scale": round(scene.pose.scale * UPSCALE, 2),
        "jpeg_quality": scene.camera.jpeg_quality,
        "light": str(light.classify([azimuth])[0]),
        "orientation": str(orientation.classify([yaw])[0]),
    }
    points = np.rint(landmarks(rig, scene, GRID, UPSCALE)).astype(int).ravel().tolist()
    return Rendered(index, jpeg, truth, points, _attributes(scene))


def _attributes(scene) -> list[int]:
    hair, face, acc = scene.hair, scene.face, scene.accessories
    present = {
        "Bald": hair.family == "bald",
        "Bangs": hair.bangs,
        "Black_Hair": hair.family == "black",
        "Blond_Hair": hair.family == "blond",
        "Brown_Hair": hair.family in ("brown", "dark_brown"),
        "Eyeglasses": acc.glasses is not None,
        "Gray_Hair": hair.family == "gray",
        "Mustache": face.mustache,
        "No_Beard": face.beard == 0,
        "Smiling": face.smile >= 0.6,
        "Wearing_Hat": acc.hat is not None,
    }
    return [1 if present[name] else -1 for name in ATTRIBUTES]


def _render_and_write(job: tuple[Path, SynthSpec, list[int]]) -> list[Rendered]:
    """Worker: render a chunk of indices and write their files; the bytes stay behind."""
    folder, spec, indices = job
    results = []
    for index in indices:
        item = render_one(index, spec)
        write_owned_bytes(folder / image_name(index), item.jpeg)
        item.jpeg = b""
        results.append(item)
    return results


def render_dataset(out: Path, n: int, spec: SynthSpec, workers: int = 1) -> Iterator[list[Rendered]]:
    """Write the n images into out/img_align_celeba, yielding rendered chunks as they finish."""
    folder = owned_folder(Path(out) / IMAGE_DIR, Path(out))
    workers = effective_workers(n, workers)
    chunk = max(1, min(256, -(-n // (workers * 8))))
    jobs = [(folder, spec, list(range(start, min(start + chunk, n + 1)))) for start in range(1, n + 1, chunk)]
    if workers == 1:
        yield from map(_render_and_write, jobs)
        return
    import multiprocessing

    # spawn: no inherited threads or locks (the progress bar runs a thread), same on every OS.
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap_unordered(_render_and_write, jobs)


def write_dataset(
    out: Path,
    n: int,
    spec: SynthSpec = SynthSpec(),
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Write a whole synthetic CelebA into `out`; returns the ground-truth table."""
    from celeba_tui.formats.celeba_txt import LANDMARK_COLUMNS, write_celeba_table, write_partition

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)  # the command checked it (synth.output.prepare_output)
    items: list[Rendered] = []
    for chunk in render_dataset(out, n, spec, workers or default_workers()):
        items.extend(chunk)
        if on_progress:
            on_progress(len(chunk))
    items.sort(key=lambda item: item.index)
    names = pd.Index([image_name(item.index) for item in items], name="image")
    with owned_path(out / LANDMARKS_FILE, out) as tmp:
        write_celeba_table(pd.DataFrame([i.landmarks for i in items], index=names, columns=LANDMARK_COLUMNS), tmp)
    with owned_path(out / ATTRIBUTES_FILE, out) as tmp:
        write_celeba_table(pd.DataFrame([i.attributes for i in items], index=names, columns=list(ATTRIBUTES)), tmp)
    with owned_path(out / PARTITION_FILE, out) as tmp:
        write_partition(pd.Series(partition(n), index=names), tmp)
    truth = pd.DataFrame([item.truth for item in items], columns=list(GROUND_TRUTH_COLUMNS))
    with owned_path(out / GROUND_TRUTH_FILE, out) as tmp:
        truth.to_csv(tmp, index=False)
    (out / STARTED_MARKER).unlink(missing_ok=True)
    return truth


def partition(n: int) -> np.ndarray:
    """CelebA-like 0/1/2 split of n images in file order, in CelebA's proportions."""
    total = sum(CELEBA_PARTITION)
    train = round(n * CELEBA_PARTITION[0] / total)
    val = round(n * CELEBA_PARTITION[1] / total)
    return np.repeat([0, 1, 2], [train, val, n - train - val])


def effective_workers(n: int, workers: int) -> int:
    """Processes actually used for n images: no more than keeps each busy."""
    return max(1, min(workers, n // MIN_IMAGES_PER_WORKER))


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def read_ground_truth(out: Path) -> pd.DataFrame:
    """The ground-truth table of a synthetic dataset folder."""
    from celeba_tui.errors import FormatError

    path = Path(out) / GROUND_TRUTH_FILE
    if not path.is_file():
        raise FormatError(path, "not found: is this a folder written by `celeba synth`?")
    return pd.read_csv(path)
