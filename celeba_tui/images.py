"""Finding images (plain folders and the CelebA layout) and the one shared decoder.

`decode_resized` is the only way pixels reach a model: the training cache, the
auto-labeller and the parity checks all call it, so training and inference see the
same pixels (two different JPEG decoders differ by ~1.5 grey levels on average).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError, WorkspaceError

if TYPE_CHECKING:  # imported where pixels are decoded: `celeba stats` and `label` start without numpy
    import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CELEBA_IMAGE_DIR = "img_align_celeba"
CELEBA_FILES = {
    "attributes": "list_attr_celeba.txt",
    "landmarks": "list_landmarks_align_celeba.txt",
    "partition": "list_eval_partition.txt",
}
# Larger images are refused before decoding (decompression bombs): 50 megapixels.
MAX_PIXELS = 50_000_000
# Larger files are refused before reading (a sparse 2 GB .jpg, a swapped-in /dev/zero):
# CelebA's images are ~10 kB and a 50-megapixel JPEG is ~20 MB. The environment variable
# raises (or lowers) the cap for unusual data sets.
MAX_BYTES_ENV = "CELEBA_MAX_IMAGE_BYTES"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# What PIL may parse: the formats the scanner's suffixes stand for. Anything else in a
# .jpg (EPS would be handed to Ghostscript, a program of its own) is refused.
PIL_FORMATS = ("JPEG", "PNG")


class ImageDecodeError(Exception):
    """An image file that cannot be decoded; the message says why."""


@dataclass
class ScanResult:
    names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def scan_folder(root: Path) -> ScanResult:
    """All JPEG/PNG files under `root`, as sorted '/'-separated names relative to it.

    Symlinked folders are followed. A folder reached again is scanned once: under the
    first path in name order, the other paths skipped and reported as "already scanned
    as <path>" (the same image under two names would be labelled twice). Only a folder
    inside itself (a link to an ancestor) is a "symlink loop". Names that are not valid
    UTF-8 are skipped and reported, since they cannot be stored or exported.
    """
    root = Path(root)
    names: list[str] = []
    skipped: list[tuple[str, str]] = []
    scanned: dict[tuple[int, int], str] = {}  # folder identity -> the name it was scanned under
    # (prefix, folder path, identities of the folders above it); popped in name order.
    stack: list[tuple[str, str, frozenset]] = [("", os.fspath(root), frozenset())]
    while stack:
        prefix, folder, ancestors = stack.pop()
        try:
            info = os.stat(folder)
            identity = (info.st_dev, info.st_ino)
            if identity in ancestors:
                skipped.append((folder, "symlink loop"))
                continue
            if identity in scanned:
                skipped.append((folder, f"already scanned as {scanned[identity]}"))
                continue
            scanned[identity] = prefix or "./"
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append((folder, exc.strerror or str(exc)))
            continue
        below = ancestors | {identity}
        folders = []
        for entry in entries:
            name = prefix + entry.name
            try:
                if entry.is_dir():
                    folders.append((name + "/", entry.path, below))
                    continue
                if not entry.name.lower().endswith(IMAGE_SUFFIXES) or not entry.is_file():
                    continue
            except OSError as exc:
                skipped.append((entry.path, exc.strerror or str(exc)))
                continue
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                skipped.append((os.fsencode(entry.path).decode("utf-8", "backslashreplace"), "file name is not UTF-8"))
                continue
            names.append(name)
        stack.extend(reversed(folders))
    names.sort()
    return ScanResult(names, skipped)


@dataclass(frozen=True)
class ImageLayout:
    """Where a dataset's images are, and CelebA's annotation files if it has them."""

    image_root: Path
    kind: str  # "celeba" or "folder"
    files: dict[str, Path] = field(default_factory=dict)


def detect_layout(root: Path) -> ImageLayout:
    """A CelebA layout (`img_align_celeba/` + list files) or a plain image folder."""
    root = Path(root).expanduser().resolve()
    if not root.exists():
        raise WorkspaceError(f"image root {root} does not exist")
    if not root.is_dir():
        raise WorkspaceError(f"image root {root} is not a folder")
    if (root / CELEBA_IMAGE_DIR).is_dir():
        dataset_dir, image_root = root, root / CELEBA_IMAGE_DIR
    elif root.name == CELEBA_IMAGE_DIR:
        dataset_dir, image_root = root.parent, root
    else:
        return ImageLayout(root, "folder")
    files = {key: dataset_dir / name for key, name in CELEBA_FILES.items() if (dataset_dir / name).is_file()}
    return ImageLayout(image_root, "celeba", files)


def celeba_files(image_root: Path) -> dict[str, Path]:
    """CelebA's annotation files beside an `img_align_celeba` image root, if any."""
    layout = detect_layout(image_root)
    return layout.files


# ------------------------------------------------------------------ reading
def max_image_bytes() -> int:
    """The per-image byte cap: $CELEBA_MAX_IMAGE_BYTES, or 64 MiB."""
    text = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise CelebaError(f"${MAX_BYTES_ENV} must be a positive number of bytes; got {text!r}")
    return value


