import os

import numpy as np
import pytest
from PIL import Image

from celeba_tui.images import ImageDecodeError, decode_resized, detect_layout, scan_folder
from tests.conftest import make_images


def test_scan_finds_nested_jpeg_and_png_sorted_relative(tmp_path):
    make_images(tmp_path, ["b/2.png", "a/1.jpg", "c.JPEG", "z.jpg"])
    (tmp_path / "notes.txt").write_text("x")
    assert scan_folder(tmp_path).names == ["a/1.jpg", "b/2.png", "c.JPEG", "z.jpg"]


def test_scan_survives_symlink_loop(tmp_path):
    make_images(tmp_path, ["a/1.jpg"])
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    result = scan_folder(tmp_path)
    assert result.names == ["a/1.jpg"]
    assert any(reason == "symlink loop" for _, reason in result.skipped)


def test_scan_reads_a_folder_linked_twice_once_and_calls_it_no_loop(tmp_path):
    make_images(tmp_path, ["data/1.jpg", "data/deep/2.jpg"])
    os.symlink(tmp_path / "data", tmp_path / "link1")
    os.symlink(tmp_path / "data", tmp_path / "link2")
    os.symlink(tmp_path / "data" / "deep", tmp_path / "data" / "shortcut")
    result = scan_folder(tmp_path)
    assert result.names == ["data/1.jpg", "data/deep/2.jpg"]  # each image under one name: the first in name order
    assert sorted(result.skipped) == [
        (str(tmp_path / "data" / "shortcut"), "already scanned as data/deep/"),
        (str(tmp_path / "link1"), "already scanned as data/"),
        (str(tmp_path / "link2"), "already scanned as data/"),
    ]


def test_scan_reports_non_utf8_names(tmp_path):
    make_images(tmp_path, ["ok.jpg"])
    bad = os.fsencode(tmp_path) + b"/caf\xe9.jpg"
    with open(bad, "wb") as handle:
        handle.write((tmp_path / "ok.jpg").read_bytes())
    result = scan_folder(tmp_path)
    assert result.names == ["ok.jpg"]
    assert result.skipped and "UTF-8" in result.skipped[0][1]


def test_celeba_layout_detected(tmp_path):
    make_images(tmp_path / "img_align_celeba", ["000001.jpg"])
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n")
    layout = detect_layout(tmp_path)
    assert layout.kind == "celeba"
    assert layout.image_root == (tmp_path / "img_align_celeba").resolve()
    assert set(layout.files) == {"partition"}
    assert detect_layout(tmp_path / "img_align_celeba").kind == "celeba"


def test_decoder_jpeg_and_png_agree_in_shape_and_content(tmp_path):
    rng = np.random.default_rng(0)
    pixels = (rng.random((218, 178, 3)) * 40 + 100).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    Image.fromarray(pixels).save(tmp_path / "a.jpg", quality=98)
    png = decode_resized(tmp_path / "a.png", 64)
    jpg = decode_resized(tmp_path / "a.jpg", 64)
    assert png.shape == jpg.shape == (64, 64, 3) and png.dtype == np.uint8
    assert np.abs(png.astype(int) - jpg.astype(int)).mean() < 3


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty"), (b"hello world", "not a readable image"), (b"\xff\xd8\xff\xe0garbage", "JPEG")],
)
def test_decoder_rejects_bad_files(tmp_path, content, reason):
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageDecodeError, match=reason):
        decode_resized(path, 64)


def test_decoder_refuses_decompression_bomb(tmp_path):
    Image.new("L", (10000, 6000)).save(tmp_path / "big.png")
    with pytest.raises(ImageDecodeError, match="too large"):
        decode_resized(tmp_path / "big.png", 64)


def test_a_bomb_pil_refuses_first_is_reported_with_our_limit(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0)  # declares 900 Mpx: PIL's own limit trips
    (tmp_path / "bomb.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    with pytest.raises(ImageDecodeError, match=r"^too large \(900,000,000 pixels; limit 50,000,000\)$"):
        decode_resized(tmp_path / "bomb.png", 64)


def test_decoder_handles_16bit_cmyk_and_exif_rotation(tmp_path):
    Image.fromarray(np.full((20, 30), 65535, dtype=np.uint16)).save(tmp_path / "16.png")
    assert decode_resized(tmp_path / "16.png", 8).min() == 255
    Image.new("CMYK", (30, 20), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    assert decode_resized(tmp_path / "cmyk.jpg", 8).shape == (8, 8, 3)
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 20, 20))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    image.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    decoded = decode_resized(tmp_path / "rot.jpg", (20, 40))
    assert decoded[2, 10, 2] > 200  # top is blue after rotation
