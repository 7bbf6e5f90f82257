"""The plugin manager, the plugins it loads, and the architecture and preprocessing registries.

Built-in plugins (`DEFAULT_PLUGINS`, modules of the `celeba_tui.builtin_plugins` package) are
registered exactly like third-party ones, which come from the entry-point group
`celeba`. A third-party plugin that fails to import, implements an unknown (misspelled)
hook or raises while registering is left out and reported in `plugin_load_errors()`;
the others still load. The same faults in a built-in plugin are bugs and raise.
"""

from __future__ import annotations

import fnmatch
import functools
import importlib
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Iterable

import pluggy

from celeba_tui import hookspecs, preprocess
from celeba_tui.architecture import Architecture
from celeba_tui.errors import CelebaError
from celeba_tui.preprocess import Pipeline, PreprocessError, PreprocessOp

ENTRY_POINT_GROUP = "celeba"
DEFAULT_PLUGINS = (
    "celeba_tui.builtin_plugins.cnn4",
    "celeba_tui.builtin_plugins.vgg19_scratch",
    "celeba_tui.builtin_plugins.vgg19_variation",
    "celeba_tui.builtin_plugins.resnet50",
    "celeba_tui.builtin_plugins.residual_blocks",
    "celeba_tui.builtin_plugins.inception_v3",
    "celeba_tui.builtin_plugins.small_resnet",
    "celeba_tui.builtin_plugins.preprocess_ops",
)
# The architecture hints suggest where none is configured: what `celeba demo` trains and
# what measured best per minute on few noisy labels (docs/label-quality.md).
SUGGESTED_ARCHITECTURE = "small_resnet"
# hook name -> (Registrations table it fills, the class registered objects must be, their name in messages)
REGISTRIES: dict[str, tuple[str, type, str]] = {
    "register_architectures": ("architectures", Architecture, "architecture"),
    "register_preprocess_ops": ("preprocess_ops", PreprocessOp, "preprocessing op"),
}


@dataclass(frozen=True)
class PluginLoadError:
    """A plugin left out: its name and a one-line reason."""

    plugin: str
    reason: str

    def __str__(self) -> str:
        return f"plugin {self.plugin}: {self.reason}"


@dataclass(frozen=True)
class PluginOrigin:
    builtin: bool
    distribution: str | None = None
    version: str | None = None


@dataclass
class Registrations:
    """What the registered plugins provide, collected by calling their hooks."""

    architectures: dict[str, Architecture] = field(default_factory=dict)
    preprocess_ops: dict[str, PreprocessOp] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)  # (registry, item name) -> plugin
    errors: list[PluginLoadError] = field(default_factory=list)


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class PluginRegistry:
    """A plugin manager plus where each plugin came from; registrations are recomputed when plugins change."""

    def __init__(self, manager: pluggy.PluginManager, origins: dict[str, PluginOrigin], import_errors: list):
        self.manager = manager
        self.origins = origins
        self.import_errors = import_errors
        self._cache: tuple[Any, Registrations] | None = None

    def plugins(self) -> list[tuple[str, object]]:
        return [(name, plugin) for name, plugin in self.manager.list_name_plugin() if plugin is not None]

    def registrations(self) -> Registrations:
        key = tuple((name, id(plugin)) for name, plugin in self.plugins())
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self._collect())
        return self._cache[1]

    def _fail(self, found: Registrations, plugin: str, reason: str) -> None:
        if self.origins.get(plugin, PluginOrigin(False)).builtin:
            raise RuntimeError(f"built-in plugin {plugin}: {reason}")
        found.errors.append(PluginLoadError(plugin, reason))

    def _collect(self) -> Registrations:
        found = Registrations()
        order = {name: index for index, (name, _) in enumerate(self.plugins())}
        impls = [
            (impl, hook_name)
            for hook_name in REGISTRIES
            for impl in getattr(self.manager.hook, hook_name).get_hookimpls()
        ]
        # Registration order (built-ins first) decides who owns a name. Ops are registered before
        # architectures so that each architecture's default preprocessing can be checked against them.
        impls.sort(key=lambda pair: (pair[1] != "register_preprocess_ops", order.get(pair[0].plugin_name, 0)))
        for impl, hook_name in impls:
            self._call_hook(found, impl, hook_name)
        for name, arch in list(found.architectures.items()):
            problem = default_preprocess_problem(arch, found.preprocess_ops)
            if problem:
                del found.architectures[name]
                self._fail(found, found.owners.pop(("architectures", name)), problem)
        return found

    def _call_hook(self, found: Registrations, impl: pluggy.HookImpl, hook_name: str) -> None:
        registry, cls, label = REGISTRIES[hook_name]
        table: dict = getattr(found, registry)
        staged: dict[str, Any] = {}

        def register(item: Any) -> None:
            if not isinstance(item, cls):
                raise TypeError(f"register() takes a {cls.__name__}, not {type(item).__name__}")
            owner = found.owners.get((registry, item.name)) or (impl.plugin_name if item.name in staged else None)
            if owner:
                raise ValueError(f"{label} {item.name!r} is already registered by {owner}")
            staged[item.name] = item

        arguments = {"register": register}
        try:
            impl.function(**{name: arguments[name] for name in impl.argnames})
        except (Exception, SystemExit) as exc:  # a plugin's bug (or its sys.exit) must not stop the others
            self._fail(found, impl.plugin_name, f"{hook_name} failed: {one_line(exc)}")
            return
        table.update(staged)
        found.owners.update({(registry, name): impl.plugin_name for name in staged})