def read_image_bytes(path: Path, limit: int | None = None) -> bytes:
    """The bytes of an image file, if it is a regular file of at most `limit` bytes.

    Devices (/dev/zero), FIFOs and folders are refused at once, so are files over the
    cap, without reading them (celeba_tui.regular_files). Every refusal is an ImageDecodeError with a short reason (a missing, unreadable,
    empty, special or oversized file): the one place image bytes are read.
    """
    from celeba_tui.regular_files import FileRefused, read_regular_file

    limit = max_image_bytes() if limit is None else limit
    try:
        data = read_regular_file(path, limit, limit_hint=f", see ${MAX_BYTES_ENV}")
    except FileRefused as exc:
        raise ImageDecodeError(str(exc)) from None
    except FileNotFoundError:
        raise ImageDecodeError("file not found") from None
    except OSError as exc:
        raise ImageDecodeError(f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ImageDecodeError("empty file")
    return data


def file_stamp(path: Path) -> str | None:
    """The file's size and modification time (ns) as text; None where it cannot be read
    (gone). A file rewritten since a stamp was taken has another one; so has a copy made
    without keeping times."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return f"{found.st_size}:{found.st_mtime_ns}"


def bytes_digest(data: bytes) -> str:
    """A digest of an image file's bytes (BLAKE2b, 128 bits), as text."""
    import hashlib

    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_digest(path: Path) -> str | None:
    """`bytes_digest` of the image file; None where it cannot be read as one
    (read_image_bytes refuses it)."""
    try:
        return bytes_digest(read_image_bytes(path))
    except ImageDecodeError:
        return None


# ------------------------------------------------------------------ decoding
def decode_resized(path: Path, size: int | tuple[int, int]) -> np.ndarray:
    """Decode an image file to RGB uint8 (H, W, 3) resized to `size` (side or (w, h)).

    JPEGs are decoded by simplejpeg with DCT scaling to the smallest scale that is
    still at least the target size, then resized with PIL's bilinear filter; PNGs and
    anything simplejpeg cannot read go through PIL with the same resize.
    """
    width, height = (size, size) if isinstance(size, int) else size
    return decode_bytes_resized(read_image_bytes(path), (width, height))


def decode_bytes_resized(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """`decode_resized` for bytes already in memory."""
    import numpy as np
    from PIL import Image

    if not data:
        raise ImageDecodeError("empty file")
    pixels = _decode_jpeg_scaled(data, size) if data[:3] == b"\xff\xd8\xff" else None
    image = Image.fromarray(pixels) if pixels is not None else _decode_with_pil(data)
    if image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def decode_full(path: Path) -> np.ndarray:
    """Decode an image at full size (RGB uint8), e.g. for display; same rules as above."""
    import numpy as np

    data = read_image_bytes(path)
    pixels = _decode_jpeg_scaled(data, None) if data[:3] == b"\xff\xd8\xff" else None
    return pixels if pixels is not None else np.asarray(_decode_with_pil(data).convert("RGB"))


def _decode_jpeg_scaled(data: bytes, size: tuple[int, int] | None) -> np.ndarray | None:
    """simplejpeg's scaled decode, or None where PIL must do it (EXIF rotation, CMYK...)."""
    import simplejpeg

    try:
        width, height, _, colorspace = simplejpeg.decode_jpeg_header(data)
    except (ValueError, RuntimeError) as exc:
        raise ImageDecodeError(f"not a valid JPEG ({exc})") from None
    if width * height > MAX_PIXELS:
        raise ImageDecodeError(f"too large ({width}x{height} pixels; limit {MAX_PIXELS:,})")
    if colorspace not in ("Gray", "YCbCr", "RGB") or b"Exif" in data[:65536] and _has_rotation(data):
        return None
    kwargs = {"min_width": size[0], "min_height": size[1]} if size else {}
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=False, fastupsample=False, **kwargs)
    except (ValueError, RuntimeError) as exc:
        raise ImageDecodeError(f"corrupt JPEG ({exc})") from None


def _has_rotation(data: bytes) -> bool:
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as image:
            return image.getexif().get(0x0112, 1) != 1
    except Exception:  # noqa: BLE001  (unreadable EXIF: decode without rotation)
        return False


def _decode_with_pil(data: bytes):
    import io
    import warnings

    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=PIL_FORMATS)
            if image.width * image.height > MAX_PIXELS:
                raise ImageDecodeError(f"too large ({image.width}x{image.height} pixels; limit {MAX_PIXELS:,})")
            image.load()
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # PIL's own message quotes PIL's limit, not ours: say ours, as the check above does.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "a decompression bomb"
        raise ImageDecodeError(f"too large ({size}; limit {MAX_PIXELS:,})") from None
    except Exception as exc:  # noqa: BLE001  (PIL raises many types for bad files)
        # PIL names the in-memory buffer with its address: drop it so reports are reproducible.
        detail = re.sub(r"\s*<[^>]*>", "", str(exc)).strip()
        raise ImageDecodeError(f"not a readable image ({type(exc).__name__}: {detail})") from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        import numpy as np

        image = Image.fromarray((np.asarray(image, dtype=np.uint32) >> 8).astype(np.uint8))
    return image.convert("RGB")
