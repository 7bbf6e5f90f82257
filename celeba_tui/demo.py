"""`celeba demo`: the study end to end on a synthetic CelebA, checked against ground truth.

Every number comes from the real pipeline (the same commands a user runs); the
generator's ground truth is read only at the end, to score the automatic labels.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from celeba_tui.console import output_console
from celeba_tui.errors import CelebaError


@dataclass(frozen=True)
class DemoPlan:
    """How big each stage is: the default fits ~6 minutes on 2 cores, --quick ~90 s.

    Chosen by measurement (docs/performance.md, "Demo"). cnn4 is the study's pick for
    both tasks and, of the networks cheap enough here, the one that learns orientation
    from about a thousand noisy labels; the residual-block network trains ~6x faster and
    adds a second, different opinion. --quick has time only for the residual-block
    network and its dropout variant (study section 7.4): its models are weak, so few
    images pass the study's rules, but every stage runs on real data.
    """

    images: int
    coverage: float  # share of images the simulated annotators label
    overlap: float  # share of those labelled by both annotators
    architectures: tuple[str, str]
    epochs: int
    batch_size: int = 32
    high: float = 0.9
    low: float = 0.6

    @classmethod
    def for_mode(cls, quick: bool) -> "DemoPlan":
        if quick:
            return cls(images=1000, coverage=0.7, overlap=0.3,
                       architectures=("residual_blocks", "residual_blocks_dropout"), epochs=8)
        return cls(images=3000, coverage=0.5, overlap=0.3, architectures=("cnn4", "residual_blocks"), epochs=10)


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

    def as_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def run_demo(out: Path, *, quick: bool = False, seed: int = 0, console: Console | None = None) -> DemoResult:
    """Run every stage into `out` (data/, workspace/, models/, report/) and return the figures."""
    console = console or output_console(stderr=True)
    plan = DemoPlan.for_mode(quick)
    out = Path(out).resolve()
    if (out / "workspace").exists():
        raise CelebaError(f"{out} already holds a demo; remove it or pass another --out")
    out.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out)
    data, ws_dir, models_dir, report_dir = (out / n for n in ("data", "workspace", "models", "report"))
    models_dir.mkdir()
    report_dir.mkdir()

    def stage(number: int, title: str):
        console.print(Rule(f"[bold]{number}. {title}"))
        return _Stage(result, title, console)

    with stage(1, f"Render a synthetic CelebA ({plan.images:,} faces with ground truth)"):
        _cli("synth", "--out", data, "-n", plan.images, "--seed", seed, "--annotators", 2,
             "--overlap", plan.overlap, "--coverage", plan.coverage, "--sheet")

    with stage(2, "Two simulated annotators label overlapping shares; import them"):
        _cli("init", ws_dir, "--images", data)
        for labels in sorted((data / "annotators").glob("*.csv")):
            _cli("import", labels, "-w", ws_dir)

    with stage(3, "Agreement between annotators (the study's Table 1 plus kappa) and merge"):
        from celeba_tui.workspace import load_workspace

        workspace = load_workspace(ws_dir)
        _cli("agreement", "-w", ws_dir, "--plot", report_dir / "agreement")
        result.agreement = json.loads(_capture_cli("agreement", "--json", "-w", ws_dir))
        _cli("merge", "--policy", "majority", "-w", ws_dir)
        result.merge = json.loads(_capture_cli("merge", "--policy", "majority", "--dry-run", "--json", "-w", ws_dir))

    with stage(4, f"Train {' and '.join(plan.architectures)} per task ({plan.epochs} epochs, early stopping)"):
        from celeba_tui.progress import RichReporter
        from celeba_tui.training.trainer import TrainOptions, train

        for task in workspace.task_names:
            for architecture in plan.architectures:
                console.print(f"[bold]{architecture}[/] on {task}")
                options = TrainOptions(plugin=architecture, task=task, epochs=plan.epochs, batch_size=plan.batch_size,
                                       seed=seed)
                trained = train(workspace, options, RichReporter())
                result.runs.append({"run": str(trained.run_path), "task": task, "architecture": architecture, **trained.summary})
        _cli("report", "-w", ws_dir)
        (report_dir / "models.md").write_text(_capture_cli("report", "--markdown", "-w", ws_dir))

    with stage(5, "Export every model to ONNX and check parity with PyTorch"):
        from celeba_tui.onnx.export import export_run

        for run in result.runs:
            target = models_dir / f"{run['task']}-{run['architecture']}.onnx"
            exported = export_run(Path(run["run"]), target, image_root=workspace.image_root)
            result.exports.append(exported.as_dict())
            parity = exported.parity
            console.print(
                f"{target.name}: max |p_onnx - p_torch| = {parity.max_abs_diff:.2e} "
                f"(tolerance {parity.tolerance:g}), argmax agreement {parity.argmax_agreement:.1%}"
            )

    with stage(6, "Auto-label the remaining images with the ensemble (the study's rules)"):
        from celeba_tui.autolabel.run import AutolabelOptions, run_autolabel

        options = AutolabelOptions(high=plan.high, low=plan.low, export=report_dir / "ensemble",
                                   grid=report_dir / "figure28.png")
        model_paths = [Path(e["path"]) for e in result.exports]
        result.autolabel = run_autolabel(workspace, model_paths, options, RichReporter())
        with workspace.open_store() as store:
            current = store.current_labels()
        from celeba_tui.synth.dataset import read_ground_truth

        result.scores = score_automatic_labels(current, read_ground_truth(data), result.autolabel["tasks"])
        console.print(_scores_table(result.scores))

    with stage(7, "Figures and report"):
        _copy_run_figures(result.runs, report_dir)
        _copy_autolabel_figures(workspace.autolabel_dir, report_dir)
        (report_dir / "demo.json").write_text(json.dumps(result.as_dict(), indent=2, default=str))
        (report_dir / "README.md").write_text(render_report(result, plan))
        console.print(f"Report: {report_dir / 'README.md'}")

    console.print(Rule("[bold]Done"))
    total = sum(result.stages.values())
    console.print(f"Whole study in {total:.0f} s. Label what the ensemble sent back:")
    console.print(f"  celeba label --queue manual -w {ws_dir}")
    return result


def score_automatic_labels(current: pd.DataFrame, truth: pd.DataFrame, task_reports: list[dict]) -> list[dict]:
    """Precision of the automatic labels against ground truth, per task, with coverage."""
    rows = []
    for report in task_reports:
        task = report["task"]
        auto = current[(current["task"] == task) & (current["status"] == "model")]
        joined = auto.merge(truth[["image", task]], on="image", how="inner")
        correct = int((joined["label"] == joined[task]).sum())
        rows.append({
            "task": task,
            "automatic": int(len(auto)),
            "manual_queue": report["manual_queue"],
            "coverage": report["coverage"],
            "precision_vs_truth": correct / len(joined) if len(joined) else None,
            "held_out_precision": report["thresholds"].get("held_out_precision"),
        })
    return rows


def render_report(result: DemoResult, plan: DemoPlan) -> str:
    """The markdown report written to report/README.md."""
    lines = [
        "# celeba-tui demo report",
        "",
        f"{plan.images:,} synthetic faces; annotators labelled {plan.coverage:.0%} of them "
        f"({plan.overlap:.0%} of those twice); {plan.epochs} epochs per model.",
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
            f"{_pct(row['precision_vs_truth'])} | {_pct(row['held_out_precision'])} |"
        )
    figures = sorted(p.name for p in (result.out / "report").glob("*.png"))
    lines += ["", "## Figures", "", *(f"![{name}]({name})" for name in figures), ""]
    return "\n".join(lines)


def _scores_table(scores: list[dict]) -> Table:
    table = Table(title="Automatic labels against ground truth")
    for column in ("task", "automatic", "manual queue", "coverage", "precision vs truth", "held-out precision"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for row in scores:
        table.add_row(row["task"], f"{row['automatic']:,}", f"{row['manual_queue']:,}", _pct(row["coverage"]),
                      _pct(row["precision_vs_truth"]), _pct(row["held_out_precision"]))
    return table


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _copy_run_figures(runs: list[dict], report_dir: Path) -> None:
    import shutil

    for run in runs:
        for figure in Path(run["run"]).glob("*.png"):
            shutil.copy(figure, report_dir / f"{run['task']}-{run['architecture']}-{figure.name}")


def _copy_autolabel_figures(autolabel_dir: Path, report_dir: Path) -> None:
    """The precision/coverage curves autolabel drew from the held-out labels."""
    import shutil

    for figure in autolabel_dir.glob("*.png"):
        shutil.copy(figure, report_dir / figure.name)


def _cli(*args) -> None:
    """Run a `celeba` command in this process; a failure stops the demo."""
    from celeba_tui.cli import app

    code = app(args=[str(a) for a in args], standalone_mode=False)
    if code not in (None, 0):
        raise CelebaError(f"demo stage failed: celeba {' '.join(map(str, args))} exited with {code}")


def _capture_cli(*args) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        _cli(*args)
    return buffer.getvalue()


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
