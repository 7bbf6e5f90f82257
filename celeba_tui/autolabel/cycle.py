"""`celeba cycle -t TASK`: the study's loop once, from wherever the workspace is.

    train the configured architectures on the task's current human labels
    -> export each run to ONNX (<workspace>/models/) -> auto-label -> say what people label next

Nothing is done twice: a run trained on exactly the current labels and split (its
`labels.json`, celeba_tui.training.run_labels), the same architecture and the same
settings is reused rather than trained, and an export matching the run and precision is
reused rather than exported (celeba_tui.autolabel.model_files). The plan says which is
which before anything runs (`--dry-run` stops there).

The architectures are `--plugin` if given, else `[train] architectures = [...]` in
celeba.toml, else those the task's earlier runs used. With one architecture the model
labels at >= high (see celeba_tui.autolabel.rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.console import counted
from celeba_tui.errors import CelebaError
from celeba_tui.vocabulary import MODEL
from celeba_tui.workspace import TRAIN_ARCHITECTURES, TRAIN_TABLE

if TYPE_CHECKING:
    from celeba_tui.autolabel.outputs import AutolabelReport, TaskReport
    from celeba_tui.models.run_files import Run
    from celeba_tui.training.run_labels import LabelsFingerprint
    from celeba_tui.workspace import Workspace

CONFIG_TABLE, CONFIG_KEY = TRAIN_TABLE, TRAIN_ARCHITECTURES  # where celeba.toml names a cycle's architectures


@dataclass(frozen=True)
class CycleOptions:
    task: str
    architectures: tuple[str, ...] = ()  # empty: the configured ones
    epochs: int | None = None
    max_images: int | None = None
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    high: float = 0.9
    low: float = 0.6
    target_precision: float | None = None
    calibrate_on: str = "split"
    provider: str = "auto"
    pseudo_labels: bool = False  # train on the store's automatic labels too (a self-training round)
    soft_targets_from: str | None = None  # None: the recipe's (TrainOptions.soft_targets_from)
    augment: str | None = None  # None: the recipe's (TrainOptions.augment)
    start_from: tuple[str, ...] = ()  # RUNs whose weights their architecture's networks start from
    force: bool = False  # label even where every model scored what guessing scores (AutolabelOptions.force)
    tta: bool = True  # average each image with its mirror (AutolabelOptions.tta)


@dataclass(frozen=True)
class NotReused:
    """The latest earlier run of an architecture a cycle trains anew, and why (`reuse_differences`)."""

    run_id: str
    because: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"run": self.run_id, "because": list(self.because)}


@dataclass(frozen=True)
class TrainStep:
    """One architecture: the run to reuse, or a run to train; then its model file."""

    architecture: str
    settings: dict
    reuse: Run | None = None
    model: Path | None = None  # the reused run's model file, when one is already exported
    model_exists: bool = False
    not_reused: NotReused | None = None  # where it trains: the latest earlier run, and why not that

    @property
    def action(self) -> str:
        return "reuse" if self.reuse is not None else "train"

    def to_dict(self) -> dict:
        return {
            "architecture": self.architecture,
            "action": self.action,
            "run": self.reuse.run_id if self.reuse is not None else None,
            "settings": self.settings,
            "model": str(self.model) if self.model is not None else None,
            "model_action": "reuse" if self.model_exists else "export",
            "not_reused": None if self.not_reused is None else self.not_reused.to_dict(),
        }


def pseudo_label_note(automatic: int) -> str:
    """What --pseudo-labels adds to a cycle's labels, in the plan's first line."""
    if automatic == 0:
        return " (people's only: the ensemble has labelled none yet, so --pseudo-labels adds nothing this round)"
    return f" (people's and the ensemble's {automatic:,})"


def setting_text(value) -> str:
    """A setting as the plan's words show it: yes/no, a start by its run's folder name."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict) and "run" in value:  # started_from
        return Path(str(value["run"])).name
    return str(value)


