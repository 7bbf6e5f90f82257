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
    assert complete("celeba merge --policy pre", here) == ["prefer:", "prefer:alice"]
    assert complete("celeba export-onnx best", here) == ["best", "best:cnn4"]
    # A one-value option typed twice is refused when run, not while completing (attack pass
    # 24: a traceback on every TAB).
    assert complete("celeba train -p cnn4 -p small_", here) == ["small_resnet", "small_resnet_128"]
    assert complete("celeba -w . -w . sta", here) == ["stats"]


def test_names_classes_and_filter_words_complete(labelled_workspace):
    # Helper-77: nothing was offered for annotator names, classes or browse's fixed words.
    from celeba_tui.agreement.apply_merge import run_merge

    here = labelled_workspace.path
    with labelled_workspace.open_store() as store:
        store.add_label("000001.jpg", "light", "right", "bob")  # a conflict with alice's
        store.add_label("000001.jpg", "light", "left", "carol")
        for name in ("bob smith", "x*", "$(touch pwned)"):  # attack pass 37: put into the command line as is
            store.add_label("000002.jpg", "light", "left", name)
        store.add_label("000002.jpg", "light", "left", "zoë")  # any script's letters are one shell word
    with labelled_workspace.open_store() as store:
        run_merge(store, labelled_workspace.tasks, "majority")
        people = sorted(name for name in store.annotators() if name.isalnum())
    assert complete("celeba annotators withdraw ", here) == sorted([*people, "merge:majority"])
    assert complete("celeba label -a ", here) == people
    assert complete("celeba merge --policy prefer:", here) == ["prefer:", *(f"prefer:{p}" for p in people)]
    assert "zoë" in people and complete("celeba annotators withdraw zo", here) == ["zoë"]
    assert complete("celeba browse --label ", here) == ["left", "center", "right", "unlabelled"]
    assert complete("celeba browse --status ", here) == ["review", "resolved", "single", "agreed", "conflict", "model"]
    assert complete("celeba browse --sort c", here) == ["confidence"]
    assert complete("celeba label --renderer ", here) == ["auto", "kitty", "sixel", "halfcell"]


def test_classes_complete_for_the_task_named(tmp_path, labelled_workspace):
    ws = tmp_path / "own"
    init = ["init", str(ws), "--images", str(labelled_workspace.image_root), "-t", "glasses=no,yes", "-t", "smile=none,broad"]  # fmt: skip
    assert subprocess.run([str(CELEBA), *init], capture_output=True, timeout=120).returncode == 0
    assert complete("celeba rename-class -t smile ", ws) == ["none", "broad"]
    assert complete("celeba browse -t glasses --label ", ws) == ["no", "yes", "unlabelled"]
    assert complete("celeba browse --label ", ws) == ["no", "yes", "none", "broad", "unlabelled"]


def test_completion_outside_a_workspace_offers_nothing_and_does_not_fail(tmp_path):
    assert complete("celeba train -t ", tmp_path) == []


def test_completing_a_run_name_does_not_load_torch(labelled_workspace):
    # Found by the walkthrough of 2026-12-06: `export-onnx best<TAB>` took ~2 s a press, all of
    # it importing torch to read the runs' JSON files; run files are read without it now.
    from onnx_models import write_run

    write_run(labelled_workspace.runs_dir, "cnn4")
    code = (
        "import sys\n"
        "from celeba_tui.training.run_selection import list_runs\n"
        f"runs = list_runs(__import__('pathlib').Path({str(labelled_workspace.runs_dir)!r})).runs\n"
        "print(len(runs), 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["1", "False"], done.stderr


def test_the_program_is_named_celeba_however_it_is_started(tmp_path):
    # Found by the walkthrough of 2026-12-06: under `python -m celeba_tui` the usage lines said
    # "python -m celeba_tui" and --show-completion wrote a script for `_PYTHON _M CELEBA_TUI_COMPLETE`.
    # The script asked for by the variable its name makes (what --show-completion prints,
    # without the shell detection from the process tree that fails under some test runners:
    # "Shell  not supported" when pytest ran under `timeout`).
    env = {**os.environ, "_CELEBA_COMPLETE": "source_bash"}
    shown = subprocess.run([sys.executable, "-m", "celeba_tui"], env=env, capture_output=True, text=True)
    assert "_CELEBA_COMPLETE=complete_bash" in shown.stdout and "_PYTHON" not in shown.stdout, shown.stdout
    wrong = subprocess.run([sys.executable, "-m", "celeba_tui", "train", "--bogus"], capture_output=True, text=True)
    assert wrong.stderr == "error: No such option: --bogus (see 'celeba train -h')\n", wrong.stderr
