"""kill -9 in the middle of `celeba import`: the store holds all of the file or none of it."""

import random
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.slow
def test_import_killed_at_random_points_is_all_or_nothing(tmp_path, workspace):
    n = 60_000
    path = tmp_path / "big.csv"
    path.write_text("".join(f"{i:06d}.jpg,1,0,0,0,1,0\n" for i in range(1, n + 1)))
    rng = random.Random(7)
    outcomes = []
    for _ in range(6):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celeba_tui",
                "import",
                str(path),
                "--annotator",
                f"a{len(outcomes)}",
                "-w",
                str(workspace.path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with workspace.open_store() as store:
            counts = store.live_labels().groupby("annotator").size().to_dict()
        outcomes.append(counts.get(f"a{len(outcomes)}", 0))
    assert all(count in (0, 2 * n) for count in outcomes), outcomes