def default_preprocess_problem(arch: Architecture, ops: dict[str, PreprocessOp]) -> str | None:
    """Why an architecture's default preprocessing is unusable, or None."""
    try:
        pipeline = preprocess.parse_spec(arch.preprocess, ops)
    except PreprocessError as exc:
        return f"architecture {arch.name}: {exc}"
    if pipeline.size != (arch.input_size, arch.input_size):
        return (
            f"architecture {arch.name}: default preprocessing {arch.preprocess!r} does not resize to {arch.input_size}"
        )
    return None


def unknown_hooks(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    callers = manager.get_hookcallers(plugin) or []
    return sorted(caller.name for caller in callers if not caller.has_spec())


def load_registry(
    default_plugins: Iterable[str] = DEFAULT_PLUGINS,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
) -> PluginRegistry:
    """A fresh plugin manager with the built-ins and the installed (or given) entry-point plugins."""
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    origins: dict[str, PluginOrigin] = {}
    for path in default_plugins:
        manager.register(importlib.import_module(path), name=path)
        origins[path] = PluginOrigin(builtin=True)
    manager.check_pending()
    errors: list[PluginLoadError] = []
    known = ", ".join(REGISTRIES)
    if entry_points is None:
        entry_points = metadata.entry_points(group=ENTRY_POINT_GROUP)
    for entry in entry_points:
        try:
            plugin = entry.load()
            manager.register(plugin, name=entry.name)
        except (Exception, SystemExit) as exc:  # a broken third-party plugin (or its sys.exit) must not stop the others
            errors.append(PluginLoadError(entry.name, f"cannot load {entry.value}: {one_line(exc)}"))
            continue
        try:
            manager.check_pending()
        except pluggy.PluginValidationError:
            misspelled = ", ".join(unknown_hooks(manager, plugin))
            manager.unregister(plugin)
            errors.append(PluginLoadError(entry.name, f"unknown hook {misspelled} (known hooks: {known})"))
            continue
        dist = entry.dist
        origins[entry.name] = PluginOrigin(False, dist.name if dist else None, dist.version if dist else None)
    return PluginRegistry(manager, origins, errors)


@functools.cache
def default_registry() -> PluginRegistry:
    return load_registry()


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (loaded once)."""
    return default_registry().manager


def plugin_load_errors() -> list[PluginLoadError]:
    """Plugins left out, with the one-line reason."""
    registry = default_registry()
    return registry.import_errors + registry.registrations().errors


def list_architectures(pattern: str = "*") -> list[str]:
    """Names of the registered architectures matching a shell-style pattern, sorted."""
    return sorted(fnmatch.filter(default_registry().registrations().architectures, pattern))


def get_architecture(name: str) -> Architecture:
    """The registered architecture `name`; CelebaError lists the known names."""
    return _lookup(default_registry().registrations().architectures, name, "architecture")


def preprocess_op_table() -> dict[str, PreprocessOp]:
    return dict(default_registry().registrations().preprocess_ops)


def list_preprocess_ops() -> list[str]:
    """Names of the registered preprocessing ops, sorted."""
    return sorted(default_registry().registrations().preprocess_ops)


def get_preprocess_op(name: str) -> PreprocessOp:
    """The registered preprocessing op `name`; CelebaError lists the known ops."""
    return _lookup(default_registry().registrations().preprocess_ops, name, "preprocessing op")


def _lookup(table: dict, name: str, what: str):
    if name not in table:
        from celeba_tui.annotator_names import shown_name

        # Cut to a line (attack pass 43: a 5,000-character name was quoted whole).
        raise CelebaError(f"unknown {what} {shown_name(str(name))} (installed: {', '.join(sorted(table)) or 'none'})")
    return table[name]


def plugin_listing(include_builtins: bool = False, registry: PluginRegistry | None = None) -> list[dict[str, Any]]:
    """One entry per plugin: name, version, hooks, what it registers and where it comes from."""
    registry = registry or default_registry()
    found = registry.registrations()
    rows = []
    for name, plugin in registry.plugins():
        origin = registry.origins.get(name)
        if origin is not None and origin.builtin and not include_builtins:
            continue
        provided = {
            key: sorted(item for (reg, item), owner in found.owners.items() if reg == key and owner == name)
            for key, _, _ in REGISTRIES.values()
        }
        rows.append(
            {
                "name": name,
                "version": origin.version if origin else None,
                "distribution": origin.distribution if origin else None,
                "source": source_of(origin),
                "module": getattr(plugin, "__file__", None) or getattr(plugin, "__name__", repr(plugin)),
                "hooks": sorted(caller.name for caller in registry.manager.get_hookcallers(plugin) or []),
                **provided,
            }
        )
    return rows


def source_of(origin: PluginOrigin | None) -> str:
    if origin is None:
        return "registered at runtime"
    return "built-in" if origin.builtin else f"entry point ({ENTRY_POINT_GROUP})"


def parse_spec(spec: str) -> Pipeline:
    """Parse a preprocessing spec (`resize:64,contrast:1.5`) with every registered op."""
    return preprocess.parse_spec(spec, preprocess_op_table())


def with_default_size(pipeline: Pipeline, side: int) -> Pipeline:
    """`pipeline` with `resize:side` first when it does not resize (the registered resize op)."""
    return preprocess.with_default_size(pipeline, side, preprocess_op_table())
