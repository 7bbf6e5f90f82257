"""The four things `benchmarks/crash.py` kills with SIGKILL, and the invariants checked after each kill.

Each `crash_*` function builds its own small workspace under `root`, kills the real
process (the CLI through `python -m celeba_tui`, or the real Textual app headless) at
random moments drawn from `rng`, reads the store back with plain SQL after every kill,
and returns a `TargetResult`: the kill moments, what state each kill left, and every
invariant that did not hold (with enough detail to reproduce it). Nothing here works
around a fault it finds: a violation is recorded and the run goes on.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The test helpers (the headless annotator, tiny JPEGs, ONNX oracles) are reused as they are.
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

HEADLESS = REPO / "tests" / "reliability" / "headless_annotator.py"
REVIEWER = REPO / "benchmarks" / "crash_reviewer.py"
CLASSES = ("left", "center", "right")
TASKS = ("light", "orientation")
START_TIMEOUT_S = 180.0
RUN_TIMEOUT_S = 600.0


@dataclass
class TargetResult:
    """What happened to one target: a kill moment per kill, the state each left, the violations."""

    target: str
    moment_origin: str  # what the kill moments count from
    moments: list[float] = field(default_factory=list)
    states: Counter = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def kills(self) -> int:
        return len(self.moments)

    def violation(self, kill: int | None, text: str) -> None:
        where = "final check" if kill is None else f"kill {kill + 1} at {self.moments[kill]:.2f} s"
        self.violations.append(f"{self.target}, {where}: {text}")


# -- processes and stores --------------------------------------------------------------


def celeba(*args: str) -> list[str]:
    return [sys.executable, "-m", "celeba_tui", *map(str, args)]


def start(command: list[str], stderr: Path) -> subprocess.Popen:
    """Start a process with stderr to a file (a pipe nobody reads can fill and stall it)."""
    with open(stderr, "ab") as err:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)


def kill_after(proc: subprocess.Popen, seconds: float) -> bool:
    """SIGKILL `proc` `seconds` from now; False when it finished first."""
    try:
        proc.wait(timeout=max(seconds, 0.0))
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def kill_when(proc: subprocess.Popen, seen) -> tuple[bool, float]:
    """SIGKILL `proc` as soon as `seen()` is true: (killed, seconds since the call); not killed when it finished first.

    Polls every 10 ms, so the kill lands within a few milliseconds of the commit it waits for.
    """
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < RUN_TIMEOUT_S:
        if seen():
            return kill_after(proc, 0), time.monotonic() - started
        time.sleep(0.01)
    return kill_after(proc, 0), time.monotonic() - started


def run_to_end(command: list[str], stderr: Path) -> tuple[int, float, str]:
    """(exit status, seconds, stderr) of an uninterrupted run."""
    started = time.monotonic()
    proc = start(command, stderr)
    rc = proc.wait(timeout=RUN_TIMEOUT_S)
    return rc, time.monotonic() - started, stderr.read_text(errors="replace")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 60000")
    return conn


def integrity(path: Path) -> str:
    conn = connect(path)
    try:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


def max_label_id(path: Path) -> int:
    conn = connect(path)
    try:
        return conn.execute("SELECT COALESCE(MAX(id), 0) FROM labels").fetchone()[0]
    finally:
        conn.close()


def restore(pristine: Path, store_path: Path) -> None:
    """Put a saved store back; a killed writer's WAL must not be replayed onto it.

    A new file rather than a copy over the old one: SQLite keeps per-file state in a
    process by inode, so a fresh inode cannot meet anything left of the old store.
    """
    for suffix in ("-wal", "-shm", ""):
        store_path.with_name(store_path.name + suffix).unlink(missing_ok=True)
    shutil.copy(pristine, store_path)


def check_integrity(result: TargetResult, kill: int | None, store_path: Path) -> None:
    verdict = integrity(store_path)
    if verdict != "ok":
        result.violation(kill, f"PRAGMA integrity_check: {verdict}")


def write_images(folder: Path, count: int) -> Path:
    from reliability.hostile_images import face, jpeg_bytes

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"{i:06d}.jpg").write_bytes(jpeg_bytes(face(i, (16, 16))))
    return folder


def new_workspace(path: Path, images: Path):
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace

    workspace = create_workspace(path, images)
    with workspace.open_store(create=True) as store:
        register_images(store, workspace.image_root)
    return workspace


# -- (a) the labelling app ---------------------------------------------------------------

LABEL_IMAGES = 600
LABEL_ANNOTATOR = "ann"
LABEL_KILL_WINDOW_S = 2.5


def crash_labelling(root: Path, kills: int, rng: random.Random) -> TargetResult:
    """The real Textual app, headless, keys scripted; one annotator resuming after every kill."""
    from reliability.headless_annotator import read_log

    result = TargetResult("celeba label (headless TUI)", "the first logged decision")
    workspace = new_workspace(root / "ws", write_images(root / "images", LABEL_IMAGES))
    logged_actions = []
    for kill in range(kills):
        log, err = root / f"kill{kill}.jsonl", root / f"kill{kill}.err"
        before = max_label_id(workspace.store_path)
        proc = start(
            [
                sys.executable,
                str(HEADLESS),
                str(workspace.path),
                LABEL_ANNOTATOR,
                "600",
                str(log),
                str(rng.randrange(1 << 30)),
            ],
            err,
        )
        if not wait_for_first_line(proc, log):
            result.moments.append(0.0)
            result.violation(
                kill,
                f"the annotator exited ({proc.returncode}) before labelling: {err.read_text(errors='replace')[-300:]}",
            )
            proc.kill()
            proc.wait()
            continue
        at = rng.uniform(0.0, LABEL_KILL_WINDOW_S)
        result.moments.append(at)
        killed = kill_after(proc, at)
        records = read_log(log)
        finished = bool(records) and records[-1].get("op") == "finished"
        if not killed and not finished:
            result.violation(
                kill, f"the annotator exited ({proc.returncode}) on its own: {err.read_text(errors='replace')[-300:]}"
            )
        logged_actions.append(sum(r["op"] in ("label", "undo") for r in records))
        in_flight = check_labelling_kill(result, kill, workspace.store_path, records, before)
        result.states[
            "finished first"
            if finished
            else "exited first"
            if not killed
            else "one row committed, not yet logged"
            if in_flight
            else "every row logged"
        ] += 1
        check_integrity(result, kill, workspace.store_path)
        check_no_question_answered_twice(result, kill, workspace.store_path)
    if logged_actions:
        result.notes.append(
            f"logged actions per kill {min(logged_actions)}-{max(logged_actions)} ({sum(logged_actions)} in all)"
        )
    return result


def wait_for_first_line(proc: subprocess.Popen, log: Path) -> bool:
    started = time.monotonic()
    while not (log.exists() and log.stat().st_size):
        if proc.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
            return False
        time.sleep(0.02)
    return True


def check_labelling_kill(result: TargetResult, kill: int, store_path: Path, records: list[dict], before: int) -> int:
    """Every logged decision and undo stored as logged; at most one row more. Returns the extra rows."""
    from reliability.headless_annotator import replay

    labels, undone = replay(records)
    conn = connect(store_path)
    try:
        rows = conn.execute(
            "SELECT l.id, i.name, l.task, l.label, a.name, l.revokes FROM labels l "
            "JOIN images i ON i.id = l.image_id JOIN annotators a ON a.id = l.annotator_id WHERE l.id > ?",
            (before,),
        ).fetchall()
    finally:
        conn.close()
    foreign = [r for r in rows if r[4] != LABEL_ANNOTATOR]
    if foreign:
        result.violation(kill, f"rows by another annotator appeared: {foreign[:3]}")
    stored = {r[0]: (r[1], r[2], r[3]) for r in rows if r[3] is not None}
    revoked = [r[5] for r in rows if r[5] is not None]
    lost = sorted(set(labels) - set(stored))
    if lost:
        result.violation(kill, f"{len(lost)} logged decisions missing from the store, e.g. {lost[:5]}")
    wrong = [i for i in set(labels) & set(stored) if stored[i] != labels[i]]
    if wrong:
        result.violation(kill, f"stored differently from the log: {[(i, stored[i], labels[i]) for i in wrong[:3]]}")
    if len(revoked) != len(set(revoked)):
        result.violation(kill, f"a decision was undone twice: {sorted(revoked)}")
    if undone - set(revoked):
        result.violation(kill, f"logged undos missing from the store: {sorted(undone - set(revoked))}")
    extra = len(set(stored) - set(labels)) + len(set(revoked) - undone)
    if extra > 1:
        result.violation(kill, f"{extra} rows committed but never logged (at most 1 may be in flight at a kill)")
    return extra


def check_no_question_answered_twice(result: TargetResult, kill: int, store_path: Path) -> None:
    """No (image, task) holds two unrevoked decisions of the annotator: nothing stored twice."""
    conn = connect(store_path)
    try:
        twice = conn.execute(
            "SELECT i.name, l.task, COUNT(*) FROM labels l JOIN images i ON i.id = l.image_id "
            "JOIN annotators a ON a.id = l.annotator_id WHERE a.name = ? AND l.label IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM labels u WHERE u.revokes = l.id) "
            "GROUP BY l.image_id, l.task HAVING COUNT(*) > 1",
            (LABEL_ANNOTATOR,),
        ).fetchall()
    finally:
        conn.close()
    if twice:
        result.violation(kill, f"{len(twice)} questions hold two live decisions, e.g. {twice[:3]}")


# -- (b) import of a large file -----------------------------------------------------------

IMPORT_ROWS = 30_000  # per file; two files per command, two tasks per row
IMPORT_ANNOTATOR = "imp"
# One-hot columns: light L C R, orientation L C R. The files differ in every label, so
# the second file's rows are all new (an import skips labels that are already live).
IMPORT_FILES = {
    "first": ("1,0,0,0,1,0", {("light", "left"), ("orientation", "center")}),
    "second": ("0,0,1,1,0,0", {("light", "right"), ("orientation", "left")}),
}


def crash_import(root: Path, kills: int, rng: random.Random) -> TargetResult:
    """`celeba import first.csv second.csv` of 60,000 one-hot rows: each file all or nothing."""
    result = TargetResult(f"celeba import (2 files x {IMPORT_ROWS:,} rows)", "the command's start")
    workspace = new_workspace(root / "ws", write_images(root / "images", 4))
    files = []
    for name, (cells, _) in IMPORT_FILES.items():
        path = root / f"{name}.csv"
        path.write_text("".join(f"{i:06d}.jpg,{cells}\n" for i in range(1, IMPORT_ROWS + 1)))
        files.append(path)
    command = celeba("import", *files, "--annotator", IMPORT_ANNOTATOR, "-w", workspace.path)
    pristine = root / "pristine.sqlite"
    shutil.copy(workspace.store_path, pristine)
    rc, seconds, err = run_to_end(command, root / "reference.err")
    if rc != 0 or import_state(workspace.store_path) != ("all", "all"):
        result.violation(None, f"the uninterrupted import did not import both files (exit {rc}): {err[-300:]}")
    result.notes.append(f"uninterrupted import {seconds:.1f} s")
    for kill in range(kills):
        restore(pristine, workspace.store_path)
        proc = start(command, root / f"kill{kill}.err")
        if kill % 3 == 2:
            # A targeted point: right after the first rows appear (the first file's commit, so in
            # the second file's work, unless the command is one transaction).
            killed, at = kill_when(proc, lambda: import_state(workspace.store_path)[0] != "none")
        else:
            at = rng.uniform(0.2, seconds)
            killed = kill_after(proc, at)
        result.moments.append(at)
        finished = not killed
        state = import_state(workspace.store_path)
        if "partial" in state[0] or "partial" in state[1] or state == ("none", "all"):
            result.violation(kill, f"partial import: first file {state[0]}, second file {state[1]}")
        result.states[
            "finished first"
            if finished
            else {
                ("none", "none"): "nothing imported",
                ("all", "none"): "first file only",
                ("all", "all"): "both files",
            }.get(state, "partial")
        ] += 1
        check_integrity(result, kill, workspace.store_path)
    return result


def import_state(store_path: Path) -> tuple[str, str]:
    """Per file: all, none, or partial (with the counts found)."""
    conn = connect(store_path)
    try:
        counts = dict(
            ((task, label), n)
            for task, label, n in conn.execute(
                "SELECT l.task, l.label, COUNT(*) FROM labels l JOIN annotators a ON a.id = l.annotator_id "
                "WHERE a.name = ? GROUP BY l.task, l.label",
                (IMPORT_ANNOTATOR,),
            )
        )
    finally:
        conn.close()
    states = []
    for _, keys in IMPORT_FILES.values():
        found = [counts.pop(key, 0) for key in sorted(keys)]
        states.append("all" if found == [IMPORT_ROWS] * len(keys) else "none" if not any(found) else f"partial {found}")
    if counts:
        states[1] += f" partial (unexpected rows {counts})"
    return states[0], states[1]


# -- (c) merge beside a reviewer -----------------------------------------------------------

MERGE_IMAGES = 1000
POLICIES = {"merge:prefer:annx": "prefer:annx", "merge:prefer:anny": "prefer:anny"}


def merge_labels_of(i: int, t: int) -> tuple[str, str]:
    """(annx, anny) for image i, task t: they agree on a third of the questions."""
    x = CLASSES[(i + t) % 3]
    return x, x if i % 3 == 0 else CLASSES[(i + t + 1) % 3]


def crash_merge(root: Path, kills: int, rng: random.Random) -> TargetResult:
    """`celeba merge --policy prefer:annx|prefer:anny` killed at random while a reviewer decides conflicts."""
    import pandas as pd

    result = TargetResult("celeba merge + concurrent reviewer", "the command's start")
    workspace = new_workspace(root / "ws", write_images(root / "images", 1))
    names = [f"m{i:06d}.jpg" for i in range(MERGE_IMAGES)]
    rows = [(name, task, *merge_labels_of(i, t)) for i, name in enumerate(names) for t, task in enumerate(TASKS)]
    preferred = {(image, task): {"merge:prefer:annx": x, "merge:prefer:anny": y} for image, task, x, y in rows}
    conflicts = sorted(key for key, labels in preferred.items() if len(set(labels.values())) > 1)
    with workspace.open_store() as store:
        store.register_images(names)
        for column, annotator in ((2, "annx"), (3, "anny")):
            store.add_labels(
                pd.DataFrame(
                    {
                        "image": [r[0] for r in rows],
                        "task": [r[1] for r in rows],
                        "label": [r[column] for r in rows],
                        "annotator": annotator,
                        "source": "human",
                    }
                )
            )
    keys_file = root / "conflicts.json"
    keys_file.write_text(json.dumps(conflicts))
    store_path = workspace.store_path

    review_log = root / "review.jsonl"
    reviewer = start(
        [sys.executable, str(REVIEWER), str(store_path), str(keys_file), str(review_log), str(rng.randrange(1 << 30))],
        root / "reviewer.err",
    )
    overridden: dict[tuple[str, str], str] = {}
    last = "merge:prefer:annx"
    try:
        # The first merge runs to its end (timed beside the reviewer, as the killed ones run).
        rc, seconds, err = run_to_end(
            celeba("merge", "--policy", "prefer:annx", "-w", workspace.path), root / "first.err"
        )
        if rc != 0:
            result.violation(None, f"the first, uninterrupted merge failed (exit {rc}): {err[-300:]}")
        result.notes.append(f"uninterrupted merge {seconds:.1f} s; {len(conflicts)} conflicts")
        for kill in range(kills):
            # The other policy than the last committed one, so every merge that commits rewrites
            # every unreviewed conflict (an unchanged plan writes nothing and races with nobody).
            policy = other_policy(last)
            before = max_label_id(store_path)
            proc = start(celeba("merge", "--policy", policy, "-w", workspace.path), root / f"kill{kill}.err")
            if kill % 3 == 2:
                # A targeted point: right after the merge's commit, before the process exits.
                killed, at = kill_when(proc, lambda before=before: max_merge_id(store_path) > before)
            else:
                # Start-up (imports) is most of a run; its second half holds the reads, the
                # policy and the write transaction, and a little after it the exit.
                at = rng.uniform(0.4 * seconds, 1.3 * seconds)
                killed = kill_after(proc, at)
            result.moments.append(at)
            finished = not killed
            if finished and proc.returncode != 0:
                result.violation(
                    kill,
                    f"merge exited {proc.returncode}: {(root / f'kill{kill}.err').read_text(errors='replace')[-300:]}",
                )
            state = merge_state(store_path, before, conflicts, preferred)
            committed = (
                "finished first"
                if finished
                else "killed after its commit"
                if state.committed
                else "killed before its commit"
            )
            result.states[committed] += 1
            last = report_merge_state(result, kill, state, last, overridden)
            check_integrity(result, kill, store_path)
    finally:
        reviewer.send_signal(signal.SIGTERM)
        reviewer.wait(timeout=60)
    rc, _, err = run_to_end(celeba("merge", "--policy", other_policy(last), "-w", workspace.path), root / "final.err")
    if rc != 0:
        result.violation(None, f"the last, uninterrupted merge failed (exit {rc}): {err[-300:]}")
    report_merge_state(result, None, merge_state(store_path, 0, conflicts, preferred), last, overridden)
    check_reviewer_log(result, store_path, review_log, reviewer.returncode)
    if overridden:
        still = merge_state(store_path, 0, conflicts, preferred).overridden
        result.notes.append(
            f"person's review overruled by a merge: {len(overridden)} (image, task) keys over the "
            f"run, {len(still)} still at the end; e.g. {sorted(overridden.items())[:2]}"
        )
    return result


def max_merge_id(store_path: Path) -> int:
    conn = connect(store_path)
    try:
        return conn.execute(
            "SELECT COALESCE(MAX(l.id), 0) FROM labels l JOIN annotators a ON a.id = l.annotator_id "
            "WHERE a.name LIKE 'merge:%'"
        ).fetchone()[0]
    finally:
        conn.close()


def other_policy(last: str) -> str:
    """The policy that is not the one whose rows the last committed merge left."""
    return next(policy for annotator, policy in POLICIES.items() if annotator != last)


@dataclass(frozen=True)
class MergeState:
    committed: bool  # a merge row was written after the snapshot id
    merge_annotators: set[str]  # whose live rows hold the unreviewed conflicts
    missing: int  # unreviewed conflicts without a live merge row
    doubled: int  # unreviewed conflicts with two live merge rows
    wrong_label: int  # merge rows whose label is not the preferred annotator's
    # (image, task) -> detail, where a merge row is newer than the person's decision or the
    # current label is not the person's
    overridden: dict


def merge_state(store_path: Path, before: int, conflicts: list, preferred: dict) -> MergeState:
    """Read the store in one snapshot (the reviewer keeps writing) and take the merge's state apart."""
    conn = connect(store_path)
    try:
        conn.execute("BEGIN")
        live = conn.execute(
            "SELECT i.name, lv.task, a.name, lv.label_id, lv.label FROM live lv JOIN images i ON i.id = lv.image_id "
            "JOIN annotators a ON a.id = lv.annotator_id WHERE lv.source = 'review'"
        ).fetchall()
        current = {
            (image, task): label
            for image, task, label in conn.execute(
                "SELECT i.name, c.task, c.label FROM current c JOIN images i ON i.id = c.image_id"
            )
        }
        committed = (
            conn.execute(
                "SELECT COUNT(*) FROM labels l JOIN annotators a ON a.id = l.annotator_id "
                "WHERE l.id > ? AND a.name LIKE 'merge:%'",
                (before,),
            ).fetchone()[0]
            > 0
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    by_key: dict[tuple[str, str], list] = defaultdict(list)
    for image, task, annotator, label_id, label in live:
        by_key[(image, task)].append((label_id, annotator, label))
    person = {key for key, rows in by_key.items() if any(not a.startswith("merge:") for _, a, _ in rows)}
    merged = [[r for r in by_key.get(key, []) if r[1].startswith("merge:")] for key in conflicts if key not in person]
    wrong = sum(
        1
        for key in conflicts
        if key not in person
        for _, a, label in by_key.get(key, [])
        if a.startswith("merge:") and preferred[key][a] != label
    )
    overridden = {}
    for key in person:
        newest = max(by_key[key])
        mine = max(r for r in by_key[key] if not r[1].startswith("merge:"))
        if newest[1].startswith("merge:") or current.get(key) != mine[2]:
            overridden[key] = (
                f"person's row {mine[0]} ({mine[2]}), newest review row {newest[0]} by {newest[1]} "
                f"({newest[2]}); current label {current.get(key)}"
            )
    return MergeState(
        committed,
        {r[1] for rows in merged for r in rows},
        sum(not rows for rows in merged),
        sum(len(rows) > 1 for rows in merged),
        wrong,
        overridden,
    )


def report_merge_state(result: TargetResult, kill: int | None, state: MergeState, last: str, overridden: dict) -> str:
    """Record what does not hold; returns the policy annotator of the last committed merge."""
    if state.missing or state.doubled or len(state.merge_annotators) != 1:
        result.violation(
            kill,
            f"partial merge: {state.missing} unreviewed conflicts without a merge row, "
            f"{state.doubled} with two, merge annotators {sorted(state.merge_annotators)}",
        )
    if state.wrong_label:
        result.violation(kill, f"{state.wrong_label} merge rows do not carry the preferred annotator's label")
    new = {key: detail for key, detail in state.overridden.items() if key not in overridden}
    if new:
        key, detail = next(iter(new.items()))
        result.violation(
            kill,
            f"a person's review decision overruled (a newer merge row, or not the current "
            f"label) on {len(new)} new (image, task) keys, e.g. {key}: {detail}",
        )
        overridden.update(new)
    return next(iter(state.merge_annotators)) if len(state.merge_annotators) == 1 else last


def check_reviewer_log(result: TargetResult, store_path: Path, log: Path, returncode: int | None) -> None:
    """The reviewer's logged decisions are its rows in the store, each exactly once."""
    from reliability.headless_annotator import read_log

    if returncode != 0:
        result.violation(None, f"the reviewer exited {returncode}: see reviewer.err")
    logged = {r["id"]: (r["image"], r["task"], r["label"]) for r in read_log(log)}
    conn = connect(store_path)
    try:
        stored = {
            i: (image, task, label)
            for i, image, task, label in conn.execute(
                "SELECT l.id, i.name, l.task, l.label FROM labels l JOIN images i ON i.id = l.image_id "
                "JOIN annotators a ON a.id = l.annotator_id WHERE a.name = 'rev'"
            )
        }
    finally:
        conn.close()
    if stored != logged:
        result.violation(
            None,
            f"reviewer rows differ from its log: {len(set(logged) - set(stored))} missing, "
            f"{len(set(stored) - set(logged))} unlogged, "
            f"{sum(stored[i] != logged[i] for i in set(stored) & set(logged))} changed",
        )
    result.notes.append(f"reviewer decisions stored: {len(stored)}")


# -- (d) autolabel ------------------------------------------------------------------------

AUTOLABEL_IMAGES = 5000  # more than one flush of predictions (8,192 rows: 4,096 images x 2 models)
AUTOLABEL_HUMAN = 40
KILLS_PER_ROUND = 3


def crash_autolabel(root: Path, kills: int, rng: random.Random) -> TargetResult:
    """`celeba autolabel` killed up to three times in a row, then resumed: equal to an uninterrupted run."""
    from onnx_models import export_oracle

    result = TargetResult(f"celeba autolabel ({AUTOLABEL_IMAGES:,} images, 2 models)", "the command's start")
    images = write_images(root / "images", AUTOLABEL_IMAGES)
    models = [export_oracle(root / "sharp.onnx", 12.0), export_oracle(root / "soft.onnx", 4.0, name="soft")]
    reference, crashed = (labelled_workspace(root / name, images) for name in ("reference", "crashed"))

    def command(workspace) -> list[str]:
        return celeba(
            "autolabel",
            "--models",
            *models,
            "--high",
            "0.95",
            "--batch-size",
            "32",
            "--workers",
            "1",
            "-w",
            workspace.path,
            "--json",
        )

    rc, seconds, err = run_to_end(command(reference), root / "reference.err")
    if rc != 0:
        result.violation(None, f"the uninterrupted run failed (exit {rc}): {err[-300:]}")
        return result
    want = autolabel_state(reference.store_path)
    result.notes.append(
        f"uninterrupted run {seconds:.1f} s: {len(want['predictions'])} predictions, "
        f"{sum(r[4] == 'model' for r in want['live'])} automatic labels"
    )
    pristine = root / "pristine.sqlite"
    shutil.copy(crashed.store_path, pristine)
    rounds = 0
    while result.kills < kills:
        rounds += 1
        restore(pristine, crashed.store_path)
        for step in range(min(KILLS_PER_ROUND, kills - result.kills)):
            kill = result.kills
            predictions_before, last_label = progress(crashed.store_path)[0], max_label_id(crashed.store_path)
            proc = start(command(crashed), root / f"kill{kill}.err")
            if step == 1 and progress(crashed.store_path)[0] == 0:
                # A targeted point: right after the first batch of predictions is committed.
                killed, at = kill_when(proc, lambda: progress(crashed.store_path)[0] > 0)
                result.moments.append(at)
                finished = not killed
                what = "after the first flush"
            elif step == 2 and progress(crashed.store_path)[1] == 0:
                # Another seam: every prediction stored, the automatic labels not yet.
                total = len(want["predictions"])
                killed, at = kill_when(proc, lambda total=total: progress(crashed.store_path)[0] >= total)
                result.moments.append(at)
                finished = not killed
                what = "after the last flush"
            else:
                at = rng.uniform(0.3, 1.1 * seconds)
                result.moments.append(at)
                finished = not kill_after(proc, at)
                what = "at random"
            wrote_predictions = progress(crashed.store_path)[0] > predictions_before
            wrote_labels = max_label_id(crashed.store_path) > last_label
            result.states[
                "finished first"
                if finished
                else f"killed {what}, "
                + (
                    "after writing automatic labels"
                    if wrote_labels
                    else "after writing predictions"
                    if wrote_predictions
                    else "before writing"
                )
            ] += 1
            check_integrity(result, kill, crashed.store_path)
            if human_labels(crashed.store_path) != AUTOLABEL_HUMAN:
                result.violation(kill, f"people's labels changed: {human_labels(crashed.store_path)} live")
        rc, _, err = run_to_end(command(crashed), root / f"resume{rounds}.err")
        if rc != 0 or "locked" in err:
            result.violation(result.kills - 1, f"the resumed run failed (exit {rc}): {err[-300:]}")
            continue
        for difference in autolabel_differences(autolabel_state(crashed.store_path), want):
            result.violation(result.kills - 1, f"round {rounds}: the resumed store differs: {difference}")
    result.notes.append(f"{rounds} rounds of up to {KILLS_PER_ROUND} kills, each then resumed to the end")
    return result


def labelled_workspace(path: Path, images: Path):
    import pandas as pd

    workspace = new_workspace(path, images)
    with workspace.open_store() as store:
        names = sorted(store.image_names())[:AUTOLABEL_HUMAN]
        store.add_labels(
            pd.DataFrame(
                {
                    "image": names,
                    "task": "light",
                    "label": [CLASSES[(2 * i) % 3] for i in range(AUTOLABEL_HUMAN)],
                    "annotator": "alice",
                    "source": "human",
                }
            )
        )
    return workspace


def progress(store_path: Path) -> tuple[int, int]:
    """(prediction rows, automatic labels) in the store now."""
    conn = connect(store_path)
    try:
        return (
            conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0],
            conn.execute("SELECT COUNT(*) FROM live WHERE source = 'model'").fetchone()[0],
        )
    finally:
        conn.close()


