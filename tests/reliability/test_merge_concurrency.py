"""A person reviewing while `celeba merge` runs: the person's decision always stands.

The shape of the reported failure: a reviewer process stores `review` decisions every
~0.05 s while `celeba merge --policy prefer:annx` and `--policy prefer:anny` alternate.
Every merge rewrites every open conflict (the policies disagree), so a review stored
between a merge's read and its write would be followed by a newer `merge:*` row, and
later merges never touch a reviewed key again: the merge's label would stay current.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from celeba_tui.workspace import create_workspace

pytestmark = pytest.mark.reliability

IMAGES = 3000
REVIEWER = "rosa"

# Reviews images in order, one every 0.05 s, until the stop file appears; prints how many.
REVIEW_LOOP = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from celeba_tui.store.label_store import LabelStore
    path, stop, who = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    done = 0
    with LabelStore.open(path) as store:
        print("ready", flush=True)
        while not stop.exists():
            store.add_label(f"{done:06d}.jpg", "light", "center", who, source="review")
            done += 1
            time.sleep(0.05)
    print(done, flush=True)
    """
)


def test_merges_never_overrule_a_concurrent_review(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    ws = create_workspace(tmp_path / "ws", root)
    names = [f"{i:06d}.jpg" for i in range(IMAGES)]
    labels = pd.concat(
        [
            pd.DataFrame({"image": names, "task": "light", "label": label, "annotator": who, "source": "human"})
            for who, label in (("annx", "left"), ("anny", "right"))
        ]
    )
    with ws.open_store(create=True) as store:
        store.add_labels(labels)
    stop = tmp_path / "stop"
    reviewer = subprocess.Popen(
        [sys.executable, "-c", REVIEW_LOOP, str(ws.store_path), str(stop), REVIEWER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reviewer.stdout.readline().strip() == "ready"
        runner = CliRunner()
        for round_ in range(24):
            policy = "prefer:annx" if round_ % 2 == 0 else "prefer:anny"
            result = runner.invoke(app, ["merge", "--policy", policy, "--workspace", str(ws.path)])
            assert result.exit_code == 0, result.output
        time.sleep(0.2)
    finally:
        stop.touch()
        out, err = reviewer.communicate(timeout=60)
    assert reviewer.returncode == 0, err
    reviewed = int(out.split()[-1])
    assert reviewed > 20, "the reviewer hardly ran: the test proves nothing"

    with ws.open_store() as store:
        live = store.live_labels(task="light", sources=("review",), annotators=[REVIEWER], brief=True)
        current = store.current_labels("light").set_index("image")
    assert len(live) == reviewed
    overruled = [image for image in live["image"] if current.loc[image, "label"] != "center"]
    assert overruled == [], f"{len(overruled)} of {reviewed} reviews overruled by a merge"
