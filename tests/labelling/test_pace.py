"""How fast people label (labelling/pace.py): each person's pace, the rest of a queue's time."""

from __future__ import annotations

import numpy as np

from celeba_tui.labelling.pace import BREAK_S, MIN_GAPS, seconds_per_label, time_left_text


def test_pace_is_the_median_gap_between_decisions_with_pauses_left_out():
    gaps = [2.0] * 8 + [3.0] * 5 + [BREAK_S + 1, 3600.0 * 20]  # a lunch and a night are no label's time
    times = np.cumsum([1_000_000.0, *gaps])
    assert seconds_per_label(times) == 2.0
    assert seconds_per_label(times[:MIN_GAPS]) is None  # nine gaps: no pace yet
    assert seconds_per_label(np.array([])) is None and seconds_per_label(np.array([5.0])) is None


def test_pace_ignores_gaps_a_forged_store_could_make():
    times = np.array([0.0, np.nan, np.inf, *np.arange(1.0, 13.0)])
    assert seconds_per_label(times) == 1.0


def test_time_left_reads_as_the_side_panel_says_it():
    assert [time_left_text(m) for m in (0.4, 14.4, 230)] == [
        "under a minute left",
        "about 14 min left",
        "about 3 h 50 min left",
    ]
