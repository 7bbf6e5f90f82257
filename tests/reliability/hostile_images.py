"""A folder of corrupt and hostile image files beside normal ones, and what each should become.

`write_hostile_folder` writes every case the reliability issue lists; `HOSTILE` says for
each file whether the decoder must read it (`decodes`) or refuse it with a reason
(`refused`, the reason's key words), and `SCAN_SKIPS` the paths a scan must skip and
report. Everything is small: the decompression bombs only *declare* 30000x30000.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

BOMB_SIDE = 30_000
NORMAL = [f"normal{i:02d}.jpg" for i in range(1, 13)]


@dataclass(frozen=True)
class Case:
    """One hostile file: how the decoder must treat it."""

    name: str
    outcome: str  # "decodes" or "refused"
    reason: str = ""  # for refused: words the one-line reason contains


HOSTILE = [
    Case("truncated.jpg", "refused", "truncated"),
    Case("zero-bytes.jpg", "refused", "empty file"),
    Case("png-named.jpg", "decodes"),
    Case("text-named.jpg", "refused", "not a readable image"),
    Case("bomb.png", "refused", "too large"),
    Case("bomb.jpg", "refused", "too large"),
    Case("cmyk.jpg", "decodes"),
    Case("sixteen-bit.png", "decodes"),
    Case("exif-rotated.jpg", "decodes"),
    # PostScript that PIL would hand to Ghostscript (a program of its own) to render.
    Case("eps-named.jpg", "refused", "cannot identify image file"),
    # A 2 GiB file (sparse: 4 kB on disk) refused from its size, never read.
    Case("sparse-2gb.jpg", "refused", "too large"),
]
SPARSE_BYTES = 2 << 30
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\nnewpath 0 0 moveto 16 16 lineto stroke\nshowpage\n"
# A labelled file swapped for something that is not a file: reading it would never end
# (/dev/zero) or block until a writer comes (a FIFO). Refused with this reason.
SPECIAL_REASON = "not a regular file"
REFUSED = {case.name: case.reason for case in HOSTILE if case.outcome == "refused"}
DECODABLE = [case.name for case in HOSTILE if case.outcome == "decodes"]
# Non-UTF-8 names cannot be stored; loops would never end: a scan skips both and says why.
SCAN_SKIPS = {"non-utf8": "file name is not UTF-8", "loop": "symlink loop"}
NON_UTF8_NAME = b"caf\xe9.jpg"


def face(seed: int, size=(44, 54)) -> np.ndarray:
    """A small distinct RGB picture: a bright left half for even seeds, right for odd."""
    rng = np.random.default_rng(seed)
    width, height = size
    pixels = rng.integers(30, 90, size=(height, width, 3)).astype(np.int16)
    half = slice(0, width // 2) if seed % 2 == 0 else slice(width // 2, width)
    pixels[:, half] += 150
    return np.clip(pixels, 0, 255).astype(np.uint8)


def jpeg_bytes(pixels: np.ndarray, **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=95, **save)
    return buffer.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """A 100-byte PNG whose header declares side x side 8-bit grey pixels (900 MB decoded)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def jpeg_bomb(side: int = BOMB_SIDE) -> bytes:
    """A small real JPEG whose frame header (SOF0) is patched to declare side x side."""
    data = bytearray(jpeg_bytes(face(0, (16, 16))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)  # height, width
    return bytes(data)


def exif_rotated(pixels: np.ndarray) -> bytes:
    """A JPEG stored sideways with EXIF orientation 6 (rotate 90 degrees clockwise to view)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return jpeg_bytes(np.ascontiguousarray(np.rot90(pixels, 1)), exif=exif.tobytes())


def write_hostile_folder(folder: Path) -> Path:
    """Write the normal images and every hostile case into `folder`; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(NORMAL):
        (folder / name).write_bytes(jpeg_bytes(face(i)))
    good = jpeg_bytes(face(100))
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "zero-bytes.jpg").write_bytes(b"")
    buffer = io.BytesIO()
    Image.fromarray(face(101)).save(buffer, format="PNG")
    (folder / "png-named.jpg").write_bytes(buffer.getvalue())
    (folder / "text-named.jpg").write_text("this is a text file, not a photo\n")
    (folder / "bomb.png").write_bytes(png_bomb())
    (folder / "bomb.jpg").write_bytes(jpeg_bomb())
    Image.fromarray(face(102)).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    sixteen = face(103)[:, :, 0].astype(np.uint16) * 257
    Image.fromarray(sixteen).save(folder / "sixteen-bit.png")
    (folder / "exif-rotated.jpg").write_bytes(exif_rotated(face(104)))
    (folder / "eps-named.jpg").write_bytes(EPS)
    with open(folder / "sparse-2gb.jpg", "wb") as handle:
        handle.write(jpeg_bytes(face(105)))
        handle.truncate(SPARSE_BYTES)
    (folder / "nested").mkdir(exist_ok=True)
    os.symlink("..", folder / "nested" / "loop")
    with open(os.fsencode(folder) + b"/" + NON_UTF8_NAME, "wb") as handle:
        handle.write(good)
    return folder


def registered_names() -> list[str]:
    """What a scan of the hostile folder registers (sorted): every file with a readable name."""
    return sorted([*NORMAL, *(case.name for case in HOSTILE)])


def swap_for_special(path: Path, kind: str) -> None:
    """Replace an image file by a symlink to /dev/zero ("zero") or by a FIFO nobody writes ("fifo")."""
    path.unlink()
    if kind == "zero":
        os.symlink("/dev/zero", path)
    else:
        os.mkfifo(path)
