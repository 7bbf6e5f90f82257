"""Which labels a run learnt from: a fingerprint of the task's labels and its split.

`celeba train` and `celeba cycle` write `labels.json` into the run directory:

    {"labels": "<sha256 of the sorted (image, label) pairs training could use>",
     "images": N, "split": "<sha256 of splits/<task>.csv as the run read it>"}

so `celeba cycle` can tell that a run was trained on exactly the current labels (and
split) and need not be trained again. The labels are fingerprinted before training
starts: labels added while it trains make the next cycle train again, never the reverse.

Which images a run's weights learnt from is recorded apart (trained_on.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError

if TYPE_CHECKING:
    from celeba_tui.models.run_files import Run
    from celeba_tui.training.fit import TrainResult
    from celeba_tui.training.trainer import TrainOptions
    from celeba_tui.workspace import Workspace

LABELS_FILE = "labels.json"


@dataclass(frozen=True)
class LabelsFingerprint:
    labels: str  # sha256 of the (image, label) pairs, each annotator's by their id
    images: int
    split: str | None = None  # sha256 of the split file; None before training made it
    # "id"; "name" in labels.json written before annotators were keyed by id (a rename then
    # changed the fingerprint).
    keyed_by: str = "id"
    by_name: str | None = None  # the current labels keyed the old way, to recognise such runs

    def to_dict(self) -> dict:
        return {"labels": self.labels, "images": self.images, "split": self.split, "keyed_by": self.keyed_by}

    def same_labels(self, current: "LabelsFingerprint") -> bool:
        """Whether these recorded labels are `current`'s, however they were keyed."""
        if self.keyed_by == "id":
            return self.labels == current.labels
        return current.by_name is not None and self.labels == current.by_name


def fingerprint_pairs(pairs) -> str:
    """The sha256 of (image, label) pairs, whatever their order."""
    digest = hashlib.sha256()
    for image, label in sorted((str(name), str(value)) for name, value in pairs):
        digest.update(f"{image}\t{label}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def current_fingerprint(workspace: Workspace, task: str, *, pseudo_labels: bool = False) -> LabelsFingerprint:
    """What `celeba train` would learn from now: the task's settled labels, every annotator's
    label (soft targets learn from them all, conflicts included), the ensemble's automatic
    labels when training takes them too; and the split file."""
    from celeba_tui.agreement.apply_merge import human_labels as annotator_labels
    from celeba_tui.training.dataset import automatic_labels, settled_labels
    from celeba_tui.training.split import split_digest

    the_task = workspace.task(task)
    with workspace.open_store(readonly=True) as store:
        current = store.current_labels(the_task.name)
        said = annotator_labels(store, (the_task,))
        # By the annotator's id, not name: a rename (`celeba annotators rename`) changes no label.
        annotator_ids = {str(name): number for name, number in store.query("SELECT name, id FROM annotators")}
    labels, _ = settled_labels(current, the_task)
    automatic = automatic_labels(current, the_task) if pseudo_labels else None
    settled = list(labels[["image", "label"]].itertuples(index=False, name=None))
    voices = list(said[["image", "annotator", "label"]].itertuples(index=False, name=None))
    machine = []
    if automatic is not None:
        machine = [(image, f"model:{label}") for image, label in automatic.itertuples(index=False, name=None)]
    pairs = (
        settled + [(image, f"#{annotator_ids.get(str(who), who)}={label}") for image, who, label in voices] + machine
    )
    by_name = settled + [(image, f"{who}={label}") for image, who, label in voices] + machine
    split = split_digest(workspace.splits_dir, task)
    images = len({image for image, _ in pairs})
    return LabelsFingerprint(fingerprint_pairs(pairs), images, split, by_name=fingerprint_pairs(by_name))


def write_run_labels(run_path: Path, fingerprint: LabelsFingerprint) -> None:
    from celeba_tui.training.run_dir import write_json

    write_json(Path(run_path) / LABELS_FILE, fingerprint.to_dict())


def run_labels(run: Run) -> LabelsFingerprint | None:
    """What a run recorded about its labels; None for runs that did not (older, or damaged files)."""
    path = run.path / LABELS_FILE
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the read
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        keyed_by = "id" if data.get("keyed_by") == "id" else "name"
        return LabelsFingerprint(str(data["labels"]), int(data["images"]), data.get("split"), keyed_by)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def train_recording_labels(workspace: Workspace, options: TrainOptions, reporter=None) -> TrainResult:
    """`training.trainer.train`, then the labels it learnt from written into the run."""
    from celeba_tui.training.trainer import train

    before = current_fingerprint(workspace, workspace.task(options.task).name, pseudo_labels=options.pseudo_labels)
    result = train(workspace, options, reporter)
    if result.run_path is not None:
        # The split as the run read it: another run's --new-split may have replaced the file since.
        split = result.config.get("split_sha256")
        try:
            write_run_labels(result.run_path, LabelsFingerprint(before.labels, before.images, split))
        except OSError as exc:
            raise CelebaError(f"{result.run_path}: cannot record the labels it learnt from ({exc})") from None
    return result