def human_labels(store_path: Path) -> int:
    conn = connect(store_path)
    try:
        return conn.execute("SELECT COUNT(*) FROM live WHERE source = 'human'").fetchone()[0]
    finally:
        conn.close()


def autolabel_state(store_path: Path) -> dict[str, list[tuple]]:
    conn = connect(store_path)
    try:
        return {
            "predictions": conn.execute(
                "SELECT i.name, p.task, p.model, p.label, p.probs FROM predictions p "
                "JOIN images i ON i.id = p.image_id ORDER BY 1, 2, 3"
            ).fetchall(),
            "live": conn.execute(
                "SELECT i.name, lv.task, lv.label, a.name, lv.source, l.model, l.confidence FROM live lv "
                "JOIN images i ON i.id = lv.image_id JOIN annotators a ON a.id = lv.annotator_id "
                "JOIN labels l ON l.id = lv.label_id ORDER BY 1, 2, 4, 5"
            ).fetchall(),
            "current": conn.execute(
                "SELECT i.name, c.task, c.label, c.status FROM current c JOIN images i ON i.id = c.image_id "
                "ORDER BY 1, 2"
            ).fetchall(),
        }
    finally:
        conn.close()


def autolabel_differences(got: dict, want: dict) -> list[str]:
    """Where a resumed store differs from the uninterrupted one (probabilities within 1e-5)."""
    differences = []
    for table, exact, close in (("predictions", 4, [4]), ("live", 6, [6]), ("current", 4, [])):
        if len(got[table]) != len(want[table]):
            differences.append(f"{table}: {len(got[table])} rows, the uninterrupted run has {len(want[table])}")
            continue
        for g, w in zip(got[table], want[table]):
            if g[:exact] != w[:exact] or any(not near(g[i], w[i]) for i in close):
                differences.append(f"{table}: {g} instead of {w}")
                break
    return differences


def near(a, b) -> bool:
    if isinstance(a, str):
        a, b = json.loads(a), json.loads(b)
    if a is None or b is None:
        return a is None and b is None
    values = zip(a, b) if isinstance(a, list) else [(a, b)]
    return all(abs(float(x) - float(y)) <= 1e-5 for x, y in values)
