"""kill -9 `celeba autolabel` at random points, then run it again: the store ends exactly as
after one uninterrupted run (same predictions, same automatic labels, people's labels untouched).

Each round starts from the same labelled store, kills two runs in a row at random times
(the second one resuming the first's work), then lets a third finish and compares.
RELIABILITY_AUTOLABEL_ROUNDS sets the rounds (default 2); the kill points are printed (-s).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from celeba_tui.store.registration import register_images
from celeba_tui.workspace import create_workspace
from reliability.hostile_images import face, jpeg_bytes

# More than one flush of predictions (autolabel writes every 8,192 rows: 4,096 images x 2 models).
IMAGES = 5000
HUMAN = 40
ROUNDS = int(os.environ.get("RELIABILITY_AUTOLABEL_ROUNDS", "2"))
KILLS_PER_ROUND = 2
CLASSES = ("left", "center", "right")


def build_workspace(root, folder, name):
    workspace = create_workspace(root / name, folder)
    with workspace.open_store(create=True) as store:
        register_images(store, workspace.image_root)
        names = sorted(store.image_names())[:HUMAN]
        store.add_labels(
            pd.DataFrame(
                {
                    "image": names,
                    "task": "light",
                    "label": [CLASSES[(2 * i) % 3] for i in range(HUMAN)],
                    "annotator": "alice",
                    "source": "human",
                }
            )
        )
    return workspace


def autolabel(workspace, models) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celeba_tui",
            "autolabel",
            "--models",
            *map(str, models),
            "--high",
            "0.95",
            "--batch-size",
            "32",
            "--workers",
            "1",
            "-w",
            str(workspace.path),
            "--json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def final_state(workspace) -> dict[str, pd.DataFrame]:
    with workspace.open_store() as store:
        assert store.query("PRAGMA integrity_check") == [("ok",)]
        predictions = store.predictions().sort_values(["image", "task", "model"], ignore_index=True)
        live = store.live_labels().sort_values(["image", "task", "annotator"], ignore_index=True)
        current = store.current_labels().sort_values(["image", "task"], ignore_index=True)
    return {"predictions": predictions, "live": live, "current": current}


def progress(workspace) -> tuple[int, int]:
    """(prediction rows, automatic labels) in the store now."""
    with workspace.open_store() as store:
        return len(store.predictions()), len(store.live_labels(sources=["model"]))


@pytest.mark.slow
def test_autolabel_killed_at_random_points_resumes_to_the_uninterrupted_result(tmp_path, ensemble_pair):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(IMAGES):
        (folder / f"{i:06d}.jpg").write_bytes(jpeg_bytes(face(i, (16, 16))))
    reference, crashed = (build_workspace(tmp_path, folder, name) for name in ("reference", "crashed"))

    started = time.monotonic()
    run = autolabel(reference, ensemble_pair)
    _, err = run.communicate(timeout=300)
    uninterrupted_s = time.monotonic() - started
    assert run.returncode == 0, err

    rng = random.Random(11)
    pristine = tmp_path / "pristine.sqlite"
    shutil.copy(crashed.store_path, pristine)
    want = final_state(reference)
    assert len(want["predictions"]) == 2 * IMAGES and (want["live"]["source"] == "model").sum() > IMAGES // 2
    for round_ in range(ROUNDS):
        restore(pristine, crashed.store_path)
        points = []
        for kill in range(KILLS_PER_ROUND):
            run = autolabel(crashed, ensemble_pair)
            if kill == 1 and progress(crashed)[0] == 0:
                # A targeted point: right after the first batch of predictions is committed.
                what, at = "after the first flush", wait_for_predictions(run, crashed)
            else:
                what, at = "at random", rng.uniform(0.3, uninterrupted_s)
                try:
                    run.wait(timeout=at)
                except subprocess.TimeoutExpired:
                    pass
            outcome = "finished first" if run.poll() is not None else "killed"
            run.send_signal(signal.SIGKILL)
            run.wait()
            points.append((what, round(at, 2), outcome, *progress(crashed)))
        print(
            f"\nround {round_ + 1}: uninterrupted {uninterrupted_s:.1f} s; kills (when, s, outcome, "
            f"prediction rows, automatic labels after it): {points}"
        )
        run = autolabel(crashed, ensemble_pair)
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0 and "locked" not in err, err
        assert_same_outcome(final_state(crashed), want)


def restore(pristine, store_path) -> None:
    """Put the labelled store back; a killed writer's WAL must not be replayed onto it."""
    for suffix in ("-wal", "-shm"):
        store_path.with_name(store_path.name + suffix).unlink(missing_ok=True)
    shutil.copy(pristine, store_path)


def wait_for_predictions(run: subprocess.Popen, workspace, timeout: float = 120) -> float:
    started = time.monotonic()
    while run.poll() is None and time.monotonic() - started < timeout:
        if progress(workspace)[0] > 0:
            break
        time.sleep(0.02)
    return time.monotonic() - started


def assert_same_outcome(got: dict, want: dict) -> None:
    columns = ["image", "task", "model", "label"]
    pd.testing.assert_frame_equal(got["predictions"][columns], want["predictions"][columns])
    np.testing.assert_allclose(np.stack(got["predictions"]["probs"]), np.stack(want["predictions"]["probs"]), atol=1e-5)
    exact = ["image", "task", "label", "annotator", "source", "model"]
    pd.testing.assert_frame_equal(got["live"][exact], want["live"][exact])
    np.testing.assert_allclose(
        got["live"]["confidence"].astype(float), want["live"]["confidence"].astype(float), atol=1e-5
    )
    pd.testing.assert_frame_equal(
        got["current"][["image", "task", "label", "status"]], want["current"][["image", "task", "label", "status"]]
    )
    assert (got["live"]["source"] == "human").sum() == HUMAN
