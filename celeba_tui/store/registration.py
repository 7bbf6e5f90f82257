"""Registering the images of an image root in the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from celeba_tui.images import scan_folder
from celeba_tui.store.label_store import LabelStore
from celeba_tui.workspace import check_image_root


@dataclass
class RegistrationResult:
    total: int
    new: int
    skipped: list[tuple[str, str]]
    arrived: int = 0  # images the store knew but missed (labelled before they arrived, or back again)
    vanished: int = 0  # images the store had that the root no longer has (their labels are kept)


def register_images(store: LabelStore, image_root: Path) -> RegistrationResult:
    """Scan the root and bring the store's image list in line with it (labels are kept)."""
    check_image_root(image_root)
    scan = scan_folder(image_root)
    missing = {row[0] for row in store.query("SELECT name FROM images WHERE present = 0")}
    present = store.image_count(present_only=True)
    new = store.register_images(scan.names, complete=True)
    arrived = len(missing.intersection(scan.names))
    vanished = max(0, present + new + arrived - len(scan.names))  # present now = before - vanished + new + arrived
    return RegistrationResult(len(scan.names), new, scan.skipped, arrived, vanished)