# Why an earlier run is not reused: the plan names this many differences (--json all).
MAX_REASONS = 4

# The plan's settings a line per kind, in this order; a setting of none of them joins the last.
SETTING_GROUPS = (
    ("schedule", ("epochs", "batch_size", "lr", "min_steps", "patience_acc", "patience_loss", "seed")),
    ("targets", ("target_kind", "landmark_cue_mode", "balance_classes", "pseudo_labels")),
    ("input", ("preprocess", "augment", "max_images")),
)


def settings_lines(settings: dict) -> list[str]:
    """A training step's settings (but its recipe, which its line names) as the plan shows
    them: `schedule: epochs 25, batch_size 64, ...`, a line per kind of setting (one dense
    line of 16 was hard to read), and the run it starts from. Settings not set (None) are
    left out. Pure."""
    shown = {k: v for k, v in settings.items() if v is not None and k not in ("recipe", "started_from")}
    grouped = {name: [k for k in keys if k in shown] for name, keys in SETTING_GROUPS}
    known = {k for keys in grouped.values() for k in keys}
    grouped[SETTING_GROUPS[-1][0]] += [k for k in shown if k not in known]
    return [
        f"{name}: " + ", ".join(f"{k} {setting_text(shown[k])}" for k in keys) for name, keys in grouped.items() if keys
    ] + ([f"starts from run {setting_text(settings['started_from'])}"] if settings.get("started_from") else [])


@dataclass(frozen=True)
class CyclePlan:
    task: str
    architectures_from: str
    labels: LabelsFingerprint
    steps: tuple[TrainStep, ...]
    options: CycleOptions
    automatic_labels: int = 0  # the ensemble's labels of the task now (what --pseudo-labels adds)

    def lines(self) -> list[str]:
        """The plan in words, one step a line."""
        o = self.options
        labelled = self.labels.images if o.max_images is None else min(self.labels.images, o.max_images)
        sample = f" (a sample of the {self.labels.images:,})" if labelled < self.labels.images else ""
        out = [
            f"cycle for task {self.task}: {labelled:,} labelled images to learn from{sample}"
            + (pseudo_label_note(self.automatic_labels) if o.pseudo_labels else "")
            + "; "
            f"architectures {', '.join(s.architecture for s in self.steps)} ({self.architectures_from})"
        ]
        for i, step in enumerate(self.steps, 1):
            if step.reuse is not None:
                out.append(f"  {i}. reuse run {step.reuse.run_id} (trained on exactly these labels and settings)")
                model = f"reuse {step.model}" if step.model_exists else f"export it ({o.precision}) to {step.model}"
                out.append(f"     then {model}")
            else:
                recipe = step.settings.get("recipe")
                out.append(
                    f"  {i}. train {step.architecture}" + (f" (recipe {recipe})" if recipe else "")
                    + f", then export it ({o.precision}) to models/"
                )  # fmt: skip
                out.extend(f"     {line}" for line in settings_lines(step.settings))
                if step.not_reused is not None:
                    run_id, why = step.not_reused.run_id, step.not_reused.because
                    shown = list(why[:MAX_REASONS]) + (
                        [f"{len(why) - MAX_REASONS} more"] if len(why) > MAX_REASONS else []
                    )
                    out.append(f"     not reusing run {run_id}: {'; '.join(shown)}")
                given = {"epochs"} if o.epochs is not None else set()  # --epochs: the run keeps them
                likely = few_labels(step.settings, labelled, given)
                if likely is not None:
                    kept = "; epochs as given" if given else ""
                    steps = likely.steps(train_images(labelled))
                    out.append(
                        f"     few labels: the recipe wants {step.settings['min_steps']} optimiser steps, so likely "
                        f"batches of {likely.batch_size} for {counted(likely.epochs, 'epoch')} ({steps:,} steps)"
                        f"{kept} (the run says which)"
                    )
        rule = (
            f"target precision {o.target_precision:g}"
            if o.target_precision is not None
            else (f"high {o.high:g}" if len(self.steps) == 1 else f"high {o.high:g}, low {o.low:g}")
        )
        models = "one model: it labels at >= high" if len(self.steps) == 1 else f"{len(self.steps)} models"
        tta = "" if o.tta else "; no flip test-time augmentation"
        out.append(f"  {len(self.steps) + 1}. autolabel {self.task} ({models}; {rule}{tta})")
        out.append(f"  {len(self.steps) + 2}. say what people label next")
        return out

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "automatic_labels": self.automatic_labels,
            "architectures_from": self.architectures_from,
            "labels": self.labels.to_dict(),
            "steps": [step.to_dict() for step in self.steps],
            # How the step after training labels (attack pass 36: --tta none was in the words only).
            "autolabel": {
                "high": self.options.high,
                "low": self.options.low,
                "target_precision": self.options.target_precision,
                "tta": "flip" if self.options.tta else "none",
                "precision": self.options.precision,
            },
        }


