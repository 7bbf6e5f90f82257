"""The filter language of `celeba browse` (the screen's `/` line and the command's options).

A BrowseFilter says which images to show and in what order; `parse_filter` reads the
typed form and `describe_filter` writes it back. Applying a filter is
selection.select_positions (the one implementation, shared with the label queues'
selection code).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from celeba_tui.errors import CelebaError
from celeba_tui.vocabulary import FILTER_SOURCES, NO_LABEL_WORDS, SHOWN_STATUSES, STATUS_WORDS

SORTS = ("name", "confidence", "time")
UNLABELLED = NO_LABEL_WORDS[0]  # `--label unlabelled`: no current label (not even a model's)
_FILTER_KEYS = ("task", "label", "status", "source", "annotator", "queue", "confidence-below", "sort")


@dataclass(frozen=True)
class BrowseFilter:
    """What `celeba browse` shows: conditions on (image, task) pairs, name words, an order.

    Empty `tasks` means any task. `label` is a class or UNLABELLED; `status` how the
    current label was settled, as `celeba stats` counts it (SHOWN_STATUSES); `source` and
    `annotator` must hold together on one live label of the pair; `queue` keeps the
    pairs that queue would ask (for the browsing annotator); `words` must all occur in
    the image name (case-insensitive).
    """

    tasks: tuple[str, ...] = ()
    label: str | None = None
    source: str | None = None
    annotator: str | None = None
    queue: str | None = None
    confidence_below: float | None = None
    disagreement: bool = False
    words: tuple[str, ...] = ()
    sort: str = "name"
    status: str | None = None

    @property
    def needs_confidence(self) -> bool:
        return self.confidence_below is not None or self.sort == "confidence"

    @property
    def pair_conditions(self) -> bool:
        return any(
            (
                self.label,
                self.status,
                self.source,
                self.annotator,
                self.queue,
                self.confidence_below is not None,
                self.disagreement,
            )
        )


def parse_filter(text: str) -> BrowseFilter:
    """The filter typed after `/`: `key:value` terms (task, label, status, source, annotator, queue,
    confidence-below, sort; `conf<X` for short), `disagreement`, and name words. Pure;
    a CelebaError names the term it cannot read."""
    fields: dict = {"tasks": [], "words": []}
    for term in text.split():
        key, sep, value = term.partition(":")
        if term.lower() in ("disagreement", "disagree"):
            fields["disagreement"] = True
        elif term.lower().startswith("conf<"):
            fields["confidence_below"] = _confidence(term[5:], term)
        elif sep and key.lower() in _FILTER_KEYS:
            key = key.lower()
            if not value:
                raise CelebaError(f"{term!r}: give a value after the colon")
            if key == "task":
                fields["tasks"].append(value)
            elif key == "confidence-below":
                fields["confidence_below"] = _confidence(value, term)
            else:
                fields[key] = value
        elif sep and (meant := _meant_key(key)):
            raise CelebaError(f"{term!r}: no filter term {key}: (did you mean {_meant_term(meant, value)}?)")
        else:
            fields["words"].append(term)
    fields["tasks"], fields["words"] = tuple(fields["tasks"]), tuple(fields["words"])
    return check_filter(BrowseFilter(**fields))


def _meant_term(key: str, value: str) -> str:
    """`key:value` where that term reads, else `key:` alone (helper-87: `c/status:conflicted`
    was told "did you mean status:conflicted?", which is refused in turn)."""
    try:
        parse_filter(f"{key}:{value}")
    except CelebaError:
        return f"{key}:"
    return f"{key}:{value}"


def _meant_key(key: str) -> str | None:
    """The filter key `key:` was most likely a slip for (labl, sorce, anotator), or None:
    then it is part of a name (names may hold colons)."""
    import difflib

    close = difflib.get_close_matches(key.lower(), _FILTER_KEYS, n=1, cutoff=0.8)
    return close[0] if close else None


def _confidence(value: str, term: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CelebaError(f"{term!r}: the confidence must be a number between 0 and 1") from None
    if not 0.0 <= number <= 1.0:
        raise CelebaError(f"{term!r}: the confidence must be between 0 and 1")
    return number


def check_filter(wanted: BrowseFilter) -> BrowseFilter:
    """The filter with words the store knows normalised (sort, source, `unlabelled`); pure."""
    if wanted.sort not in SORTS:
        raise CelebaError(f"sort {wanted.sort!r}: one of {', '.join(SORTS)}")
    if wanted.source is not None and wanted.source not in FILTER_SOURCES:
        raise CelebaError(f"source {wanted.source!r}: one of {', '.join(FILTER_SOURCES)}")
    if wanted.status is not None and wanted.status not in SHOWN_STATUSES:  # helper-71: stats' words, no filter
        from celeba_tui.console import did_you_mean

        meant = did_you_mean(wanted.status, STATUS_WORDS)
        raise CelebaError(f"status {wanted.status!r}: {meant}one of {', '.join(STATUS_WORDS)}")
    if wanted.label is not None and wanted.label.lower() in NO_LABEL_WORDS:
        wanted = replace(wanted, label=UNLABELLED)
    return wanted


def describe_filter(wanted: BrowseFilter) -> str:
    """The filter as `parse_filter` reads it (what the filter line shows); '' for everything."""
    terms = [f"task:{t}" for t in wanted.tasks]
    for key, value in (
        ("label", wanted.label),
        ("status", wanted.status),
        ("source", wanted.source),
        ("annotator", wanted.annotator),
        ("queue", wanted.queue),
    ):
        if value is not None:
            terms.append(f"{key}:{value}")
    if wanted.confidence_below is not None:
        terms.append(f"conf<{wanted.confidence_below:g}")
    if wanted.disagreement:
        terms.append("disagreement")
    terms.extend(wanted.words)
    if wanted.sort != "name":
        terms.append(f"sort:{wanted.sort}")
    return " ".join(terms)
