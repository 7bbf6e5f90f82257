"""Built-in plugins: the study's six architectures and the preprocessing ops.

Registered exactly like third-party plugins (see `celeba_tui.plugins.DEFAULT_PLUGINS`),
so they double as examples of the plugin API; `plugins/example_plugin/` at the top of
the repository is a complete third-party plugin package. Plugin modules do not import torch; the
networks are built (and torch imported) only when `Architecture.build` is called.
"""

from __future__ import annotations

from typing import Any


def study_defaults(**overrides: Any) -> dict[str, Any]:
    """The study's training policy: Adam lr 1e-3, up to 50 epochs, early stopping after
    5 epochs without validation-accuracy gain or 3 without validation-loss decrease."""
    defaults: dict[str, Any] = {"epochs": 50, "batch_size": 32, "lr": 1e-3, "patience_accuracy": 5, "patience_loss": 3}
    return defaults | overrides