@dataclass(frozen=True)
class NextStep:
    """A queue people should work through next, with the command that opens it."""

    queue: str
    count: int
    command: str
    why: str

    def to_dict(self) -> dict:
        return {"queue": self.queue, "count": self.count, "command": self.command, "why": self.why}


@dataclass
class CycleResult:
    plan: CyclePlan
    runs: list[dict] = field(default_factory=list)  # run id, architecture, trained or reused
    models: list[dict] = field(default_factory=list)  # model_files.ModelFile.to_dict()
    autolabel: AutolabelReport | None = None
    next: list[NextStep] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "plan": self.plan.to_dict(),
            "runs": self.runs,
            "models": self.models,
            "autolabel": self.autolabel.to_dict() if self.autolabel is not None else None,
            "next": [step.to_dict() for step in self.next],
        }


# ------------------------------------------------------------------- planning
def configured_architectures(workspace: Workspace, task: str, given: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The architectures to train and where that choice comes from."""
    if given:
        return tuple(dict.fromkeys(given)), "--plugin"
    table = workspace.extra.get(CONFIG_TABLE)
    if table is not None:
        names = table.get(CONFIG_KEY) if isinstance(table, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise CelebaError(
                f"{workspace.config_path}: [{CONFIG_TABLE}] {CONFIG_KEY} must be a non-empty list of "
                f'architecture names, e.g. {CONFIG_KEY} = ["cnn4", "residual_blocks"]'
            )
        return tuple(dict.fromkeys(names)), f"[{CONFIG_TABLE}] {CONFIG_KEY} in {workspace.config_path.name}"
    from celeba_tui.training.run_selection import list_runs

    earlier = sorted({run.architecture for run in list_runs(workspace.runs_dir).runs if run.task == task})
    if earlier:
        return tuple(earlier), f"those of the earlier {task} runs"
    from celeba_tui.plugins import SUGGESTED_ARCHITECTURE as SUGGESTED

    raise CelebaError(
        f"no architectures to train for task {task!r}: name them with --plugin (e.g. -p {SUGGESTED}), "
        f'or set [{CONFIG_TABLE}] {CONFIG_KEY} = ["{SUGGESTED}"] in {workspace.config_path}'
    )


def cycle_ready(workspace: Workspace, task_names) -> frozenset[str]:
    """The tasks whose `celeba cycle` finds its architectures without --plugin (celeba.toml,
    or earlier runs): hints name `-p` for the others."""
    ready = set()
    for task in task_names:
        try:
            configured_architectures(workspace, task, ())
        except CelebaError:
            continue
        ready.add(task)
    return frozenset(ready)


def train_options(options: CycleOptions, architecture: str, start: str | None = None):
    """The `celeba train` options of one architecture's run; `start`: the run folder it starts from."""
    from celeba_tui.training.trainer import TrainOptions

    return TrainOptions(
        plugin=architecture,
        task=options.task,
        epochs=options.epochs,
        seed=options.seed,
        device=options.device,
        max_images=options.max_images,
        pseudo_labels=options.pseudo_labels,
        soft_targets_from=options.soft_targets_from,
        augment=options.augment,
        start_from=start,
    )


def train_images(labelled_images: int) -> int:
    """About how many of `labelled_images` a run trains on: the train split's share."""
    from celeba_tui.training.split import VAL_FRACTION

    return max(1, round(labelled_images * (1 - VAL_FRACTION)))


def few_labels(settings: dict, labelled_images: int, given: set[str] = frozenset()):
    """The schedule a run with `settings` (wanted_settings) over `labelled_images` would
    likely take instead, where its batches and epochs fall short of its minimum of steps
    over the train split's share of the images (the run decides on the exact count); None
    where it keeps them. What the user gave (`given`: "batch_size", "epochs", "lr") stays,
    as the run keeps it. Pure."""
    from celeba_tui.training.recipes import Schedule, with_min_steps

    if not settings.get("min_steps"):
        return None
    n_train = train_images(labelled_images)
    wanted = Schedule(settings["batch_size"], settings["epochs"], settings["lr"])
    if wanted.steps(n_train) >= settings["min_steps"]:
        return None
    chosen = with_min_steps(wanted, n_train, settings["min_steps"], set(given))
    return None if chosen == wanted else chosen


def wanted_settings(options: CycleOptions, architecture: str, start: dict | None = None) -> dict:
    """What a run of `architecture` trained now would record in its config (the comparable part);
    `start`: the run it would start from ({run: folder, weights: digest}), None for random weights."""
    from celeba_tui.plugins import get_architecture
    from celeba_tui.training.recipes import asked_targets
    from celeba_tui.training.trainer import hyper_parameters, resolve_pipeline, resolve_recipe

    arch = get_architecture(architecture)
    train = train_options(options, architecture, start["run"] if start else None)
    recipe = resolve_recipe(train)
    return {
        **hyper_parameters(arch, train, recipe),
        "seed": train.seed,
        "recipe": recipe.name,
        "augment": ",".join(recipe.augment) or "none",
        "preprocess": resolve_pipeline(arch, train.preprocess).spec,
        "max_images": train.max_images,
        "min_steps": recipe.min_steps,
        "pseudo_labels": train.pseudo_labels,
        "balance_classes": recipe.balance_classes,
        **asked_targets(train, recipe),
        "started_from": start,
    }


# Settings that runs' config.json records only since 2026-12-03: an older run lacks them
# and is compared on the rest, as before they were recorded.
NEWER_SETTINGS = ("target_kind", "landmark_cue_mode")


def setting_matches(config: dict, key: str, value) -> bool:
    if key not in config and key in NEWER_SETTINGS:
        return True
    if key == "started_from":  # recorded as {run, run_id, task, tensors, weights}; None (or absent): random weights
        recorded = config.get(key)
        if value is None or not isinstance(recorded, dict):
            return recorded == value
        # The same run folder holding the same weights: a best.pt rewritten in place is another start.
        return all(recorded.get(part) == value[part] for part in ("run", "weights"))
    return config.get(key) == value


def reuse_differences(run: Run, settings: dict, labels: LabelsFingerprint) -> list[str]:
    """Why `run` is not what training with `settings` on `labels` now would make, in words
    (`the labels changed since`, `epochs 14, now 25`); empty where it is."""
    from celeba_tui.training.recipes import SCHEDULE_KEYS
    from celeba_tui.training.run_labels import run_labels

    recorded = run_labels(run)
    # A run that took smaller batches or more epochs because its labels were few records what was asked.
    asked = run.config.get("asked_schedule")
    asked = {key: asked[key] for key in SCHEDULE_KEYS if key in asked} if isinstance(asked, dict) else {}
    config = {**run.config, **asked}
    why = []
    if recorded is None:
        why.append("it recorded no labels it learnt from")
    elif not recorded.same_labels(labels):
        counts = (
            f"it learnt from {recorded.images:,} images, now {labels.images:,}"
            if recorded.images != labels.images
            else f"as many images, {labels.images:,}, some labelled otherwise"  # attack pass 34: "700, now 700"
        )
        why.append(f"the labels changed since ({counts})")
    elif recorded.split is None or recorded.split != labels.split:
        why.append("the validation split changed since")
    why += [
        f"{key} {setting_text(config.get(key))}, now {setting_text(value)}"
        for key, value in settings.items()
        if not setting_matches(config, key, value)
    ]
    return why


def plan_cycle(workspace: Workspace, options: CycleOptions) -> CyclePlan:
    """What the cycle will do; refuses (CelebaError) what cannot work before anything runs."""
    from celeba_tui.autolabel.model_files import ExportSettings, learnt_these_classes, planned_export
    from celeba_tui.autolabel.run import AutolabelOptions, check_options
    from celeba_tui.training.dataset import check_trainable
    from celeba_tui.training.loop import pick_device
    from celeba_tui.training.run_labels import current_fingerprint
    from celeba_tui.training.run_selection import finished_at, list_runs
    from celeba_tui.training.trainer import check_seed

    task = workspace.task(options.task)
    pick_device(options.device)  # an unknown device, or cuda without one: refused in --dry-run too
    if options.max_images is not None and options.max_images < 1:
        raise CelebaError(f"--max-images must be at least 1, not {options.max_images}")
    check_seed(options.seed)
    check_options(
        AutolabelOptions(
            high=options.high,
            low=options.low,
            target_precision=options.target_precision,
            calibrate_on=options.calibrate_on,
            provider=options.provider,
        )
    )
    export_settings = ExportSettings(options.precision)
    architectures, source = configured_architectures(workspace, task.name, options.architectures)
    starts = starting_runs(options.start_from, workspace.runs_dir, architectures, task)
    labels = current_fingerprint(workspace, task.name, pseudo_labels=options.pseudo_labels)
    with workspace.open_store(readonly=True) as store:
        from celeba_tui.training.dataset import human_labels

        check_trainable(human_labels(store, task)[0]["label"], task)
        automatic = (
            store.query("SELECT COUNT(*) FROM live WHERE source = ? AND task = ?", [MODEL, task.name])[0][0]
            if options.pseudo_labels
            else 0
        )
    # Runs of the task's classes as they are now (not before a rename or reorder in celeba.toml).
    runs = sorted(
        (
            run
            for run in list_runs(workspace.runs_dir).runs
            if run.task == task.name and learnt_these_classes(run, task)
        ),
        key=finished_at,
    )
    steps = []
    for architecture in architectures:
        settings = wanted_settings(options, architecture, starts.get(architecture))
        reuse, not_reused = None, None
        for run in reversed(runs):  # newest first, to the first that training now would make again
            if run.architecture != architecture:
                continue
            why = reuse_differences(run, settings, labels)
            if not why:
                reuse = run
                break
            # The walkthrough of helper-68: the demo's run was trained again without a word of why.
            not_reused = not_reused or NotReused(run.run_id, tuple(why))
        if reuse is None:
            steps.append(TrainStep(architecture, settings, not_reused=not_reused))
            continue
        model, exists = planned_export(workspace, reuse, export_settings)
        steps.append(TrainStep(architecture, settings, reuse, model, exists))
    if not options.force:
        refuse_guessing_reuse(task.name, steps)
    return CyclePlan(task.name, source, labels, tuple(steps), options, automatic)


def refuse_guessing_reuse(task: str, steps: list[TrainStep]) -> None:
    """Refuse, before anything is exported, a cycle whose every step reuses a run that scored
    what guessing scores: autolabel would refuse its models after the export (helper-76: the
    dry run planned it without a word, the real cycle spent the export and then refused)."""
    from celeba_tui.training.metrics import GUESSING_ADVICE, guessing, guessing_text

    runs = [step.reuse for step in steps]
    if not runs or any(run is None for run in runs):
        return
    found = guessing((run.run_id, run.summary.get("val_balanced_acc"), len(run.classes)) for run in runs)
    if len(found) == len(runs):
        raise CelebaError(
            f"{task}: every run this cycle would reuse has a {guessing_text(found)}: {GUESSING_ADVICE} "
            "(--epochs), or --force labels anyway"
        )


def starting_runs(texts: tuple[str, ...], runs_dir: Path, architectures: tuple[str, ...], task) -> dict[str, dict]:
    """--start-from's runs by architecture ({run: absolute folder, weights: digest}), each checked as `celeba train
    --start-from` checks it (before anything runs, in --dry-run too): one per architecture,
    each of an architecture this cycle trains."""
    from celeba_tui.plugins import get_architecture
    from celeba_tui.training.starting_point import check_start, resolve_start

    starts: dict[str, dict] = {}
    for text in texts:
        run = resolve_start(text, runs_dir, task.name)
        if run.architecture not in architectures:
            raise CelebaError(
                f"--start-from {text}: run {run.run_id} is a {run.architecture} run, and this cycle trains "
                f"{', '.join(architectures)}"
            )
        if run.architecture in starts:
            raise CelebaError(f"--start-from: two runs for {run.architecture}; name one per architecture")
        start = check_start(run, text, get_architecture(run.architecture), task)
        starts[run.architecture] = {"run": str(start.run_path), "weights": start.weights}
    return starts


# -------------------------------------------------------------------- running
def run_cycle(workspace: Workspace, plan: CyclePlan, reporter=None) -> CycleResult:
    """Carry out a plan: train (or reuse), export (or reuse), auto-label, and name the next queue."""
    from celeba_tui.autolabel.model_files import ExportSettings, export_for_ensemble
    from celeba_tui.autolabel.run import AutolabelOptions, run_autolabel
    from celeba_tui.models.run_files import load_run
    from celeba_tui.training.run_labels import train_recording_labels

    options = plan.options
    result = CycleResult(plan)
    runs = []
    for step in plan.steps:
        if step.reuse is not None:
            run = step.reuse
        else:
            start = step.settings.get("started_from")
            train = train_options(options, step.architecture, start["run"] if start else None)
            trained = train_recording_labels(workspace, train, reporter)
            run = load_run(trained.run_path)
        runs.append(run)
        result.runs.append({"run": run.run_id, "architecture": step.architecture, "action": step.action})
    settings = ExportSettings(options.precision)
    files = [export_for_ensemble(workspace, run, settings, run.run_id) for run in runs]
    result.models = [model.to_dict() for model in files]
    autolabel_options = AutolabelOptions(
        high=options.high,
        low=options.low,
        target_precision=options.target_precision,
        calibrate_on=options.calibrate_on,
        provider=options.provider,
        force=options.force,
        tta=options.tta,
    )
    result.autolabel = run_autolabel(workspace, [model.path for model in files], autolabel_options, reporter)
    report = next(t for t in result.autolabel.tasks if t.task == plan.task)
    result.next = next_steps(plan.task, report)
    return result


def next_steps(task: str, report: TaskReport) -> list[NextStep]:
    """What people should label next, most useful first: suspects, then the manual queue."""
    steps = []
    if report.suspects:
        steps.append(
            NextStep(
                "suspects",
                report.suspects,
                f"celeba label --queue suspects --task {task}",
                "agreed labels the models confidently contradict: the likeliest labelling mistakes",
            )
        )
    if report.manual_queue:
        steps.append(
            NextStep(
                "manual",
                report.manual_queue,
                f"celeba label --queue manual --task {task}",
                "images the models could not label with confidence",
            )
        )
    return steps
