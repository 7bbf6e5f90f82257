"""The folder tree is the architecture: a stage imports only stages at or below it.

The data's path is label -> store -> merge -> train -> export -> autolabel -> store;
the layers below number it. A module may import its own package, the core modules and
any lower layer, never a higher one (function-level imports count too). The Textual
app, the demo and the CLI sit on top: they drive the stages, never the reverse.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "celeba_tui"

LAYERS = {
    # the core every stage shares: errors, files, words, images, config, the plugin API
    **dict.fromkeys(
        [
            "__init__",
            "__version__",
            "errors",
            "atomic",
            "regular_files",
            "json_text",
            "console",
            "figures",
            "progress",
            "vocabulary",
            "mirror",
            "images",
            "annotator_names",
            "architecture",
            "hookspecs",
            "preprocess",
            "plugins",
            "workspace",
        ],
        0,
    ),
    "store": 1,
    "formats": 2,
    "synth": 3,
    "agreement": 3,
    "labelling": 4,
    "models": 5,
    "builtin_plugins": 5,
    "training": 6,
    "onnx": 7,
    "autolabel": 8,
    "tui": 9,
    "evaluation": 10,
    "demo": 10,
    "cli": 11,
    "__main__": 12,
}
# The one deliberate exception: Workspace is the facade commands start from, so it opens
# the store and writes the default guidelines (both imported inside the method that needs them).
ALLOWED = {("workspace", "store"), ("workspace", "labelling")}


def unit(module: str) -> str:
    """celeba_tui.store.schema -> store; celeba_tui.images -> images."""
    return module.split(".")[1] if "." in module else "__init__"


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(node: ast.AST) -> set[str]:
    """The celeba_tui modules an import statement loads (`from pkg import module` names the module)."""
    if (
        isinstance(node, ast.ImportFrom)
        and node.module
        and node.level == 0
        and node.module.split(".")[0] == "celeba_tui"
    ):
        submodules = {f"{node.module}.{alias.name}" for alias in node.names if is_module(f"{node.module}.{alias.name}")}
        return submodules or {node.module}
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.split(".")[0] == "celeba_tui"}
    return set()


def imports(path: Path) -> set[str]:
    return {name for node in ast.walk(ast.parse(path.read_text())) for name in imported_modules(node) if "." in name}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_package_and_module_has_a_layer():
    units = {unit(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in modules()}
    assert units <= set(LAYERS), sorted(units - set(LAYERS))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_higher_stage(path):
    here = unit(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    upward = sorted(
        target
        for target in imports(path)
        if unit(target) != here and (here, unit(target)) not in ALLOWED and LAYERS.get(unit(target), 0) > LAYERS[here]
    )
    assert upward == [], f"{path.relative_to(PACKAGE)} (layer {LAYERS[here]}) imports a higher stage: {upward}"


def test_no_import_cycles_between_modules():
    """No module depends on itself through others, counting imports inside functions
    (a lazy import is still a dependency), except through the Workspace facade."""
    graph: dict[str, set[str]] = {}
    for path in modules():
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text())
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            for inner in ast.walk(node)
        }
        graph[name] = {
            target
            for node in ast.walk(tree)
            if id(node) not in typing_only
            for target in imported_modules(node)
            if (unit(name), unit(target)) not in ALLOWED
        }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(nxt) :] + [nxt]))
            if nxt in graph and not state.get(nxt):
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in graph:
        if not state.get(name):
            visit(name, [name])
