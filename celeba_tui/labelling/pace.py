"""How fast people label, and how long the rest takes at that pace (pure).

A session's side panel says how long the rest of its queue takes at its pace
(`minutes_left`); `celeba annotators` says it of everyone labelling now, and each
person's pace over all their work, from the times their decisions were stored
(`seconds_per_label`).

A lead asks what Label Studio's members page answers: who labels how much, and how long a
label takes them (its "lead time"). The time between one decision and the next is the
time the next took, while the person is at work: a gap longer than `BREAK_S` is a break
(lunch, another day), not a slow label, so it is left out. The median of the rest is the
person's pace: a few long looks at hard images do not move it, and a pace far under a
second per label is worth a look at that person's labels.
"""

from __future__ import annotations

import numpy as np

from celeba_tui.console import duration_text

# Answers this session before the pace says how long the rest takes (the first few are no pace).
MIN_ANSWERS_FOR_ESTIMATE = 10
BREAK_S = 120.0  # a longer gap between two decisions is a pause, not a label's time
MIN_GAPS = 10  # fewer timed labels than this are no pace yet


def seconds_per_label(times: np.ndarray) -> float | None:
    """The median time between consecutive decisions at `times` (epoch s, sorted), pauses
    over `BREAK_S` left out; None for fewer than `MIN_GAPS` such gaps."""
    gaps = np.diff(np.asarray(times, dtype=np.float64))
    gaps = gaps[np.isfinite(gaps) & (gaps >= 0) & (gaps <= BREAK_S)]
    if len(gaps) < MIN_GAPS:
        return None
    return float(np.median(gaps))


def minutes_left(images_left: int | None, questions: int, per_minute: float, answers: int) -> float | None:
    """Minutes the queue's `images_left` take at `per_minute` answers, `questions` per
    image; None until the session has given MIN_ANSWERS_FOR_ESTIMATE answers."""
    if images_left is None or answers < MIN_ANSWERS_FOR_ESTIMATE or per_minute <= 0:
        return None
    return images_left * max(questions, 1) / per_minute


def time_left_text(minutes: float) -> str:
    """ "under a minute left", "about 14 min left"."""
    left = duration_text(minutes)
    return f"{left if left.startswith('under') else 'about ' + left} left"
