"""`celeba rename-class`: a task's class called by another name, in the store and the config.

Labels are stored by class name, so a class renamed in celeba.toml alone leaves the store
holding labels of a class the task no longer has, and every command refuses the workspace
(helper-72: the only advice was to put the old name back or withdraw people's labels). A
rename is a change of vocabulary, not of anyone's decision: every row that holds the old
name for that task (the history, the live and current labels, the ensemble's predictions
and the classes its models recorded, the flip checks' answers) is given the new one in one
transaction, so the history keeps who decided what and when; the votes a merge decision
recorded beside it (`labels.detail`) keep the spelling they were cast in. The config is
rewritten first: a rename killed between the two
leaves celeba.toml naming the new class and the store the old one, and running it again
finishes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
    """What a rename changed: rows per table (`models`: models whose recorded classes), and
    whether the config was rewritten."""

    task: str
    old: str
    new: str
    rows: dict[str, int]
    config_rewritten: bool

    @property
    def labels(self) -> int:
        return self.rows.get("labels", 0)


def rename_stored_class(store: LabelStore, task: str, old: str, new: str) -> dict[str, int]:
    """Give every stored `old` of `task` the name `new`, in one transaction; rows per table.

    The models' recorded classes (`models.metadata`) are renamed too: their outputs are
    positional, so their predictions keep counting for the task (code review of 2026-12-07).
    Refused, inside the transaction, where the store already holds `new` for the task
    anywhere beside `old`: that would merge two classes, which is no rename."""
    rows: dict[str, int] = {}
    with store.transaction() as conn:
        check_no_merge(lambda sql, params: conn.execute(sql, params).fetchall(), task, old, new)
        for table, columns in CLASS_COLUMNS.items():
            sets = ", ".join(f"{c} = CASE WHEN {c} = ? THEN ? ELSE {c} END" for c in columns)
            holds = " OR ".join(f"{c} = ?" for c in columns)
            rows[table] = conn.execute(
                f"UPDATE {table} SET {sets} WHERE task = ? AND ({holds})",
                [*(value for _ in columns for value in (old, new)), task, *(old for _ in columns)],
            ).rowcount
        rows["models"] = 0
        for model_hash, metadata in conn.execute(
            "SELECT hash, metadata FROM models WHERE task = ?", (task,)
        ).fetchall():
            try:
                meta = json.loads(metadata)
            except ValueError:
                continue
            classes = meta.get("classes") if isinstance(meta, dict) else None
            if isinstance(classes, list) and old in classes:
                meta["classes"] = [new if c == old else c for c in classes]
                conn.execute("UPDATE models SET metadata = ? WHERE hash = ?", (json.dumps(meta), model_hash))
                rows["models"] += 1
    return rows


def check_no_merge(query, task: str, old: str, new: str) -> None:
    """Refuse where the store holds both `old` and `new` for `task` in any table (history,
    predictions, check answers included): a rename would merge two classes' labels.
    `query(sql, params)` returns rows (LabelStore.query, or a connection's inside a transaction)."""

    def held(name: str) -> bool:
        return any(
            query(f"SELECT 1 FROM {table} WHERE task = ? AND {column} = ? LIMIT 1", (task, name))
            for table, columns in CLASS_COLUMNS.items()
            for column in columns
        )

    if held(old) and held(new):
        raise CelebaError(
            f"the store holds labels {old!r} and {new!r} of task {task!r}: renaming would merge two classes"
        )


_TASKS_HEADER = re.compile(r"(?m)^[ \t]*\[\[[ \t]*tasks[ \t]*\]\][ \t]*(?:#.*)?$")
_ANY_HEADER = re.compile(r"(?m)^[ \t]*\[")


def renamed_config_text(text: str, task: str, old: str, new: str) -> str:
    """celeba.toml's text with `old` written `new` in `task`'s classes, all else byte for byte
    (comments, order, other keys, other tasks spelling the same class). Refused (a CelebaError
    asking for the edit by hand) unless `old` is spelt once as a quoted string inside that
    task's `classes = [...]`, and unless the text read back holds exactly the old tasks with
    that one class renamed (a `new` holding a quote would otherwise split it: code review of
    2026-12-07). Pure."""
    by_hand = f"rename {old!r} in task {task!r}'s classes in celeba.toml by hand, then run this again"
    span = _classes_span(text, task)
    if span is None:
        raise CelebaError(f"cannot find task {task!r}'s `classes = [...]` in celeba.toml: {by_hand}")
    start, end = span
    found = list(re.finditer(r"""(["'])""" + re.escape(old) + r"\1", text[start:end]))
    if len(found) != 1:
        raise CelebaError(f"task {task!r}'s classes spell {old!r} {len(found)} times in celeba.toml: {by_hand}")
    match = found[0]
    quote = match.group(1)
    renamed = text[: start + match.start()] + f"{quote}{new}{quote}" + text[start + match.end() :]
    if _classes_by_task(renamed) != {
        name: [new if name == task and c == old else c for c in classes]
        for name, classes in _classes_by_task(text).items()
    }:
        raise CelebaError(f"{new!r} would not read back as one class of {task!r}: choose another name")
    return renamed


def _classes_span(text: str, task: str) -> tuple[int, int] | None:
    """Where the inside of the `classes = [...]` array of the [[tasks]] table named `task` lies."""
    for header in _TASKS_HEADER.finditer(text):
        following = _ANY_HEADER.search(text, header.end())
        table_end = following.start() if following else len(text)
        table = text[header.end() : table_end]
        name = re.search(r"""(?m)^\s*name\s*=\s*(["'])(.*?)\1""", table)
        array = re.search(r"(?ms)^\s*classes\s*=\s*\[(.*?)\]", table)
        if name is not None and name.group(2) == task and array is not None:
            return header.end() + array.start(1), header.end() + array.end(1)
    return None


def _classes_by_task(text: str) -> dict:
    """Each task's classes as the TOML says them (empty where it does not parse)."""
    import tomllib

    try:
        tasks = tomllib.loads(text).get("tasks", [])
    except tomllib.TOMLDecodeError:
        return {}
    return {t.get("name"): t.get("classes") for t in tasks if isinstance(t, dict)}
