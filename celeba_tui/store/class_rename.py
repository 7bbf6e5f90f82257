"""`celeba rename-class`: a task's class called by another name, in the store and the config.

Labels are stored by class name, so a class renamed in celeba.toml alone leaves the store
holding labels of a class the task no longer has, and every command refuses the workspace
(helper-72: the only advice was to put the old name back or withdraw people's labels). A
rename is a change of vocabulary, not of anyone's decision: every row that holds the old
name for that task (the history, the live and current labels, the ensemble's predictions,
the flip checks' answers) is given the new one in one transaction, so the history keeps
who decided what and when. The config is rewritten first: a rename killed between the two
leaves celeba.toml naming the new class and the store the old one, and running it again
finishes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from celeba_tui.errors import CelebaError

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore

# Every column that holds a class name, per table (the task column beside it is `task`).
CLASS_COLUMNS = {
    "labels": ("label",),
    "live": ("label",),
    "current": ("label",),
    "predictions": ("label",),
    "checks": ("expected", "answer"),
}


@dataclass(frozen=True)
class ClassRename:
    """What a rename changed: rows per table (all columns counted), and whether the config was rewritten."""

    task: str
    old: str
    new: str
    rows: dict[str, int]
    config_rewritten: bool

    @property
    def labels(self) -> int:
        return self.rows.get("labels", 0)


def check_no_merge(store: LabelStore, task: str, old: str, new: str) -> None:
    """Refuse where the store holds both `old` and `new` for `task`: a rename would merge two
    classes' labels, which is no rename."""
    held = {label for name, label in store.label_values() if name == task}
    if old in held and new in held:
        raise CelebaError(
            f"the store holds labels {old!r} and {new!r} of task {task!r}: renaming would merge two classes"
        )


def rename_stored_class(store: LabelStore, task: str, old: str, new: str) -> dict[str, int]:
    """Give every stored `old` of `task` the name `new`, in one transaction; rows per table."""
    check_no_merge(store, task, old, new)
    rows: dict[str, int] = {}
    with store.transaction() as conn:
        for table, columns in CLASS_COLUMNS.items():
            for column in columns:
                changed = conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE task = ? AND {column} = ?", (new, task, old)
                ).rowcount
                rows[table] = rows.get(table, 0) + changed
    return rows


def renamed_config_text(text: str, task: str, old: str, new: str) -> str:
    """celeba.toml's text with `old` written `new` in `task`'s classes, all else byte for byte
    (comments, order, other keys). Only a config that spells the class once, as a quoted
    string in that task's `classes`, is rewritten; otherwise a CelebaError asks for the edit
    by hand. Pure."""
    pattern = re.compile(r"""(["'])""" + re.escape(old) + r"\1")
    found = list(pattern.finditer(text))
    if len(found) != 1 or not _in_classes_of(text, found[0].start(), task):
        raise CelebaError(
            f"celeba.toml spells {old!r} {len(found)} times: rename it in task {task!r}'s classes by hand, "
            "then run this again to rename the stored labels"
        )
    match = found[0]
    quote = match.group(1)
    return text[: match.start()] + f"{quote}{new}{quote}" + text[match.end() :]


def _in_classes_of(text: str, offset: int, task: str) -> bool:
    """Whether `offset` lies inside the `classes = [...]` array of the [[tasks]] table named `task`."""
    table_start = text.rfind("[[tasks]]", 0, offset)
    if table_start < 0:
        return False
    table_end = text.find("[[", offset)
    table = text[table_start : table_end if table_end >= 0 else len(text)]
    name = re.search(r"""(?m)^\s*name\s*=\s*(["'])(.*?)\1""", table)
    array = re.search(r"(?ms)^\s*classes\s*=\s*\[(.*?)\]", table)
    if name is None or name.group(2) != task or array is None:
        return False
    start, end = table_start + array.start(1), table_start + array.end(1)
    return start <= offset < end


def runs_naming(runs_dir: Path, task: str, name: str) -> list[str]:
    """The finished runs of `task` whose classes include `name` (trained before a rename), oldest first."""
    from celeba_tui.training.run_selection import list_runs

    return [run.run_id for run in list_runs(runs_dir).runs if run.task == task and name in run.classes]
