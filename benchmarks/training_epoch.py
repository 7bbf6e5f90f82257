"""Training-epoch cost: from the decoded-image cache vs pure compute vs re-decoding JPEGs.

The same cnn4 epoch (same order, same flips) over ~1000 synthetic images, three ways:

- compute: batches already in memory as uint8 arrays; only the training steps run;
- cache:   the real path, batches gathered from the uint8 memory map by a prefetch thread;
- decode:  every image re-decoded from JPEG (decode_resized) in the prefetch thread.

Target (issue 5): cache <= 1.15x compute. Rounds alternate the three so that load from
other processes on a shared machine hits all of them alike; the ratio uses the fastest
round of each (the one least disturbed), the median is printed beside it. The batch
assembly alone (no model) is timed too: it is what the cache adds, free of that noise.

    python benchmarks/training_epoch.py [-n 1000] [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from synthetic_workspace import synthetic_workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--data", type=Path, help="Reuse this folder (made by an earlier run) instead of a temporary one."
    )
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    root = args.data or Path(tempfile.mkdtemp(prefix="celeba-epoch-"))
    start = time.perf_counter()
    workspace = synthetic_workspace(root, args.n)
    print(f"synthetic workspace with {args.n} labelled images: {time.perf_counter() - start:.1f} s ({root})")

    from celeba_tui import images as image_io
    from celeba_tui.mirror import mirror_map
    from celeba_tui.plugins import get_architecture, parse_spec
    from celeba_tui.progress import SilentReporter
    from celeba_tui.training.cache import DecodedCache
    from celeba_tui.training.loop import Stepper, batch_stream, prefetched, train_epoch
    from celeba_tui.training.recipes import STUDY
    from celeba_tui.training.trainer import TrainOptions, prepare, resolve_pipeline

    architecture = get_architecture("cnn4")
    pipeline = resolve_pipeline(architecture, None)
    task = workspace.task("light")
    start = time.perf_counter()
    prepared = prepare(workspace, task, pipeline, TrainOptions(plugin="cnn4", task="light"), SilentReporter(), STUDY)
    print(
        f"cache fill: {prepared.decoded} images decoded in {time.perf_counter() - start:.2f} s (2nd run decodes none)"
    )
    cache = DecodedCache(workspace.cache_dir, prepared.size, prepared.spec)
    data = prepared.data
    frames, rows = cache.array(), cache.rows(data.images)
    order = np.random.default_rng(0).permutation(len(data.images))  # the epoch: every labelled image
    mirror = mirror_map(data.classes)

    def cached_batches():
        return batch_stream(
            frames, rows, data.labels, order, args.batch_size, mirror=mirror, rng=np.random.default_rng(1)
        )

    in_memory = list(cached_batches())  # identical batches, materialised before timing
    after_resize = parse_spec(prepared.spec).without_resize()
    decoded_frames = _DecodingFrames(workspace.image_root, data.images, prepared.size, after_resize, image_io)

    def decoding_batches():
        return batch_stream(
            decoded_frames,
            np.arange(len(data.images)),
            data.labels,
            order,
            args.batch_size,
            mirror=mirror,
            rng=np.random.default_rng(1),
        )

    torch.manual_seed(0)
    model = architecture.build(len(data.classes)).to(memory_format=torch.channels_last)  # as `celeba train` does
    stepper = Stepper(model, 1e-3, torch.device("cpu"))
    train_epoch(stepper, in_memory[:4])  # warm-up: allocator, kernels
    times: dict[str, list[float]] = {"compute": [], "cache": [], "decode": []}
    runs = {
        "compute": lambda: train_epoch(stepper, in_memory),
        "cache": lambda: train_epoch(stepper, prefetched(cached_batches())),
        "decode": lambda: train_epoch(stepper, prefetched(decoding_batches())),
    }
    for round_ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            totals = run()
            times[name].append(time.perf_counter() - start)
            assert totals.count == len(order)
        print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()))

    assembly = {}
    for name, batches in (("cache", cached_batches), ("decode", decoding_batches)):
        start = time.perf_counter()
        for _ in batches():
            pass
        assembly[name] = time.perf_counter() - start

    compute = min(times["compute"])
    print(
        f"\ncnn4, {len(order)} images per epoch, batch {args.batch_size}, {args.threads} torch threads, "
        f"best (median) of {args.rounds} rounds"
    )
    for name, label in (
        ("compute", "pure compute (tensors in memory)"),
        ("cache", "from the decoded-image cache"),
        ("decode", "re-decoding JPEGs each epoch"),
    ):
        best, median = min(times[name]), statistics.median(times[name])
        print(
            f"  {label:<34} {best:7.2f} s ({median:6.2f})  {len(order) / best:7.1f} img/s  "
            f"{best / compute:5.2f}x compute"
        )
    print(f"batch assembly alone, one epoch: cache {assembly['cache']:.3f} s, JPEG decoding {assembly['decode']:.2f} s")
    ratio = min(times["cache"]) / compute
    print(f"cache epoch / compute epoch = {ratio:.3f} (target <= 1.15): {'ok' if ratio <= 1.15 else 'SLOW'}")


class _DecodingFrames:
    """Looks like the frame array, but decodes the JPEGs on every access."""

    def __init__(self, image_root: Path, names: list[str], size: int, after_resize, image_io):
        self.paths = [image_root / name for name in names]
        self.size, self.after_resize, self.image_io = size, after_resize, image_io

    def __getitem__(self, index: np.ndarray) -> np.ndarray:
        return np.stack(
            [self.after_resize.apply(self.image_io.decode_resized(self.paths[i], self.size)) for i in np.asarray(index)]
        )


if __name__ == "__main__":
    main()
