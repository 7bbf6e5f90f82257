"""The example external plugin package, installed from a temporary folder, trains through the CLI."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from training_data import make_labelled_workspace

EXAMPLE_PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "example_plugin"


@pytest.mark.slow
@pytest.mark.skipif(not EXAMPLE_PLUGIN.is_dir(), reason="plugins/example_plugin is missing")
def test_installed_example_plugin_trains_through_the_cli(tmp_path):
    source = shutil.copytree(EXAMPLE_PLUGIN, tmp_path / "src")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    workspace = make_labelled_workspace(tmp_path / "data", n=40)[0]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": "1",
    }

    def celeba(*args):
        return subprocess.run(
            [sys.executable, "-m", "celeba_tui", *map(str, args), "-w", str(workspace.path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    # The plugin's architecture, with the plugin's own preprocessing op.
    trained = celeba(
        "train", "--plugin", "example_tiny_cnn", "--task", "orientation", "--preprocess", "invert", "--json"
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    data = json.loads(trained.stdout)
    config = data["config"]
    assert config["architecture"] == "example_tiny_cnn" and config["input_size"] == 32
    assert config["preprocess"] == "resize:32,invert" and config["asked_schedule"]["epochs"] == 2  # the plugin's
    # ... which a few labels stretch to four times as many (the recipe's minimum of optimiser steps).
    assert config["epochs"] == data["summary"]["epochs_run"] == 8
    assert config["plugin"] == "example (celeba-example-plugin 0.1.0)"
    assert data["summary"]["params_trainable"] == 1_443
    report = celeba("report", "--json")
    assert report.returncode == 0 and json.loads(report.stdout)["runs"][0]["architecture"] == "example_tiny_cnn"

    # Without the package installed, its run is a clear error, not a traceback.
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    code = (
        f"from celeba_tui.models.model_io import build_classifier\n"
        f"from celeba_tui.models.run_files import load_run\n"
        f"build_classifier(load_run({data['run_dir']!r}))\n"
    )
    missing = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert (
        "CelebaError" in missing.stderr
        and "'example_tiny_cnn' (example (celeba-example-plugin 0.1.0))" in missing.stderr
    )
