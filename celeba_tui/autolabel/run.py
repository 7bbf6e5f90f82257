"""`celeba autolabel`: decode -> onnxruntime ensemble -> the study's rules -> the label store.

1. The models are checked before any work: celeba metadata present; per task the same
   class names in the workspace's order. One model per task labels what it is confident
   about (>= high); two or more use the study's rules.
2. Images under the root that some model has not predicted yet are decoded and run
   (resume: predictions are keyed by the model file's content hash, `+flip` with TTA).
   Each model's prediction goes to the `predictions` table (one row per image, task,
   model: its latest prediction).
3. Per task, thresholds are given or chosen for a target precision on held-out labels
   (celeba_tui.autolabel.calibration); the rules (celeba_tui.autolabel.rules) decide each image; the
   decisions become labels with source `model`, annotator `autolabel`, the ensemble id
   as model and `final_conf` as confidence -- never for an image people have labelled.
   Earlier automatic labels the rules no longer support are undone, so an image is in
   the manual queue exactly when it has predictions but no automatic or human label.
   `--export` and `--grid` are written just before the labels are committed, so a
   write that fails there leaves every label as it was.
4. The report: coverage, held-out precision, manual queue and thresholds per task,
   skipped files (also in `<workspace>/autolabel/skipped.csv`) and suspects.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from celeba_tui.annotator_names import MODEL_ANNOTATOR
from celeba_tui.atomic import check_owned_file
from celeba_tui.autolabel.calibration import CALIBRATE_ON, ThresholdChoice, choose_thresholds, held_out_images
from celeba_tui.autolabel.inference import PROVIDER_CHOICES
from celeba_tui.autolabel.rules import MANUAL, RULES, Decisions, Thresholds, contradictions, decide
from celeba_tui.errors import CelebaError
from celeba_tui.mirror import mirror_permutation
from celeba_tui.onnx.metadata import ModelMetadata, check_same_classes, model_hash, read_metadata
from celeba_tui.vocabulary import AGREED, MODEL, PEOPLE_STATUSES, SETTLED_STATUSES

if TYPE_CHECKING:
    from celeba_tui.autolabel.outputs import AutolabelReport
    from celeba_tui.store.label_store import LabelStore
    from celeba_tui.workspace import Workspace

ANNOTATOR = MODEL_ANNOTATOR
# The run's report in <workspace>/autolabel/, beside Workspace.suspects_path.
SKIPPED_FILE = "skipped.csv"
PRECISION_COVERAGE_FILE = "precision-coverage.png"
FLUSH_ROWS = 8192


@dataclass(frozen=True)
class EnsembleModel:
    path: Path
    meta: ModelMetadata
    hash: str
    tta: bool = False

    @property
    def key(self) -> str:
        """The model's id in the predictions table: content hash, `+flip` when averaged with mirrors."""
        return self.hash + ("+flip" if self.tta else "")

    @property
    def name(self) -> str:
        return self.path.name + (" (flip TTA)" if self.tta else "")


@dataclass
class AutolabelOptions:
    high: float = 0.9
    low: float = 0.6
    target_precision: float | None = None
    calibrate_on: str = "split"
    provider: str = "auto"
    batch_size: int = 64
    tta: bool = True  # flip TTA: the default, it pays (docs/label-quality.md)
    workers: int | None = None
    threads: int | None = None
    images: Path | None = None
    export: Path | None = None
    grid: Path | None = None
    force: bool = False  # write labels even where every model of a task scored what guessing scores
    # Report what the run would write and withdraw; the store is opened read-only (the
    # predictions made now are held in memory) and none of the run's report files is written.
    dry_run: bool = False


