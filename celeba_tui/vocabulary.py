"""The words the store describes labels with: one definition for every module.

A label row's *source* says who gave it; an image's *status* (the `current` table, one
row per image and task) says how its current label was settled. SQL written elsewhere
quotes these words through `sql_list`, so a new word is added here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable

# Sources: who gave a label.
HUMAN = "human"  # typed in `celeba label`
IMPORT = "import"  # read from a file or another store (a person's label)
REVIEW = "review"  # a reviewer's (or a merge's) decision that settles disagreement
MODEL = "model"  # the ensemble's automatic label
SOURCES = (HUMAN, REVIEW, MODEL, IMPORT)

# What `--label` / `label:` take for "no current label" (browse's filter): no task's class
# in a new config may be spelt so (workspace.check_new_names), or it could not be filtered.
NO_LABEL_WORDS = ("unlabelled", "unlabeled")
# A filter's word, never stored: the review rows a merge wrote (annotator `merge:POLICY`).
# Where `--source` filters (export, browse) and `celeba stats` counts sources, `review` is a
# person's decision and `merge` a policy's, as the statuses `review` and `resolved` are.
MERGE = "merge"
FILTER_SOURCES = (HUMAN, REVIEW, MERGE, MODEL, IMPORT)
# The annotators' own answers: what agreement compares and merges combine.
ANNOTATOR_SOURCES = (HUMAN, IMPORT)
# Every decision a person made (a merge's review rows included: a person chose its policy).
PEOPLE_SOURCES = (HUMAN, IMPORT, REVIEW)

# Statuses: how an image's current label for a task was settled. Precedence: the latest
# review decision; otherwise the annotators' labels when they agree (a conflict when
# not); otherwise the ensemble's automatic label.
REVIEWED = "review"
AGREED = "agreed"
CONFLICT = "conflict"
AUTOMATIC = "model"
STATUSES = (REVIEWED, AGREED, CONFLICT, AUTOMATIC)
# Shown, never stored: an `agreed` label that one annotator gave alone (nobody to agree
# with yet). `celeba stats`, `merge` and browse count and show it apart from agreement.
SINGLE = "single"
# Shown, never stored: a `review` decision a merge made (its policy settled the people's
# disagreement; no person's review of the image stands, which would outrank it). `celeba
# merge` calls these resolved and a person's decisions reviewed; stats, browse and the
# exports say the same, so a policy's decision never reads as a person's.
RESOLVED = "resolved"
# The statuses as shown: the store's, `single` and `resolved`.
SHOWN_STATUSES = (*STATUSES, SINGLE, RESOLVED)
# The same words in the order `celeba stats` and the help list them (SHOWN_STATUSES' order
# is the browse index's codes).
STATUS_WORDS = (REVIEWED, RESOLVED, SINGLE, AGREED, CONFLICT, AUTOMATIC)


def shown_status(status: str | None, n_annotators: int, *, merge_decided: bool) -> str | None:
    """A current label's status as people read it: `single` for an `agreed` label one
    annotator gave alone, `resolved` for a review decision a merge made
    (`merge_decided`), else the store's. SQL reads it as `store.schema.SHOWN_STATUS_SQL`."""
    if status == AGREED and n_annotators == 1:
        return SINGLE
    return RESOLVED if status == REVIEWED and merge_decided else status


# Labels people settled: what training learns from and what calibration holds out.
SETTLED_STATUSES = (AGREED, REVIEWED)
# Images people have labelled, settled or not: never auto-labelled.
PEOPLE_STATUSES = (AGREED, REVIEWED, CONFLICT)


def sql_list(words: Iterable[str]) -> str:
    """`'human', 'import'`: words of this module quoted for an SQL `IN (...)`."""
    words = tuple(words)
    unknown = [w for w in words if w not in SOURCES + STATUSES]
    if unknown:
        raise ValueError(f"not words of the label vocabulary: {unknown}")
    return ", ".join(f"'{w}'" for w in words)
