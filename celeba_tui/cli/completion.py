"""Shell completion of option values: architectures, tasks, classes, annotators, queues,
formats, policies, runs and the fixed words of browse's filters.

`celeba --install-completion` sets the shell up; then `celeba train -p <TAB>` offers the
architectures, `-t <TAB>` the workspace's tasks, and so on. Each completer is called by
the shell with what is typed so far; it must be quick and never fail (a broken workspace
completes nothing rather than printing a traceback into the prompt).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from typer._click.core import Context


def _starting(candidates: Iterable[str], incomplete: str) -> list[str]:
    return [name for name in candidates if name.startswith(incomplete)]


def _safely(names: Callable[[Context], Iterable[str]]) -> Callable[[Context, str], list[str]]:
    """A completer that offers `names(ctx)` starting with what is typed, or nothing on any error."""

    def complete(ctx: Context, incomplete: str) -> list[str]:
        try:
            return _starting(names(ctx), incomplete)
        except Exception:  # noqa: BLE001  (completion must never break the shell's prompt)
            return []

    return complete


def _workspace(ctx: Context):
    """The workspace the command line names (-w) or the one in reach."""
    from celeba_tui.workspace import find_workspace

    while ctx is not None:
        given = ctx.params.get("workspace")
        if given:
            return find_workspace(Path(given))
        ctx = ctx.parent
    return find_workspace(None)


def _architectures(_: Context) -> list[str]:
    from celeba_tui.plugins import list_architectures

    return list_architectures()


def _tasks(ctx: Context) -> tuple[str, ...]:
    return _workspace(ctx).task_names


def _queues(_: Context) -> list[str]:
    from celeba_tui.labelling.queues import QUEUES

    return list(QUEUES)


def _runs(ctx: Context) -> list[str]:
    from celeba_tui.training.run_selection import list_runs

    runs = list_runs(_workspace(ctx).runs_dir).runs
    architectures = sorted({run.architecture for run in runs})
    return ["latest", "best", *(f"best:{a}" for a in architectures), *(run.run_id for run in runs)]


def _export_formats(_: Context) -> tuple[str, ...]:
    from celeba_tui.formats.export_formats import EXPORT_FORMATS

    return EXPORT_FORMATS


def _import_formats(_: Context) -> tuple[str, ...]:
    from celeba_tui.formats.importing import FORMATS

    return FORMATS


def _classes(ctx: Context) -> list[str]:
    """The classes of the task -t names (the first, where several), else of every task."""
    workspace = _workspace(ctx)
    named = ctx.params.get("task")
    named = named[0] if isinstance(named, (list, tuple)) and named else named
    tasks = [task for task in workspace.tasks if task.name == named] or workspace.tasks
    return list(dict.fromkeys(c for task in tasks for c in task.classes))


def _label_filters(ctx: Context) -> list[str]:
    """What browse's --label takes: a class, or `unlabelled`."""
    from celeba_tui.labelling.browse_filter import UNLABELLED

    return [*_classes(ctx), UNLABELLED]


# How long completion waits for another process's lock on the store: a TAB must answer at
# once (attack pass 37: 30 s under a writer holding it exclusively).
COMPLETION_WAIT_S = 0.2
# A name the shell reads as itself, unquoted: letters of any script, digits and `_@%+=:,./-`
# (shlex's safe set, with the letters beyond ASCII: José and zoë are offered too).
_ONE_SHELL_WORD = re.compile(r"[\w@%+=:,./-]+")


def _annotators(ctx: Context) -> list[str]:
    """Every name in the store: people, the ensemble's and the merges' (helper-77: none was
    offered). Only names the shell reads as one plain word: the shell's completion script puts
    them into the command line unquoted (attack pass 37: `x*` became a file's name, `$(...)`
    a command substitution, `bob smith` two arguments), and names come from imported files."""
    from celeba_tui.store.label_store import LabelStore

    with LabelStore.open(_workspace(ctx).store_path, readonly=True, busy_timeout_s=COMPLETION_WAIT_S) as store:
        return [name for name in store.annotators() if _ONE_SHELL_WORD.fullmatch(name)]


def _people(ctx: Context) -> list[str]:
    """The names of people in the store (who may label, be preferred by a merge)."""
    from celeba_tui.annotator_names import annotator_kind

    return [name for name in _annotators(ctx) if annotator_kind(name) == "person"]


def _policies(ctx: Context) -> list[str]:
    from celeba_tui.agreement.merge_policies import POLICIES

    fixed = [policy for policy in POLICIES if not policy.endswith("NAME")]
    try:
        people = _people(ctx)
    except Exception:  # noqa: BLE001  (outside a workspace: the policies without names)
        people = []
    return [*fixed, "prefer:", *(f"prefer:{name}" for name in people)]


def _statuses(_: Context) -> tuple[str, ...]:
    from celeba_tui.vocabulary import STATUS_WORDS

    return STATUS_WORDS


def _sources(_: Context) -> tuple[str, ...]:
    from celeba_tui.vocabulary import FILTER_SOURCES

    return FILTER_SOURCES


def _sorts(_: Context) -> tuple[str, ...]:
    from celeba_tui.labelling.browse_filter import SORTS

    return SORTS


def _renderers(_: Context) -> tuple[str, ...]:
    from celeba_tui.tui.terminal_probe import RENDERERS

    return RENDERERS


def _providers(_: Context) -> tuple[str, ...]:
    from celeba_tui.autolabel.inference import PROVIDER_CHOICES

    return PROVIDER_CHOICES


def _precisions(_: Context) -> tuple[str, ...]:
    from celeba_tui.autolabel.model_files import PRECISIONS

    return PRECISIONS


complete_architecture = _safely(_architectures)
complete_task = _safely(_tasks)
complete_queue = _safely(_queues)
complete_run = _safely(_runs)
complete_export_format = _safely(_export_formats)
complete_import_format = _safely(_import_formats)
complete_policy = _safely(_policies)
complete_class = _safely(_classes)
complete_label_filter = _safely(_label_filters)
complete_annotator = _safely(_annotators)
complete_person = _safely(_people)
complete_status = _safely(_statuses)
complete_source = _safely(_sources)
complete_sort = _safely(_sorts)
complete_renderer = _safely(_renderers)
complete_provider = _safely(_providers)
complete_precision = _safely(_precisions)
