"""The pipelined part of autolabel: decode threads fill fixed-size batches while onnxruntime runs.

Each image file is read once. It is decoded once per distinct model input size with
`celeba_tui.images.decode_bytes_resized` (the decoder training's cache uses), so every
model sees exactly the pixels it was trained on: resizing one large decode down to a
smaller model's size would not (simplejpeg picks its DCT scale from the target size).
simplejpeg and PIL's resize release the GIL, so decode threads run in parallel with
each other and with onnxruntime. At most `depth` batches are decoded ahead, so memory
stays bounded whatever the number of images.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from celeba_tui.autolabel.rules import flip_average
from celeba_tui.images import ImageDecodeError, bytes_digest, decode_bytes_resized, file_stamp, read_image_bytes
from celeba_tui.onnx.runtime import pixel_transform


@dataclass
class DecodedBatch:
    """Pixels for up to `batch_size` images; rows past len(names) are zero padding."""

    names: list[str]
    pixels: list[np.ndarray]  # one (batch_size, size, size, 3) uint8 array per input group
    failures: list[tuple[str, str]] = field(default_factory=list)  # (image, reason)
    # Each decoded image's file as read: (stamp before reading, digest of the bytes read).
    files: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class PredictedBatch:
    names: list[str]
    probs: list[np.ndarray]  # per model, (len(names), classes)
    failures: list[tuple[str, str]]
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # as DecodedBatch.files


class BatchDecoder:
    """Decodes a list of image names into one fixed-size uint8 batch per input group."""

    def __init__(self, root: Path, groups: list[tuple[int, str]], batch_size: int):
        self.root = Path(root)
        self.groups = groups
        self.batch_size = batch_size
        self.sizes = sorted({size for size, _ in groups})
        self.transforms = [pixel_transform(spec) for _, spec in groups]

    def __call__(self, names: list[str]) -> DecodedBatch:
        if len(names) > self.batch_size:
            raise ValueError(f"{len(names)} images for a batch of {self.batch_size}")
        pixels = [np.zeros((self.batch_size, size, size, 3), dtype=np.uint8) for size, _ in self.groups]
        decoded, failures, files = [], [], {}
        for name in names:
            try:
                stamp = file_stamp(self.root / name)
                data = read_image_bytes(self.root / name)
                images = self.decode(data)
            except (ImageDecodeError, OSError, ValueError) as exc:
                failures.append((name, str(exc) or type(exc).__name__))
                continue
            for batch, image in zip(pixels, images):
                batch[len(decoded)] = image
            decoded.append(name)
            if stamp is not None:
                files[name] = (stamp, bytes_digest(data))
        return DecodedBatch(decoded, pixels, failures, files)

    def decode(self, data: bytes) -> list[np.ndarray]:
        """The pixels of one image's bytes for each input group (decoded once per size)."""
        by_size = {size: decode_bytes_resized(data, (size, size)) for size in self.sizes}
        out = []
        for (size, _), transform in zip(self.groups, self.transforms):
            out.append(transform(by_size[size]) if transform else by_size[size])
        return out


def chunked(names: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(names), size):
        yield names[start : start + size]


def decode_batches(
    decoder: BatchDecoder, names: list[str], workers: int, depth: int | None = None
) -> Iterator[DecodedBatch]:
    """Decoded batches in order, `workers` threads decoding at most `depth` batches ahead."""
    depth = depth or 2 * workers
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="celeba-decode") as pool:
        pending: deque = deque()
        try:
            for chunk in chunked(names, decoder.batch_size):
                pending.append(pool.submit(decoder, chunk))
                if len(pending) >= depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def predict(
    session, batches: Iterable[DecodedBatch], classes: list[tuple[str, ...]] | None = None
) -> Iterator[PredictedBatch]:
    """Run the ensemble on each batch; with `classes` (per model), flip TTA averages each
    model's probabilities with those of the mirrored images, left/right swapped back."""
    for batch in batches:
        n = len(batch.names)
        if n == 0:
            yield PredictedBatch([], [], batch.failures, batch.files)
            continue
        if classes is None:
            probs = [p[:n] for p in session.run(batch.pixels)]
        else:
            # One batch of twice the size: originals, then mirrored (NHWC: width is axis 2).
            doubled = [np.concatenate([p, p[:, :, ::-1]]) for p in batch.pixels]
            size = len(batch.pixels[0])
            outputs = session.run(doubled)
            # An output as wide as the classes is averaged; any other is passed on as it is,
            # for check_probabilities to name the model.
            probs = [
                flip_average(p[:n], p[size : size + n], c) if np.ndim(p) == 2 and np.shape(p)[1] == len(c) else p[:n]
                for p, c in zip(outputs, classes)
            ]
        yield PredictedBatch(batch.names, probs, batch.failures, batch.files)
