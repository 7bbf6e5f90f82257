"""Exports that are folders of images: torchvision / Keras class folders, and a Hugging Face image folder.

`imagefolder`: `DIR/<task>/<class>/<image>`, one folder per class of every task (empty
ones included, so each export has the same classes), each image with a current label
for the task in its class's folder. `torchvision.datasets.ImageFolder(DIR/light)` and
`keras.utils.image_dataset_from_directory(DIR/light)` read a task's folder as it is.

`hf`: `DIR/train/<image>` (each image once) and `DIR/train/metadata.parquet` with
`file_name`, `image_name` (the name in the store) and one column per task: the class
index in the task's class order, empty where the image has no current label for the
task (the export counts those of a conflict or of a source not asked for, per task); the Parquet schema carries the `datasets` features, so
`datasets.load_dataset("imagefolder", data_dir=DIR)` gives each task as a ClassLabel.

File names and the folder's safety: see `export_folder`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import pandas as pd

from celeba_tui.formats.export_folder import Destination, FileWriter, flat_file_name, staged_folder
from celeba_tui.formats.export_report import CONFLICT, NOT_IN_ROOT, OTHER_SOURCE, LeftOut, count_reasons
from celeba_tui.formats.export_selection import NOT_KEPT_CONFLICT, CurrentSelection

HF_SPLIT = "train"
HF_METADATA = "metadata.parquet"
_NOT_KEPT = {NOT_KEPT_CONFLICT: CONFLICT}


@dataclass(frozen=True)
class FolderExport:
    files: int
    images: int
    left_out: list[LeftOut]
    empty_values: list[LeftOut] = field(default_factory=list)  # hf: written, a task's value empty


def write_imagefolder(selection: CurrentSelection, destination: Destination, writer: FileWriter) -> FolderExport:
    """Write `DIR/<task>/<class>/<image>` (see the module)."""
    current = selection.current
    problems: dict[str, str | None] = {}
    left_out: list[LeftOut] = []
    files, images = 0, set()
    with staged_folder(destination, _marker("imagefolder", selection)) as root:
        for task in selection.tasks:
            rows = current[current["task"] == task.name]
            reasons = [_NOT_KEPT.get(w, OTHER_SOURCE) for w in rows.loc[~rows["kept"], "why_not"] if w is not None]
            for cls in task.classes:
                (root / task.name / cls).mkdir(parents=True)
            kept = rows[rows["kept"]]
            for name, label, present in zip(kept["image"].tolist(), kept["label"].tolist(), kept["present"].tolist()):
                problem = _problem(name, present, writer, problems)
                if problem:
                    reasons.append(problem)
                    continue
                writer.put(name, root / task.name / label)
                files += 1
                images.add(name)
            left_out += count_reasons(reasons, task.name)
    return FolderExport(files, len(images), left_out)


def write_hf(selection: CurrentSelection, destination: Destination, writer: FileWriter) -> FolderExport:
    """Write `DIR/train/<image>` and its `metadata.parquet` (see the module)."""
    current = selection.current
    kept = current[current["kept"]]
    candidates = current.drop_duplicates("image")[["image", "present"]]
    with_label = set(kept["image"].tolist())
    conflicts = set(current.loc[current["why_not"] == NOT_KEPT_CONFLICT, "image"].tolist())
    reasons, written = [], []
    problems: dict[str, str | None] = {}
    for name, present in zip(candidates["image"].tolist(), candidates["present"].tolist()):
        if name not in with_label:
            reasons.append(CONFLICT if name in conflicts else OTHER_SOURCE)
            continue
        problem = _problem(name, present, writer, problems)
        if problem:
            reasons.append(problem)
        else:
            written.append(name)
    with staged_folder(destination, _marker("hf", selection)) as root:
        folder = root / HF_SPLIT
        folder.mkdir()
        for name in written:
            writer.put(name, folder)
        import pyarrow.parquet as pq

        pq.write_table(_hf_metadata(selection, kept, written), folder / HF_METADATA)
    return FolderExport(len(written), len(written), count_reasons(reasons), _empty_values(selection, written))


def _empty_values(selection: CurrentSelection, written: list[str]) -> list[LeftOut]:
    """Per task, the images written whose value for it is left empty, and why: a conflict,
    or a label of a source not asked for (helper-77: said nothing, where imagefolder counts them)."""
    current = selection.current
    shown = current[current["image"].isin(written) & ~current["kept"] & current["why_not"].notna()]
    return [
        item
        for task in selection.tasks
        for item in count_reasons(
            [_NOT_KEPT.get(w, OTHER_SOURCE) for w in shown.loc[shown["task"] == task.name, "why_not"]],
            task.name,
        )
    ]


def _problem(name: str, present: bool, writer: FileWriter, seen: dict[str, str | None]) -> str | None:
    if not present:
        return NOT_IN_ROOT
    if name not in seen:
        seen[name] = writer.check(name)
    return seen[name]


def _hf_metadata(selection: CurrentSelection, kept: pd.DataFrame, names: list[str]):
    """file_name, image_name and a class index per task, with the `datasets` features in the schema."""
    import pyarrow as pa

    columns: dict[str, pa.Array] = {
        "file_name": pa.array([flat_file_name(n) for n in names], pa.string()),
        "image_name": pa.array(names, pa.string()),
    }
    features = {"file_name": _value("string"), "image_name": _value("string")}
    for task in selection.tasks:
        labels = kept[kept["task"] == task.name].set_index("image")["label"]
        index = {c: i for i, c in enumerate(task.classes)}
        codes = labels.map(index).reindex(names)
        columns[task.name] = pa.array([None if pd.isna(c) else int(c) for c in codes], pa.int64())
        features[task.name] = {"names": list(task.classes), "_type": "ClassLabel"}
    meta = {b"huggingface": json.dumps({"info": {"features": features}}).encode()}
    return pa.table(columns).replace_schema_metadata(meta)


def _value(dtype: str) -> dict:
    return {"dtype": dtype, "_type": "Value"}


def _marker(fmt: str, selection: CurrentSelection) -> dict:
    return {
        "format": fmt,
        "tasks": {t.name: list(t.classes) for t in selection.tasks},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
