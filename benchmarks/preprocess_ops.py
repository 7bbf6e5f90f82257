"""Cost of each built-in preprocessing op per image, next to PIL's nearest equivalent.

Run: python benchmarks/preprocess_ops.py
"""

from __future__ import annotations

import timeit

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter

from celeba_tui.plugins import parse_spec

PIL_EQUIVALENTS = {
    "contrast:1.5": lambda img: np.asarray(ImageEnhance.Contrast(Image.fromarray(img)).enhance(1.5)),
    "blur": lambda img: np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(1.1))),
    "grayscale": lambda img: np.asarray(Image.fromarray(img).convert("L").convert("RGB")),
}


def microseconds(function, img: np.ndarray) -> float:
    runs, seconds = timeit.Timer(lambda: function(img)).autorange()
    return seconds / runs * 1e6


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'op':<14}{'size':>9}{'ours (us)':>11}{'PIL (us)':>10}{'ours/PIL':>10}")
    for height, width in ((64, 64), (128, 128), (218, 178)):
        img = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        for spec in ("resize:64", "contrast:1.5", "blur", "grayscale", "binarize"):
            ours = microseconds(parse_spec(spec).apply, img)
            pil = microseconds(PIL_EQUIVALENTS[spec], img) if spec in PIL_EQUIVALENTS else float("nan")
            print(f"{spec:<14}{f'{width}x{height}':>9}{ours:>11.1f}{pil:>10.1f}{ours / pil:>10.2f}")


if __name__ == "__main__":
    main()
