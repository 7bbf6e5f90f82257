"""The wheel contains every package under celeba_tui/, the built-in plugins included."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def package_folders() -> set[str]:
    return {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "celeba_tui").rglob("__init__.py")}


def test_builtin_plugins_are_a_package_of_celeba_tui():
    assert "celeba_tui.builtin_plugins" in package_folders()
    assert (ROOT / "celeba_tui" / "builtin_plugins" / "cnn4.py").is_file()


@pytest.mark.slow
def test_wheel_contains_plugins_and_all_packages(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("celeba_tui-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "celeba_tui/builtin_plugins/cnn4.py" in names
    for package in package_folders():
        assert package.replace(".", "/") + "/__init__.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
    assert not any(n.startswith(("tests/", "plugins/", "benchmarks/")) for n in names)
