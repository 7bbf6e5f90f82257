"""Synthetic CelebA speed: images per second with 1 and 2 worker processes, side by side.

Counts everything `celeba synth` does per image: sampling, rendering, JPEG encoding and
writing the file, plus the annotation files at the end. Also breaks one core's time
down into render and encode.

    python benchmarks/synth_speed.py            # 1500 images per run
    python benchmarks/synth_speed.py -n 4000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def breakdown(count: int, seed: int) -> dict[str, float]:
    """Milliseconds per image, in this process: sample + render, and JPEG encode."""
    import simplejpeg

    from celeba_tui.synth.render import render
    from celeba_tui.synth.scene import sample_scene

    scenes = [sample_scene(np.random.default_rng([seed, i])) for i in range(count)]
    started = time.process_time()
    pixels = [render(scene) for scene in scenes]
    rendered = time.process_time()
    for scene, image in zip(scenes, pixels):
        simplejpeg.encode_jpeg(image, quality=scene.camera.jpeg_quality, colorspace="RGB", colorsubsampling="420")
    encoded = time.process_time()
    return {"render_ms": 1000 * (rendered - started) / count, "encode_ms": 1000 * (encoded - rendered) / count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from celeba_tui.synth.dataset import SynthSpec, write_dataset

    print(f"cores available: {len(os.sched_getaffinity(0))}, load average before: {os.getloadavg()[0]:.2f}")
    parts = breakdown(200, args.seed)
    per_image = parts["render_ms"] + parts["encode_ms"]
    print(
        f"one core, CPU time per image: render {parts['render_ms']:.2f} ms + JPEG {parts['encode_ms']:.2f} ms"
        f" = {per_image:.2f} ms ({1000 / per_image:.0f} images/s per core)"
    )
    rates = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            write_dataset(Path(tmp), args.n, SynthSpec(seed=args.seed), workers=workers)
            rates[workers] = args.n / (time.perf_counter() - started)
    print(f"celeba synth -n {args.n}, wall clock incl. files and process start-up:")
    print(f"  1 worker : {rates[1]:7.0f} images/s")
    print(f"  2 workers: {rates[2]:7.0f} images/s  ({rates[2] / rates[1]:.2f}x)")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other processes on these cores lower the wall-clock figures)")


if __name__ == "__main__":
    main()
