"""Plugin loading: hooks, built-ins, third-party entry points, load errors, `celeba plugins`."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import numpy as np
import pluggy
import pytest
from typer.testing import CliRunner

from celeba_tui import hookspecs, preprocess
from celeba_tui.architecture import Architecture
from celeba_tui.cli import app
from celeba_tui.errors import CelebaError
from celeba_tui.hookspecs import hookimpl
from celeba_tui.plugins import (
    DEFAULT_PLUGINS,
    get_architecture,
    get_plugin_manager,
    get_preprocess_op,
    list_architectures,
    list_preprocess_ops,
    load_registry,
    parse_spec,
    plugin_listing,
)
from celeba_tui.preprocess import PreprocessOp

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLUGIN = ROOT / "plugins" / "example_plugin"
BUILTIN_ARCHITECTURES = [
    "cnn4",
    "inception_v3",
    "residual_blocks",
    "residual_blocks_dropout",
    "resnet50",
    "vgg19_scratch",
    "vgg19_variation",
]


def hook_specs() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(function)
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "celeba_spec")
    }


def build_nothing(num_classes: int):
    raise AssertionError("not built in these tests")


def architecture(name: str, **fields) -> Architecture:
    return Architecture(name=name, build=build_nothing, input_size=32, **fields)


def plugin_module(tmp_path: Path, monkeypatch, name: str, source: str) -> metadata.EntryPoint:
    """Write `source` as module `name` on sys.path; an entry point for it, as an installed plugin would have."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return metadata.EntryPoint(name=name, value=name, group="celeba")


# ------------------------------------------------------------------ hooks are documented and tested
def test_every_hookspec_is_documented_with_its_arguments():
    docs = (ROOT / "docs" / "plugin_hooks.md").read_text()
    specs = hook_specs()
    assert set(specs) == {"register_architectures", "register_preprocess_ops"}
    for name, signature in specs.items():
        arguments = ", ".join(signature.parameters)
        assert f"## {name}({arguments})" in docs, f"docs/plugin_hooks.md lacks a '## {name}({arguments})' section"


def test_every_hook_has_a_test():
    tested = {name.removeprefix("test_hook_") for name in globals() if name.startswith("test_hook_")}
    assert set(hook_specs()) <= tested


def test_hook_register_architectures():
    class Plugin:
        @hookimpl
        def register_architectures(self, register):
            register(architecture("test_net_a"))
            register(architecture("test_net_b", preprocess="resize:32,blur"))

    registry = load_registry(entry_points=[])
    registry.manager.register(Plugin(), name="test-plugin")
    found = registry.registrations()
    assert {"test_net_a", "test_net_b"} <= set(found.architectures)
    assert found.owners[("architectures", "test_net_a")] == "test-plugin"
    assert found.architectures["test_net_a"].preprocess == "resize:32"
    assert set(BUILTIN_ARCHITECTURES) <= set(found.architectures)
    assert found.errors == []


def test_hook_register_preprocess_ops():
    class Plugin:
        @hookimpl
        def register_preprocess_ops(self, register):
            register(
                PreprocessOp(
                    "test_add",
                    lambda img, n: np.clip(img.astype(int) + n, 0, 255).astype(np.uint8),
                    "add a constant",
                    parse=lambda text: int(text or 1),
                )
            )

    registry = load_registry(entry_points=[])
    registry.manager.register(Plugin(), name="test-plugin")
    ops = registry.registrations().preprocess_ops
    pipeline = preprocess.parse_spec("resize:4,test_add:10", ops)
    assert pipeline.spec == "resize:4,test_add:10"
    out = pipeline.apply(np.full((8, 8, 3), 250, np.uint8))
    assert out.shape == (4, 4, 3) and (out == 255).all()


def test_a_hook_may_take_a_subset_of_its_arguments():
    calls = []

    class Plugin:
        @hookimpl
        def register_architectures(self):
            calls.append("called")

    registry = load_registry(entry_points=[])
    registry.manager.register(Plugin(), name="no-arguments")
    assert registry.registrations().errors == [] and calls == ["called"]


# ------------------------------------------------------------------ built-ins
def test_builtins_are_registered_like_plugins():
    manager = get_plugin_manager()
    assert isinstance(manager, pluggy.PluginManager) and manager is get_plugin_manager()
    for path in DEFAULT_PLUGINS:
        assert manager.get_plugin(path) is not None
    assert set(BUILTIN_ARCHITECTURES) <= set(list_architectures())
    assert {"resize", "contrast", "blur", "grayscale", "binarize"} <= set(list_preprocess_ops())
    assert get_preprocess_op("blur").name == "blur"


