"""`celeba label` speed: queue build and start-up on a big store, key-to-painted latency.

    python benchmarks/tui_latency.py [--images 200000] [--labels 100000] [--keys 120]

1. A store with 200,000 images and 100,000 labels (two tasks x 50,000 images); the
   unlabelled queue is built in-process (a set operation: one SQL query + numpy).
2. The real CLI runs in tmux (120x40, truecolor, half-blocks): start-up to the first
   image, then (once the queue is counted) key presses at a human pace; the app's
   timing log (key received to new image painted, wall and process CPU time) gives
   median/p95, and polling tmux from outside cross-checks it. The CPU figures are
   what the work costs; wall times also carry whatever else the machine runs.
3. Asking who else is on an image (read before each is shown), with 8 others labelling.
4. Preparing one image's half-block strips versus textual-image's HalfcellImage
   rendering the same pixels (the lean widget's reason to exist).

Targets (issue 3): key-to-image median <= 40 ms, p95 <= 60 ms; start-up <= 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.labelling.queues import QUEUES, QueueOptions
from celeba_tui.tui.timing_log import read_timing_log
from celeba_tui.workspace import create_workspace

REPO = Path(__file__).resolve().parents[1]


def percentile(values, q):
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else float("nan")


def build_workspace(root: Path, n_images: int, n_labels: int, n_files: int):
    """Images 1..n registered; the first n_labels/2 labelled for both tasks by two annotators."""
    from celeba_tui.synth.dataset import SynthSpec, image_name, render_one

    images = root / "images"
    images.mkdir(parents=True)
    labelled = n_labels // 2
    for index in range(labelled + 1, labelled + 1 + n_files):
        (images / image_name(index)).write_bytes(render_one(index, SynthSpec()).jpeg)
    workspace = create_workspace(root / "ws", images)
    names = [image_name(i) for i in range(1, n_images + 1)]
    rng = np.random.default_rng(0)
    classes = np.array(["left", "center", "right"])
    with workspace.open_store(create=True) as store:
        store.register_images(names)
        frame = pd.DataFrame(
            {
                "image": np.repeat(names[:labelled], 2),
                "task": np.tile(["light", "orientation"], labelled),
                "label": classes[rng.integers(0, 3, 2 * labelled)],
                "annotator": np.where(np.arange(2 * labelled) % 4 < 2, "ann", "bob"),
                "source": "human",
            }
        )
        store.add_labels(frame, skip_unchanged=False)
    return workspace


def time_queue_build(workspace, repeats: int = 3) -> tuple[float, int]:
    with workspace.open_store() as store:
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            built = QUEUES["unlabelled"].build(store, workspace, "ann", workspace.tasks, QueueOptions())
            seconds.append(time.perf_counter() - started)
    return min(seconds), len(built.items)


def time_first_page(workspace, repeats: int = 3) -> float:
    with workspace.open_store() as store:
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            QUEUES["unlabelled"].first_page(store, workspace, "ann", workspace.tasks, QueueOptions(), 50)
            seconds.append(time.perf_counter() - started)
    return min(seconds)


class Tmux:
    def __init__(self, command: str):
        self.socket = f"celeba-bench-{os.getpid()}"
        self.run("new-session", "-d", "-s", "b", "-x", "120", "-y", "40", command)
        self.socket_path = self.run("display-message", "-p", "#{socket_path}").strip()

    def run(self, *args):
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "b")

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        if self.socket_path:  # a server that exited leaves its socket file behind
            Path(self.socket_path).unlink(missing_ok=True)


def run_in_tmux(workspace, log: Path, keys: int, pace_s: float) -> dict:
    command = (
        f"cd {REPO} && exec env PYTHONPATH={REPO} TERM=tmux-256color COLORTERM=truecolor "
        f"{sys.executable} -m celeba_tui label -w {workspace.path} -a bench --renderer halfcell --timing-log {log}"
    )
    started = time.monotonic()
    tmux = Tmux(command)
    try:
        while not (log.exists() and any(r["kind"] == "startup" for r in read_timing_log(log))):
            time.sleep(0.005)
        first_image_s = time.monotonic() - started
        # Keys are timed once start-up work is over (the queue is counted in the background
        # after the first image; an annotator looks at that image for longer than this).
        while not any(r["kind"] == "queue_full" for r in read_timing_log(log)):
            time.sleep(0.01)
        time.sleep(0.3)
        outside = []
        for press in range(keys):
            before = _image_on_screen(tmux.screen())
            sent = time.monotonic()
            tmux.run("send-keys", "-t", "b", "d")
            if press % 2 == 1:  # the second task's answer brings the next image
                while _image_on_screen(tmux.screen()) == before:
                    time.sleep(0.001)
                outside.append(time.monotonic() - sent)
            time.sleep(pace_s)
        tmux.run("send-keys", "-t", "b", "q")
        time.sleep(0.5)
    finally:
        tmux.close()
    records = read_timing_log(log)
    kinds = ("image", "question", "startup", "queue", "queue_full")
    by_kind = {kind: [r["ms"] for r in records if r["kind"] == kind] for kind in kinds}
    by_kind.update(
        {
            f"{kind}_cpu": [r["cpu_ms"] for r in records if r["kind"] == kind]
            for kind in ("image", "question", "startup")
        }
    )
    return {"first_image_s": first_image_s, "outside_ms": [s * 1000 for s in outside], **by_kind}


def _image_on_screen(screen: str) -> str:
    for word in screen.split():
        if word.endswith(".jpg"):
            return word
    return ""


def strip_vs_textual_image(workspace) -> tuple[float, float]:
    """ms to turn one decoded image into half-block rows: ours vs textual-image's HalfcellImage."""
    from rich.console import Console
    from rich.style import Style

    from celeba_tui.tui.image_prep import decode_for_display, render_pixels
    from celeba_tui.tui.widgets import half_block_image
    from celeba_tui.tui.widgets.half_block_image import halfblock_strips

    paths = sorted(workspace.image_root.iterdir())[:20]
    ours, theirs = [], []
    console = Console(width=74, height=39, color_system="truecolor", file=open(os.devnull, "w"))
    from PIL import Image
    from textual_image.renderable.halfcell import Image as HalfcellRenderable

    for path in paths:
        source = decode_for_display(path)
        half_block_image._STYLE_CACHE.clear()  # every new image pays for its styles
        started = time.perf_counter()
        halfblock_strips(render_pixels(source, (74, 78), "original", False), 74, 39, Style())
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        list(console.render(HalfcellRenderable(Image.fromarray(source), width=64, height=39)))
        theirs.append(time.perf_counter() - started)
    return statistics.median(ours) * 1000, statistics.median(theirs) * 1000


