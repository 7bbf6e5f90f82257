"""10,000 generated inputs per importer through the fuzz suite's property.

    python benchmarks/fuzz.py                   # 10,000 per importer
    python benchmarks/fuzz.py --count 500       # a quick look

The inputs and the property are tests/reliability/fuzz_inputs.py's, the ones the default
test run tries a few dozen of: every input either imports or raises CelebaError with a
one-line message, and a refused input leaves the store as it was. Importers: the study's
one-hot CSV, long CSV, Parquet, and arbitrary bytes (whatever `celeba import` detects them
as); each through `import_labels` into one real store. CelebA's text files are read by no
command, but their readers get the same treatment (without a store). Prints, per importer,
the inputs tried, how many imported, how many were refused with CelebaError, any other
outcome (an exception or a broken property: must be 0, each printed) and the time. Exit
status 1 when any other outcome occurred.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

from reliability.fuzz_inputs import (  # noqa: E402  (tests/ is put on the path above)
    ANNOTATOR_ARG,
    attempt,
    celeba_txt_files,
    long_files,
    onehot_files,
    parquet_files,
    read_celeba_txt,
)

from celeba_tui.store.registration import register_images  # noqa: E402
from celeba_tui.workspace import create_workspace  # noqa: E402

IMPORTERS = {
    "one-hot CSV": (onehot_files(), lambda data: data.encode()),
    "long CSV": (long_files(), lambda data: data.encode()),
    "Parquet": (parquet_files(), lambda data: data),
    "any bytes": (st.binary(max_size=300), lambda data: data),
}


def workspace_in(folder: Path):
    images = folder / "images"
    images.mkdir(parents=True)
    for i in (1, 2):
        (images / f"{i:06d}.jpg").write_bytes(b"\xff\xd8\xff")  # names only: nothing decodes them
    ws = create_workspace(folder / "ws", images)
    with ws.open_store(create=True) as store:
        register_images(store, ws.image_root)
    return ws


def fuzz(count: int, first_seed: int, strategy, check) -> tuple[Counter, list[str]]:
    """Run `check(data, annotator)` on `count` generated inputs; tally its outcomes.

    Hypothesis can stop short of max_examples (a small input space): it is run again
    with the next seed until `count` inputs were tried.
    """
    tally: Counter = Counter()
    others: list[str] = []
    run = first_seed
    while sum(tally.values()) < count:

        @seed(run)
        @settings(
            max_examples=count - sum(tally.values()),
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy, ANNOTATOR_ARG)
        def one(data, annotator):
            if sum(tally.values()) >= count:
                return
            try:
                tally["imported" if check(data, annotator) else "refused"] += 1
            except Exception as exc:  # noqa: BLE001  (what this benchmark counts)
                tally["other"] += 1
                others.append(f"{type(exc).__name__}: {str(exc)[:300]!r} on {str(data)[:200]!r}")

        one()
        run += 1
    return tally, others


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="inputs per importer")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows, failures = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for number, (name, (strategy, as_bytes)) in enumerate(IMPORTERS.items()):
            ws = workspace_in(Path(tmp) / str(number))
            path = Path(tmp) / f"input-{number}"
            with ws.open_store() as store:

                def check(data, annotator, store=store, ws=ws, path=path, as_bytes=as_bytes):
                    path.write_bytes(as_bytes(data))
                    return attempt(store, ws, path, annotator)

                start = time.perf_counter()
                tally, others = fuzz(args.count, args.seed, strategy, check)
            rows.append((name, tally, time.perf_counter() - start))
            failures += [f"{name}: {o}" for o in others]
        path = Path(tmp) / "celeba.txt"
        start = time.perf_counter()
        tally, others = fuzz(args.count, args.seed, celeba_txt_files(), lambda data, _: read_celeba_txt(path, data))
        rows.append(("CelebA txt (reader)", tally, time.perf_counter() - start))
        failures += [f"CelebA txt: {o}" for o in others]
    print(f"{'importer':<22}{'inputs':>8}{'imported':>10}{'CelebaError':>13}{'other':>7}{'seconds':>9}")
    for name, tally, seconds in rows:
        print(
            f"{name:<22}{sum(tally.values()):>8,}{tally['imported']:>10,}{tally['refused']:>13,}"
            f"{tally['other']:>7,}{seconds:>9.1f}"
        )
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
