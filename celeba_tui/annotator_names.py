"""What an annotator may be called: the rule every way of naming one checks.

Annotator names are printed in terminals and written into CSV files that people open
in spreadsheets, and the `merge:` prefix marks the merge's own decisions (a person's
decision is never overruled by a merge, so a person must not be able to look like one).
For the same reason no person may be called `autolabel`, the automatic labels' name: their
labels would be counted, and withdrawn, with the ensemble's.
"""

from __future__ import annotations

import unicodedata

MERGE_PREFIX = "merge:"
MODEL_ANNOTATOR = "autolabel"  # the name `celeba autolabel` stores the ensemble's labels under
# A spreadsheet reads a cell starting with one of these as a formula (OWASP's CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@")
# Characters that reorder or break the text around them where a name is printed: the
# bidirectional controls ("Trojan Source") and the Unicode line and paragraph separators.
# Other invisible formatting characters stay allowed (emoji sequences join with U+200D).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that print as nothing at all, so `ali<ZWSP>ce` reads as `alice` in every table
# (attack pass 31): the zero-width space, word joiner, byte-order mark, soft hyphen, the
# Mongolian vowel separator and the Hangul fillers. The joiners emoji and scripts need stay.
INVISIBLE = frozenset("\u200b\u2060\ufeff\u00ad\u180e\u115f\u1160\u3164\uffa0")


# A name is shown in tables, the TUI's header and error lines; a merge's name holds one
# (`merge:prefer:NAME`), hence its longer cap.
MAX_NAME_CHARACTERS = 100
MAX_MERGE_NAME_CHARACTERS = 200


def shown_name(name: object, limit: int = 60) -> str:
    """A name as an error line quotes it: its repr, cut to `limit` characters."""
    text = repr(name)
    return text if len(text) <= limit else text[: limit - 4] + "..." + text[-1]  # the quote it opened with


def shown_names(names, most: int = 5) -> str:
    """Names for an error line: each `shown_name`, the first `most` of them, and how many
    in all after that (attack pass 39: a header of 20,000 unknown columns named every one)."""
    names = list(names)
    head = ", ".join(shown_name(name) for name in names[:most])
    return head if len(names) <= most else f"{head}, ... ({len(names):,} in all)"


def unknown_annotator(name: str, known, renamed_to=()) -> str:
    """The error line for a name no annotator has, with who had it before a rename
    (`renamed_to`: their names now; attack pass 40), else the closest of `known` (a typo's
    likely meaning) or, from a handful, all of them."""
    from celeba_tui.console import close_matches

    if renamed_to:
        return f"no annotator named {shown_name(name)}: renamed {' and '.join(shown_name(n) for n in renamed_to)} since"
    known = sorted(str(k) for k in known)
    close = close_matches(name, known, n=3)
    if close:
        hint = f"; did you mean {' or '.join(shown_name(c) for c in close)}?"
    elif 0 < len(known) <= 5:
        hint = f"; the annotators are {', '.join(shown_name(k) for k in known)}"
    else:
        hint = " (see `celeba annotators`)"
    return f"no annotator named {shown_name(name)}{hint}"


def newcomer_hint(name: str, known, live=None) -> str | None:
    """For a name no annotator has yet that looks like one of `known` (another case, a
    typo): the line that asks whether the person meant that one; None otherwise. A
    mistyped `-a Alice` would quietly become a second person, counted in agreement and
    merges. `live`: of some names, those with a live label (LabelStore.with_live_labels):
    a name whose labels were all taken back (`import --undo` of a mistyped one) is no one
    to mean (helper-85)."""
    from celeba_tui.console import close_matches

    known = [str(k) for k in known]
    if name in known:
        return None
    close = close_matches(name, known, n=2, cutoff=0.8)  # Alice, ALICE, ａｌｉｃｅ, alcie for alice
    if close and live is not None:
        kept = live(close)
        close = [person for person in close if person in kept]
    if not close:
        return None
    meant = " or ".join(shown_name(c) for c in close)
    return f"{shown_name(name)} is a new annotator: did you mean {meant}? (labels go under the name as typed)"


def annotator_kind(name: str) -> str:
    """Who an annotator's name is: `person`, `ensemble` (`celeba autolabel`'s labels) or
    `merge` (a merge policy's decisions), which no person may be called."""
    if name.startswith(MERGE_PREFIX):
        return "merge"
    return "ensemble" if name == MODEL_ANNOTATOR else "person"