@dataclass
class TaskOutcome:
    """One task's ensemble over the images all its models predicted."""

    task: str
    classes: tuple[str, ...]
    members: list[EnsembleModel]
    ensemble_id: str
    images: np.ndarray  # names, sorted
    probs: np.ndarray  # (models, images, classes)
    decisions: Decisions
    human: np.ndarray  # class index of the agreed/reviewed human label, -1 when none
    people: np.ndarray  # bool: people labelled it (agreed, reviewed or in conflict)
    agreed: np.ndarray  # bool: its current label is one the annotators agreed on (not a review)
    automatic_before: np.ndarray  # class index of its current automatic label, -1 when none
    choice: ThresholdChoice
    held_rows: np.ndarray  # indices of the held-out images the thresholds were measured on
    written: int = 0  # label rows written (or, in a dry run, that would be)
    changed: int = 0  # of them, on images whose earlier automatic label had another class
    renewed: int = 0  # of them, on images whose earlier automatic label had this class (another ensemble's)
    withdrawn: int = 0  # images whose earlier automatic label this run took back (or would)

    @property
    def automatic(self) -> np.ndarray:
        """Images that get an automatic label (people's images excluded)."""
        return self.decisions.automatic & ~self.people

    @property
    def manual(self) -> np.ndarray:
        return ~self.decisions.automatic & ~self.people

    @property
    def suspects(self) -> np.ndarray:
        return contradictions(self.decisions, np.where(self.agreed, self.human, -1))


# ------------------------------------------------------------------ models
def load_models(paths: list[Path], tasks, tta: bool = False) -> list[EnsembleModel]:
    """Read and check every model before any work; a CelebaError says what is wrong."""
    if not paths:
        raise CelebaError("no models given (--models A.onnx B.onnx ...)")
    models = [EnsembleModel(Path(p), read_metadata(Path(p)), model_hash(Path(p)), tta) for p in paths]
    seen: dict[str, Path] = {}
    for model in models:
        if model.hash in seen:
            raise CelebaError(f"{seen[model.hash]} and {model.path} are the same model")
        seen[model.hash] = model.path
    known = {task.name: task for task in tasks}
    for task, members in group_by_task(models).items():
        check_same_classes([(str(m.path), m.meta) for m in members])
        if task not in known:
            raise CelebaError(f"{members[0].path}: task {task!r} is not in this workspace (tasks: {', '.join(known)})")
        if tuple(members[0].meta.classes) != tuple(known[task].classes):
            raise CelebaError(
                f"{members[0].path}: classes {list(members[0].meta.classes)} differ from the workspace's "
                f"{list(known[task].classes)} for task {task!r}"
            )
        if tta:
            try:
                mirror_permutation(members[0].meta.classes)
            except ValueError as exc:
                raise CelebaError(f"--tta flip for task {task!r}: {exc}") from None
    return models


def check_models_learnt(by_task: dict[str, list[EnsembleModel]], force: bool) -> list[str]:
    """Refuse a task whose every model scored what guessing scores on its validation split
    (its labels would be guesses, and a later `--pseudo-labels` round would learn them: the
    model-side walkthrough of 2026-12-07), unless `force`; the warnings to print (a guessing
    member beside others, or every one under `force`). Models whose file does not say how
    they scored (trained elsewhere) are taken at their word."""
    from celeba_tui.training.metrics import GUESSING_ADVICE, guessing, guessing_text

    warnings = []
    for task, members in by_task.items():
        found = guessing((m.path.name, m.meta.validation.get("val_balanced_acc"), len(m.meta.classes)) for m in members)
        if not found:
            continue
        what = guessing_text(found)
        if len(found) < len(members):
            warnings.append(f"{task}: {len(found)} of {len(members)} models have a {what}")
        elif not force:
            raise CelebaError(f"{task}: every model has a {what}: {GUESSING_ADVICE} (--force writes them anyway)")
        else:
            warnings.append(f"{task}: every model has a {what}; its labels are written (--force)")
    return warnings


def group_by_task(models: list[EnsembleModel]) -> dict[str, list[EnsembleModel]]:
    groups: dict[str, list[EnsembleModel]] = {}
    for model in models:
        groups.setdefault(model.meta.task, []).append(model)
    return groups


def ensemble_id(members: list[EnsembleModel]) -> str:
    return "ensemble-" + hashlib.sha256(",".join(sorted(m.key for m in members)).encode()).hexdigest()[:12]


# --------------------------------------------------------------- inference
@dataclass
class InferenceStats:
    images: int = 0
    predicted: int = 0
    seconds: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    provider: str = "provider: none (every image already predicted)"  # the line shown
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # each image predicted: its file as read
    execution_provider: str | None = None  # the provider used: tensorrt, cuda or cpu
    fallbacks: list[str] = field(default_factory=list)  # providers passed over, each with why


