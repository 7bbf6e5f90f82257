"""Importing label files and other stores into a workspace's store, all or nothing."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from celeba_tui.annotator_names import annotator_kind, annotator_name_problem, newcomer_hint, shown_name
from celeba_tui.console import printable
from celeba_tui.errors import FormatError
from celeba_tui.formats.csv_cells import read_records
from celeba_tui.formats.import_answers import (
    against_given_answers,
    compare_with_stored,
    newest_by_voice,
    older_model_labels,
    received_before_stored,
    refuse_answers_differing_between_files,
    timed_answers,
    voices,
)
from celeba_tui.formats.import_names import PathNames, path_names
from celeba_tui.formats.label_file import read_text, regular_file_info
from celeba_tui.formats.long import read_long_csv, read_parquet_labels
from celeba_tui.formats.onehot import (
    header_tasks,
    looks_like_header,
    onehot_width_hint,
    read_onehot,
    unmatched_header,
)
from celeba_tui.formats.store_source import read_store_source
from celeba_tui.store.answers import answered_details
from celeba_tui.store.label_store import LabelStore
from celeba_tui.vocabulary import MODEL, PEOPLE_SOURCES
from celeba_tui.workspace import Task, Workspace

FORMATS = ("auto", "onehot", "long", "parquet", "store")
_SQLITE_MAGIC = b"SQLite format 3\x00"


SHOWN_UNKNOWN = 3  # names of images not in the image root that the import's warning shows


@dataclass
class ImportReport:
    path: str
    format: str
    rows: int = 0
    written: int = 0
    images: int = 0
    unknown_images: int = 0
    unknown_examples: list[str] = field(default_factory=list)  # the first few of them, by name
    annotators: list[str] = field(default_factory=list)
    per_task: dict[str, dict[str, int]] = field(default_factory=dict)
    merge_labels: int = 0  # a merge's decisions in the file (a store's or an export's), left out
    other_tasks: int = 0  # labels of tasks not asked for (`import -t`), left out
    older_answers: int = 0  # answers older than their annotator's in the store, left out
    untimed_against_typed: int = 0  # untimed answers differing from one given here (typed, review, timed), left out
    untimed_against_typed_examples: list[str] = field(default_factory=list)  # the first few, `IMAGE TASK`
    replaced_imported: int = 0  # of those written, answers replacing the same person's earlier imported one
    older_automatic: int = 0  # automatic labels older than the store's newest of their image, left out
    path_hint: str | None = None  # names that look like paths, and the --strip-prefix that would fit
    renamed: dict[str, str] = field(default_factory=dict)  # the file's names of renamed annotators -> theirs now
    others_old_names: dict[str, list[str]] = field(default_factory=dict)  # names now that were others' before
    look_alikes: dict[str, str] = field(default_factory=dict)  # new people named like known ones -> did you mean


def detect_format(path: Path, tasks: tuple[Task, ...], every_task: tuple[Task, ...] | None = None) -> str:
    """Tell a store, Parquet, long CSV or one-hot CSV apart by content, not by suffix.

    `tasks` are the columns a one-hot file without a header holds (`import -t`); a header
    may name any of `every_task` (the workspace's, default `tasks`)."""
    every_task = every_task or tasks
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        raise FormatError(path, "file not found") from None
    except OSError as exc:
        raise FormatError(path, f"cannot read ({exc.strerror})") from None
    if head.startswith(_SQLITE_MAGIC):
        return "store"
    if head.startswith(b"PAR1"):
        return "parquet"
    if not head.strip():
        raise FormatError(path, "empty file")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FormatError(path, "UTF-16 text (as Excel saves 'Unicode text'): save it as UTF-8 CSV")
    if b"\x00" in head:
        raise FormatError(path, "not a label file (binary content)")
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    # The first CSV record, not the first line: a quoted name may hold a line break.
    _, first = next(read_records(text, path))
    cells = [c.lower() for c in first]
    if {"image", "task", "label"} <= set(cells):
        return "long"
    if len(cells) == 1 + sum(len(t.classes) for t in tasks) or header_tasks(first, every_task):
        return "onehot"
    if looks_like_header(first) and any("_" in cell for cell in first[1:]):
        # helper-82: a header of one task's columns in another order was told to take `-t`,
        # which then refused the same header.
        raise FormatError(path, unmatched_header(first, every_task), 1)
    raise FormatError(
        path,
        "not a recognised label file (expected the study's one-hot CSV with "
        f"{1 + sum(len(t.classes) for t in tasks)} columns, a long CSV with an "
        "image,task,label header, Parquet or a celeba store)"
        + (onehot_width_hint(len(cells), every_task) or _separator_hint(text.partition("\n")[0])),
        1,
    )


def _separator_hint(line: str) -> str:
    """Why a first line did not split into columns, where its separator says so (or that it
    is JSON Lines, which the exports write for training code and no import reads: helper-80)."""
    if line.lstrip().startswith("{"):
        return (
            "; it looks like JSON Lines (`export --format jsonl`, for training code): import the long or Parquet export"
        )
    for separator, name in (("\t", "tabs"), (";", "semicolons")):
        if separator in line and "," not in line:
            return f"; its first line is separated by {name}: save it comma-separated"
    return ""


@dataclass
class PreparedImport:
    """A label file read and checked, not yet written: what `write_imports` appends."""

    path: Path
    format: str
    frame: pd.DataFrame
    merge_labels: int = 0  # a merge's decisions in the file, left out (formats.long.split_merge_decisions)
    other_tasks: int = 0  # labels of tasks not asked for (`import -t`), left out
    renamed: dict[str, str] = field(default_factory=dict)  # names of renamed annotators read as theirs now
    others_old_names: dict[str, list[str]] = field(default_factory=dict)  # a name now, and whose it was before


def read_import(
    path: Path,
    workspace: Workspace,
    *,
    fmt: str = "auto",
    annotator: str | None = None,
    strip_prefix: str | None = None,
    tasks: tuple[Task, ...] | None = None,
) -> PreparedImport:
    """Read and check a file's labels; FormatError (one line, file and line) on any problem.

    `tasks` (`import -t`): the tasks a one-hot file without a header holds, in its column
    order (a file from before a task was added to the workspace); of a file in any other
    format, the labels of these tasks only (the others are counted, left out).

    `strip_prefix` is taken off the front of every image name that has it (a file written
    with paths, `/data/celeba/img_align_celeba/000001.jpg`, for the image root's names).
    Nothing is written: reading every file of a command before writing any lets the
    command be one transaction without holding the store's write lock while parsing.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise FormatError(path, f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    regular_file_info(path)
    asked = tasks or workspace.tasks
    if fmt == "auto":
        fmt = detect_format(path, asked, workspace.tasks)
    merge_labels = 0
    if fmt == "store" and strip_prefix is not None:
        raise FormatError(path, "--strip-prefix: a celeba store's names are its image root's already")
    if fmt == "store":
        _refuse_own_store(path, workspace)
        source = read_store_source(path, workspace.tasks)
        frame, merge_labels = source.labels, source.merge_labels
    elif fmt == "parquet":
        frame, merge_labels = read_parquet_labels(path, workspace.tasks, strip_prefix=strip_prefix)
    elif fmt == "long":
        frame, merge_labels = read_long_csv(path, workspace.tasks, read_text(path), strip_prefix)
    else:
        frame = read_onehot(path, asked, read_text(path), strip_prefix, every_task=workspace.tasks)
    other_tasks = 0
    if tasks is not None:
        kept = frame["task"].isin([task.name for task in tasks])
        if not kept.any():  # nothing left to write (attack pass 33: a traceback further on)
            held = ", ".join(printable(str(t)) for t in sorted(frame["task"].unique().tolist()))
            raise FormatError(
                path, f"no labels of -t {' -t '.join(t.name for t in tasks)} in the file (its tasks: {held or 'none'})"
            )
        other_tasks = int((~kept).sum())
        frame = frame[kept].reset_index(drop=True)
    if annotator is not None:
        _check_annotator(path, annotator, "--annotator")
        _refuse_merging_annotators(path, frame)
        frame["annotator"] = annotator
    elif "annotator" not in frame or frame["annotator"].isna().any():
        _check_annotator(path, path.stem, "the file's name; pass --annotator NAME")
        frame["annotator"] = frame["annotator"].fillna(path.stem) if "annotator" in frame else path.stem
    if "source" not in frame:
        frame["source"] = "import"
    # Typed-in labels from elsewhere become imports here; review and model rows keep theirs.
    frame["source"] = frame["source"].replace({"human": "import"})
    if "time" in frame:  # when each label was given, kept in its provenance (store.answers)
        # An automatic label's too (attack pass 32: dropped, two ensembles' files imported
        # newest first kept the older labels, and a round trip gave them the import's time).
        frame["detail"] = answered_details(frame["time"])
    unknown_tasks = set(frame["task"].unique().tolist()) - set(workspace.task_names)
    if unknown_tasks:
        raise FormatError(path, f"labels for unknown task(s) {', '.join(sorted(unknown_tasks))}")
    return PreparedImport(path, fmt, frame, merge_labels, other_tasks)


@dataclass(frozen=True)
class WrittenAnswers:
    """What `_write_answers` did with a file's rows: written, and left out (why: older than
    the same person's answer in the store; without a time and differing from their typed
    answer or review, or from an answer whose time is known; automatic labels older than the
    store's newest of their image)."""

    written: int
    older: int = 0
    against_given: int = 0
    older_automatic: int = 0
    replaced: int = 0  # of those written, untimed answers replacing the person's imported one
    against_given_examples: list[str] = field(default_factory=list)


def _examples(rows: pd.DataFrame) -> list[str]:
    """The first few of `rows` as `IMAGE TASK` (a warning names what it counts)."""
    head = rows.head(SHOWN_UNKNOWN)
    return [f"{shown_name(image)} {task}" for image, task in zip(head["image"].tolist(), head["task"].tolist())]


def _write_answers(store: LabelStore, frame: pd.DataFrame) -> WrittenAnswers:
    """Append a file's labels (what was written and left out: `WrittenAnswers`). Answers
    with a time are compared with each person's newest answer (formats.import_answers), the
    other rows with the live row they would repeat, and never written over the same person's
    typed answer or review."""
    annotators = frame["annotator"].unique()
    stored = store.live_labels(annotators=annotators, sources=PEOPLE_SOURCES)
    timed = timed_answers(frame)
    repeats, against_given, replacing = against_given_answers(frame, stored, timed)
    stale = None
    if (frame["source"] == MODEL).any():
        decided = {task: store.latest_decision_time([task]) for task in frame["task"].unique().tolist()}
        live = store.live_labels(sources=(MODEL,), annotators=annotators)
        stale = older_model_labels(frame, store.newest_row_times(MODEL, annotators), decided, live)
    left_out = repeats | against_given | timed
    if stale is not None:
        left_out |= stale
    untimed = frame[~left_out] if left_out.any() else frame  # no copy of 400,000 rows
    counts = {
        "against_given": int(against_given.sum()),
        "older_automatic": 0 if stale is None else int(stale.sum()),
        "replaced": int(replacing.sum()),
        "against_given_examples": _examples(frame[against_given]),
    }
    if not timed.any():
        return WrittenAnswers(store.add_labels(untimed, skip_unchanged=True), **counts)
    newest = newest_by_voice(stored) if not stored.empty else stored
    older, same, replacing = compare_with_stored(frame, newest, timed)
    if replacing.any():  # only those: a re-import of 200,000 answers read their history for 1.3 s (helper-85)
        received = store.received_answers(frame.loc[replacing, "annotator"].unique())
        older |= received_before_stored(frame, newest, received, replacing)
    written = store.add_labels(frame[timed & ~(older | same)], skip_unchanged=False)
    written += store.add_labels(untimed, skip_unchanged=True)
    return WrittenAnswers(written, int(older.sum()), **counts)


def _names_advice(paths: PathNames) -> str:
    advice = "image names are relative to the image root"
    if paths.prefix is None:
        return advice
    return f"{advice}; --strip-prefix {shlex.quote(paths.prefix)} takes the folders off every name"


def _check_annotator(path: Path, name: str, origin: str) -> None:
    """An annotator name given for the whole file (not from a line of it) must be allowed."""
    problem = annotator_name_problem(name)
    if problem:
        raise FormatError(path, f"annotator name {shown_name(name)} (from {origin}) {problem}")


def _refuse_merging_annotators(path: Path, frame: pd.DataFrame) -> None:
    """--annotator names one person: a file holding several people's labels would become
    one person's, and agreement between them would be lost for good."""
    if "annotator" not in frame:
        return
    names = sorted(frame["annotator"].dropna().unique().tolist())
    if len(names) > 1:
        shown = ", ".join(repr(n) for n in names[:5]) + (", ..." if len(names) > 5 else "")
        raise FormatError(
            path,
            f"holds the labels of {len(names)} annotators ({shown}); --annotator would make them one "
            "person's: import without it to keep each annotator",
        )


def _refuse_own_store(path: Path, workspace: Workspace) -> None:
    """Importing the workspace's own store would copy every label as an import of itself."""
    try:
        same = workspace.store_path.exists() and os.path.samefile(path, workspace.store_path)
    except OSError:
        same = False
    if same:
        raise FormatError(path, "is this workspace's own label store; nothing to import")


def write_imports(store: LabelStore, prepared: list[PreparedImport]) -> list[ImportReport]:
    """Append the labels of every prepared file in one transaction: all files or none.

    The "already imported" check (skip rows equal to a live label) runs inside the
    write transaction, so two processes importing the same file at once write it once.
    Files that leave it to their order which answer is someone's are refused first
    (`refuse_answers_differing_between_files`).
    """
    reports = []
    with store.transaction():
        renamed = store.renamed_annotators({name for item in prepared for name in item.frame["annotator"].unique()})
        annotators = store.annotators()
        prepared = [_under_names_now(item, renamed, set(annotators)) for item in prepared]
        refuse_answers_differing_between_files(prepared)
        known = set(store.image_names(present_only=True))
        people = [name for name in annotators if annotator_kind(name) == "person"]
        for item in prepared:
            frame = item.frame
            # As Python strings: iterating pandas' Arrow-backed strings one by one is slow.
            images = set(frame["image"].unique().tolist())
            paths = path_names(images, known)
            if paths is not None and paths.absolute:
                raise FormatError(item.path, f"{shown_name(paths.name)} is a path: {_names_advice(paths)}")
            answers = _write_answers(store, frame)
            reports.append(
                ImportReport(
                    path=str(item.path),
                    format=item.format,
                    rows=len(frame),
                    written=answers.written,
                    images=len(images),
                    unknown_images=len(images.difference(known)),
                    unknown_examples=sorted(images.difference(known))[:SHOWN_UNKNOWN],
                    annotators=sorted(frame["annotator"].unique()),
                    per_task={
                        task: {str(k): int(v) for k, v in group["label"].value_counts().items()}
                        for task, group in frame.groupby("task")
                    },
                    merge_labels=item.merge_labels,
                    other_tasks=item.other_tasks,
                    older_answers=answers.older,
                    untimed_against_typed=answers.against_given,
                    untimed_against_typed_examples=answers.against_given_examples,
                    replaced_imported=answers.replaced,
                    older_automatic=answers.older_automatic,
                    path_hint=None if paths is None else f"{shown_name(paths.name)}: {_names_advice(paths)}",
                    renamed=item.renamed,
                    others_old_names=item.others_old_names,
                    look_alikes=_look_alikes(frame, people, store),
                )
            )
    return reports


def _look_alikes(frame: pd.DataFrame, people: list[str], store: LabelStore) -> dict[str, str]:
    """Each person new to the store in an import whose name looks like one of `people`
    with a live label (another case, full-width letters, a typo: attack pass 39, `-a ALICE`
    beside alice) -> the line asking whether that one was meant
    (annotator_names.newcomer_hint). A name whose labels were all taken back is not offered."""
    names = sorted(set(frame.loc[voices(frame["source"]).notna(), "annotator"].unique().tolist()) - set(people))
    return {name: hint for name in names if (hint := newcomer_hint(name, people, store.with_live_labels))}


def _under_names_now(
    item: PreparedImport, renamed: dict[str, list[tuple[str, float]]], current: set[str]
) -> PreparedImport:
    """A file's answers under the names their annotators have now (`renamed`:
    `LabelStore.renamed_annotators`; `current`: the annotators' names now), which it records,
    with the names that are someone's now and were another's before a rename (said, not
    read as the other's). A FormatError where a name was two people's before renames, or one
    person's answers under their old name and their new one differ for an image (which is
    theirs would depend on the row order)."""
    names = item.frame["annotator"]
    given = [name for name in names.unique().tolist() if name in renamed]
    others = {name: [now for now, _ in renamed[name]] for name in given if name in current}
    olds = [name for name in given if name not in current]
    if not olds:
        return replace(item, others_old_names=others) if others else item
    twice = next((old for old in olds if len(renamed[old]) > 1), None)
    if twice is not None:  # attack pass 40: the latest rename took the older one's answers
        people = " and ".join(shown_name(now) for now, _ in renamed[twice])
        raise FormatError(
            item.path,
            f"{shown_name(twice)} was the name of {people} before renames: whose answers these are cannot be "
            "told; give the rows the annotator's name now (or import with --annotator NAME)",
        )
    now = {old: renamed[old][0][0] for old in olds}
    frame = item.frame.assign(annotator=names.replace(now))
    answers = frame[voices(frame["source"]).notna()].assign(_voice=voices(frame["source"]))
    labels = answers.groupby(["image", "task", "annotator", "_voice"], sort=False)["label"].transform("nunique")
    if (labels > 1).any():
        clash = answers[labels > 1].iloc[0]
        raise FormatError(
            item.path,
            f"{shown_name(clash['image'])} has two different {clash['task']} labels by {shown_name(clash['annotator'])}, "
            f"named {', '.join(shown_name(old) for old in olds)} in some rows (renamed since): "
            "rename those rows' annotator to tell them apart",
        )
    # One person's same answer under both names is one answer (the newer, where they say when).
    key = ["image", "task", "annotator", "source", "label"]
    order = frame.sort_values("time", na_position="first", kind="stable") if "time" in frame else frame
    frame = order.drop_duplicates(key, keep="last").sort_index().reset_index(drop=True)
    return replace(item, frame=frame, renamed=now, others_old_names=others)


def import_labels(
    store: LabelStore, workspace: Workspace, path: Path, *, fmt: str = "auto", annotator: str | None = None
) -> ImportReport:
    """Read, validate and append a file's labels in one transaction."""
    return write_imports(store, [read_import(path, workspace, fmt=fmt, annotator=annotator)])[0]
