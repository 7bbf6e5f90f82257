"""Shared fixtures: tiny image folders and workspaces made on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

REFERENCE_LABELS = Path(__file__).resolve().parents[2] / "shared" / "reference-labels"


def make_images(folder: Path, names: list[str], size=(178, 218)) -> list[str]:
    """Write small distinct JPEG/PNG files; returns the names."""
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, 128)).save(path)
    return names


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    make_images(folder, [f"{i:06d}.jpg" for i in range(1, 11)])
    return folder


@pytest.fixture
def workspace(tmp_path: Path, image_folder: Path):
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace

    ws = create_workspace(tmp_path / "ws", image_folder)
    with ws.open_store(create=True) as store:
        register_images(store, ws.image_root)
    return ws


@pytest.fixture
def store(workspace):
    with workspace.open_store() as opened:
        yield opened


@pytest.fixture
def reference_labels() -> Path:
    if not REFERENCE_LABELS.is_dir():
        pytest.skip("shared/reference-labels not present beside the checkout")
    return REFERENCE_LABELS


# ----------------------------------------------- training and ONNX fixtures
@pytest.fixture
def one_thread():
    """torch on one thread for the test (see training_data.torch_threads)."""
    from training_data import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture
def tiny_architecture():
    """Registers the `tiny_test` architecture for the duration of a test; its name."""
    from training_data import registered_tiny_architecture

    with registered_tiny_architecture() as name:
        yield name


@pytest.fixture
def labelled_workspace(tmp_path):
    from training_data import make_labelled_workspace

    return make_labelled_workspace(tmp_path)[0]


@pytest.fixture(scope="session")
def oracles(tmp_path_factory):
    """Small exported ONNX "oracles" (tests/onnx_models.py), exported once per session."""
    from onnx_models import export_oracles

    return export_oracles(tmp_path_factory.mktemp("oracles"))