def source_word(source: str, annotator: str) -> str:
    """A live row's source as `celeba stats` and the `--source` filters name it: a merge's
    review row is `merge` (vocabulary.MERGE), a person's `review`, the others as stored."""
    from celeba_tui.vocabulary import MERGE, REVIEW

    return MERGE if source == REVIEW and annotator_kind(annotator) == "merge" else source


def are_merges(names):
    """Which of `names` (a pandas Series of annotator names) are merges' (`merge:POLICY`): a
    bool array, vectorised (a review row of one is a policy's decision, not a person's)."""
    return names.str.startswith(MERGE_PREFIX).to_numpy(dtype=bool)


def os_user_hint(name: str, known, flag: str) -> str | None:
    """For a name nobody typed (the OS user's: no `flag`, no $CELEBA_ANNOTATOR) that none
    of the people in the store has, while some do: the line that says whose name the
    decisions go under and how to choose; None otherwise (a store of one's own, or the
    name is known). Browsing as `root` stored reviews under `root` without a word."""
    people = sorted(str(k) for k in known if annotator_kind(str(k)) == "person")
    if not people or name in people:
        return None
    shown = ", ".join(shown_name(p) for p in people[:5]) + (f" and {len(people) - 5} more" if len(people) > 5 else "")
    return (
        f"your decisions go under {shown_name(name)}, the OS user's name (no {flag} given); "
        f"people here: {shown}; {flag} NAME to be one of them"
    )


def name_hint(name: str, known, *, typed: bool, flag: str, live=None) -> str | None:
    """The line a labelling or browsing screen opens with about whose name it writes under:
    a typed name that looks like a known one (`newcomer_hint`, `live` as there), or the OS
    user's name among other people (`os_user_hint`); None when there is nothing to check."""
    return newcomer_hint(name, known, live) if typed else os_user_hint(name, known, flag)


def annotator_name_problem(name: object, *, merge: bool = False, model: bool = False) -> str | None:
    """Why `name` cannot name an annotator, or None if it can.

    With `merge`, the name is one a merge run gives itself and must carry the prefix; with
    `model`, the name automatic labels are stored under, which nobody else may take.
    """
    if not isinstance(name, str):
        return "is not text"
    if not name.strip():
        return "is empty"
    if name != name.strip():
        return "starts or ends with spaces (it would look like the name without them)"
    if any(unicodedata.category(c) == "Cc" for c in name):
        return "contains control characters"
    if any(c in BIDI_CONTROLS or unicodedata.category(c) in ("Zl", "Zp") for c in name):
        return "contains a text-direction control or a line separator"
    if any(c in INVISIBLE for c in name):
        return "contains an invisible character (it would read as another name)"
    if name.startswith(FORMULA_STARTS):
        return f"starts with {name[0]!r}, which spreadsheets run as a formula"
    if folded(name).startswith(MERGE_PREFIX) and not merge:  # `Merge:x`, `ｍｅｒｇｅ:x` too (attack pass 34)
        return f"starts with {MERGE_PREFIX!r}, which is reserved for merges"
    if merge and not name.startswith(MERGE_PREFIX):
        return f"a merge's name must start with {MERGE_PREFIX!r}"
    if looks_like(name, MODEL_ANNOTATOR) and not model:
        return f"is the name automatic labels are stored under ({MODEL_ANNOTATOR!r})"
    cap = MAX_MERGE_NAME_CHARACTERS if merge else MAX_NAME_CHARACTERS
    if len(name) > cap:
        return f"is {len(name):,} characters long (at most {cap})"
    return None


def looks_like(name: str, reserved: str) -> bool:
    """Whether `name` reads as `reserved` in a listing (`folded`)."""
    return folded(name) == reserved


def folded(name: str) -> str:
    """`name` as it reads in a listing: the same letters whatever their case, width or
    compatibility form (NFKC: "ａｕｔｏｌａｂｅｌ", "merge："), invisible formatting characters
    (zero-width spaces and joiners) left out."""
    text = unicodedata.normalize("NFKC", name).casefold()
    return "".join(c for c in text if unicodedata.category(c) != "Cf")
