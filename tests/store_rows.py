"""Rows the tests put in a store the way the tool's own commands put them there."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

CLASSES = ("left", "center", "right")


def add_prediction(store, image: str, task: str, model: str, probs: Sequence[float], classes=CLASSES) -> None:
    """One model's prediction for one image, as `celeba autolabel` stores it: its most likely
    class, that class's probability as the confidence, and the probabilities."""
    best = max(range(len(probs)), key=probs.__getitem__)
    row = {"image": image, "task": task, "model": model, "label": classes[best], "confidence": probs[best]}
    store.add_predictions(pd.DataFrame([{**row, "probs": list(probs)}]))


def autolabel_finished(store, task: str, models: Sequence[str]) -> None:
    """The ensemble of these models finished deciding `task`, as `celeba autolabel` records
    last (the manual queue holds only what a finished run sent back)."""
    store.set_latest_ensemble(task, list(models))