def test_listing_architectures_by_pattern():
    assert list_architectures("vgg*") == ["vgg19_scratch", "vgg19_variation"]
    assert list_architectures("residual_blocks*") == ["residual_blocks", "residual_blocks_dropout"]
    assert list_architectures("nothing*") == []


def test_unknown_names_raise_errors_listing_the_known_ones():
    with pytest.raises(CelebaError, match="unknown architecture 'vgg16'") as error:
        get_architecture("vgg16")
    for name in BUILTIN_ARCHITECTURES:
        assert name in str(error.value)
    with pytest.raises(CelebaError, match=r"unknown preprocessing op 'sharpen' \(installed: binarize, blur"):
        get_preprocess_op("sharpen")


def test_loading_plugins_does_not_import_torch():
    code = "import sys; from celeba_tui.plugins import list_architectures; list_architectures(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


# ------------------------------------------------------------------ faulty plugins
def test_a_misspelled_hook_is_an_error_at_load(tmp_path, monkeypatch):
    typo = plugin_module(
        tmp_path,
        monkeypatch,
        "celeba_typo_plugin",
        """
        from celeba_tui.hookspecs import hookimpl

        @hookimpl
        def register_architecture(register):
            pass
    """,
    )
    registry = load_registry(entry_points=[typo])
    (error,) = registry.import_errors
    assert error.plugin == "celeba_typo_plugin"
    assert "unknown hook register_architecture " in error.reason and "register_architectures" in error.reason
    assert registry.manager.get_plugin("celeba_typo_plugin") is None
    assert set(BUILTIN_ARCHITECTURES) <= set(registry.registrations().architectures)
    with pytest.raises(pluggy.PluginValidationError):  # in a built-in plugin it is a bug
        load_registry(default_plugins=["celeba_typo_plugin"], entry_points=[])


def test_a_plugin_failing_to_import_is_reported_and_the_others_load(tmp_path, monkeypatch):
    broken = plugin_module(tmp_path, monkeypatch, "celeba_broken_plugin", "raise RuntimeError('needs a GPU driver')\n")
    missing = metadata.EntryPoint(name="gone", value="celeba_no_such_module", group="celeba")
    good = plugin_module(
        tmp_path,
        monkeypatch,
        "celeba_good_plugin",
        """
        from celeba_tui.architecture import Architecture
        from celeba_tui.hookspecs import hookimpl

        @hookimpl
        def register_architectures(register):
            register(Architecture(name="good_net", build=print, input_size=16))
    """,
    )
    # Found by attack pass 17: a plugin calling sys.exit(3) as it loaded ended every command, silently.
    exiting = plugin_module(tmp_path, monkeypatch, "celeba_exiting_plugin", "import sys\nsys.exit(3)\n")
    registry = load_registry(entry_points=[broken, missing, exiting, good])
    reasons = {error.plugin: error.reason for error in registry.import_errors}
    assert reasons["celeba_broken_plugin"] == "cannot load celeba_broken_plugin: RuntimeError: needs a GPU driver"
    assert reasons["celeba_exiting_plugin"] == "cannot load celeba_exiting_plugin: SystemExit: 3"
    assert reasons["gone"].startswith("cannot load celeba_no_such_module: ModuleNotFoundError")
    assert "good_net" in registry.registrations().architectures
    assert str(registry.import_errors[0]).startswith("plugin celeba_broken_plugin: ")


def test_a_plugin_raising_while_registering_is_reported_and_dropped():
    class Raising:
        @hookimpl
        def register_architectures(self, register):
            register(architecture("half_registered"))
            raise KeyError("config")

    class Duplicate:
        @hookimpl
        def register_architectures(self, register):
            register(architecture("cnn4"))

    class WrongType:
        @hookimpl
        def register_preprocess_ops(self, register):
            register(architecture("not_an_op"))

    class BadDefault:
        @hookimpl
        def register_architectures(self, register):
            register(architecture("bad_default", preprocess="resize:64"))
            register(architecture("unknown_op", preprocess="resize:32,sharpen"))

    registry = load_registry(entry_points=[])
    for name, plugin in [
        ("raising", Raising()),
        ("duplicate", Duplicate()),
        ("wrong", WrongType()),
        ("bad-default", BadDefault()),
    ]:
        registry.manager.register(plugin, name=name)
    found = registry.registrations()
    reasons = {}
    for error in found.errors:
        reasons.setdefault(error.plugin, []).append(error.reason)
    assert reasons["raising"] == ["register_architectures failed: KeyError: 'config'"]
    assert reasons["duplicate"] == [
        "register_architectures failed: ValueError: architecture 'cnn4' is already registered by celeba_tui.builtin_plugins.cnn4"
    ]
    assert reasons["wrong"] == [
        "register_preprocess_ops failed: TypeError: register() takes a PreprocessOp, not Architecture"
    ]
    assert reasons["bad-default"] == [
        "architecture bad_default: default preprocessing 'resize:64' does not resize to 32",
        "architecture unknown_op: unknown preprocessing op 'sharpen' in 'resize:32,sharpen' "
        "(known ops: binarize, blur, contrast, grayscale, resize)",
    ]
    assert not {"half_registered", "bad_default", "unknown_op"} & set(found.architectures)
    listed = {row["name"]: row["architectures"] for row in plugin_listing(registry=registry)}
    assert listed["raising"] == listed["duplicate"] == listed["bad-default"] == []
    assert found.owners[("architectures", "cnn4")] == "celeba_tui.builtin_plugins.cnn4"


