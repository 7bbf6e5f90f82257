"""Whose name `label` and `browse` write under: the option typed, else $CELEBA_ANNOTATOR,
else the OS user's; refused before any screen where it cannot be an annotator's, and the
note a screen opens with where the name deserves a second look."""

from __future__ import annotations

import os

from celeba_tui.cli.app import ANNOTATOR_ENV
from celeba_tui.errors import CelebaError


def default_annotator() -> str:
    """$CELEBA_ANNOTATOR, else the OS user name."""
    import getpass

    name = os.environ.get(ANNOTATOR_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "annotator"


def name_typed(given: str | None) -> bool:
    """Whether the person chose the name (an option, or $CELEBA_ANNOTATOR), not the OS."""
    return bool((given or "").strip() or os.environ.get(ANNOTATOR_ENV, "").strip())


def check_annotator(name: str, given: str | None, flag: str) -> None:
    """A CelebaError where `name` (from `flag` as `given`, or the environment) cannot be an
    annotator's: blamed on the option, or on the OS that gave it (attack pass 33: an OS user
    `merge:x` was blamed on --annotator)."""
    from celeba_tui.annotator_names import annotator_name_problem, shown_name

    problem = annotator_name_problem(name)
    if problem is None:
        return
    if name_typed(given):
        raise CelebaError(f"{flag}: {problem}")
    raise CelebaError(f"the OS user's name {shown_name(name)} (no {flag} given) {problem}: give {flag} NAME")


def name_note(store, name: str, given: str | None, flag: str) -> str | None:
    """The "Check your name" line for `name` among the store's annotators
    (annotator_names.name_hint), or None."""
    from celeba_tui.annotator_names import name_hint, shown_name

    known = [row[0] for row in store.query("SELECT name FROM annotators")]
    people = [] if name in known else store.names_now_of(name)
    if people:  # attack pass 40: an old name became a new person without a word
        meant = " or ".join(shown_name(person) for person in people)
        return f"{shown_name(name)} was {meant}'s name before a rename: did you mean {meant}? (labels go under the name as typed)"
    return name_hint(name, known, typed=name_typed(given), flag=flag, live=store.with_live_labels)
