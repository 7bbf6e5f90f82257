"""Flip augmentation: images mirrored, labels mirrored by the mirror rule (tests/test_mirror.py)."""

import numpy as np

from celeba_tui.mirror import mirror_map
from celeba_tui.training.augment import flip_images, flip_labels
from celeba_tui.training.loop import batch_stream

from training_data import CLASSES, light_image


def test_flip_labels_swaps_left_and_right_and_keeps_center():
    mirror = mirror_map(CLASSES)
    labels = np.array([0, 1, 2, 0, 1, 2])
    flip = np.array([True, True, True, False, False, False])
    flipped, done = flip_labels(labels, flip, mirror)
    assert flipped.tolist() == [2, 1, 0, 0, 1, 2]
    assert done.tolist() == flip.tolist()


def test_classes_without_a_partner_are_not_flipped():
    mirror = mirror_map(("left", "center"))
    flipped, done = flip_labels(np.array([0, 1]), np.array([True, True]), mirror)
    assert flipped.tolist() == [0, 1] and done.tolist() == [False, True]


def test_flip_images_mirrors_only_the_chosen_images_and_copies():
    images = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3)
    out = flip_images(images, np.array([True, False]))
    assert np.array_equal(out[0], images[0, :, ::-1])
    assert np.array_equal(out[1], images[1])
    assert np.array_equal(flip_images(out, np.array([True, False])), images)
    assert not np.shares_memory(out, images)


def test_flipped_batches_stay_consistent_with_what_the_image_shows():
    """A 'left' image (bright left half) flipped shows a bright right half and is labelled right."""
    rng = np.random.default_rng(1)
    labels = np.array([i % 3 for i in range(60)])
    frames = np.stack([light_image(CLASSES[label], rng, size=(16, 16)) for label in labels])
    rows = np.arange(len(frames))
    stream = batch_stream(
        frames, rows, labels, np.arange(60), 16, mirror=mirror_map(CLASSES), rng=np.random.default_rng(0)
    )
    seen_flips = 0
    for images, batch_labels in stream:
        left = images[:, :, :8].mean(axis=(1, 2, 3))
        right = images[:, :, 8:].mean(axis=(1, 2, 3))
        shown = np.where(left > right + 40, 0, np.where(right > left + 40, 2, 1))
        assert shown.tolist() == batch_labels.tolist()
        seen_flips += 1
    # Some images of each side were really flipped (labels differ from the unflipped order).
    all_labels = np.concatenate(
        [
            b
            for _, b in batch_stream(
                frames, rows, labels, np.arange(60), 16, mirror=mirror_map(CLASSES), rng=np.random.default_rng(0)
            )
        ]
    )
    assert 0 < np.sum(all_labels != labels) < 60
