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
    assert cache.names_path.read_text().splitlines() == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert cache.pixels_path.stat().st_size == 3 * cache.frame_bytes
    assert np.array_equal(cache.array()[2], image_io.decode_resized(root / "000003.jpg", 16))


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
