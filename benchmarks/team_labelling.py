"""People labelling one queue at once: how much of their work is wasted, with turns and without.

    python benchmarks/team_labelling.py [--images 300] [--people 2 3] [--seed 0]

Simulates a team on the `unlabelled` queue of a real store, without shares (`--assign`):
each person is a real `LabelSession` with a real session lock, answering both tasks of an
image after their own pace (seconds per image, each person's drawn from 4-12 s, each image
jittered by +-50%), on a simulated clock. Events run in time order, so a person is "on"
an image from the moment it is shown until they answer it, as at a terminal.

Two ways, side by side on the same paces:

- without turns: each session only passes over what others already finished (the open
  check before each image);
- with turns (the default): sessions also say which image they show (their lock note)
  and put back an image someone else is on.

Printed per team size: labels given, images labelled twice (a second person's time spent
on an image already being labelled: wasted where no overlap was planned), and the time
the team took to finish the queue.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import random
import shutil
import tempfile
from pathlib import Path

from celeba_tui.labelling import presence
from celeba_tui.labelling.queues import QUEUES, QueueOptions
from celeba_tui.labelling.session import LabelSession
from celeba_tui.labelling.session_lock import annotator_session
from celeba_tui.workspace import create_workspace


def make_workspace(root: Path, n_images: int):
    images = root / "images"
    images.mkdir(parents=True)
    workspace = create_workspace(root / "ws", images)
    with workspace.open_store(create=True) as store:
        store.register_images([f"{i:06d}.jpg" for i in range(1, n_images + 1)])
    return workspace


def simulate(workspace, people: int, *, turns: bool, seed: int) -> dict:
    """Run one team through the whole queue; what they labelled and how long it took."""
    rng = random.Random(seed)
    paces = [rng.uniform(4.0, 12.0) for _ in range(people)]
    queue, options = QUEUES["unlabelled"], QueueOptions()
    with contextlib.ExitStack() as stack:
        store = stack.enter_context(workspace.open_store())
        sessions, clock = [], []
        for index in range(people):
            name = f"person{index + 1}"
            held = stack.enter_context(annotator_session(workspace.path, name))
            built = queue.build(store, workspace, name, workspace.tasks, options)
            sessions.append(
                LabelSession(
                    store,
                    name,
                    workspace.tasks,
                    built.items,
                    total=built.total,
                    open_tasks=lambda item, name=name: queue.open_tasks(store, workspace, name, item, options=options),
                    turns=presence.turns_through_lock(workspace.path, name, held) if turns else presence.ALONE,
                )
            )
            heapq.heappush(clock, (paces[index] * rng.uniform(0.5, 1.5), index))
        finished_at = 0.0
        while clock:
            now, index = heapq.heappop(clock)
            session = sessions[index]
            if session.finished:
                continue
            image = session.current.image
            while session.current is not None and session.current.image == image:
                session.apply(session.record(rng.randrange(3)))
            finished_at = now
            if not session.finished:
                heapq.heappush(clock, (now + paces[index] * rng.uniform(0.5, 1.5), index))
        labels = store.live_labels()
    per_image = labels.groupby("image")["annotator"].nunique()
    return {
        "labels": len(labels),
        "images": int(per_image.size),
        "twice": int((per_image > 1).sum()),
        "minutes": finished_at / 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--people", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"the unlabelled queue of {args.images} images, two tasks, no shares; paces 4-12 s per image")
    for people in args.people:
        results = {}
        for turns in (False, True):
            root = Path(tempfile.mkdtemp(prefix="celeba-team-"))
            try:
                results[turns] = simulate(make_workspace(root, args.images), people, turns=turns, seed=args.seed)
            finally:
                shutil.rmtree(root, ignore_errors=True)
        for turns, r in results.items():
            print(
                f"{people} people, {'with turns   ' if turns else 'without turns'}: {r['images']} images, "
                f"{r['twice']} labelled twice ({r['twice'] / r['images']:.0%}), "
                f"queue done in {r['minutes']:.1f} simulated min"
            )
        before, after = results[False], results[True]
        print(
            f"  {people} people: images labelled twice {before['twice']} -> {after['twice']}; "
            f"time to finish {after['minutes'] / before['minutes']:.2f}x"
        )


if __name__ == "__main__":
    main()
