"""The decoded-image cache: decoded once, equal to decode_resized, incremental, crash-safe."""

import numpy as np
import pytest

from celeba_tui import images as image_io
from celeba_tui.training.cache import DecodedCache
from celeba_tui.training.trainer import TrainOptions, train

from training_data import add_labels, make_labelled_workspace


@pytest.fixture
def count_decodes(monkeypatch):
    calls = []
    real = image_io.decode_resized

    def counting(path, size):
        calls.append(path)
        return real(path, size)

    monkeypatch.setattr(image_io, "decode_resized", counting)
    return calls


def test_frames_equal_decode_resized_and_the_preprocessing(labelled_workspace, count_decodes):
    from celeba_tui.plugins import parse_spec

    names = [f"{i:06d}.jpg" for i in range(1, 11)]
    cache = DecodedCache(labelled_workspace.cache_dir, 24, "resize:24,contrast:1.5")
    result = cache.update(names, labelled_workspace.image_root, workers=2)
    assert result.decoded == 10 and not result.skipped and len(count_decodes) == 10
    frames = cache.array()
    assert frames.dtype == np.uint8 and frames.shape == (10, 24, 24, 3)
    contrast = parse_spec("resize:24,contrast:1.5").without_resize()
    for name, row in zip(names, cache.rows(names)):
        expected = contrast.apply(image_io.decode_resized(labelled_workspace.image_root / name, 24))
        assert np.array_equal(frames[row], expected)
    # A different preprocessing is a different cache.
    other = DecodedCache(labelled_workspace.cache_dir, 24, "resize:24")
    assert other.folder != cache.folder and len(other) == 0


def test_cache_is_incremental_and_reopened_from_disk(labelled_workspace, count_decodes):
    root = labelled_workspace.image_root
    first = DecodedCache(labelled_workspace.cache_dir, 16, "resize:16")
    first.update([f"{i:06d}.jpg" for i in range(1, 6)], root)
    reopened = DecodedCache(labelled_workspace.cache_dir, 16, "resize:16")
    assert len(reopened) == 5
    result = reopened.update([f"{i:06d}.jpg" for i in range(1, 9)], root)
    assert result.decoded == 3 and len(count_decodes) == 8
    assert reopened.array().shape[0] == 8


def test_a_crash_between_pixels_and_names_is_repaired(labelled_workspace):
    root = labelled_workspace.image_root
    cache = DecodedCache(labelled_workspace.cache_dir, 16, "resize:16")
    cache.update(["000001.jpg", "000002.jpg"], root)
    with open(cache.pixels_path, "ab") as handle:  # frames written, names never were
        handle.write(b"\x07" * cache.frame_bytes * 3)
    with open(cache.names_path, "a") as handle:  # and a name cut short
        handle.write("000003.j")
    cache = DecodedCache(labelled_workspace.cache_dir, 16, "resize:16")
    assert len(cache) == 2
    cache.update(["000003.jpg"], root)
    names = [line.rpartition("\t")[0] for line in cache.names_path.read_text().splitlines()]
    assert names == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert cache.pixels_path.stat().st_size == 3 * cache.frame_bytes
    assert np.array_equal(cache.array()[2], image_io.decode_resized(root / "000003.jpg", 16))


def test_a_file_changed_or_gone_since_it_was_decoded_is_not_read_from_the_cache(labelled_workspace):
    # Attack pass 41: the cache was keyed by name only: training read a replaced image's old
    # pixels, and a deleted or truncated one trained on as if it were there.
    from PIL import Image

    root = labelled_workspace.image_root
    names = ["000001.jpg", "000002.jpg", "000003.jpg"]
    cache = DecodedCache(labelled_workspace.cache_dir, 16, "resize:16")
    cache.update(names, root)
    assert cache.missing(names, root) == []
    Image.new("RGB", (44, 54), (255, 0, 0)).save(root / "000001.jpg")
    (root / "000002.jpg").unlink()
    (root / "000003.jpg").write_bytes((root / "000004.jpg").read_bytes()[:100])
    reopened = DecodedCache(labelled_workspace.cache_dir, 16, "resize:16")
    assert reopened.missing(names) == [] and reopened.missing(names, root) == names
    result = reopened.update(names, root)
    assert result.decoded == 1 and [name for name, _ in result.skipped] == ["000002.jpg", "000003.jpg"]
    frame = reopened.array()[reopened.rows(["000001.jpg"])][0]
    assert frame[..., 0].mean() > 200 and frame[..., 1].mean() < 50  # the red image's pixels, not the old face's
    again = DecodedCache(labelled_workspace.cache_dir, 16, "resize:16")  # the newest line is the one read
    assert np.array_equal(again.array()[again.rows(["000001.jpg"])][0], frame) and len(again) == 3


def test_second_training_run_does_not_decode(labelled_workspace, tiny_architecture, count_decodes, one_thread):
    options = TrainOptions(plugin=tiny_architecture, task="light", epochs=1)
    first = train(labelled_workspace, options)
    assert len(count_decodes) == 40 and first.summary.images_decoded == 40
    second = train(labelled_workspace, options)
    assert len(count_decodes) == 40 and second.summary.images_decoded == 0
    # The other task shares the cache (same size and preprocessing).
    train(labelled_workspace, TrainOptions(plugin=tiny_architecture, task="orientation", epochs=1))
    assert len(count_decodes) == 40


def test_new_labels_decode_only_the_new_images(tmp_path, tiny_architecture, count_decodes, one_thread):
    workspace, names, labels = make_labelled_workspace(tmp_path, n=46, labels_for=40)
    train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1))
    with workspace.open_store() as store:
        add_labels(store, names[40:], labels[40:])
    result = train(workspace, TrainOptions(plugin=tiny_architecture, task="light", epochs=1))
    assert len(count_decodes) == 46 and result.summary.images_decoded == 6
    assert result.summary.n_train + result.summary.n_val == 46
