"""Shell completion offers option values: architectures, the workspace's tasks, queues,
formats, policies and runs (what the shell's `celeba --install-completion` script asks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CELEBA = Path(sys.executable).parent / "celeba"


def complete(line: str, cwd: Path) -> list[str]:
    current = len(line.split()) - (0 if line.endswith(" ") else 1)  # the index of the word being typed
    env = {**os.environ, "_CELEBA_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(current)}
    env.pop("CELEBA_WORKSPACE", None)
    done = subprocess.run([str(CELEBA)], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done.stdout.split()


pytestmark = pytest.mark.skipif(not CELEBA.is_file(), reason="the celeba script is not installed beside python")


def test_values_complete_from_the_workspace_and_the_plugins(labelled_workspace):
    from onnx_models import write_run

    write_run(labelled_workspace.runs_dir, "cnn4")
    here = labelled_workspace.path
    assert complete("celeba train -p small_", here) == ["small_resnet", "small_resnet_128"]
    assert complete("celeba train -t ", here) == ["light", "orientation"]
    assert "review" in complete("celeba label --queue ", here)
    assert complete("celeba export --format j", here) == ["jsonl"]
    assert complete("celeba merge --policy pre", here) == ["prefer:"]
    assert complete("celeba export-onnx best", here) == ["best", "best:cnn4"]


def test_completion_outside_a_workspace_offers_nothing_and_does_not_fail(tmp_path):
    assert complete("celeba train -t ", tmp_path) == []
