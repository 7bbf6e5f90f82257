"""JSON Lines export: one object per image with its current label, status, sources and annotators per task.

```
{"image": "000001.jpg", "present": true,
 "labels": {"light": "left", "orientation": null},
 "status": {"light": "agreed", "orientation": "conflict"},
 "sources": {"light": ["human", "import"], "orientation": ["human"]},
 "annotators": {"light": {"alice": "left", "bob": "left"}, "orientation": {"alice": "left", "bob": "right"}}}
```

Every object has every exported task in each map: `labels` holds the current label
(null for a conflict or no label), `status` how it was settled (review: a person decided;
resolved: a merge's policy did; agreed: by two or more; single: one annotator alone, as
`celeba stats` counts them; conflict; model; null: no label), `sources` the sources behind
it (`merge` for a merge's decision), and
`annotators` the people's own live labels (human and import). Images with a label or a
conflict in an exported task are written, in name order.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from celeba_tui.formats.export_report import OTHER_SOURCE, LeftOut, count_reasons
from celeba_tui.formats.export_selection import NOT_KEPT_CONFLICT, CurrentSelection

# json.dumps escapes the C0 line breaks (\n, \r, \v, \f, \x1c-\x1e) already.
_LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


def jsonl_records(selection: CurrentSelection) -> tuple[list[dict], list[LeftOut]]:
    """The objects to write (see the module) and the images left out, with why."""
    tasks = [t.name for t in selection.tasks]
    people: dict[tuple[str, str], dict[str, str]] = {}
    frame = selection.people
    for image, task, label, annotator in zip(
        frame["image"].tolist(), frame["task"].tolist(), frame["label"].tolist(), frame["annotator"].tolist()
    ):
        people.setdefault((image, task), {})[annotator] = label
    current = selection.current
    codes, images = pd.factorize(current["image"])
    shown = current["kept"].to_numpy(dtype=bool) | (
        (current["why_not"] == NOT_KEPT_CONFLICT).to_numpy(dtype=bool) & current["asked"].to_numpy(dtype=bool)
    )
    task_of_row = current["task"].to_numpy(dtype=object)
    row_of = {}  # task -> the row shown for each image (-1: none)
    for task in tasks:
        rows = np.flatnonzero(shown & (task_of_row == task))
        row_of[task] = np.full(len(images), -1)
        row_of[task][codes[rows]] = rows
    written = np.zeros(len(images), dtype=bool)
    written[codes[shown]] = True
    labels = [None if label is None or label != label else label for label in current["label"].tolist()]  # NaN: none
    # As `celeba stats` counts them: an `agreed` label of one annotator alone is `single`, a
    # merge's decision `resolved`.
    status = current["shown_status"].tolist()
    sources = current["sources"].tolist()
    present = np.zeros(len(images), dtype=bool)
    present[codes] = current["present"].to_numpy(dtype=bool)
    names = images.tolist()
    records = []
    for i in np.flatnonzero(written).tolist():
        name = names[i]
        rows = {t: int(row_of[t][i]) for t in tasks}
        records.append(
            {
                "image": name,
                "present": bool(present[i]),
                "labels": {t: labels[r] if r >= 0 else None for t, r in rows.items()},
                "status": {t: status[r] if r >= 0 else None for t, r in rows.items()},
                "sources": {t: list(sources[r]) if r >= 0 else [] for t, r in rows.items()},
                "annotators": {t: people.get((name, t), {}) if r >= 0 else {} for t, r in rows.items()},
            }
        )
    left_out = count_reasons([OTHER_SOURCE] * int((~written).sum()))
    return records, left_out


def write_jsonl(records: list[dict], out) -> None:
    """One compact JSON object per line; names keep their characters, but every character
    that some reader splits lines at (`str.splitlines`: also U+0085, U+2028, U+2029) is escaped."""
    buffer = io.StringIO()
    for record in records:
        buffer.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).translate(_LINE_BREAKS))
        buffer.write("\n")
    if hasattr(out, "write"):
        out.write(buffer.getvalue())
        return
    from celeba_tui.atomic import atomic_path

    with atomic_path(Path(out)) as tmp:
        tmp.write_text(buffer.getvalue(), encoding="utf-8", newline="")
