"""`celeba stats`: what is in a store, per task, class, annotator and source.

Per task every image is in exactly one bucket: `labelled` (a current label: agreed,
reviewed or automatic), `conflicts` (the annotators disagree; no current label until a
review) or `unlabelled`; the three add up to the images counted. Images in the image
root are counted under `tasks`; labelled images that are not (yet) in the root under
`not_in_root`, with the same keys. `classes` splits `labelled` by class and `status`
by how the label was settled (review: a person decided; resolved: a merge's policy did;
single: one annotator alone; agreed: two or more agree; model). A merge's decision that
lapsed (a person answered on its image since) no longer counts: it is left out of the
annotators' and sources' live labels and counted under `lapsed_merge_decisions`.
"""

from __future__ import annotations

from collections import Counter

from celeba_tui.annotator_names import source_word
from celeba_tui.store.label_store import LabelStore
from celeba_tui.vocabulary import AGREED, AUTOMATIC, CONFLICT, RESOLVED, REVIEWED, SINGLE
from celeba_tui.workspace import Task, Workspace

BUCKETS = ("labelled", "conflicts", "unlabelled")
# How a current label was settled, as counted: `single` (one annotator, nobody to agree
# with) apart from `agreed` (two or more who agree), `resolved` (a merge's decision) apart
# from `review` (a person's).
LABEL_STATUSES = (REVIEWED, RESOLVED, SINGLE, AGREED, AUTOMATIC)


def store_stats(store: LabelStore, workspace: Workspace, tasks: tuple[Task, ...] | None = None) -> dict:
    """Counts of images and labels, aggregated inside SQLite (no per-row transfer), of
    `tasks` (default: the workspace's): their buckets, and the annotators' and sources'
    live labels of them.

    Plain Python over the few aggregated rows: no pandas, whose import alone would
    take about 0.4 s of the command's 1 s budget.
    """
    tasks = tuple(workspace.tasks) if tasks is None else tasks
    names = {task.name for task in tasks}
    images = store.image_count(present_only=True)
    absent = store.image_count(present_only=False) - images
    every = Counter({(task, status, label): n for task, status, label, n in store.current_label_counts()})
    outside = Counter()
    if absent:
        outside = Counter(
            {(task, status, label): n for task, status, label, n in store.current_label_counts(absent_images=True)}
        )
    inside = every - outside
    annotators: dict[str, dict[str, int]] = {}
    sources: Counter = Counter()
    for annotator, task, source, n in store.live_label_counts():
        if task not in names:
            continue
        per_task = annotators.setdefault(annotator, {})
        per_task[task] = per_task.get(task, 0) + n
        sources[source_word(source, annotator)] += n
    lapsed_by_merge: dict[str, dict[str, int]] = {}
    for annotator, task, n in store.lapsed_merge_counts():
        if task in names:
            lapsed_by_merge.setdefault(annotator, {})[task] = n
    return {
        "workspace": str(workspace.path),
        "image_root": str(workspace.image_root),
        "images": images,
        "images_not_in_root": absent,
        "tasks": {task.name: task_buckets(task, inside, images) for task in tasks},
        "not_in_root": {task.name: task_buckets(task, outside, absent) for task in tasks},
        "annotators": annotators,
        "sources": dict(sorted(sources.items())),
        "lapsed_merge_decisions": lapsed_by_merge,
    }


def task_buckets(task: Task, counts: Counter, images: int) -> dict:
    """One task's buckets over `images` images, from current-label counts keyed (task, status, label)."""
    by_class, by_status = Counter(), Counter()
    for (name, status, label), n in counts.items():
        if name != task.name:
            continue
        by_status[status] += n
        if label is not None:
            by_class[label] += n
    labelled = sum(by_class.values())
    conflicts = by_status[CONFLICT]
    return {
        "labelled": labelled,
        "conflicts": conflicts,
        "unlabelled": images - labelled - conflicts,
        "classes": {c: by_class[c] for c in task.classes},
        "status": {s: by_status[s] for s in LABEL_STATUSES},
    }
