"""The wheel contains every package, the built-in plugins as `celeba_plugins` included."""

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def package_folders() -> set[str]:
    found = {"celeba_plugins"}
    for init in (ROOT / "celeba_tui").rglob("__init__.py"):
        found.add(".".join(init.parent.relative_to(ROOT).parts))
    return found


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    assert package_folders() == listed


@pytest.mark.slow
def test_wheel_contains_plugins_and_all_packages(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("celeba_tui-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "celeba_plugins/__init__.py" in names
    for package in package_folders():
        assert package.replace(".", "/") + "/__init__.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
