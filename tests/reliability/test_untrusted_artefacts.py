"""Files from elsewhere: a checkpoint carrying code, ONNX files with wrong metadata or broken
graphs, and plugins that raise. Each gives one clear `error:`/`warning:` line; nothing runs
that should not, and everything else keeps working.

tests/test_plugins.py covers plugin failures in the library; here they go through an
installed distribution's entry points and the real `celeba` process.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from celeba_tui.cli import app
from reliability.store_files import final_error_line, table_digests

REPO = Path(__file__).resolve().parents[2]


class Payload:
    """Unpickling this writes the sentinel file: proof that code from the file ran."""

    def __init__(self, sentinel: Path):
        self.sentinel = sentinel

    def __reduce__(self):
        return exec, (f"open({str(self.sentinel)!r}, 'w').write('pwned')",)


def error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = result.stderr.strip()
    assert text.startswith("error: ") and "\n" not in text and "Traceback" not in text, text
    return text


# ------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("form", ["torch zip", "bare pickle"])
def test_a_checkpoint_carrying_code_is_refused_without_running_it(tmp_path, form):
    import torch

    from onnx_models import write_run

    run = write_run(tmp_path / "runs", "cnn4")
    sentinel = tmp_path / "sentinel"
    if form == "torch zip":
        torch.save({"weight": Payload(sentinel)}, run / "best.pt")
    else:
        (run / "best.pt").write_bytes(pickle.dumps({"weight": Payload(sentinel)}, protocol=2))
    text = error_line(CliRunner().invoke(app, ["export-onnx", str(run), "--out", str(tmp_path / "m.onnx")]))
    assert "refused" in text and "weights_only=True" in text and "(exec)" in text
    assert not sentinel.exists(), "the checkpoint's code ran"
    assert not (tmp_path / "m.onnx").exists()
    # The payload is live: an unsafe load (never done by celeba) runs it.
    with open(run / "best.pt", "rb") as handle:
        torch.load(handle, weights_only=False) if form == "torch zip" else pickle.load(handle)
    assert sentinel.read_text() == "pwned"


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("summary.json", lambda data: "[" * 100_000 + "]" * 100_000, "unreadable (nested too deeply)"),
        ("config.json", lambda data: "[" * 100_000 + "]" * 100_000, "unreadable (nested too deeply)"),
        # Attack pass 43: Python's 4,300-digit limit: a traceback that broke every run selector.
        ("config.json", lambda data: '{"epochs": 1' + "0" * 5000 + "}", "unreadable (a number too long to read)"),
        ("summary.json", lambda data: '{"n_train": 1' + "0" * 5000 + "}", "unreadable (a number too long to read)"),
        ("config.json", lambda data: {**data, "architecture": ["cnn4"]}, "architecture ['cnn4'] is not a string"),
        ("config.json", lambda data: {**data, "run_id": "../../victim"}, "run_id '../../victim' is not a plain name"),
        ("config.json", lambda data: {**data, "run_id": "a\x1b[2J"}, "run_id 'a\\x1b[2J' is not a plain name"),
        ("config.json", lambda data: {**data, "classes": "left"}, "classes 'left' is not a list"),
        ("config.json", lambda data: {**data, "input_size": None}, "input_size None is not a whole number"),
        ("config.json", lambda data: {**data, "input_size": 10**9}, "input_size 1000000000 is not a whole number"),
        ("summary.json", lambda data: {**data, "val_acc": "x"}, "val_acc 'x' is not a number"),
        ("summary.json", lambda data: {**data, "val_acc": float("inf")}, "val_acc inf is not a share between 0 and 1"),
        ("summary.json", lambda data: {**data, "val_balanced_acc": 1.5}, "is not a share between 0 and 1"),
        ("summary.json", lambda data: {**data, "val_acc": 10**400}, "is not a share between 0 and 1"),
    ],
)
def test_a_run_folder_with_hostile_values_is_one_error_line(tmp_path, file, change, message):
    from onnx_models import write_run

    run = write_run(tmp_path / "runs", "cnn4")
    data = json.loads((run / file).read_text())
    changed = change(data)
    (run / file).write_text(changed if isinstance(changed, str) else json.dumps(changed))
    text = error_line(CliRunner().invoke(app, ["export-onnx", str(run), "--out", str(tmp_path / "m.onnx")]))
    assert str(run / file) in text and message in text, text
    assert not (tmp_path / "m.onnx").exists()


def test_a_run_id_that_is_a_path_writes_nothing_outside_the_workspace(tmp_path, labelled_workspace):
    # Attack pass 35: a run's config.json naming run_id `../../../victim` made `autolabel -m
    # latest` export the run over tmp/victim.onnx (models/RUN_ID.onnx).
    from onnx_models import write_run

    workspace = labelled_workspace
    run = write_run(workspace.runs_dir, "cnn4")
    victim = tmp_path / "victim.onnx"
    victim.write_text("precious")
    config = json.loads((run / "config.json").read_text())
    config["run_id"] = os.path.relpath(tmp_path / "victim", workspace.path / "models")
    (run / "config.json").write_text(json.dumps(config))
    args = ["autolabel", "-w", str(workspace.path), "-m", "latest", "-t", "light", "--force"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "is not a plain name" in result.stderr, result.output
    assert victim.read_text() == "precious" and not (workspace.path / "models").exists()


@pytest.mark.parametrize("opset", ["1", "17", "99"])
def test_an_opset_the_exporter_does_not_write_is_one_line(tmp_path, opset):
    from onnx_models import write_run

    run = write_run(tmp_path / "runs", "cnn4")
    out = tmp_path / "m.onnx"
    text = error_line(CliRunner().invoke(app, ["export-onnx", str(run), "--out", str(out), "--opset", opset]))
    assert f"--opset {opset}: must be between 18 and" in text, text
    assert not out.exists()  # asked for 17, it once wrote opset 18 without a word


def test_summary_refuses_more_classes_than_a_task_may_have():
    result = CliRunner().invoke(app, ["summary", "cnn4", "--classes", "1000000000000"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output


def test_a_fifo_in_place_of_a_run_file_is_an_error_not_a_hang(tmp_path):
    from onnx_models import write_run

    run = write_run(tmp_path / "runs", "cnn4")
    (run / "summary.json").unlink()
    os.mkfifo(run / "summary.json")
    # A subprocess with a timeout: a hang must fail the test, not freeze the suite.
    done = celeba(["export-onnx", str(run), "--out", str(tmp_path / "m.onnx")])
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: {run / 'summary.json'}: not a regular file"


# ------------------------------------------------------------------ ONNX files
def edited(source: Path, target: Path, *, props: dict | None = None, drop: tuple = (), graph=None) -> Path:
    import onnx

    model = onnx.load(str(source))
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in drop]
    del model.metadata_props[:]
    for key, value in kept:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, (props or {}).get(key, value)
    if graph is not None:
        graph(model.graph)
    onnx.save(model, str(target))
    return target


def rename_node_input(graph) -> None:
    graph.node[1].input[0] = "nowhere"


def unknown_op(graph) -> None:
    graph.node[0].op_type = "NoSuchOp"


def dynamic_side(graph) -> None:
    """Height and width named instead of fixed: only the metadata then says the input size."""
    for axis, name in ((1, "height"), (2, "width")):
        graph.input[0].type.tensor_type.shape.dim[axis].dim_param = name


def fixed_batch(graph) -> None:
    """A batch of exactly one image in and out (found by attack pass 13: a traceback from
    onnxruntime at the first batch of 128, flip TTA doubling the default 64)."""
    graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    graph.output[0].type.tensor_type.shape.dim[0].dim_value = 1


BAD_MODELS = {
    "no metadata": (dict(drop=("celeba_metadata",)), "no celeba metadata"),
    "metadata lacks classes": (dict(drop=("classes",)), "metadata lacks classes"),
    "metadata not JSON": (dict(props={"classes": "[left"}), "invalid model metadata"),
    "metadata nested too deeply": (
        dict(props={"classes": "[" * 100_000 + "]" * 100_000}),
        "invalid model metadata (nested too deeply)",
    ),
    "newer metadata version": (dict(props={"celeba_metadata": "9"}), "version '9' is not supported"),
    "input name not in graph": (dict(props={"input_name": "image"}), "metadata names input 'image'"),
    "output name not in graph": (dict(props={"output_name": "logits"}), "metadata names output 'logits'"),
    "input size not the graph's": (dict(props={"input_size": "48"}), "the graph takes uint8 (?, 32, 32, 3)"),
    "more classes than outputs": (
        dict(props={"classes": '["left", "center", "right", "up"]'}),
        "metadata lists 4 classes",
    ),
    # 40000 px with dynamic sides once made autolabel allocate 8.9 GiB for its first batch.
    "huge input size, dynamic sides": (
        dict(props={"input_size": "40000"}, graph=dynamic_side),
        "'input_size' is 40000; it must be between 1 and 1024",
    ),
    "huge input size, static sides": (dict(props={"input_size": "40000"}), "'input_size' is 40000"),
    "fixed batch size": (dict(graph=fixed_batch), "the graph takes batches of exactly 1 image(s)"),
    # Attack pass 19: `inspect` was an AttributeError traceback; autolabel registered the model.
    "validation not an object": (dict(props={"validation": "[1, 2]"}), "'validation' must be a JSON object"),
    # Attack pass 43: refused by autolabel after loading, naming no model; inspect passed it.
    "unknown preprocessing op": (dict(props={"preprocess": "resize:32,bogus:3"}), "'preprocess': unknown"),
    "dangling node input": (dict(graph=rename_node_input), None),
    "unknown operator": (dict(graph=unknown_op), None),
}


@pytest.mark.parametrize("case", BAD_MODELS, ids=str)
def test_bad_onnx_files_give_one_clear_error_line(tmp_path, ensemble_pair, case):
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace
    from reliability.hostile_images import write_hostile_folder

    changes, message = BAD_MODELS[case]
    bad = edited(ensemble_pair[1], tmp_path / "bad.onnx", **changes)
    inspect = error_line(CliRunner().invoke(app, ["inspect", str(bad)]))
    assert str(bad) in inspect and (message is None or message in inspect), inspect
    if message is None:
        assert "broken ONNX graph" in inspect
    workspace = create_workspace(tmp_path / "ws", write_hostile_folder(tmp_path / "images"))
    with workspace.open_store(create=True) as store:
        register_images(store, workspace.image_root)
    before = table_digests(workspace.store_path)
    run = CliRunner().invoke(app, ["autolabel", "--models", str(ensemble_pair[0]), str(bad), "-w", str(workspace.path)])
    text = error_line(run)
    assert str(bad) in text and (message is None or message in text), text
    # Refused before any work: no predictions, labels, nor models registered (onnxruntime's
    # refusals, the last two cases, come after reading the files but before the store).
    assert table_digests(workspace.store_path) == before


@pytest.mark.parametrize(("how", "message"), [("nan", "is not finite"), ("logits", "not a probability distribution")])
def test_a_model_whose_output_is_no_probability_is_refused_with_the_store_unchanged(
    tmp_path, ensemble_pair, how, message
):
    from onnx_models import export_broken_output
    from training_data import make_labelled_workspace

    workspace, _, _ = make_labelled_workspace(tmp_path, n=12, labels_for=6)
    broken = export_broken_output(tmp_path / f"{how}.onnx", how)
    before = table_digests(workspace.store_path)
    for models in ([broken], [ensemble_pair[0], broken]):
        run = CliRunner().invoke(app, ["autolabel", "--models", *map(str, models), "-w", str(workspace.path)])
        text = final_error_line(run)
        assert str(broken) in text and message in text and "no labels were written" in text, text
        # Found in the first batch: no prediction, model, image nor label was stored.
        assert table_digests(workspace.store_path) == before


@pytest.mark.parametrize("probs", [[0.99, 0.01], [0.01, 0.97, 0.01, 0.01], [0.01] * 4 + [0.96]], ids=len)
def test_a_model_whose_output_width_is_not_its_class_count_is_refused(tmp_path, ensemble_pair, probs):
    # Found by attack pass 19: a graph whose class axis is dynamic passed every check; two
    # columns for three classes stored 33 automatic labels, five made flip TTA a traceback,
    # and a 3- and a 4-wide model together stored their predictions before a traceback.
    from onnx_models import export_constant_width
    from training_data import make_labelled_workspace

    workspace, _, _ = make_labelled_workspace(tmp_path, n=12, labels_for=6)
    odd = export_constant_width(tmp_path / f"width{len(probs)}.onnx", probs)
    right = export_constant_width(tmp_path / "width3.onnx", [0.01, 0.98, 0.01])
    before = table_digests(workspace.store_path)
    for models, tta in (([odd], "none"), ([odd], "flip"), ([right, odd], "none")):
        args = ["autolabel", "--models", *map(str, models), "--tta", tta, "-w", str(workspace.path)]
        text = final_error_line(CliRunner().invoke(app, args))
        assert f"{odd}: outputs {len(probs)} values per image, but its metadata lists 3 classes" in text, text
        assert table_digests(workspace.store_path) == before


def test_models_whose_inner_names_match_the_ensembles_own_join_it(tmp_path):
    # The merged ensemble named model i's output `m<i>_probabilities`, which is also what a
    # model's own inner tensor `probabilities` became under the `m<i>_` prefix: onnxruntime
    # then refused the merged graph, blaming the model file.
    from onnx_models import export_constant_width
    from training_data import make_labelled_workspace

    workspace, _, _ = make_labelled_workspace(tmp_path, n=12, labels_for=6)
    center = [0.01, 0.98, 0.01]
    models = [
        export_constant_width(tmp_path / "inner-probabilities.onnx", center, output="out", logits="probabilities"),
        export_constant_width(tmp_path / "inner-input.onnx", center, output="out", logits="input_0"),
        export_constant_width(tmp_path / "plain.onnx", center),
    ]
    args = ["autolabel", "--models", *map(str, models), "-w", str(workspace.path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with workspace.open_store() as store:
        automatic = store.live_labels("light", sources=["model"], brief=True)
    assert len(automatic) == 6 and set(automatic["label"]) == {"center"}


def test_json_never_holds_nan_or_infinity(tmp_path, ensemble_pair):
    # Found by attack pass 19: `inspect --json` printed NaN, which strict JSON parsers refuse.
    import json

    odd = edited(
        ensemble_pair[1], tmp_path / "nan.onnx", props={"validation": '{"val_acc": NaN, "val_loss": Infinity}'}
    )
    shown = CliRunner().invoke(app, ["inspect", "--json", str(odd)])
    assert shown.exit_code == 0, shown.output

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    parsed = json.loads(shown.stdout, parse_constant=refuse)
    assert parsed["metadata"]["validation"] == {"val_acc": None, "val_loss": None}


def test_autolabel_refuses_worker_counts_and_batch_sizes_out_of_bounds(tmp_path, ensemble_pair):
    # --batch-size 100000000 once tried to allocate 1.12 TiB (a traceback; attack pass 13).
    from training_data import make_labelled_workspace

    workspace, _, _ = make_labelled_workspace(tmp_path, n=6, labels_for=3)
    before = table_digests(workspace.store_path)
    for option, value, message in (
        ("--workers", "-3", "--workers must be between 1 and 64 (omit it for one per CPU); got -3"),
        ("--workers", "0", "--workers must be between 1 and 64"),
        ("--workers", "100000", "--workers must be between 1 and 64 (omit it for one per CPU); got 100,000"),
        ("--batch-size", "100000000", "--batch-size must be between 1 and 4,096; got 100,000,000"),
    ):
        run = CliRunner().invoke(
            app, ["autolabel", "--models", *map(str, ensemble_pair), option, value, "-w", str(workspace.path)]
        )
        assert message in error_line(run)
    assert table_digests(workspace.store_path) == before


def test_truncated_and_empty_onnx_files(tmp_path, ensemble_pair):
    data = ensemble_pair[0].read_bytes()
    for name, content in {"truncated.onnx": data[: len(data) // 2], "empty.onnx": b""}.items():
        (tmp_path / name).write_bytes(content)
        text = error_line(CliRunner().invoke(app, ["inspect", str(tmp_path / name)]))
        assert f"{tmp_path / name}: not an ONNX model" in text


# ------------------------------------------------------------------ plugins
PLUGINS = {
    "celeba_rel_import_fails": "raise ImportError('needs libfoo.so')\n",
    "celeba_rel_register_fails": """
        from celeba_tui.hookspecs import hookimpl

        @hookimpl
        def register_architectures(register):
            raise RuntimeError('config file missing')
    """,
    "celeba_rel_good": """
        from celeba_tui.architecture import Architecture
        from celeba_tui.hookspecs import hookimpl


        def build(num_classes):
            from torch import nn

            return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))


        @hookimpl
        def register_architectures(register):
            register(Architecture(name="rel_good_net", build=build, input_size=16))
    """,
}


def installed_plugins(site: Path) -> Path:
    """The three plugin modules plus a dist-info declaring them as `celeba` entry points."""
    site.mkdir()
    for module, source in PLUGINS.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / "celeba_rel_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: celeba-rel-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[celeba]\n" + "".join(f"{m} = {m}\n" for m in PLUGINS))
    return site


def celeba(args: list[str], site: Path | None = None) -> subprocess.CompletedProcess:
    """The real `celeba` process (120 s at most), with `site`'s installed plugins when given."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*([str(site)] if site else []), str(REPO)])}
    return subprocess.run(
        [sys.executable, "-m", "celeba_tui", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_plugins_that_raise_are_reported_and_the_others_keep_working(tmp_path):
    site = installed_plugins(tmp_path / "site")
    listing = celeba(["plugins"], site)
    assert listing.returncode == 0, listing.stderr
    assert listing.stderr.splitlines() == [
        "warning: plugin celeba_rel_import_fails: cannot load celeba_rel_import_fails: ImportError: needs libfoo.so "
        "(left out)",
        "warning: plugin celeba_rel_register_fails: register_architectures failed: RuntimeError: config file missing "
        "(left out)",
    ]
    assert "celeba_rel_good 0.1" in listing.stdout and "architectures: rel_good_net" in listing.stdout
    summary = celeba(["summary", "rel_good_net", "--json"], site)
    assert summary.returncode == 0, summary.stderr
    assert json.loads(summary.stdout)["total_params"] == 3 * 4 * 9 + 4 + 4 * 3 + 3


def test_inspect_shows_control_characters_in_metadata_escaped(tmp_path, ensemble_pair):
    """An attack pass: OSC sequences in a model's metadata reached the terminal raw (retitled it)."""
    props = {"classes": '["[bold]left[/]", "c\\u001b]0;pwned\\u0007", "right"]', "run_id": "run\x1b[2J"}
    hostile = edited(ensemble_pair[1], tmp_path / "escapes.onnx", props=props)
    result = CliRunner().invoke(app, ["inspect", str(hostile)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "[bold]left[/], c\\x1b]0;pwned\\x07, right" in result.output and "run\\x1b[2J" in result.output


def test_an_onnx_file_over_2_gib_is_refused_unread(tmp_path):
    # Attack pass 43: a sparse 3 GB file was read whole (3.2 GB of memory) before the refusal.
    sparse = tmp_path / "sparse.onnx"
    with open(sparse, "wb") as handle:
        handle.truncate(3 * 2**30)
    text = error_line(CliRunner().invoke(app, ["inspect", str(sparse)]))
    assert str(sparse) in text and "bytes; one ONNX file holds at most 2,147,483,647" in text, text


def test_a_model_declaring_gigabytes_of_external_weights_is_refused_unread(tmp_path, ensemble_pair):
    """An attack pass pointed a model's weights at a 3 GB sparse file: autolabel read it all
    (6.4 GB of memory) and died with a protobuf traceback."""
    import onnx
    from onnx.external_data_helper import set_external_data

    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace
    from reliability.hostile_images import write_hostile_folder

    model = onnx.load(str(ensemble_pair[1]))
    tensor = max(model.graph.initializer, key=lambda t: t.ByteSize())
    size = 3 * 1024**3
    with open(tmp_path / "sparse.bin", "wb") as handle:
        handle.truncate(size)
    set_external_data(tensor, "sparse.bin", offset=0, length=size)
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    onnx.save(model, str(tmp_path / "sparse.onnx"))
    workspace = create_workspace(tmp_path / "ws", write_hostile_folder(tmp_path / "images"))
    with workspace.open_store(create=True) as store:
        register_images(store, workspace.image_root)
    before = table_digests(workspace.store_path)
    run = CliRunner().invoke(
        app, ["autolabel", "--models", str(tmp_path / "sparse.onnx"), "-w", str(workspace.path), "--provider", "cpu"]
    )
    text = error_line(run)
    assert "bytes of weights; an ensemble's models hold at most 2,147,483,647" in text, text
    assert table_digests(workspace.store_path) == before


def test_a_model_path_that_is_no_regular_file_says_so(tmp_path):
    # Attack pass 14: a FIFO was called "no such model file".
    fifo = tmp_path / "fifo.onnx"
    os.mkfifo(fifo)
    for path, words in (
        (fifo, "not a regular file"),
        (tmp_path, "not a regular file"),
        (tmp_path / "gone.onnx", "no such model file"),
    ):
        assert f"{path}: {words}" in error_line(CliRunner().invoke(app, ["inspect", str(path)]))


def test_a_model_that_fails_while_running_is_named_in_one_line(tmp_path, ensemble_pair):
    # Attack pass 35: a graph that runs on batches of 5 only passed the checks, then failed on
    # the first batch of 8 with onnxruntime's own coloured log lines and an error that named
    # no model file.
    from onnx_models import export_constant_width
    from training_data import make_labelled_workspace

    workspace, _, _ = make_labelled_workspace(tmp_path, n=12, labels_for=6)
    failing = export_constant_width(tmp_path / "fives.onnx", [0.2, 0.3, 0.5], fixed_rows=5)
    before = table_digests(workspace.store_path)
    args = ["autolabel", "--models", str(ensemble_pair[0]), str(failing), "-w", str(workspace.path)]
    run = CliRunner().invoke(app, [*args, "--batch-size", "8", "--force"])
    text = final_error_line(run)
    assert text.startswith(f"error: onnxruntime could not run model {failing} on a batch: "), text
    assert "\x1b" not in run.stderr and table_digests(workspace.store_path) == before
