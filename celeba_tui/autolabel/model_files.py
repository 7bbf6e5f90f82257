"""The models an ensemble runs: .onnx files as given, or runs exported into `<workspace>/models/`.

`celeba autolabel --models` and `celeba cycle` take .onnx files and runs alike (a run
selector such as `best:cnn4`, a run id or a run directory; see
celeba_tui.training.run_selection). A run is exported once per precision and opset:
an existing file in `<workspace>/models/` is reused when its metadata names the same
run, precision and validation figures (and opset, when one is asked for); otherwise the
run is exported there as `<run id>[-fp16|-int8][-opsetN].onnx` and checked against
PyTorch. A file that fails the check is removed, so it is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.console import counted
from celeba_tui.errors import CelebaError

if TYPE_CHECKING:
    from celeba_tui.models.run_files import Run
    from celeba_tui.workspace import Workspace

MODELS_DIR = "models"
PRECISIONS = ("fp32", "fp16", "int8")
GIVEN, REUSED, EXPORTED = "given", "reused", "exported"


@dataclass(frozen=True)
class ModelFile:
    """One model of the ensemble: its file, the run it came from and whether it was exported now."""

    path: Path
    action: str  # given | reused | exported
    run_id: str | None = None
    named_as: str = ""  # what was typed
    kept: bool = True  # False: exported for a dry run into a folder removed after it

    def describe(self) -> str:
        if self.action == GIVEN:
            return f"model {self.path}"
        action = self.action if self.kept else f"{self.action} for this dry run (not kept)"
        return f"{action} {self.path} (run {self.run_id}, from {self.named_as!r})"

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "action": self.action,
            "run_id": self.run_id,
            "named_as": self.named_as,
            "kept": self.kept,
        }


@dataclass(frozen=True)
class ExportSettings:
    precision: str = "fp32"
    opset: int | None = None
    calibration_images: int = 256

    def __post_init__(self) -> None:
        from celeba_tui.onnx.export import check_opset

        if self.precision not in PRECISIONS:
            raise CelebaError(f"unknown precision {self.precision!r} (one of {', '.join(PRECISIONS)})")
        check_opset(self.opset)
        if self.calibration_images < 1:
            raise CelebaError("--calibration-images must be at least 1")


def models_dir(workspace: Workspace) -> Path:
    return workspace.path / MODELS_DIR


def is_model_file(text: str) -> bool:
    """A name that means an .onnx file rather than a run."""
    return text.lower().endswith(".onnx") or Path(text).is_file()


def export_name(run_id: str, settings: ExportSettings) -> str:
    precision = "" if settings.precision == "fp32" else f"-{settings.precision}"
    opset = "" if settings.opset is None else f"-opset{settings.opset}"
    return f"{run_id}{precision}{opset}.onnx"


def file_opset(model) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def matches(path: Path, run: Run, settings: ExportSettings) -> bool:
    """Whether an exported file is this run at these settings (by its metadata; never raises)."""
    from celeba_tui.onnx.metadata import VALIDATION_KEYS, ModelMetadata, check_graph_matches, load_model_proto

    try:
        model = load_model_proto(path, with_weights=False)
        meta = ModelMetadata.from_props({p.key: p.value for p in model.metadata_props}, str(path))
        check_graph_matches(model, meta, str(path))
    except CelebaError:
        return False
    validation = {key: run.summary[key] for key in VALIDATION_KEYS if key in run.summary}
    return (
        meta.run_id == run.run_id
        and meta.task == run.task
        and tuple(meta.classes) == tuple(run.classes)
        and meta.precision == settings.precision
        and meta.validation == validation
        and (settings.opset is None or file_opset(model) == settings.opset)
    )


def find_export(folder: Path, run: Run, settings: ExportSettings) -> Path | None:
    """An existing export of `run` at `settings` in `folder`: its usual name first, then any file."""
    usual = folder / export_name(run.run_id, settings)
    if usual.is_file() and not usual.is_symlink() and matches(usual, run, settings):
        return usual
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"{run.run_id}*.onnx")):
        if path != usual and path.is_file() and not path.is_symlink() and matches(path, run, settings):
            return path
    return None


def planned_export(workspace: Workspace, run: Run, settings: ExportSettings) -> tuple[Path, bool]:
    """Where the run's model will be, and whether that file is already there (reused, not exported)."""
    found = find_export(models_dir(workspace), run, settings)
    if found is not None:
        return found, True
    return models_dir(workspace) / export_name(run.run_id, settings), False


