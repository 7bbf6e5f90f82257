"""Built-in preprocessing ops (study section 2.3): resize, contrast, blur, grayscale, binarize.

All take and return RGB uint8 (H, W, 3) arrays and never modify their input. Grey
levels are PIL's ITU-R 601-2 luma (`Image.convert("L")`).
"""

from __future__ import annotations

import numpy as np

from celeba_tui.hookspecs import hookimpl
from celeba_tui.preprocess import RESIZE, PreprocessOp

MAX_SIDE = 2048  # models take 64-299 px; one 2048 px float panel is already 50 MB
# OpenCV's GaussianBlur(img, (5, 5), 0) uses this binomial kernel (sigma 1.1); weights sum to 16.
GAUSSIAN_5 = (1, 4, 6, 4, 1)


def luma(img: np.ndarray) -> np.ndarray:
    """Grey level (H, W) uint8: PIL's `convert("L")` (ITU-R 601-2, integer arithmetic)."""
    from PIL import Image

    return np.asarray(Image.fromarray(img).convert("L"))


def grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.repeat(grey[..., None], 3, axis=2)


def parse_size(text: str | None) -> tuple[int, int]:
    """`64` -> (64, 64); `64x32` -> (width 64, height 32)."""
    if not text:
        raise ValueError("needs a size")
    parts = text.lower().split("x")
    if len(parts) > 2 or not all(part.strip().isdigit() for part in parts):
        raise ValueError(f"size {text!r} is not N or WxH")
    width, height = (int(parts[0]), int(parts[-1]))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise ValueError(f"size {text!r} must be between 1 and {MAX_SIDE}")
    return width, height


def format_size(size: tuple[int, int]) -> str:
    width, height = size
    return str(width) if width == height else f"{width}x{height}"


def resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize to (width, height), the filter the shared decoder uses."""
    from PIL import Image

    width, height = size
    if img.shape[1] == width and img.shape[0] == height:
        return img.copy()
    return np.asarray(Image.fromarray(img).resize((width, height), Image.Resampling.BILINEAR))


# Past this, contrast leaves almost every level at 0 or 255; larger factors only overflow.
MAX_FACTOR = 100.0


def parse_factor(text: str | None) -> float:
    if not text:
        raise ValueError("needs a factor")
    try:
        factor = float(text)
    except ValueError:
        raise ValueError(f"factor {text!r} is not a number") from None
    if not 0 <= factor <= MAX_FACTOR:  # also refuses NaN and inf
        raise ValueError(f"factor {text!r} must be a number from 0 to {MAX_FACTOR:g}")
    return factor


def contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Scale each channel's distance from the mean grey level by `factor` (PIL's ImageEnhance.Contrast)."""
    mean = np.float32(luma(img).mean())
    # The map is the same for every pixel value, so compute it once for the 256 levels.
    levels = np.arange(256, dtype=np.float32)
    table = np.clip(np.rint(mean + np.float32(factor) * (levels - mean)), 0, 255).astype(np.uint8)
    return table[img]


def blur(img: np.ndarray, _: None = None) -> np.ndarray:
    """Gaussian 5x5 blur, borders reflected without repeating the edge (OpenCV's default)."""
    # uint16 is enough: 255 * 16 * 16 = 65280. Integer sums keep it exact and fast.
    padded = np.pad(img, ((2, 2), (2, 2), (0, 0)), mode="reflect").astype(np.uint16)
    height, width = img.shape[:2]
    rows = sum(weight * padded[:, i : i + width] for i, weight in enumerate(GAUSSIAN_5))
    both = sum(weight * rows[i : i + height] for i, weight in enumerate(GAUSSIAN_5))
    return ((both + 128) >> 8).astype(np.uint8)


def grayscale(img: np.ndarray, _: None = None) -> np.ndarray:
    """Grey levels repeated in three channels, so models keep three inputs."""
    return grey_to_rgb(luma(img))


def binarize(img: np.ndarray, _: None = None) -> np.ndarray:
    """Grey levels above the image's mean grey become 255, the rest 0 (three channels)."""
    grey = luma(img)
    return grey_to_rgb(np.where(grey > grey.mean(), np.uint8(255), np.uint8(0)))


BUILTIN_OPS = (
    PreprocessOp(
        RESIZE,
        resize,
        "bilinear resize to N x N or W x H pixels",
        parse=parse_size,
        format=format_size,
        argument="N or WxH",
    ),
    PreprocessOp(
        "contrast",
        contrast,
        "scale contrast around the mean grey by a factor (1 = unchanged)",
        parse=parse_factor,
        format=repr,
        argument="FACTOR",
    ),
    PreprocessOp("blur", blur, "Gaussian blur, 5x5 kernel"),
    PreprocessOp("grayscale", grayscale, "grey levels in three channels"),
    PreprocessOp("binarize", binarize, "grayscale, then threshold at the image's mean grey (0 or 255)"),
)


@hookimpl
def register_preprocess_ops(register):
    for op in BUILTIN_OPS:
        register(op)
