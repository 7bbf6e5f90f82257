"""Workspace commands: init, scan, import, export, stats."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from celeba_tui.annotator_names import shown_name
from celeba_tui.cli.app import (
    JsonOption,
    TasksOption,
    WorkspaceOption,
    app,
    next_step,
    open_workspace,
    print_json,
    tasks_option,
    warn,
)
from celeba_tui.cli.completion import (
    complete_annotator,
    complete_class,
    complete_export_format,
    complete_import_format,
    complete_task,
)
from celeba_tui.console import counted, printable, terminal_width, wrapped


@app.command(short_help="Create a workspace for an image folder.")
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder for the new workspace.")],
    images: Annotated[
        Path,
        typer.Option(
            "--images",
            metavar="DIR",
            help="Image root: a folder of images, or a CelebA folder with img_align_celeba/.",
        ),
    ],
    task: Annotated[
        Optional[list[str]],
        typer.Option(
            "--task",
            "-t",
            metavar="SPEC",
            help="A task to label, NAME=CLASS,CLASS,..., e.g. glasses=no,yes (repeat for several; default: the study's light and "
            "orientation, each left,center,right). Edit celeba.toml later to add one or word its question.",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a workspace for an image folder and register its images.

    \b
    Example: celeba init glasses-ws --images ~/faces --task glasses=no,yes --task expression=neutral,smile,frown
    """
    from celeba_tui.errors import WorkspaceError
    from celeba_tui.images import detect_layout
    from celeba_tui.store.registration import register_images
    from celeba_tui.workspace import DEFAULT_TASKS, create_workspace, parse_task_spec

    tasks = tuple(parse_task_spec(spec) for spec in task) if task else DEFAULT_TASKS
    layout = detect_layout(images)
    if directory.exists() and not directory.is_dir():
        raise WorkspaceError(f"cannot create a workspace in {directory}: it is a file, not a folder")
    try:
        workspace = create_workspace(directory, layout.image_root, tasks, tasks_given=bool(task))
    except OSError as exc:
        # /proc/x, a path through a file, a read-only folder: the OS says why, in one line.
        raise WorkspaceError(f"cannot create a workspace in {directory}: {exc.strerror or exc}") from None
    with workspace.open_store(create=True) as store:
        result = register_images(store, workspace.image_root)
    summary = {
        "workspace": str(workspace.path),
        "image_root": str(workspace.image_root),
        "layout": layout.kind,
        "celeba_files": {k: str(v) for k, v in layout.files.items()},
        "images": result.total,
        "skipped": len(result.skipped),
        "tasks": {t.name: list(t.classes) for t in workspace.tasks},
    }
    if json_output:
        print_json(summary)
        return
    typer.echo(printable(f"Created workspace {workspace.path}"))
    typer.echo(printable(f"  images: {result.total:,} in {workspace.image_root} ({layout.kind} layout)"))
    for task in workspace.tasks:
        typer.echo(printable(f"  task {task.name}: {', '.join(task.classes)}"))
    _report_skipped(result.skipped)
    if not result.total:  # nothing to label yet: no next step but this
        warn(f"no JPEG or PNG images in {workspace.image_root}: add them, then `celeba scan`")
        return
    typer.echo(printable(f"Next: cd {shlex.quote(str(workspace.path))} && celeba label"), err=True)


@app.command(short_help="Register new images; mark vanished ones.")
def scan(workspace: WorkspaceOption = None, json_output: JsonOption = False) -> None:
    """Re-scan the image root: register new images, mark vanished ones (labels are kept)."""
    from celeba_tui.store.registration import register_images

    ws = open_workspace(workspace)
    with ws.open_store() as store:
        result = register_images(store, ws.image_root)
    if json_output:
        print_json(
            {
                "images": result.total,
                "new": result.new,
                "arrived": result.arrived,
                "vanished": result.vanished,
                "skipped": result.skipped,
            }
        )
        return
    changes = [f"{result.new:,} new"]
    if result.arrived:  # labelled before their files came, or back after a move
        changes.append(f"{result.arrived:,} arrived")
    if result.vanished:
        changes.append(f"{result.vanished:,} gone")
    typer.echo(printable(f"{result.total:,} images in {ws.image_root} ({', '.join(changes)})"))
    if result.vanished and not result.total:  # attack pass 41: an unmounted drive, said as "60 gone"
        warn(
            printable(
                f"every image is gone from {ws.image_root}: is it the right folder (a drive not mounted?); "
                "their labels are kept, and a scan with the files back brings them back"
            )
        )
    _report_skipped(result.skipped)