@dataclass
class ToPredict:
    """What a run predicts (`names`), the images whose file changed since their predictions
    (`changed`: every model's are out of date) and each file's (stamp, digest) to record
    where the store has none or an older one (`records`)."""

    names: list[str]
    changed: list[str]
    records: dict[str, tuple[str, str]]


def images_to_predict(store: LabelStore, root: Path, names: list[str], models: list[EnsembleModel]) -> ToPredict:
    """Images some model has no prediction for yet (resume), or whose file under `root`
    changed since they were predicted (attack pass 41: a file replaced by another picture
    kept the old picture's prediction and automatic label). A file whose stamp (size,
    modification time) is the one recorded is unchanged; another stamp over the same bytes
    (a copy of the folder, `touch`) only updates the record."""
    from celeba_tui.images import file_digest, file_stamp

    done = None
    for model in models:
        have = store.predicted_images(model.meta.task, model.key)
        done = have if done is None else done & have
    known = store.file_records(names)
    todo, changed, records = [], [], {}
    for name in names:
        path = root / name
        stamp, record = file_stamp(path), known.get(name)
        if (record is not None and record[0] == stamp) or (record is None and name not in done):
            if name not in done:  # unchanged, or new: the run records it as it reads it
                todo.append(name)
            continue
        digest = file_digest(path)
        if stamp is None or digest is None:  # unreadable now: the run reports why
            if name not in done:
                todo.append(name)
        elif record is not None and record[1] != digest:
            changed.append(name)
            todo.append(name)
        else:  # the same bytes under another stamp, or predicted before files were recorded
            records[name] = (stamp, digest)
            if name not in done:
                todo.append(name)
    return ToPredict(todo, changed, records)


def open_session(models: list[EnsembleModel], options: AutolabelOptions, cache_dir: Path | None = None):
    """The merged onnxruntime session; a ModelFileError for a model onnxruntime refuses."""
    from celeba_tui.autolabel.inference import open_ensemble

    return open_ensemble(
        [m.path for m in models],
        [m.meta for m in models],
        provider=options.provider,
        batch_size=options.batch_size * (2 if options.tta else 1),
        threads=options.threads,
        cache_dir=cache_dir,
    )


def run_inference(
    store: LabelStore,
    root: Path,
    names: list[str],
    models: list[EnsembleModel],
    options: AutolabelOptions,
    reporter,
    session=None,
    before_first_write=lambda: None,
    keep=None,
) -> InferenceStats:
    """Decode and predict `names` with `session` (open_session; needed when there are names),
    writing each model's predictions to the store as it goes (`before_first_write` runs
    once before the first write: the images and models must be registered by then), or
    handing each frame of them to `keep` instead where given (a dry run: the store unchanged).

    A model whose output is not a probability distribution stops the run with a
    CelebaError; the store is unchanged when that shows in its first FLUSH_ROWS rows
    (a broken model usually breaks on every image), and keeps only valid predictions
    otherwise. `reporter` is a celeba_tui.progress reporter (silent, or rich bars on stderr).
    """
    from celeba_tui.autolabel.pipeline import BatchDecoder, decode_batches, predict
    from celeba_tui.onnx.runtime import default_threads

    stats = InferenceStats(images=len(names))
    if not names:
        return stats
    stats.provider = session.plan.describe()
    stats.execution_provider = session.plan.used or session.plan.candidates[0]
    stats.fallbacks = list(session.plan.fallbacks)
    reporter.message(stats.provider)
    advance = reporter.start_stage("autolabel", len(names))
    decoder = BatchDecoder(root, session.groups, options.batch_size)
    workers = options.workers or default_threads()
    classes = [m.meta.classes for m in models] if options.tta else None
    pending: list[pd.DataFrame] = []
    started = time.perf_counter()
    for batch in predict(session, decode_batches(decoder, names, workers), classes):
        stats.failures.extend(batch.failures)
        stats.files.update(batch.files)
        stats.predicted += len(batch.names)
        if batch.names:
            for model, probs in zip(models, batch.probs):
                check_probabilities(model, batch.names, probs)
            pending.append(prediction_frame(models, batch.names, batch.probs))
        if sum(len(f) for f in pending) >= FLUSH_ROWS:
            _flush(store, pending, before_first_write, keep)
        advance(len(batch.names) + len(batch.failures))
    if pending:
        _flush(store, pending, before_first_write, keep)
    stats.seconds = time.perf_counter() - started
    reporter.end_stage()
    return stats


