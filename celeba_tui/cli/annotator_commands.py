"""`celeba annotators`: list annotators, withdraw all of one's labels, rename one.

The way out of a bad import: withdrawing appends undo rows (the history keeps every
decision and its withdrawal), so nothing is lost and a merge or export afterwards no
longer sees the withdrawn labels.
"""

from __future__ import annotations

import shlex
import time
from datetime import date, datetime, timezone
from datetime import time as time_of_day
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from celeba_tui.annotator_names import annotator_kind, shown_name, unknown_annotator
from celeba_tui.cli.app import (
    GROUP_WORKSPACE_KEY,
    JsonOption,
    WorkspaceOption,
    app,
    from_environment,
    next_step,
    open_workspace,
    print_json,
)
from celeba_tui.cli.completion import complete_annotator, complete_task
from celeba_tui.console import cell_width, padded, printable, terminal_width
from celeba_tui.errors import CelebaError
from celeba_tui.labelling.presence import sessions_now

# withdraw and restore: one task's labels, or every task's.
OneTaskOption = Annotated[
    Optional[str],
    typer.Option(
        "--task",
        "-t",
        metavar="TASK",
        help="Only this task's labels (default: every task).",
        autocompletion=complete_task,
    ),
]

# What people type for `withdraw` (click would propose `rename`, the closest spelling).
WITHDRAW_WORDS = frozenset({"remove", "rm", "delete", "del", "drop"})


class AnnotatorsGroup(TyperGroup):
    def resolve_command(self, ctx, args):
        if args and args[0] in WITHDRAW_WORDS:
            raise UsageError(
                f"No such command '{args[0]}'. Did you mean 'withdraw' (the history keeps the labels)?", ctx
            )
        return super().resolve_command(ctx, args)


annotators_app = typer.Typer(
    cls=AnnotatorsGroup,
    name="annotators",
    help="List annotators (the default), withdraw all of one's labels (restore takes it back), or rename one.",
    short_help="List, rename, withdraw or restore annotators.",
    invoke_without_command=True,
    no_args_is_help=False,
    rich_markup_mode=None,
)
app.add_typer(annotators_app)


@annotators_app.callback()
def annotators_callback(ctx: typer.Context, workspace: WorkspaceOption = None, json_output: JsonOption = False) -> None:
    """List annotators (the default), withdraw all of one's labels (restore takes it back), or rename one."""
    # `celeba annotators -w WS withdraw bob` means WS, as `celeba -w WS annotators ...` does,
    # over $CELEBA_WORKSPACE (which fills every -w that is not typed: attack pass 24 found the
    # variable's workspace withdrawn from); a subcommand's own -w wins.
    if workspace is not None and not from_environment(ctx, workspace):
        ctx.meta[GROUP_WORKSPACE_KEY] = workspace
    ctx.obj = {"json": json_output}
    if ctx.invoked_subcommand is None:
        list_annotators(workspace, json_output)


@annotators_app.command("list", short_help="Each annotator's live labels, first and last decision.")
def list_command(ctx: typer.Context, workspace: WorkspaceOption = None, json_output: JsonOption = False) -> None:
    """Each annotator: live labels per task, their first and last decision, and who labels now."""
    list_annotators(workspace, json_output or ctx.obj["json"])