def test_invalid_architectures_are_refused():
    with pytest.raises(ValueError, match="lowercase"):
        architecture("My Net")
    with pytest.raises(ValueError, match="input_size"):
        Architecture(name="x", build=build_nothing, input_size=0)
    with pytest.raises(ValueError, match="callable"):
        Architecture(name="x", build="cnn4", input_size=8)


# ------------------------------------------------------------------ the example package and `celeba plugins`
@pytest.fixture
def example_plugin(monkeypatch):
    """The example package registered in the process-wide manager, as if installed."""
    monkeypatch.syspath_prepend(str(EXAMPLE_PLUGIN))
    import celeba_example_plugin

    manager = get_plugin_manager()
    manager.register(celeba_example_plugin, name="example")
    yield celeba_example_plugin
    manager.unregister(name="example")


def test_the_example_plugin_is_listed_by_celeba_plugins(example_plugin):
    assert "example_tiny_cnn" in list_architectures()
    assert parse_spec("resize:8,invert").apply(np.zeros((8, 8, 3), np.uint8)).min() == 255
    result = CliRunner().invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (entry,) = data["plugins"]
    assert entry["name"] == "example" and entry["source"] == "registered at runtime"
    assert entry["architectures"] == ["example_tiny_cnn"] and entry["preprocess_ops"] == ["invert"]
    assert entry["hooks"] == ["register_architectures", "register_preprocess_ops"]
    everything = json.loads(CliRunner().invoke(app, ["plugins", "--all", "--json"]).output)["plugins"]
    assert {row["name"] for row in everything} == {*DEFAULT_PLUGINS, "example"}
    text = CliRunner().invoke(app, ["plugins"]).output
    assert "example" in text and "architectures: example_tiny_cnn" in text and "celeba_tui.builtin_plugins" not in text


def test_celeba_plugins_without_third_party_plugins():
    result = CliRunner().invoke(app, ["plugins"])
    assert result.exit_code == 0
    listing = plugin_listing(include_builtins=False)  # whatever third-party plugins this environment has
    assert all(entry["name"] in result.output for entry in listing)
    if not listing:
        assert "No third-party plugins installed" in result.output
    # What `train --plugin` takes is listed whatever is installed.
    assert "Architectures (celeba train --plugin NAME): " in result.output and "small_resnet" in result.output
    assert json.loads(CliRunner().invoke(app, ["plugins", "--json"]).output)["architectures"] == list_architectures()
    builtins = CliRunner().invoke(app, ["plugins", "--all"]).output
    assert "celeba_tui.builtin_plugins.inception_v3" in builtins and "architectures: inception_v3" in builtins


def test_the_example_package_installs_and_is_found_through_its_entry_point(tmp_path, monkeypatch):
    source = shutil.copytree(EXAMPLE_PLUGIN, tmp_path / "src")
    target = tmp_path / "site"
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
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.delitem(sys.modules, "celeba_example_plugin", raising=False)
    registry = load_registry()
    assert registry.import_errors == []
    origin = registry.origins["example"]
    assert (origin.builtin, origin.distribution, origin.version) == (False, "celeba-example-plugin", "0.1.0")
    (entry,) = plugin_listing(include_builtins=False, registry=registry)
    assert entry["version"] == "0.1.0" and entry["source"] == "entry point (celeba)"
    assert re.search(r"site[/\\]celeba_example_plugin\.py$", entry["module"])
    assert registry.registrations().architectures["example_tiny_cnn"].input_size == 32