def _flush(store: LabelStore, pending: list[pd.DataFrame], before_first_write, keep) -> None:
    frame = pd.concat(pending, ignore_index=True)
    pending.clear()
    if keep is not None:
        keep(frame)
        return
    before_first_write()
    store.add_predictions(frame)


PROBABILITY_SUM_TOLERANCE = 1e-2  # fp16 and int8 models' softmax sums stray by ~1e-3


def check_probabilities(model: EnsembleModel, names: list[str], probs: np.ndarray) -> None:
    """A CelebaError, naming the model and the first image, unless each row of `probs`
    is a probability distribution (finite, within [0, 1], summing to 1)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) != len(names):
        raise CelebaError(f"{model.path}: output of shape {probs.shape} for {len(names)} images")
    classes = model.meta.classes
    if probs.shape[1] != len(classes):
        raise CelebaError(
            f"{model.path}: outputs {probs.shape[1]} values per image, but its metadata lists "
            f"{len(classes)} classes ({', '.join(classes)}); the model is broken (no labels were written)"
        )
    finite = np.isfinite(probs).all(axis=1)
    with np.errstate(invalid="ignore"):
        bad = ~finite | (probs < 0).any(axis=1) | (probs > 1).any(axis=1)
        bad |= np.abs(probs.sum(axis=1) - 1) > PROBABILITY_SUM_TOLERANCE
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        what = "not finite" if not finite[row] else f"not a probability distribution (sum {probs[row].sum():.4g})"
        raise CelebaError(
            f"{model.path}: its output for {names[row]!r} is {what}; the model is broken (no labels were written)"
        )


def prediction_frame(models: list[EnsembleModel], names: list[str], probs: list[np.ndarray]) -> pd.DataFrame:
    """Rows for the predictions table: each model's class, confidence and probabilities per image."""
    parts = []
    for model, p in zip(models, probs):
        classes = np.asarray(model.meta.classes, dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "image": names,
                    "task": model.meta.task,
                    "model": model.key,
                    "label": classes[p.argmax(axis=1)],
                    "confidence": p.max(axis=1).astype(float),
                    "probs": list(p),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------- decisions
def stacked_probs(
    predictions: pd.DataFrame, members: list[EnsembleModel], scope: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    """(names, probs[model, image, class]) for the images every member has predicted."""
    per_model = []
    for model in members:
        rows = predictions[(predictions["model"] == model.key) & predictions["image"].isin(scope)]
        per_model.append(pd.Series(rows["probs"].to_numpy(), index=rows["image"].to_numpy()))
    common = sorted(set.intersection(*(set(s.index) for s in per_model)))
    n_classes = len(members[0].meta.classes)
    if not common:
        return np.array([], dtype=object), np.zeros((len(members), 0, n_classes))
    probs = np.stack([np.asarray(s.loc[common].tolist(), dtype=np.float64) for s in per_model])
    return np.asarray(common, dtype=object), probs


def leave_out_trained_on(held: list[str], source: str, members, runs_dir: Path) -> tuple[list[str], str]:
    """`held` without the images a member trained on (its run's trained-on.json; the split
    may have changed since, a conflict it learnt as soft targets been settled), and the
    phrase saying so; a member whose run does not say is named."""
    from celeba_tui.training.trained_on import trained_on

    seen: set[str] = set()
    unknown = []
    for model in members:
        run_id = model.meta.run_id
        images = trained_on(runs_dir / run_id) if run_id and "/" not in run_id and run_id not in (".", "..") else None
        if images is None:
            unknown.append(model.path.name)
        else:
            seen |= images
    kept = [name for name in held if name not in seen]
    if len(kept) < len(held):
        source += f"; {len(held) - len(kept):,} images a model trained on left out"
    if unknown:
        source += f"; not known what {', '.join(unknown)} trained on"
    return kept, source


def decide_task(
    store: LabelStore,
    splits_dir: Path,
    runs_dir: Path,
    task: str,
    members: list[EnsembleModel],
    scope: set[str],
    options: AutolabelOptions,
    unstored: pd.DataFrame | None = None,
) -> TaskOutcome:
    """Thresholds (given or calibrated) and the rules' decision for every predicted image of
    a task; `unstored`: predictions made now and held in memory (a dry run's), beside the stored."""
    classes = tuple(members[0].meta.classes)
    predictions = store.predictions(task, [m.key for m in members])
    if unstored is not None and len(unstored):
        predictions = pd.concat([predictions, unstored[unstored["task"] == task]], ignore_index=True)
    names, probs = stacked_probs(predictions, members, scope)
    current = store.current_labels(task).set_index("image")
    status = current["status"].reindex(names)
    label = current["label"].reindex(names)
    index = {c: i for i, c in enumerate(classes)}
    human = np.where(status.isin(SETTLED_STATUSES), label.map(index), -1).astype(np.int64)
    automatic_before = np.where(status == MODEL, label.map(index), -1).astype(np.int64)
    people = status.isin(PEOPLE_STATUSES).to_numpy()
    agreed = (status == AGREED).to_numpy()
    labelled = names[human >= 0].tolist()
    held, source = held_out_images(splits_dir, task, labelled, options.calibrate_on)
    held, source = leave_out_trained_on(held, source, members, runs_dir)
    rows = np.flatnonzero(np.isin(names, held))
    choice = choose_thresholds(
        probs[:, rows], human[rows], Thresholds(options.high, options.low), options.target_precision, source, task
    )
    if choice.thresholds is not None:
        decisions = decide(probs, choice.thresholds)
    else:
        n = len(names)
        decisions = Decisions(np.full(n, MANUAL), np.full(n, np.nan), np.full(n, -1, dtype=np.int8))
    return TaskOutcome(
        task,
        classes,
        members,
        ensemble_id(members),
        names,
        probs,
        decisions,
        human,
        people,
        agreed,
        automatic_before,
        choice,
        rows,
    )


def decision_frame(outcome: TaskOutcome) -> pd.DataFrame:
    """The automatic labels of a task's decisions, as `LabelStore.add_labels` takes them
    (none for images people have labelled)."""
    auto = outcome.automatic
    if not auto.any():
        return pd.DataFrame()
    thresholds = outcome.choice.thresholds
    provenance = {
        "high": thresholds.high,
        "low": thresholds.low,
        "chosen_by": outcome.choice.chosen_by,
        "models": [m.key for m in outcome.members],
    }
    details = np.asarray([json.dumps({**provenance, "rule": rule}) for rule in RULES], dtype=object)
    return pd.DataFrame(
        {
            "image": outcome.images[auto],
            "task": outcome.task,
            "label": np.asarray(outcome.classes, dtype=object)[outcome.decisions.label[auto]],
            "annotator": ANNOTATOR,
            "source": "model",
            "confidence": outcome.decisions.confidence[auto],
            "model": outcome.ensemble_id,
            "detail": details[outcome.decisions.rule[auto]],
        }
    )


def class_changes(outcome: TaskOutcome) -> int:
    """How many of the automatic labels fall on images whose current automatic label has another class. Pure."""
    before = outcome.automatic_before
    return int((outcome.automatic & (before >= 0) & (before != outcome.decisions.label)).sum())


def class_renewals(outcome: TaskOutcome, written: int) -> int:
    """How many of the `written` automatic labels give an image the class its current automatic
    label has (another ensemble's, or the same one's under another name: helper-68 saw an
    export of the same weights "write" every label again). The rows not written are such
    labels, identical to the stored ones. Pure."""
    before = outcome.automatic_before
    same = int((outcome.automatic & (before >= 0) & (before == outcome.decisions.label)).sum())
    return max(same - (int(outcome.automatic.sum()) - written), 0)


def stale_label_ids(store: LabelStore, outcome: TaskOutcome) -> tuple[list[int], int]:
    """The earlier automatic labels the rules no longer support (images now in the manual
    queue), and how many images they are on (an image auto-labelled twice holds two rows)."""
    stale = outcome.images[outcome.manual].tolist()
    ids = store.unrevoked_label_ids(ANNOTATOR, outcome.task, stale) if stale else []
    if not ids:
        return [], 0
    images = store.query("SELECT COUNT(DISTINCT image_id) FROM labels WHERE id IN (SELECT value FROM json_each(?))",
                         [json.dumps(ids)])[0][0]  # fmt: skip
    return ids, images


def write_decisions(store: LabelStore, outcome: TaskOutcome) -> None:
    """Automatic labels for images people have not labelled; undo ones the rules no longer support."""
    frame = decision_frame(outcome)
    outcome.changed = class_changes(outcome)
    if not frame.empty:
        outcome.written = store.add_labels(frame)
        outcome.renewed = class_renewals(outcome, outcome.written)
    store.set_latest_ensemble(outcome.task, [m.key for m in outcome.members])
    ids, outcome.withdrawn = stale_label_ids(store, outcome)
    if ids:
        store.revoke_labels(ids, ANNOTATOR)


def plan_decisions(store: LabelStore, outcome: TaskOutcome) -> None:
    """What `write_decisions` would write and withdraw, counted on `outcome`; the store unchanged."""
    frame = decision_frame(outcome)
    outcome.changed = class_changes(outcome)
    outcome.written = len(store.labels_to_write(frame))
    outcome.renewed = class_renewals(outcome, outcome.written)
    outcome.withdrawn = stale_label_ids(store, outcome)[1]


# --------------------------------------------------------------------- run
def run_autolabel(
    workspace: Workspace, model_paths: list[Path], options: AutolabelOptions, reporter=None
) -> AutolabelReport:
    """The whole run (see the module docstring); what it did."""
    from celeba_tui.images import scan_folder
    from celeba_tui.progress import SilentReporter
    from celeba_tui.training.split import stored_split
    from celeba_tui.workspace import check_image_root

    check_options(options)
    models = load_models(model_paths, workspace.tasks, options.tta)
    by_task = group_by_task(models)
    warnings = check_models_learnt(by_task, options.force)
    check_output_paths(options, by_task, [model.path for model in models], workspace)
    for task in by_task:
        stored_split(workspace.splits_dir, task)  # a damaged split file: an error before any work
    reporter = reporter or SilentReporter()
    root = Path(options.images or workspace.image_root)
    check_image_root(root)
    scan = scan_folder(root)
    report_dir = workspace.autolabel_dir
    if not options.dry_run:  # a dry run writes no report, nor makes their folder (a workspace it may not write)
        workspace.own_folder(report_dir)
        for path in report_paths(workspace):
            check_owned_file(path, workspace.path)  # a link or a FIFO planted there: an error before any label
    with workspace.open_store(readonly=options.dry_run) as store:
        names, elsewhere = scan.names, []
        if options.images is not None:  # another copy of the images: those of this workspace only
            known = set(store.image_names(present_only=False))
            elsewhere = [(name, NOT_IN_WORKSPACE) for name in names if name not in known]
            names = [name for name in names if name in known]
        plan = images_to_predict(store, root, names, models)
        todo = plan.names
        if plan.changed and not options.dry_run:  # every model's predictions of them are of the old file
            store.forget_predictions(plan.changed)
        # onnxruntime may still refuse a model (unknown operator, broken graph): it does so
        # here, before the store records the images or the models.
        session = open_session(models, options, workspace.cache_dir / "tensorrt") if todo else None
        registered, unstored = [], []

        def register_once() -> None:
            if not registered:
                # Images found in the workspace's own root are registered (found there now);
                # those of another copy are registered already, present or not in the root.
                register_images_and_models(store, names if options.images is None else [], models)
                registered.append(True)

        keep = unstored.append if options.dry_run else None
        stats = run_inference(store, root, todo, models, options, reporter, session, register_once, keep)
        if not options.dry_run:
            register_once()
            store.record_files({**plan.records, **stats.files})
        held = pd.concat(unstored, ignore_index=True) if unstored else None
        scope = set(names)
        outcomes = [
            decide_task(store, workspace.splits_dir, workspace.runs_dir, task, members, scope, options, held)
            for task, members in by_task.items()
        ]
        # The outputs the user named come before the labels: a write that fails there
        # (a FIFO nobody reads, a full device) stops the run with no label committed.
        files = _write_exports_and_grid(outcomes, root, options)
        for outcome in outcomes:
            (plan_decisions if options.dry_run else write_decisions)(store, outcome)
    from celeba_tui.autolabel.outputs import AutolabelReport, sorted_suspects, suspects, task_report, write_table
    from celeba_tui.labelling.queues import SUSPECT_COLUMNS

    skipped = [*scan.skipped, *elsewhere, *stats.failures]
    suspect_rows = suspects(outcomes)
    if not options.dry_run:  # a dry run leaves the last run's reports as they are
        rows = [{"image": n, "reason": r} for n, r in skipped]
        write_table(report_dir / SKIPPED_FILE, rows, ["image", "reason"], workspace.path)
        # Other tasks' suspects stay for their queue (`cycle -t light`, then `cycle -t orientation`),
        # and so do those of images this run did not look at (`--images` with a part of them).
        kept = suspects_kept(workspace.suspects_path, {outcome.task for outcome in outcomes}, set(names))
        write_table(workspace.suspects_path, sorted_suspects([*suspect_rows, *kept]), SUSPECT_COLUMNS, workspace.path)
        files = [*_write_precision_coverage(outcomes, report_dir, workspace.path), *files]
    return AutolabelReport(
        images=len(names),
        predicted_now=stats.predicted,
        already_predicted=len(names) - len(todo),
        skipped=len(skipped),
        skipped_report="" if options.dry_run else str(report_dir / SKIPPED_FILE),
        provider=stats.provider,
        execution_provider=stats.execution_provider,
        provider_fallbacks=stats.fallbacks,
        seconds=round(stats.seconds, 3),
        images_per_s=round(stats.predicted / stats.seconds, 1) if stats.seconds else None,
        tasks=[task_report(o) for o in outcomes],
        suspects=suspect_rows,
        suspects_report="" if options.dry_run else str(workspace.suspects_path),
        files=files,
        manual_images=len(set().union(*(outcome.images[outcome.manual].tolist() for outcome in outcomes))),
        warnings=warnings,
        dry_run=options.dry_run,
    )


def report_paths(workspace: Workspace) -> tuple[Path, ...]:
    """The reports every run writes in the workspace: skipped files, suspects, the precision-coverage figure."""
    folder = workspace.autolabel_dir
    return folder / SKIPPED_FILE, workspace.suspects_path, folder / PRECISION_COVERAGE_FILE


def suspects_kept(path: Path, tasks: set[str], scope: set[str]) -> list[dict]:
    """The rows of the suspects file this run does not replace: of tasks other than `tasks`,
    or of images outside `scope`. Rows that are not a suspect as autolabel writes one are
    dropped, and a damaged file gives none (this run writes it anew)."""
    from celeba_tui.labelling.queues import read_suspects

    try:
        frame = read_suspects(path)
    except CelebaError:
        return []
    text = ["image", "task", "human", "ensemble"]
    usable = frame[text].map(lambda value: isinstance(value, str) and value != "").all(axis=1)
    usable &= np.isfinite(pd.to_numeric(frame["confidence"], errors="coerce"))
    frame = frame[usable]
    kept = ~frame["task"].isin(tasks) | ~frame["image"].isin(scope)
    return [{**row, "confidence": float(row["confidence"])} for row in frame[kept].to_dict("records")]


NOT_IN_WORKSPACE = (
    "not an image of this workspace (--images reads a copy of its images; celeba scan registers new ones)"
)

# A batch is decoded in full before it runs (and flip TTA doubles it): 4,096 images at
# 224 px are 1.2 GB. Decode threads each hold batches ahead: more than 64 buy nothing.
MAX_BATCH_SIZE = 4096
MAX_WORKERS = 64


def check_options(options: AutolabelOptions) -> None:
    """Refuse options that cannot work, before any model is read, exported or run."""
    if not 0 <= options.high <= 1:  # named alone: --low may be its default, derived from it
        raise CelebaError(f"--high must be between 0 and 1; got {options.high}")
    try:
        Thresholds(options.high, options.low)
    except ValueError as exc:
        raise CelebaError(str(exc)) from None
    if options.target_precision is not None and not 0 < options.target_precision < 1:
        # A 95% lower bound never reaches 1 (0.99 takes some 380 held-out images, every one
        # right): 1 would label nothing and withdraw the earlier automatic labels, unasked.
        raise CelebaError(
            f"--target-precision must be above 0 and below 1 (its 95% lower bound never reaches 1); "
            f"got {options.target_precision}"
        )
    if not 1 <= options.batch_size <= MAX_BATCH_SIZE:
        raise CelebaError(f"--batch-size must be between 1 and {MAX_BATCH_SIZE:,}; got {options.batch_size:,}")
    if options.provider not in PROVIDER_CHOICES:
        raise CelebaError(f"unknown provider {options.provider!r} (one of {', '.join(PROVIDER_CHOICES)})")
    if options.calibrate_on not in CALIBRATE_ON:
        raise CelebaError(f"unknown --calibrate-on {options.calibrate_on!r} (one of {', '.join(CALIBRATE_ON)})")
    if options.workers is not None and not 1 <= options.workers <= MAX_WORKERS:
        raise CelebaError(
            f"--workers must be between 1 and {MAX_WORKERS} (omit it for one per CPU); got {options.workers:,}"
        )


def check_output_paths(
    options: AutolabelOptions, tasks, model_paths: Iterable[Path] = (), workspace: Workspace | None = None
) -> None:
    """--export (for these tasks: none yet, for its Parquet file alone) and --grid must be
    writable before any run is exported, anything predicted or committed, and must not be
    what the command reads (the model files, the images of an `--images` copy) nor the
    workspace's own reports of the last run (`--grid autolabel/suspects.csv` replaced the
    suspects queue's list by a picture, even in a dry run: attack pass 26)."""
    from celeba_tui.atomic import check_output_path, protect, protect_folder
    from celeba_tui.autolabel.outputs import export_paths
    from celeba_tui.images import IMAGE_SUFFIXES

    if workspace is not None:
        for path in report_paths(workspace):
            protect(path, "this workspace's report of the last autolabel")
    for path in model_paths:
        protect(Path(path), "a model this command reads")
    if options.images is not None:
        protect_folder(Path(options.images), "the images this command reads (--images)", IMAGE_SUFFIXES)

    if options.export is not None:
        for path in export_paths(Path(options.export), tasks):
            check_output_path(path)
    if options.grid is not None:
        check_output_path(Path(options.grid))


def register_images_and_models(store: LabelStore, names: list[str], models: list[EnsembleModel]) -> None:
    """The images found and the models run, as the predictions table refers to them."""
    store.register_images(names)
    for model in models:
        store.register_model(
            model.key,
            model.name,
            model.meta.task,
            {
                **asdict(model.meta),
                "file": str(model.path.resolve()),
                "tta": "flip" if model.tta else "none",
            },
        )


def _write_precision_coverage(outcomes: list[TaskOutcome], report_dir: Path, workspace_path: Path) -> list[str]:
    from celeba_tui.autolabel.calibration import plot_precision_coverage
    from celeba_tui.autolabel.rules import precision_coverage_curve

    curves = [
        (o.task, precision_coverage_curve(o.probs[:, o.held_rows], o.human[o.held_rows]), o.choice)
        for o in outcomes
        if len(o.held_rows)
    ]
    if not curves:
        return []
    path = report_dir / PRECISION_COVERAGE_FILE
    plot_precision_coverage(path, curves, workspace_path=workspace_path)
    return [str(path)]


def _write_exports_and_grid(outcomes: list[TaskOutcome], root: Path, options) -> list[str]:
    from celeba_tui.autolabel import outputs as autolabel_outputs

    files = []
    if options.export is not None:
        files += autolabel_outputs.write_exports(Path(options.export), outcomes)
    if options.grid is not None:
        autolabel_outputs.write_grid(Path(options.grid), root, outcomes)
        files.append(str(options.grid))
    return files