@annotators_app.command("withdraw", short_help="Withdraw every live label of one annotator.")
def withdraw_command(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="The annotator whose labels to withdraw.", autocompletion=complete_annotator
        ),
    ],
    task: OneTaskOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Withdraw every live label of an annotator by appending undo rows (the history keeps them)."""
    withdraw(name, task, yes, workspace, json_output or ctx.obj["json"])


def list_annotators(workspace: Path | None, json_output: bool) -> None:
    ws = open_workspace(workspace)
    with ws.open_store(check_classes=False) as store:  # the way out of orphaned labels
        rows = annotator_rows(store, ws.task_names, since=_local_midnight())
        from celeba_tui.labelling.pace import seconds_per_label  # numpy: not on every command's start

        paces = {name: seconds_per_label(times) for name, times in store.labelling_times().items()}
    rows = with_sessions_now(rows, sessions_now(ws.path), ws.task_names)
    # People first, then the ensemble's and the merges' names (their labels are no one's work).
    rows = [{**r, "kind": annotator_kind(r["name"]), "seconds_per_label": paces.get(r["name"])} for r in rows]
    rows.sort(key=lambda r: r["kind"] != "person")
    if json_output:
        print_json(
            [
                {
                    **r,
                    "first": _iso(r["first"]),
                    "last": _iso(r["last"]),
                    "seconds_per_label": None if r["seconds_per_label"] is None else round(r["seconds_per_label"], 2),
                    "labelling_since": _iso(r["labelling_since"]),
                    "labelling_share": None if r["labelling_share"] is None else r["labelling_share"].as_note(),
                    "labelling_progress": None
                    if r["labelling_progress"] is None
                    else r["labelling_progress"].as_note(),
                }
                for r in rows
            ]
        )
        return
    if not rows:
        typer.echo("No annotators yet.")
        return
    for line in _annotator_table(rows, ws.task_names, terminal_width()):
        typer.echo(line)
    now = [r for r in rows if r["labelling_since"] is not None]
    if now:
        typer.echo("\nLabelling now:")
        width = max(cell_width(printable(r["name"])) for r in now)
        for r in now:
            where = _labelling(
                r["labelling_since"], r["labelling_image"], r["labelling_share"], r["labelling_progress"]
            )
            typer.echo(f"  {padded(printable(r['name']), width)}  {where}")


# How the table shows the first and last decisions: to the minute where it fits, else by day.
_TO_THE_MINUTE, _BY_DAY = "%Y-%m-%d %H:%M", "%Y-%m-%d"
_TO_THE_SECOND = "%Y-%m-%d %H:%M:%S"


def _annotator_table(rows: list[dict], task_names: tuple[str, ...], columns: int | None) -> list[str]:
    """The table's lines, people first: within `columns` (None: a pipe, as wide as it is)
    where it can be (helper-77: 91 columns wrapped the dates at 80), the first and last
    decisions by day alone, then the first left out (`--json` has them all)."""
    header = ["annotator", *task_names, "decisions", "today", "s/label", "first", "last"]
    for when, keep in ((_TO_THE_MINUTE, len(header)), (_BY_DAY, len(header)), (_BY_DAY, len(header) - 2)):
        table = [
            [
                printable(r["name"]),
                *(f"{r['live'][t]:,}" for t in task_names),
                f"{r['decisions']:,}",
                f"{r['today']:,}",
                "-" if r["seconds_per_label"] is None else f"{r['seconds_per_label']:.1f}",
                _local_time(r["first"], when),
                _local_time(r["last"], when),
            ]
            for r in rows
        ]
        lines = [header, *table]
        if keep < len(header):  # without `first`
            lines = [[*line[:keep], line[-1]] for line in lines]
        widths = [max(cell_width(line[i]) for line in lines) for i in range(len(lines[0]))]
        if columns is None or sum(widths) + 2 * (len(widths) - 1) <= columns:
            break
    people = sum(r["kind"] == "person" for r in rows)
    out = []
    for n, line in enumerate(lines):
        if n == people + 1:
            out.append("not people: the ensemble's automatic labels, the merges' decisions")
        out.append("  ".join(padded(cell, w, right=i > 0) for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
    return out


def with_sessions_now(rows: list[dict], sessions: list, task_names: tuple[str, ...]) -> list[dict]:
    """The rows with when each annotator's running `celeba label` session started
    (`labelling_since`, None when none runs) and the image it shows (`labelling_image`);
    one who labels now but has no decision stored yet gets a row of their own."""
    by_name = {note.annotator: note for note in sessions}
    known = {r["name"] for r in rows}
    newcomers = [
        {"name": name, "live": dict.fromkeys(task_names, 0), "decisions": 0, "first": None, "last": None, "today": 0}
        for name in sorted(set(by_name) - known)
    ]
    return [
        {
            **r,
            "labelling_since": getattr(by_name.get(r["name"]), "started", None),
            "labelling_image": getattr(by_name.get(r["name"]), "image", None),
            "labelling_share": getattr(by_name.get(r["name"]), "share", None),
            "labelling_progress": getattr(by_name.get(r["name"]), "progress", None),
        }
        for r in [*rows, *newcomers]
    ]


def annotator_rows(store, task_names: tuple[str, ...], since: float = float("inf")) -> list[dict]:
    """Each annotator's name, live labels per task (all sources), decisions, first and last
    (epoch s), and decisions `today` (made at or after `since`)."""
    live: dict[str, dict[str, int]] = {}
    for name, task, _source, n in store.live_label_counts():
        counts = live.setdefault(name, {})
        counts[task] = counts.get(task, 0) + n
    return [
        {
            "name": name,
            "live": {t: live.get(name, {}).get(t, 0) for t in task_names},
            "decisions": decisions,
            "first": first,
            "last": last,
            "today": today,
        }
        for name, decisions, first, last, today in store.annotator_activity(since)
    ]


def withdraw(name: str, task: str | None, yes: bool, workspace: Path | None, json_output: bool) -> None:
    """Withdraw `name`'s live labels (after asking, unless `yes`) and say how many."""
    ws = open_workspace(workspace)
    if task is not None:
        ws.task(task)  # an unknown task is a one-line error naming the known ones
    scope = f"{task} " if task else ""
    from celeba_tui.labelling.session_lock import annotator_session

    with (
        annotator_session(ws.path, name, advice="finish it before withdrawing its labels", doing="withdraw"),
        ws.open_store(check_classes=False) as store,  # the way out of orphaned labels
    ):
        rows = {r["name"]: r for r in annotator_rows(store, ws.task_names)}
        if name not in rows:
            raise CelebaError(unknown_annotator(name, rows, store.names_now_of(name)))
        live = rows[name]["live"]
        count = live[task] if task is not None else sum(live.values())
        if count and not yes and not _confirmed(f"Withdraw {count:,} live {scope}labels of {printable(name)}?"):
            typer.echo("nothing withdrawn", err=True)
            raise typer.Exit(1)
        withdrawn = store.withdraw_annotator(name, task, by=_who())
        redo = None
        if withdrawn:
            from celeba_tui.agreement.apply_merge import redo_after_withdrawal

            redo = redo_after_withdrawal(store, name, [task] if task else list(ws.task_names))
    if json_output:
        print_json({"annotator": name, "task": task, "withdrawn": withdrawn})
        return
    typer.echo(f"withdrew {withdrawn:,} live {scope}labels of {printable(name)} (history kept)")
    if not withdrawn:
        return
    from celeba_tui.cli.merge_view import redo_command

    if annotator_kind(name) == "merge":
        # Attack pass 34: a merge's withdrawal was followed by a person's advice (and its restore
        # overruled what people answered since: merges are decided again, not restored).
        next_step("celeba label --queue review", "the conflicts it settled wait for a person again")
        if redo is not None:
            typer.echo(printable(f"(a mistake? `{redo_command(redo)}` decides them again)"), err=True)
        return
    if redo is not None:  # the merge's decisions over these labels lapsed: its policy decides again without them
        next_step(redo_command(redo), "the merge's decisions over these labels lapsed: merge again")
    next_step("celeba label", "their images are back in the queues of those who have not labelled them")
    again = f"celeba annotators restore {shlex.quote(name)}" + (f" -t {shlex.quote(task)}" if task else "")
    typer.echo(printable(f"(a mistake? `{again}` makes them live again)"), err=True)