def time_presence(workspace, others: int = 8) -> tuple[float, float]:
    """ms to ask who else is on an image (read before each image is shown) with `others`
    other sessions labelling the workspace, each on an image of its own; and ms to take an
    image (`presence.claim`: the same question and this session's note, under the turn lock)."""
    import contextlib

    from celeba_tui.labelling.presence import claim, someone_else_on
    from celeba_tui.labelling.session_lock import annotator_session

    with contextlib.ExitStack() as stack:
        for index in range(others):
            stack.enter_context(annotator_session(workspace.path, f"other{index}")).announce(f"{index:06d}.jpg")
        assert someone_else_on(workspace.path, "bench", "000001.jpg") == "other1"
        mine = stack.enter_context(annotator_session(workspace.path, "bench"))
        asked, taken = [], []
        for round_ in range(200):
            started = time.perf_counter()
            someone_else_on(workspace.path, "bench", "999999.jpg")
            asked.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert claim(workspace.path, "bench", f"{900000 + round_}.jpg", mine.announce) is None
            taken.append(time.perf_counter() - started)
    return statistics.median(asked) * 1000, statistics.median(taken) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--labels", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=120)
    parser.add_argument("--pace", type=float, default=0.25, help="seconds between key presses")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="celeba-tui-bench-"))
    try:
        started = time.perf_counter()
        workspace = build_workspace(root, args.images, args.labels, n_files=args.keys // 2 + 10)
        print(f"store: {args.images:,} images, {args.labels:,} labels (built in {time.perf_counter() - started:.1f} s)")
        seconds, pending = time_queue_build(workspace)
        print(
            f"unlabelled queue, whole build (in-process, best of 3): {seconds * 1000:.0f} ms for {pending:,} pending images"
        )
        page = time_first_page(workspace)
        print(f"unlabelled queue, first page of 50 (what start-up waits for): {page * 1000:.0f} ms")
        asked, taken = time_presence(workspace)
        print(
            f"who else is on an image, 8 others labelling: {asked:.2f} ms to ask; "
            f"{taken:.2f} ms to take it (asked and said under the turn lock, before each image)"
        )
        ours, theirs = strip_vs_textual_image(workspace)
        print(
            f"one image to half-block rows: ours {ours:.1f} ms vs textual-image HalfcellImage {theirs:.1f} ms ({theirs / ours:.1f}x)"
        )
        if shutil.which("tmux") is None:
            print("tmux not installed: skipping the terminal measurements")
            return
        result = run_in_tmux(workspace, root / "timing.jsonl", args.keys, args.pace)
        print(
            f"start-up to first image (process start, measured outside): {result['first_image_s']:.2f} s (target <= 1.5 s)"
        )
        print(
            f"  in-app: first page of the queue {result['queue'][0]:.0f} ms, app start to first image painted "
            f"{result['startup'][0]:.0f} ms, whole queue counted (background) {result['queue_full'][0]:.0f} ms"
        )
        images, questions, outside = result["image"], result["question"], result["outside_ms"]
        print(
            f"key -> next image painted (timing log, n={len(images)}): median {statistics.median(images):.1f} ms, "
            f"p95 {percentile(images, 95):.1f} ms (targets 40 / 60 ms)"
        )
        print(
            f"key -> next question painted (same image, n={len(questions)}): median {statistics.median(questions):.1f} ms, p95 {percentile(questions, 95):.1f} ms"
        )
        cpu = result["image_cpu"]
        print(
            f"process CPU time spent from key to painted image: median {statistics.median(cpu):.1f} ms, "
            f"p95 {percentile(cpu, 95):.1f} ms (what the work costs, whatever else the machine runs)"
        )
        print(
            f"process CPU time from process start to first image (imports included): {result['startup_cpu'][0]:.0f} ms"
        )
        print(f"machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(
            f"cross-check from outside (tmux send-keys -> capture-pane shows the new name, n={len(outside)}): "
            f"median {statistics.median(outside):.1f} ms, p95 {percentile(outside, 95):.1f} ms "
            f"(includes tmux round trips; ratio outside/inside {statistics.median(outside) / statistics.median(images):.2f})"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
