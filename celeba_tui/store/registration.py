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


def register_images(store: LabelStore, image_root: Path) -> RegistrationResult:
    """Scan the root and bring the store's image list in line with it (labels are kept)."""
    check_image_root(image_root)
    scan = scan_folder(image_root)
    new = store.register_images(scan.names, complete=True)
    return RegistrationResult(total=len(scan.names), new=new, skipped=scan.skipped)
