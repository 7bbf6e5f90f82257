"""`celeba demo`: the study end to end on a synthetic CelebA, checked against ground truth.

Every number comes from the real pipeline (the same commands a user runs); the
generator's ground truth is read only at the end, to score the automatic labels.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from celeba_tui.console import literal, output_console
from celeba_tui.errors import CelebaError
from celeba_tui.json_text import strict_json
from celeba_tui.training.recipes import DEFAULT_RECIPE

if TYPE_CHECKING:
    from celeba_tui.autolabel.outputs import TaskReport
    from celeba_tui.evaluation.against_truth import TaskQuality
    from celeba_tui.workspace import Workspace


@dataclass(frozen=True)
class DemoPlan:
    """How big each stage is: the default fits ~6 minutes on 2 cores, --quick ~90 s.

    Chosen by measurement (docs/label-quality.md): one small ResNet per task, trained
    with the `noisy-labels` recipe (Dawid-Skene soft targets, landmark cues where they
    tell the classes apart) and calibrated by a temperature and class biases; auto-labelling
    averages each image with its mirror (TTA) and labels what it is confident of. A
    second member (another seed) added ~0.003 of precision for twice the training time,
    which the 6-minute budget spends better on epochs. Orientation then gets a
    self-training round (`celeba cycle --pseudo-labels`: trained again, from scratch, on
    the people's labels plus the first round's automatic ones): +0.024 and +0.036 of
    balanced accuracy on two data sets (docs/label-quality.md, eighth round). Light's round
    pays less for the same time, which the 6-minute budget does not have.
    """

    images: int
    coverage: float  # share of images the simulated annotators label
    overlap: float  # share of those labelled by both annotators
    members: tuple[tuple[str, int], ...]  # the ensemble per task: (architecture, seed offset)
    epochs: int | None = None  # None: the recipe's
    batch_size: int | None = None  # None: the architecture's
    lr: float | None = None  # None: the architecture's (the one-cycle schedule's peak)
    recipe: str = DEFAULT_RECIPE
    augment: str | None = None  # None: the recipe's
    landmark_cues: bool | None = None  # None: the recipe's (noisy-labels: yes, from the synthetic landmarks)
    soft_targets: bool | None = None  # None: the recipe's
    soft_targets_from: str | None = None  # None: the recipe's ("dawid-skene")
    high: float = 0.9
    low: float = 0.6
    tta: bool = True
    self_training: tuple[str, ...] = ()  # tasks trained again on the people's and automatic labels

    @property
    def architectures(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for name, _ in self.members))

    @classmethod
    def for_mode(cls, quick: bool) -> "DemoPlan":
        ensemble = (("small_resnet", 0),)
        if quick:
            # ~500 labels per task: batches of 16 give the ~430 optimiser steps orientation
            # needs to leave the majority class (batches of 64 or 32 in 14 epochs did not), and
            # a peak learning rate of 1e-3 makes that hold for every seed tried (3e-3: 2 of 3).
            return cls(images=1000, coverage=0.7, overlap=0.3, members=ensemble, epochs=14, batch_size=16, lr=1e-3)
        return cls(images=3000, coverage=0.5, overlap=0.3, members=ensemble, self_training=("orientation",))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DemoResult:
    out: Path
    stages: dict[str, float] = field(default_factory=dict)
    agreement: list = field(default_factory=list)
    merge: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)
    exports: list[dict] = field(default_factory=list)
    autolabel: dict = field(default_factory=dict)
    scores: list[dict] = field(default_factory=list)
    quality: list[dict] = field(default_factory=list)
    model_names: dict[str, str] = field(default_factory=dict)  # prediction key -> model (AutolabelReport)
    self_training: list[dict] = field(default_factory=list)  # per task retrained: its cycle's AutolabelReport

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


DEMO_FOLDERS = ("data", "workspace", "models", "report")


def prepare_demo_folder(out: Path, seed: int) -> Path:
    """`out`, resolved and made if missing (its parents never are); a CelebaError, before any
    work, for a seed or a folder the demo cannot use."""
    from celeba_tui.training.trainer import MAX_SEED

    # Each member of the ensemble trains with the seed plus its offset.
    if not 0 <= seed <= MAX_SEED - 100:
        raise CelebaError(f"--seed {seed}: must be between 0 and {MAX_SEED - 100}")
    out = Path(out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise CelebaError(f"--out {out}: it is not a folder")
    if not out.exists():
        if not out.parent.is_dir():
            raise CelebaError(f"--out {out}: folder {out.parent} does not exist (create it first)")
        out.mkdir()
    taken = [name for name in DEMO_FOLDERS if os.path.lexists(out / name)]
    if taken:
        raise CelebaError(f"{out} already holds {', '.join(taken)} (a demo?); remove them or pass another --out")
    return out


def run_demo(
    out: Path, *, quick: bool = False, seed: int = 0, console: Console | None = None, plan: DemoPlan | None = None
) -> DemoResult:
    """Run every stage into `out` (data/, workspace/, models/, report/) and return the figures.

    `plan` replaces the one --quick chooses (benchmarks/label_quality.py's ablation)."""
    console = console or output_console(stderr=True)
    plan = plan or DemoPlan.for_mode(quick)
    out = prepare_demo_folder(Path(out), seed)
    result = DemoResult(out)
    data, ws_dir, models_dir, report_dir = (out / n for n in ("data", "workspace", "models", "report"))
    models_dir.mkdir()
    report_dir.mkdir()

    stages = 8 + bool(plan.self_training)

    def stage(number: int, title: str):
        console.print(Rule(f"[bold]{number}/{stages}. {title}"))
        return _Stage(result, title, console)

    with stage(1, f"Render a synthetic CelebA ({plan.images:,} faces with ground truth)"):
        _render_synthetic(data, plan, seed, console)

    with stage(2, "Two simulated annotators label overlapping shares; import them"):
        workspace = _create_workspace(ws_dir, data, console)

    with stage(3, "Agreement between annotators (the study's Table 1 plus kappa) and merge"):
        result.agreement, result.merge = _agree_and_merge(workspace, report_dir / "agreement", console)

    members = " and ".join(f"{name} (seed {seed + offset})" for name, offset in plan.members)
    with stage(4, f"Train {members} per task (recipe {plan.recipe})"):
        from celeba_tui.progress import RichReporter
        from celeba_tui.training.run_labels import train_recording_labels
        from celeba_tui.training.trainer import TrainOptions

        for task in workspace.task_names:
            for architecture, offset in plan.members:
                console.print(f"[bold]{architecture}[/] (seed {seed + offset}) on {task}")
                options = TrainOptions(
                    plugin=architecture,
                    task=task,
                    epochs=plan.epochs,
                    batch_size=plan.batch_size,
                    lr=plan.lr,
                    seed=seed + offset,
                    recipe=plan.recipe,
                    augment=plan.augment,
                    landmark_cues=plan.landmark_cues,
                    soft_targets=plan.soft_targets,
                    soft_targets_from=plan.soft_targets_from,
                )
                # With the labels it learnt from: a `celeba cycle` of the same settings reuses it.
                trained = train_recording_labels(workspace, options, RichReporter())
                result.runs.append(
                    {
                        "run": str(trained.run_path),
                        "task": task,
                        "architecture": architecture,
                        "seed": seed + offset,
                        **trained.summary.to_dict(),
                    }
                )
        from celeba_tui.training import report as run_report
        from celeba_tui.training.report_layout import rich_tables
        from celeba_tui.training.run_selection import resolve_runs

        rows = run_report.report_rows(resolve_runs(None, workspace.runs_dir)[0])
        for table in rich_tables(rows, console.width):
            console.print(table)
        (report_dir / "models.md").write_text(run_report.markdown(rows))

    with stage(5, "Export every model to ONNX and check parity with PyTorch"):
        from celeba_tui.onnx.export import export_run

        for run in result.runs:
            target = models_dir / f"{run['task']}-{run['architecture']}-seed{run['seed']}.onnx"
            exported = export_run(Path(run["run"]), target, image_root=workspace.image_root)
            result.exports.append(exported.to_dict())
            parity = exported.parity
            console.print(
                f"{target.name}: max |p_onnx - p_torch| = {parity.max_abs_diff:.2e} "
                f"(tolerance {parity.tolerance:g}), argmax agreement {parity.argmax_agreement:.1%}"
            )

    with stage(6, "Auto-label the remaining images with the ensemble (the study's rules)"):
        from celeba_tui.autolabel.run import AutolabelOptions, run_autolabel

        options = AutolabelOptions(
            high=plan.high,
            low=plan.low,
            tta=plan.tta,
            export=report_dir / "ensemble",
            grid=report_dir / "figure28.png",
            # The demo shows what the models do, guessing included: said, not refused.
            force=True,
        )
        model_paths = [Path(e["path"]) for e in result.exports]
        report = run_autolabel(workspace, model_paths, options, RichReporter())
        for warning in report.warnings:
            console.print(f"[yellow]warning: {literal(warning)}[/]")
        result.autolabel = report.to_dict()
        result.model_names = report.model_names()
        task_reports = {task.task: task for task in report.tasks}
        # Every task's held-out precision/coverage curve (a self-training round redraws its task's alone).
        _copy_autolabel_figures(workspace.autolabel_dir, report_dir)
        from celeba_tui.synth.dataset import read_ground_truth

        truth = read_ground_truth(data)
        if not plan.self_training:
            result.scores = _scores(workspace, truth, list(task_reports.values()))
            console.print(_scores_table(result.scores))

    number = 7
    if plan.self_training:
        tasks = " and ".join(plan.self_training)
        with stage(number, f"Self-training: {tasks} again, on the people's and the automatic labels"):
            for task, cycled in _self_training(workspace, plan, seed, console):
                task_reports[task] = next(t for t in cycled.tasks if t.task == task)
                result.model_names.update(cycled.model_names())
                result.self_training.append({"task": task, "autolabel": cycled.to_dict()})
            result.scores = _scores(workspace, truth, list(task_reports.values()))
            console.print(_scores_table(result.scores))
        number += 1

    with stage(number, "Against ground truth: precision-coverage next to the ceiling"):
        from celeba_tui.evaluation.against_truth import evaluate_workspace, plot_precision_coverage

        final = {task: decided.model_keys for task, decided in task_reports.items()}  # what labelled last
        quality = evaluate_workspace(workspace, truth, seed, model_names=result.model_names, ensembles=final)
        result.quality = [q.to_dict() for q in quality]
        plot_precision_coverage(report_dir / "precision_coverage_vs_truth.png", quality)
        console.print(quality_table(quality))

    with stage(number + 1, "Figures and report"):
        _copy_run_figures(result.runs, report_dir)
        (report_dir / "demo.json").write_text(strict_json(result.to_dict(), indent=2, default=str))  # no NaN
        (report_dir / "README.md").write_text(render_report(result, plan))
        console.print(f"Report: {literal(report_dir / 'README.md')}")

    console.print(Rule("[bold]Done"))
    total = sum(result.stages.values())
    console.print(f"Whole study in {total:.0f} s. Label what the ensemble sent back:")
    console.print(f"  celeba label --queue manual -w {literal(shlex.quote(str(ws_dir)))}")
    return result


def _self_training(workspace, plan: DemoPlan, seed: int, console):
    """`celeba cycle --pseudo-labels` for each task of `plan.self_training`: (task, its autolabel report)."""
    from celeba_tui.autolabel.cycle import plan_cycle, run_cycle
    from celeba_tui.progress import RichReporter

    for task in plan.self_training:
        console.print(f"[bold]{', '.join(plan.architectures)}[/] on {task}, with the automatic labels")
        options = self_training_options(plan, task, seed)
        cycled = run_cycle(workspace, plan_cycle(workspace, options), RichReporter())
        yield task, cycled.autolabel


def self_training_options(plan: DemoPlan, task: str, seed: int):
    """`celeba cycle --pseudo-labels -t TASK` with the plan's architectures, epochs and rules."""
    from celeba_tui.autolabel.cycle import CycleOptions

    return CycleOptions(
        task=task,
        architectures=plan.architectures,
        epochs=plan.epochs,
        seed=seed,
        high=plan.high,
        low=plan.low,
        pseudo_labels=True,
        soft_targets_from=plan.soft_targets_from,
        augment=plan.augment,
        force=True,  # as the first round: the demo shows what the models do
    )


def _scores(workspace, truth: pd.DataFrame, task_reports: list[TaskReport]) -> list[dict]:
    """The automatic labels now in the store against the ground truth, per task."""
    with workspace.open_store() as store:
        current = store.current_labels()
    return score_automatic_labels(current, truth, task_reports)


def score_automatic_labels(current: pd.DataFrame, truth: pd.DataFrame, task_reports: list[TaskReport]) -> list[dict]:
    """Precision of the automatic labels against ground truth, per task, with coverage."""
    rows = []
    for report in task_reports:
        task = report.task
        auto = current[(current["task"] == task) & (current["status"] == "model")]
        joined = auto.merge(truth[["image", task]], on="image", how="inner")
        correct = int((joined["label"] == joined[task]).sum())
        rows.append(
            {
                "task": task,
                "automatic": int(len(auto)),
                "manual_queue": report.manual_queue,
                "coverage": report.coverage,
                "precision_vs_truth": correct / len(joined) if len(joined) else None,
                "held_out_precision": report.thresholds.get("held_out_precision"),
                "held_out_automatic": report.thresholds.get("held_out_automatic", 0),
                "held_out_precision_95ci": report.thresholds.get("held_out_precision_95ci", [None, None]),
            }
        )
    return rows


def render_report(result: DemoResult, plan: DemoPlan) -> str:
    """The markdown report written to report/README.md."""
    lines = [
        "# celeba-tui demo report",
        "",
        f"{plan.images:,} synthetic faces; annotators labelled {plan.coverage:.0%} of them "
        f"({plan.overlap:.0%} of those twice); per task an ensemble of "
        + ", ".join(f"{name} (seed offset {offset})" for name, offset in plan.members)
        + f", recipe {plan.recipe}"
        + (f", {plan.epochs} epochs" if plan.epochs else "")
        + (f", batches of {plan.batch_size}" if plan.batch_size else "")
        + (f", peak learning rate {plan.lr:g}" if plan.lr else "")
        + ".",
        "",
        "## Stages",
        "",
        "| stage | seconds |",
        "| --- | ---: |",
        *(f"| {name} | {seconds:.1f} |" for name, seconds in result.stages.items()),
        "",
        "## Models (validation split)",
        "",
        (result.out / "report" / "models.md").read_text() if (result.out / "report" / "models.md").exists() else "",
        "## Automatic labels against ground truth",
        "",
        "| task | automatic | manual queue | coverage | precision vs truth | held-out precision |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result.scores:
        lines.append(
            f"| {row['task']} | {row['automatic']:,} | {row['manual_queue']:,} | {_pct(row['coverage'])} | "
            f"{_pct(row['precision_vs_truth'])} | {held_out_cell(row)} |"
        )
    if result.quality:
        from celeba_tui.evaluation.curves import COVERAGES, PRECISIONS

        lines += [
            "",
            "## Precision at coverage against ground truth, next to the ceiling",
            "",
            "On the images nobody labelled, labelling the most confident share; the ceiling is an oracle that "
            "reads each true angle with a careful annotator's noise (docs/label-quality.md).",
            "",
            "| task | who | bal. acc | ECE | "
            + " | ".join(f"P@{c:.0%}" for c in COVERAGES)
            + " | "
            + " | ".join(f"cov@P{p:g}" for p in PRECISIONS)
            + " |",
            "| --- | --- |" + " ---: |" * (2 + len(COVERAGES) + len(PRECISIONS)),
        ]
        for task, who, scores in quality_rows_from_dicts(result.quality):
            lines.append(
                f"| {task} | {who} | {scores['balanced_accuracy']:.3f} | {_number(scores['ece'], '.3f')} | "
                + " | ".join(f"{scores['precision_at_coverage'][str(c)]:.3f}" for c in COVERAGES)
                + " | "
                + " | ".join(f"{scores['coverage_at_precision'][str(p)]:.2f}" for p in PRECISIONS)
                + " |"
            )
        lines += [
            "",
            "Annotators' accuracy on the images they labelled: "
            + ", ".join(
                f"{q['task']} {name} {acc:.3f}" for q in result.quality for name, acc in q["annotators"].items()
            )
            + "; simulated typical annotators: "
            + ", ".join(f"{q['task']} {q['typical_annotators']:.3f}" for q in result.quality)
            + ".",
        ]
    figures = sorted(p.name for p in (result.out / "report").glob("*.png"))
    lines += ["", "## Figures", "", *(f"![{name}]({name})" for name in figures), ""]
    return "\n".join(lines)


def quality_rows_from_dicts(quality: list[dict]) -> list[tuple[str, str, dict]]:
    """quality_rows for TaskQuality.to_dict() entries (the report reads demo.json's form)."""
    rows = []
    for task in quality:
        rows.append((task["task"], "ensemble", task["ensemble"]))
        rows += [(task["task"], name, scores) for name, scores in task["models"].items()]
        if task["ceiling"] is not None:
            rows.append((task["task"], "ceiling", task["ceiling"]))
    return rows


def _scores_table(scores: list[dict]) -> Table:
    table = Table(title="Automatic labels against ground truth")
    for column in ("task", "automatic", "manual queue", "coverage", "precision vs truth", "held-out precision"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for row in scores:
        table.add_row(
            row["task"],
            f"{row['automatic']:,}",
            f"{row['manual_queue']:,}",
            _pct(row["coverage"]),
            _pct(row["precision_vs_truth"]),
            held_out_cell(row),
        )
    return table


def quality_table(quality: list[TaskQuality]) -> Table:
    """Precision when the most confident share is labelled, next to the ceiling (fits 80 columns)."""
    from celeba_tui.evaluation.curves import COVERAGES

    table = Table(title="Images nobody labelled: precision at coverage (ground truth)")
    table.add_column("task")
    table.add_column("who", overflow="fold")
    table.add_column("bal acc", justify="right")
    for coverage in COVERAGES:
        table.add_column(f"{coverage:.0%}", justify="right")
    for task, who, scores in quality_rows_from_dicts([q.to_dict() for q in quality]):
        table.add_row(
            task,
            who,
            f"{scores['balanced_accuracy']:.3f}",
            *(f"{scores['precision_at_coverage'][str(c)]:.3f}" for c in COVERAGES),
        )
    return table


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def held_out_cell(row: dict) -> str:
    """ "100.0% of 26 (95% CI 87.1-100.0%)": the held-out precision with how many automatic
    labels it rests on (helper-91: a bare 100.0% read as certain). Pure."""
    precision, count = row.get("held_out_precision"), row.get("held_out_automatic") or 0
    if precision is None:
        return "-"
    low, high = (row.get("held_out_precision_95ci") or [None, None])[:2]
    interval = f" (95% CI {low:.1%}-{high:.1%})" if low is not None and high is not None else ""
    return f"{precision:.1%} of {count:,}{interval}"


def _copy_run_figures(runs: list[dict], report_dir: Path) -> None:
    import shutil

    for run in runs:
        for figure in Path(run["run"]).glob("*.png"):
            shutil.copy(figure, report_dir / f"{run['task']}-{run['architecture']}-seed{run['seed']}-{figure.name}")


def _copy_autolabel_figures(autolabel_dir: Path, report_dir: Path) -> None:
    """The precision/coverage curves autolabel drew from the held-out labels."""
    import shutil

    for figure in autolabel_dir.glob("*.png"):
        shutil.copy(figure, report_dir / figure.name)


def _render_synthetic(data: Path, plan: DemoPlan, seed: int, console: Console) -> None:
    """The synthetic CelebA with two simulated annotators' label files, as `celeba synth` writes them."""
    from celeba_tui.synth.contact_sheet import dataset_contact_sheet
    from celeba_tui.synth.dataset import SynthSpec, default_workers, write_dataset
    from celeba_tui.synth.output import prepare_output, write_annotators

    prepare_output(data, plan.images, False)
    truth = write_dataset(data, plan.images, SynthSpec(seed), workers=default_workers())
    labels = write_annotators(data, truth, 2, plan.overlap, seed, plan.coverage)
    dataset_contact_sheet(data, truth, data / "contact_sheet.png")
    for name, frame in labels.items():
        console.print(f"annotator {literal(name)}: {frame['image'].nunique():,} images labelled")


def _create_workspace(ws_dir: Path, data: Path, console: Console) -> Workspace:
    """`celeba init` on the synthetic folder, then `celeba import` of each annotator's file."""
    from celeba_tui.formats.importing import import_labels
    from celeba_tui.images import detect_layout
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import create_workspace

    workspace = create_workspace(ws_dir, detect_layout(data).image_root)
    with workspace.open_store(create=True) as store:
        registered = register_images(store, workspace.image_root)
        console.print(f"workspace {literal(workspace.path)}: {registered.total:,} images")
        for path in sorted((data / "annotators").glob("*.csv")):
            imported = import_labels(store, workspace, path)
            console.print(
                f"imported {literal(path.name)}: {imported.written:,} labels by {literal(', '.join(imported.annotators))}"
            )
    return workspace


def _agree_and_merge(workspace: Workspace, plot_dir: Path, console: Console) -> tuple[list, dict]:
    """`celeba agreement --plot` and `celeba merge --policy majority`: what agreed, what was written."""
    from celeba_tui.agreement.apply_merge import human_labels, run_merge
    from celeba_tui.agreement.measures import agreement_report
    from celeba_tui.agreement.plots import write_confusion_plots

    with workspace.open_store() as store:
        labels = human_labels(store, workspace.tasks)
    report = agreement_report(labels, workspace.tasks)
    plot_dir.mkdir(exist_ok=True)
    write_confusion_plots(report, plot_dir)
    for task in report:
        for pair in task.pairs:
            console.print(
                f"{task.task}: {pair.annotator_a} and {pair.annotator_b} agree on {_number(pair.percent_agreement, '.1f')}% "
                f"of {pair.overlapping:,} shared images (Cohen's kappa {_number(pair.kappa, '.2f')})"
            )
    with workspace.open_store() as store:
        merged = run_merge(store, workspace.tasks, "majority")
    console.print(f"merge --policy majority: {merged.written:,} decisions written")
    return [t.to_dict() for t in report], merged.to_dict()


def _number(value: float | None, fmt: str) -> str:
    return "-" if value is None or value != value else format(value, fmt)  # NaN: none (helper-91: "ECE nan")


class _Stage:
    """Times a stage and records it under its title."""

    def __init__(self, result: DemoResult, title: str, console: Console):
        self.result, self.title, self.console = result, title, console

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.started
        self.result.stages[self.title] = seconds
        if exc[0] is None:
            self.console.print(f"[dim]{seconds:.1f} s[/]")
