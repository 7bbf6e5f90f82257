"""people_status (who labelled each image and task) equals the SQL it replaced, on a messy store."""

import itertools

import numpy as np
import pandas as pd
import pytest

from celeba_tui.labelling.selection import people_status, sql_case, sql_in_list
from celeba_tui.vocabulary import PEOPLE_SOURCES

TASKS = ["light", "orientation"]
CLASSES = ("left", "center", "right")


def reference(store, annotator, task_names):
    """The GROUP BY query people_status used to run."""
    rows = store.query(
        f"SELECT v.image_id, {sql_case('v.task', task_names)}, COUNT(DISTINCT v.annotator_id), "
        "MAX(v.annotator_id = (SELECT id FROM annotators WHERE name = ?)) IS 1, MAX(v.source = 'review') "
        f"FROM live v WHERE v.source IN {sql_in_list(PEOPLE_SOURCES)} AND v.task IN {sql_in_list(task_names)} "
        "GROUP BY v.image_id, v.task",
        [*task_names, annotator, *PEOPLE_SOURCES, *task_names],
    )
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=5 * len(rows))
    return flat.reshape(-1, 5)


def canonical(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_people_status_equals_the_group_by_it_replaced(store, seed):
    rng = np.random.default_rng(seed)
    names = store.image_names()
    rows = []
    for _ in range(60):
        rows.append(
            {
                "image": names[rng.integers(len(names))],
                "task": TASKS[rng.integers(2)],
                "label": CLASSES[rng.integers(3)],
                "annotator": ["alice", "bob", "carol", "dave"][rng.integers(4)],
                "source": ["human", "human", "import", "review", "model"][rng.integers(5)],
            }
        )
    store.add_labels(pd.DataFrame(rows), skip_unchanged=False)
    live = store.query("SELECT id FROM labels WHERE label IS NOT NULL")
    for (label_id,) in live[:: max(1, len(live) // 8)]:
        store.revoke(label_id, "alice")  # undone decisions leave `live`
    for annotator in ("alice", "bob", "zed"):  # zed never labelled
        for task_names in (TASKS, ["orientation"]):
            got = people_status(store, annotator, task_names)
            assert np.array_equal(canonical(got), canonical(reference(store, annotator, task_names)))


def test_a_store_without_labels_has_no_rows(store):
    assert people_status(store, "alice", TASKS).shape == (0, 5)