ImportTasksOption = tasks_option(
    "Only this task's labels (repeat for several); a one-hot file without a header holds these tasks' "
    "columns, in this order (default: every task)."
)


@app.command("import", short_help="Import labels: one-hot or long CSV, Parquet, a store.")
def import_command(
    files: Annotated[
        Optional[list[Path]],
        typer.Argument(
            metavar="FILE",
            help="Label files: the study's one-hot CSV, long CSV, Parquet, or another store (.sqlite).",
            show_default=False,
        ),
    ] = None,
    annotator: Annotated[
        Optional[str],
        typer.Option(
            "--annotator",
            "-a",
            metavar="NAME",
            help="Annotator name (default: from the file, else its name without suffix).",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="auto, onehot, long, parquet or store.",
            autocompletion=complete_import_format,
        ),
    ] = "auto",
    strip_prefix: Annotated[
        Optional[str],
        typer.Option(
            "--strip-prefix",
            metavar="PREFIX",
            help="Take PREFIX off the front of the file's image names (paths such as /data/celeba/000001.jpg, "
            "for names relative to the image root).",
        ),
    ] = None,
    undo: Annotated[
        Optional[str],
        typer.Option(
            "--undo",
            metavar="ANNOTATOR",
            help="Instead of importing, withdraw every live label of ANNOTATOR (same as `celeba annotators withdraw`).",
            autocompletion=complete_annotator,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --undo: do not ask for confirmation.")] = False,
    task: ImportTasksOption = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import labels: all files or none, and a bad line names file and line.

    A `time` column (long CSV, Parquet) says when each answer was given: an older answer never
    overrides a newer one of the same person (docs/formats.md).
    """
    from celeba_tui.errors import CelebaError
    from celeba_tui.formats.importing import FORMATS, read_import, write_imports

    if undo is not None:
        if files:
            raise CelebaError("--undo withdraws an annotator's labels; give it without label files")
        # Attack pass 41: `-a alice --undo bob` withdrew bob's and went on to name alice.
        given = [flag for flag, value in (("--annotator", annotator), ("--strip-prefix", strip_prefix)) if value]
        given += ["--format"] if fmt != "auto" else []
        if given:
            raise CelebaError(f"--undo ANNOTATOR withdraws labels, reading no file: leave out {', '.join(given)}")
        from celeba_tui.cli.annotator_commands import withdraw

        # -t: that task's labels only, as `annotators withdraw NAME --task TASK` (attack pass
        # 33: the option was dropped, and every task's labels withdrawn).
        tasks_named = list(dict.fromkeys(task or ()))
        if len(tasks_named) > 1:
            raise CelebaError("--undo withdraws one task's labels (-t once) or every task's (no -t)")
        withdraw(undo, tasks_named[0] if tasks_named else None, yes, workspace, json_output)
        return
    if not files:
        raise CelebaError("no label files given (or --undo ANNOTATOR to withdraw an import)")
    if fmt not in FORMATS:
        hint = "; to move labels between workspaces, export --format long or parquet" if "json" in fmt.lower() else ""
        from celeba_tui.console import did_you_mean

        meant = did_you_mean(fmt, FORMATS, {"csv": "long"})
        raise CelebaError(f"--format {shown_name(fmt)}: {meant}import reads {', '.join(FORMATS)}{hint}")
    ws = open_workspace(workspace)
    # Every file is read and checked before any is written, then all are written in one
    # transaction: a bad file 2 leaves file 1 unwritten too, so a fixed rerun is clean.
    tasks = ws.select_tasks(task) if task else None  # in the order typed: a one-hot file's column order
    prepared = [
        read_import(path, ws, fmt=fmt, annotator=annotator, strip_prefix=strip_prefix, tasks=tasks) for path in files
    ]
    with ws.open_store() as store:
        reports = write_imports(store, prepared)
        people = store.count_annotators_with_labels()
    if json_output:
        print_json([vars(r) for r in reports])
        return

    width = terminal_width()
    for report in reports:
        said = printable(
            f"{report.path}: {report.format}, {counted(report.rows, 'label')} for {counted(report.images, 'image')} "
            f"by {', '.join(report.annotators)} ({report.written:,} new{_replacing(report.replaced_imported)})"
        )
        # On a terminal: broken between words, indented past the task lines below.
        typer.echo("\n".join(wrapped(said, width, "    ")))
        classes = {t.name: t.classes for t in ws.tasks}
        for task, counts in report.per_task.items():
            order = {name: i for i, name in enumerate(classes.get(task, ()))}  # left, center, right
            shown = sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))
            typer.echo(printable(f"  {task}: " + ", ".join(f"{k} {v:,}" for k, v in shown)))
        if report.unknown_images:
            warn(
                f"{counted(report.unknown_images, 'labelled image')} of {report.path} "
                f"{'is' if report.unknown_images == 1 else 'are'} not in the image root (labels kept): "
                + ", ".join(shown_name(n) for n in report.unknown_examples)
                + (", ..." if report.unknown_images > len(report.unknown_examples) else "")
                + (f"; {report.path_hint}" if report.path_hint else "")
            )
        for name, hint in report.look_alikes.items():
            warn(f"{report.path}: {hint}; `celeba import --undo {shlex.quote(name)}` takes them back")
        for name, others in report.others_old_names.items():
            warn(
                f"{report.path}: {shown_name(name)} is an annotator's name here, and was "
                f"{' and '.join(shown_name(other) for other in others)}'s before a rename: the answers go to "
                f"{shown_name(name)}; if they are another's, give the rows that name (or import with --annotator NAME)"
            )
        if report.renamed:
            warn(
                f"read {', '.join(f'{shown_name(old)} as {shown_name(now)}' for old, now in report.renamed.items())} "
                f"in {report.path}: renamed since (`celeba annotators rename`), the same person; to import "
                # The name came from -a, or from the file (attack pass 40: the advice named the rows).
                + (
                    "someone else, give another --annotator name"
                    if annotator is not None
                    else "someone else of that name, give the file's rows another annotator name"
                )
            )
        if report.older_answers:
            warn(
                f"left out {counted(report.older_answers, 'answer')} of {report.path} older than the same "
                "person's answer in the store (given, or imported without a time, later): the newer stands "
                "(answers imported without a time are corrected by a file without the `time` column; "
                "`celeba annotators withdraw NAME` first replaces all of someone's answers)"
            )
        if report.untimed_against_typed:
            n = report.untimed_against_typed
            examples = ", ".join(report.untimed_against_typed_examples) + (", ..." if n > 3 else "")
            warn(
                f"left out {counted(n, 'answer')} of {report.path} ({examples}) that "
                f"{'differs' if n == 1 else 'differ'} from the same person's answer here (typed, a review, or "
                "imported with its time), without a time to say which is newer: the stored answer stands "
                "(give the file a `time` column, or import it under another --annotator name)"
            )
        if report.older_automatic:
            warn(
                f"left out {counted(report.older_automatic, 'automatic label')} of {report.path} older than "
                "this workspace's latest automatic decision of their image (a label or its withdrawal) or task "
                "(an autolabel run since), or without a time to weigh them: the newer stands"
            )
        if report.other_tasks:
            warn(
                f"left out {counted(report.other_tasks, 'label')} of {report.path} of tasks not asked for "
                f"(-t {' -t '.join(t.name for t in tasks or ())})"
            )
        if report.merge_labels:
            warn(
                f"left out {counted(report.merge_labels, 'merge decision')} of {report.path} (they belong to "
                "its workspace; its annotators' labels came along: `celeba merge --policy POLICY` decides here)"
            )
    if not any(report.written for report in reports):
        return  # every label was in the store already: nothing changed to go on from
    if people > 1:
        next_step("celeba agreement", f"how far the {people} annotators agree; it says what settles conflicts")
    else:
        next_step("celeba stats", "what is labelled; celeba label labels the rest")


def _replacing(count: int) -> str:
    """`, 5 replacing the same annotator's earlier imported answers`, or '' (helper-80: a file
    imported again undid five corrections, said only "(5 new)")."""
    if not count:
        return ""
    return f", {count:,} replacing the same annotator's earlier imported {'answer' if count == 1 else 'answers'}"


@app.command(short_help="Export labels for training code.")
def export(
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="onehot (the study's CSV), long (CSV), parquet, jsonl, imagefolder (DIR/TASK/CLASS/IMAGE) "
            "or hf (a Hugging Face image folder).",
            autocompletion=complete_export_format,
        ),
    ] = "long",
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out", "-o", metavar="FILE", help="Output file (default or -: stdout); the folder for imagefolder and hf."
        ),
    ] = None,
    task: TasksOption = None,
    source: Annotated[
        Optional[str],
        typer.Option(
            "--source",
            metavar="SOURCES",
            help="Only labels of these sources, comma-separated: human, review (a person's decision), merge "
            "(a merge's), model, import (a current label's sources are those that settled it).",
        ),
    ] = None,
    header: Annotated[
        bool, typer.Option("--header", help="onehot: write a header line (image,light_left,...; the study had none).")
    ] = False,
    copy: Annotated[
        bool,
        typer.Option(
            "--copy", help="imagefolder, hf: copy the image files (default: hard links, symlinks across filesystems)."
        ),
    ] = False,
    raw_cells: Annotated[
        bool,
        typer.Option(
            "--raw-cells",
            help="Write CSV cells starting with = + - @ tab CR as they are (default: prefix ' so spreadsheets do not run them as formulas).",
        ),
    ] = False,
    workspace: WorkspaceOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary (rows, images, left out and why, paths); needs -o.")
    ] = False,
) -> None:
    """Export labels for training code; says on stderr what it left out and why.

    onehot, jsonl, imagefolder, hf: each image's current label; long, parquet: every
    annotator's live label.
    """
    from celeba_tui.errors import CelebaError
    from celeba_tui.formats.export_formats import FOLDER_FORMATS
    from celeba_tui.formats.exporting import check_export_request, export_labels, parse_sources

    # stdout, as `-` means to most tools (attack pass 34: a file `-`); /dev/stdout too, which
    # into a pipe names no file to write (attack pass 39: "No such file or directory").
    if out is not None and str(out) in ("-", "/dev/stdout"):
        out = None
    check_export_request(fmt, out)
    if json_output and out is None:
        raise CelebaError("--json prints a summary on stdout, where the labels would go: give -o/--out PATH")
    sources = parse_sources(source)
    ws = open_workspace(workspace)
    tasks = ws.select_tasks(task)
    with ws.open_store(readonly=True) as store:
        report = export_labels(
            store,
            ws,
            fmt,
            out if out is not None else sys.stdout,
            sources,
            tasks=tasks,
            raw_cells=raw_cells,
            header=header,
            copy=copy,
        )
    if json_output:
        print_json(report.as_json())
        return
    if out is not None:
        what = "files" if fmt in FOLDER_FORMATS else "lines" if fmt == "jsonl" else "rows"
        typer.echo(printable(f"wrote {report.rows:,} {what} ({report.images:,} images) to {out}"), err=True)
    for line in report.left_out_lines():
        typer.echo(printable(line), err=True)
    if report.automatic:
        from celeba_tui.vocabulary import FILTER_SOURCES, MODEL

        others = ",".join(s for s in (sources or FILTER_SOURCES) if s != MODEL)  # helper-89: as asked, less model
        warn(
            f"{report.automatic:,} of the images written {'carries' if report.automatic == 1 else 'carry'} automatic "
            "labels (source model), which the file "
            "cannot mark: imported back, they would be a person's"
            + (f"; `--source {others}` leaves them out" if others else "")
        )
    from celeba_tui.formats.export_report import SOME_TASKS

    partly = next((item for item in report.left_out if item.reason == SOME_TASKS), None)
    if partly is not None and len(report.tasks) > 1:  # helper-72: a task added later took most rows out
        next_step(
            f"celeba export --format onehot -t {shlex.quote(report.tasks[0])}"
            + (f" --source {shlex.quote(','.join(report.sources))}" if report.sources else "")
            + " -o FILE",
            "a row per image labelled for that task, whatever the others'; tasks here: " + ", ".join(report.tasks),
        )


@app.command(short_help="Count images and labels per task, class, annotator.")
def stats(
    task: TasksOption = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Images, labelled and unlabelled per task, per class, per annotator, per source."""
    from celeba_tui.store.stats import store_stats

    ws = open_workspace(workspace)
    tasks = ws.select_tasks(task)
    with ws.open_store(readonly=True) as store:
        data = store_stats(store, ws, tasks)
    if json_output:
        print_json(data)
        return
    from celeba_tui.cli.stats_view import print_stats

    print_stats(data)


def _report_skipped(skipped: list[tuple[str, str]]) -> None:
    if skipped:
        warn(f"skipped {counted(len(skipped), 'path')}, e.g. {skipped[0][0]}: {skipped[0][1]}")


@app.command("rename-class", short_help="Rename a class in celeba.toml and its stored labels.")
def rename_class(
    old: Annotated[
        str,
        typer.Argument(
            metavar="OLD", help="The class's name now (or in the stored labels).", autocompletion=complete_class
        ),
    ],
    new: Annotated[str, typer.Argument(metavar="NEW", help="Its new name.")],
    task: Annotated[
        str,
        typer.Option("--task", "-t", metavar="TASK", help="The task whose class it is.", autocompletion=complete_task),
    ],
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Rename a class: celeba.toml first, then every stored label, prediction and check
    answer of it, in one transaction (who decided what, and when, is kept).

    Run it where nobody is labelling. Runs and models trained before it name the old class:
    train again (`celeba cycle` does). With celeba.toml already edited by hand, it renames
    the stored labels only.

    \b
    Example: celeba rename-class -t expression frown sad
    """
    import os
    from dataclasses import asdict

    from celeba_tui.atomic import own_rewrite
    from celeba_tui.errors import CelebaError
    from celeba_tui.mirror import flippable
    from celeba_tui.regular_files import read_regular_file
    from celeba_tui.store.class_rename import (
        ClassRename,
        check_no_merge,
        rename_stored_class,
        renamed_config_text,
    )
    from celeba_tui.training.run_selection import runs_naming
    from celeba_tui.workspace import (
        MAX_CONFIG_BYTES,
        Task,
        check_new_names,
        load_workspace,
        onehot_column_clash,
        parse_config,
        write_text_atomic,
    )

    ws = open_workspace(workspace)
    classes = ws.task(task).classes
    if old == new:
        raise CelebaError(f"{old!r} is already called so")
    if old in classes and new in classes:
        raise CelebaError(f"{old!r} and {new!r} are both classes of {task!r}: renaming would merge them")
    if old not in classes and new not in classes:
        raise CelebaError(
            f"neither {old!r} nor {new!r} is a class of {task!r} in {ws.config_path} ({', '.join(classes)})"
        )
    with ws.open_store(check_classes=False, readonly=True) as store:
        check_no_merge(store.query, task, old, new)  # before celeba.toml is touched (again inside the rename)
        stored = any(name == task and label == old for name, label in store.label_values())
    if old not in classes and not stored:  # celeba.toml edited by hand: the stored labels must hold OLD
        raise CelebaError(f"nothing to rename: {old!r} is neither a class nor a stored label of {task!r}")
    after = tuple(new if c == old else c for c in classes) if old in classes else classes
    before = tuple(old if c == new else c for c in after)
    rewrite = old in classes
    if rewrite:
        if os.path.islink(ws.config_path):
            raise CelebaError(f"{ws.config_path} is a symbolic link: rename {old!r} there by hand, then run this again")
        text = read_regular_file(ws.config_path, MAX_CONFIG_BYTES).decode("utf-8")  # as load_workspace read it
        renamed = renamed_config_text(text, task, old, new)
        # The new name checked as every class is, and as a new config's are (what the config
        # held before is not this command's to refuse), before anything is written.
        renamed_tasks = parse_config(renamed, ws.config_path).tasks
        check_new_names((Task(task, (new,)),), str(ws.config_path))
        clash = onehot_column_clash(renamed_tasks)
        if clash and not onehot_column_clash(ws.tasks):
            raise CelebaError(f"{ws.config_path}: {clash}; choose another name")
        with own_rewrite(ws.config_path):
            write_text_atomic(ws.config_path, renamed)
        ws = load_workspace(ws.path)
    with ws.open_store(check_classes=False) as store:
        rows = rename_stored_class(store, task, old, new)
    result = ClassRename(task, old, new, rows, rewrite)
    if json_output:
        print_json(asdict(result))
        return
    where = f"{ws.config_path} and " if rewrite else ""
    typer.echo(
        printable(
            f"renamed {task} class {old!r} to {new!r} in {where}{counted(result.labels, 'label')} of the store's history"
            f" ({rows.get('predictions', 0):,} predictions, {rows.get('checks', 0):,} check answers)"
        )
    )
    scale = ws.task(task).scale
    ordered_before, ordered_after = Task(task, before, scale=scale).ordered, Task(task, after, scale=scale).ordered
    if (flippable(before), ordered_before) != (flippable(after), ordered_after):
        # Code review of 2026-12-07: only classes named left and right swap under a mirror.
        warn(
            f"{task}'s classes now {'do' if flippable(after) else 'do not'} swap under a mirror and "
            f"{'are' if ordered_after else 'are not'} in order along the left-right axis "
            "(flip augmentation, test-time flips and --checks follow the names, weighted kappa too unless the "
            "task's `scale` in celeba.toml says: docs/workflow.md)"
        )
    from celeba_tui.labelling.guidelines import mentions

    named = mentions(ws.guidelines_path, old)
    if named:
        warn(f"{ws.guidelines_path.name} names {old!r} {counted(named, 'time')}: edit it there too")
    earlier = runs_naming(ws.runs_dir, task, old)
    if earlier:
        warn(
            f"{counted(len(earlier), 'run')} of {task} trained before name {old!r} ({earlier[-1]}{', ...' if len(earlier) > 1 else ''}): "
            f"train again for models that answer {new!r} (`celeba cycle -t {task}`)"
        )
