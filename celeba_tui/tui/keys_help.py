"""The keys a screen answers, as `?` lists them above the guidelines (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable

from textual.binding import Binding

from celeba_tui.tui.key_map import class_keys

KeyRow = tuple[str, str]  # (the keys as shown, what they do)


def binding_rows(bindings: Iterable[Binding], longer: dict[str, str] | None = None) -> list[KeyRow]:
    """One row per thing the bindings do, in order of first mention: keys shown as the
    footer shows them, the keys of bindings that do the same joined (left/right/up/down).
    `longer` says more than a footer's word where that word is terse (by description)."""
    keys_for: dict[str, list[str]] = {}
    for binding in bindings:
        if not binding.description:
            continue
        keys = binding.key_display or "/".join(key.strip() for key in binding.key.split(","))
        shown = keys_for.setdefault(binding.description, [])
        if keys not in shown:
            shown.append(keys)
    longer = longer or {}
    return [("/".join(keys), longer.get(description, description)) for description, keys in keys_for.items()]


def class_rows(classes: Iterable[str], taken: frozenset[str] = frozenset()) -> list[KeyRow]:
    """The keys that answer a question with these classes (on a screen whose own keys are `taken`)."""
    return [(keys.display, f"answer {keys.label}") for keys in class_keys(tuple(classes), taken)]


# Narrower than this, what a key does is not wrapped beside the keys but left to the screen.
NARROWEST_WRAPPED = 16


def keys_text(rows: list[KeyRow], width: int | None = None) -> str:
    """The rows as aligned plain text (shown with markup off). In `width` columns, what a
    key does wraps under itself, not under the keys (the walkthrough of 2026-12-07: at 60
    columns the wrapped words started at the left edge, among the keys)."""
    import textwrap

    from rich.cells import cell_len

    keys_width = max((cell_len(keys) for keys, _ in rows), default=0)
    indent = " " * (2 + keys_width + 2)
    room = None if width is None else width - len(indent)
    lines = []
    for keys, what in rows:
        parts = textwrap.wrap(what, room) if room and room >= NARROWEST_WRAPPED else [what]
        lines.append(f"  {keys}{' ' * (keys_width - cell_len(keys))}  {parts[0] if parts else ''}")
        lines.extend(indent + part for part in parts[1:])
    return "\n".join(lines)
