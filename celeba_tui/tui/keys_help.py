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


def class_rows(classes: Iterable[str]) -> list[KeyRow]:
    """The keys that answer a question with these classes."""
    return [(keys.display, f"answer {keys.label}") for keys in class_keys(tuple(classes))]


def keys_text(rows: list[KeyRow]) -> str:
    """The rows as aligned plain text (shown with markup off)."""
    width = max((len(keys) for keys, _ in rows), default=0)
    return "\n".join(f"  {keys.ljust(width)}  {what}" for keys, what in rows)
