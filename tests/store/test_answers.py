"""A person's answers: when given (`detail`'s `answered`, else when stored), and which is theirs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from celeba_tui.store.answers import answer_times, answered_details, newest_answers


def test_answered_times_round_trip_and_a_forged_detail_is_no_time():
    details = answered_details(pd.Series([1735725600.25, np.nan]))
    assert json.loads(details[0]) == {"answered": 1735725600.25} and details[1] is None
    forged = ['{"answered": 1e308}', '{"answered": -5}', '{"answered": "x"}', '{"ensemble": "e1"}', "[1]", None]
    stored = pd.DataFrame({"detail": [*details, *forged], "time": np.arange(8.0)})
    assert answer_times(stored).tolist() == [1735725600.25, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


def test_an_annotators_newest_answer_is_theirs_and_reviews_stay():
    live = pd.DataFrame(
        {
            "image": ["a.jpg"] * 3,
            "task": ["light"] * 3,
            "label": ["left", "right", "center"],
            "annotator": ["al"] * 3,
            "source": ["human", "import", "review"],
            "id": [3, 1, 2],
        }
    )
    assert sorted(newest_answers(live)["label"]) == ["center", "left"]