def _who() -> str | None:
    """Who withdraws, for the withdrawal's record: $CELEBA_ANNOTATOR or the OS user."""
    from celeba_tui.cli.annotator_choice import default_annotator

    try:
        return default_annotator()
    except (CelebaError, OSError, KeyError):
        return None


@annotators_app.command("restore", short_help="Make an annotator's withdrawn labels live again.")
def restore_command(
    ctx: typer.Context,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help="The annotator whose latest withdrawal to take back.",
            autocompletion=complete_annotator,
        ),
    ],
    task: OneTaskOption = None,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Take back the latest withdrawal of an annotator's labels: the labels live then are live again
    (an answer they gave since stands)."""
    ws = open_workspace(workspace)
    if task is not None:
        ws.task(task)
    from celeba_tui.labelling.session_lock import annotator_session

    with (
        annotator_session(ws.path, name, advice="finish it before restoring its labels", doing="restore"),
        ws.open_store(check_classes=False) as store,
    ):
        if annotator_kind(name) == "merge" and store.query("SELECT 1 FROM annotators WHERE name = ?", [name]):
            from celeba_tui.agreement.apply_merge import redo_after_withdrawal
            from celeba_tui.cli.merge_view import redo_command
            from celeba_tui.store.annotators import NOT_RESTORED

            redo = redo_after_withdrawal(store, name, [task] if task else list(ws.task_names))
            raise CelebaError(NOT_RESTORED + (f": `{redo_command(redo)}`" if redo is not None else ""))
        done = store.restore_annotator(name, task)
    withdrawal = done.withdrawal
    if json_output or ctx.obj["json"]:
        print_json({"annotator": name, "task": task, "restored": done.restored, "restored_before": done.already,
                    "answered_since": done.answered_since, "decided_since": done.decided_since,
                    "withdrawn_at": _iso(withdrawal.time), "withdrawn_by": withdrawal.by,
                    "withdrawn_task": withdrawal.task})  # fmt: skip
        return
    by = f" by {withdrawal.by}" if withdrawal.by else ""
    notes = [
        f"{done.already:,} restored before" if done.already else "",
        f"{done.answered_since:,} left as {name} answered since" if done.answered_since else "",
        f"{done.decided_since:,} automatic left as a later autolabel decided" if done.decided_since else "",
    ]
    notes = "; ".join(note for note in notes if note)
    typer.echo(printable(
        # To the second: two withdrawals of one minute told apart (attack pass 39).
        f"restored {done.restored:,} labels of {name} withdrawn {_local_time(withdrawal.time, _TO_THE_SECOND)}{by}"
        + (f" (the {withdrawal.task} labels)" if withdrawal.task and not task else "")
        + (f" ({notes})" if notes else "")
    ))  # fmt: skip


def _confirmed(question: str) -> bool:
    """The person's answer (y or yes, else no); with no one to ask (a script, stdin closed)
    a one-line error saying to pass --yes. Asked and echoed on stderr: stdout is the
    command's output (`--json`), where click's prompt leaves a space."""
    import sys

    sys.stderr.write(f"{question} (the history keeps them) [y/N]: ")
    sys.stderr.flush()
    # No stdin at all (`<&-`): Python leaves sys.stdin None.
    answer = sys.stdin.readline() if sys.stdin is not None else ""
    if sys.stdin is None or not sys.stdin.isatty():  # a piped answer is not echoed: end the prompt's line
        sys.stderr.write("\n")
    if not answer:
        raise CelebaError("no answer to the confirmation (stdin closed): pass --yes to withdraw")
    return answer.strip().lower() in ("y", "yes")


@annotators_app.command("rename", short_help="Rename an annotator; their decisions stay theirs.")
def rename_command(
    old: Annotated[
        str, typer.Argument(metavar="OLD", help="The annotator's name now.", autocompletion=complete_annotator)
    ],
    new: Annotated[
        str, typer.Argument(metavar="NEW", help="The new name (not taken, not starting with merge:, = + - @).")
    ],
    ctx: typer.Context,
    workspace: WorkspaceOption = None,
    json_output: JsonOption = False,
) -> None:
    """Rename an annotator; their decisions stay theirs (only the name changes)."""
    if old == new:  # attack pass 39: the session check below named this command as the one running
        raise CelebaError(f"cannot rename {shown_name(old)} to the same name")
    ws = open_workspace(workspace)
    from celeba_tui.labelling.session_lock import annotator_session

    # A session still labelling as OLD writes by id: renamed under it, a second session
    # could start as NEW and the two would override each other's answers.
    advice = "finish it before renaming"
    with (
        annotator_session(ws.path, old, advice=advice, doing="rename"),
        annotator_session(ws.path, new, advice=advice, doing="rename"),
        ws.open_store(check_classes=False) as store,  # the way out of orphaned labels
    ):
        store.rename_annotator(old, new)
    if json_output or ctx.obj["json"]:
        print_json({"renamed": old, "to": new})
        return
    typer.echo(f"renamed {printable(old)} to {printable(new)}")


def _labelling(since: float | None, image: str | None, share=None, progress=None) -> str:
    """ "since 14:02 on 000004.jpg, unlabelled 1/3, 37/1,403 done, about 3 h 50 min left" for a
    running session (the image while it shows one; the queue, and the share of it where
    --assign gave one; how far through it, and how long the rest takes at its pace, where
    its side panel says)."""
    if since is None:
        return ""
    on = f" on {printable(image)}" if image is not None else ""
    works = ""
    if share is not None:
        works = f", {printable(share.queue)}" + ("" if share.index is None else f" {share.index}/{share.count}")
    if progress is not None:
        works += f", {progress.done:,}/{progress.total:,} done"
        if progress.minutes_left is not None and progress.done < progress.total:
            from celeba_tui.labelling.pace import time_left_text

            works += f", {time_left_text(progress.minutes_left)}"
    return f"since {time.strftime('%H:%M', time.localtime(since))}{on}{works}"


def _local_midnight() -> float:
    """When today began here (epoch s): where `today` counts from."""
    # Midnight's own offset, not now's: on a day the clocks change they differ by an hour.
    return datetime.combine(date.today(), time_of_day.min).astimezone().timestamp()


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):  # a forged store's time: none to show
        return None


def _local_time(timestamp: float | None, when: str = _TO_THE_MINUTE) -> str:
    try:
        return "-" if timestamp is None else time.strftime(when, time.localtime(timestamp))
    except (OverflowError, OSError, ValueError):
        return "-"
