"""The `synth` command's file handling: a safe output folder, annotator files, the summary."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pandas as pd

from celeba_tui.atomic import check_output_folder, check_owned_file, owned_folder, owned_path
from celeba_tui.errors import CelebaError
from celeba_tui.regular_files import file_kind
from celeba_tui.synth.dataset import (
    ATTRIBUTES_FILE,
    GROUND_TRUTH_FILE,
    IMAGE_DIR,
    LANDMARKS_FILE,
    PARTITION_FILE,
    STARTED_MARKER,
)
from celeba_tui.synth.truth import CLASSES

ANNOTATOR_DIR = "annotators"
CONTACT_SHEET = "contact_sheet.png"
# --truth-labels: every image's true classes as a label file (annotator `truth` when imported).
TRUTH_LABELS_FILE = "truth.csv"
# The files synth names itself in --out: a link or a FIFO found at one is an error, not followed.
OWN_FILES = (
    LANDMARKS_FILE,
    ATTRIBUTES_FILE,
    PARTITION_FILE,
    GROUND_TRUTH_FILE,
    CONTACT_SHEET,
    TRUTH_LABELS_FILE,
    STARTED_MARKER,
)
_IMAGE_NAME = re.compile(r"^(\d{6})\.jpg$")
_ANNOTATOR_FILE = re.compile(r"^ann\d+\.csv$")


def prepare_output(out: Path, n: int, force: bool) -> None:
    """Make `out` ready: new or empty, or (with force) a synthetic dataset we may overwrite.

    Overwriting removes only what `synth` itself writes and the new run would not
    replace (images past n, annotator files), never anything else.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CelebaError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise CelebaError(f"{out}: folder is not empty (pass --force to overwrite a synthetic dataset there)")
        # (A link at the ground truth counts here, to be refused by name just below.)
        if not (out / GROUND_TRUTH_FILE).is_file() and not _regular_file(out / STARTED_MARKER):
            raise CelebaError(f"{out}: not empty and not a synthetic dataset (no {GROUND_TRUTH_FILE}); not overwriting")
        for name in OWN_FILES:  # a link or FIFO planted at one: refused before anything is removed
            check_owned_file(out / name, out)
        images = owned_folder(out / IMAGE_DIR, out)
        for path in images.iterdir():
            match = _IMAGE_NAME.match(path.name)
            if match and int(match.group(1)) > n:
                path.unlink()
            elif match and not stat.S_ISREG(mode := path.lstat().st_mode):
                kind = "a symbolic link" if stat.S_ISLNK(mode) else file_kind(mode)
                raise CelebaError(f"{path}: is {kind}, where synth writes an image; not overwriting (remove it)")
        if _regular_file(out / TRUTH_LABELS_FILE):  # a stale one would label the new images wrongly
            (out / TRUTH_LABELS_FILE).unlink()
        annotators = out / ANNOTATOR_DIR
        for path in annotators.iterdir() if annotators.is_dir() else ():
            if _ANNOTATOR_FILE.match(path.name):
                path.unlink()
    check_output_folder(out)  # made if missing, but not its parents
    for name in OWN_FILES:  # the image folder is checked as it is made (dataset.render_dataset)
        check_owned_file(out / name, out)
    with owned_path(out / STARTED_MARKER, out) as tmp:
        tmp.write_text("`celeba synth` is writing this folder, or was stopped before it finished\n")


def _regular_file(path: Path) -> bool:
    """A regular file at `path` itself (a link to one does not count)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def write_annotators(
    out: Path, truth: pd.DataFrame, k: int, overlap: float, seed: int, coverage: float
) -> dict[str, pd.DataFrame]:
    """Simulate k annotators and write out/annotators/<name>.csv in the study's one-hot format."""
    from celeba_tui.formats.onehot import write_onehot
    from celeba_tui.synth.annotators import simulate_annotators
    from celeba_tui.workspace import DEFAULT_TASKS

    labels = simulate_annotators(truth, k, overlap, seed, coverage=coverage)
    folder = owned_folder(Path(out) / ANNOTATOR_DIR, Path(out))
    for name, frame in labels.items():
        with owned_path(folder / f"{name}.csv", Path(out)) as tmp:
            write_onehot(frame, tmp, DEFAULT_TASKS)
    return labels


def write_truth_labels(out: Path, truth: pd.DataFrame) -> Path:
    """out/truth.csv: every image's true classes in the study's one-hot format, for training a
    network on the renders themselves (`celeba train --start-from`, docs/training.md)."""
    from celeba_tui.formats.onehot import write_onehot
    from celeba_tui.workspace import DEFAULT_TASKS

    names = [task.name for task in DEFAULT_TASKS]
    labels = truth.melt(id_vars="image", value_vars=names, var_name="task", value_name="label")
    path = Path(out) / TRUTH_LABELS_FILE
    with owned_path(path, Path(out)) as tmp:
        write_onehot(labels, tmp, DEFAULT_TASKS)
    return path


def synth_summary(
    out: Path,
    truth: pd.DataFrame,
    labels: dict[str, pd.DataFrame],
    seconds: float,
    workers: int,
    truth_file: Path | None = None,
) -> dict:
    from celeba_tui.synth.annotators import annotator_summary, pairwise_agreement

    return {
        "out": str(out),
        "images": len(truth),
        "seconds": round(seconds, 3),
        "images_per_s": round(len(truth) / max(seconds, 1e-9), 1),
        "workers": workers,
        "classes": {
            task: {name: int((truth[task] == name).sum()) for name in CLASSES} for task in ("light", "orientation")
        },
        "annotators": annotator_summary(labels, truth) if labels else [],
        "agreement": pairwise_agreement(labels) if labels else {},
        "annotator_dir": str(Path(out) / ANNOTATOR_DIR) if labels else None,
        "truth_labels": None if truth_file is None else str(truth_file),
    }