def export_for_ensemble(
    workspace: Workspace, run: Run, settings: ExportSettings, named_as: str = "", scratch: Path | None = None
) -> ModelFile:
    """The run's model in `<workspace>/models/`: reused when it matches, else exported and
    checked now, into `scratch` where given (a dry run writes nothing of the workspace's)."""
    from celeba_tui.onnx.export import export_run

    path, exists = planned_export(workspace, run, settings)
    if exists:
        return ModelFile(path, REUSED, run.run_id, named_as or run.run_id)
    if scratch is not None:
        path = scratch / path.name
    else:
        workspace.own_folder(path.parent)
    result = export_run(
        run.path,
        path,
        image_root=workspace.image_root,
        precision=settings.precision,
        opset=settings.opset,
        n_calibration=settings.calibration_images,
        workspace_path=workspace.path if scratch is None else scratch,  # the folder it must stay inside
    )
    if not result.parity.passed:
        path.unlink(missing_ok=True)
        raise CelebaError(
            f"exporting run {run.run_id} for the ensemble: parity check failed (max difference "
            f"{result.parity.max_abs_diff:.2e} exceeds {result.parity.tolerance:.0e}); export it with "
            f"`celeba export-onnx` to inspect it"
            + (", or try more --calibration-images, or fp32" if settings.precision == "int8" else "")
        )
    return ModelFile(path, EXPORTED, run.run_id, named_as or run.run_id, kept=scratch is None)


def resolve_model_names(workspace: Workspace, names: list[str], tasks: list[str] | None) -> list[tuple[str, object]]:
    """Each name as an .onnx path or the run(s) it selects: (name, Path) or (name, Run).

    A run selector picks one run per task given with -t/--task (one run when none is).
    Nothing is exported here: this is the plan.
    """
    from celeba_tui.onnx.metadata import read_metadata
    from celeba_tui.training.run_selection import parse_selector, resolve_run

    if not names:
        raise CelebaError("no models given: --models A.onnx B.onnx, or runs such as best:cnn4 with -t TASK")
    for task in tasks or []:
        workspace.task(task)
    resolved: list[tuple[str, object]] = []
    for name in names:
        if parse_selector(name) is None and is_model_file(name):
            model_task = read_metadata(Path(name)).task
            if tasks and model_task not in tasks:
                raise CelebaError(f"{name}: a model of task {model_task!r}, not of -t {', '.join(tasks)}")
            resolved.append((name, Path(name)))
            continue
        _refuse_a_folder_of_models(name)
        for task in (tasks or [None]) if parse_selector(name) is not None else [None]:
            run = resolve_run(name, workspace.runs_dir, task)
            if tasks and run.task not in tasks:
                raise CelebaError(f"run {run.run_id} is a {run.task!r} run, not of -t {', '.join(tasks)}")
            check_run_classes(workspace, run)  # before minutes of exporting a run that cannot be used
            resolved.append((name, run))
    return resolved


def _refuse_a_folder_of_models(name: str) -> None:
    """A folder of .onnx files (`-m models/`) is not one model: say how to name them instead
    of "not a training run" (taking every file in it could add stale exports to the ensemble)."""
    from celeba_tui.models.run_files import CONFIG_FILE

    folder = Path(name)
    if not folder.is_dir() or (folder / CONFIG_FILE).exists():
        return
    onnx = sorted(p.name for p in folder.glob("*.onnx"))
    if onnx:
        raise CelebaError(
            f"{name}: a folder of {counted(len(onnx), '.onnx file')}, not a model or a run; name the models "
            f"(-m {folder / '*.onnx'}, or some of them), or runs such as best:ARCH with -t TASK"
        )


def learnt_these_classes(run, task) -> bool:
    """Whether the run learnt `task`'s classes in their order now (not before a rename, an
    addition or a reorder in celeba.toml: its outputs would mean other classes)."""
    try:
        return tuple(run.classes) == tuple(task.classes)
    except (KeyError, TypeError):  # a config without classes
        return False


def check_run_classes(workspace: Workspace, run) -> None:
    """A CelebaError unless the run learnt the task's classes in the workspace's order."""
    task = workspace.task(run.task) if run.task in {t.name for t in workspace.tasks} else None
    if task is None:
        raise CelebaError(f"run {run.run_id}: task {run.task!r} is not in this workspace")
    if not learnt_these_classes(run, task):
        raise CelebaError(
            f"run {run.run_id} learnt {run.task} as {', '.join(run.classes)}, but the workspace's classes are now "
            f"{', '.join(task.classes)}: train a new run (celeba train -t {run.task})"
        )


def ensemble_files(
    workspace: Workspace,
    names: list[str],
    tasks: list[str] | None,
    settings: ExportSettings,
    scratch: Path | None = None,
) -> list[ModelFile]:
    """The .onnx files for `names` (files as given; runs reused or exported into
    `<workspace>/models/`, or into `scratch` where given: a dry run's, removed after it)."""
    files: list[ModelFile] = []
    seen: set[Path] = set()
    for name, item in resolve_model_names(workspace, names, tasks):
        if isinstance(item, Path):
            model = ModelFile(item, GIVEN, None, name)
        else:
            model = export_for_ensemble(workspace, item, settings, name, scratch)
        key = model.path.resolve()
        if model.action == GIVEN or key not in seen:  # best and latest may name the same run
            seen.add(key)
            files.append(model)
    return files
