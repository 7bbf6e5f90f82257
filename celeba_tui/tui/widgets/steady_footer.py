"""A Footer that rebuilds its keys only when the keys it shows change, and can be held.

Textual's Footer recomposes (unmounts and mounts every key) whenever focus moves. In
`celeba browse` focus moves to the filter box and back on every filter change: two
rebuilds, the second one inside the filter change's time (50-200 ms on a busy machine).
Held while the filter box has the keys (the status line says what they do then), the
footer keeps the grid's keys, and when focus comes back nothing changed: no rebuild.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


def shown_bindings(screen: Screen) -> tuple:
    """What a Footer on `screen` shows: each shown binding's key, action, description and state."""
    return tuple(
        (binding.key, binding.action, binding.description, enabled, tooltip)
        for (_, binding, enabled, tooltip) in screen.active_bindings.values()
        if binding.show
    )


class SteadyFooter(Footer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.held = False  # while True, changes of focus leave the keys shown as they are
        self._shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if self._shown is not None and self.is_attached and screen is self.screen:
            if self.held:
                return
            shown = shown_bindings(screen)
            if shown == self._shown:
                return
        self._shown = shown_bindings(screen)
        super().bindings_changed(screen)
