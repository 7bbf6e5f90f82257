"""Applying a merge to a label store, and the review queue it leaves.

A merge writes only the conflicts its policy resolved, as `review` labels by the
annotator `merge:<policy>` with JSON provenance {"policy", "annotators", "votes"}.
Agreed images and single-annotator images are not written: their current label
already is the human one, and a copy would pin it against later relabelling.

The last run decides what the merge contributes: every earlier live `merge:*` row
that the new outcome does not repeat is revoked (undo rows, nothing is deleted),
then the new decisions are appended, all in one transaction. So a re-run with
the same labels writes nothing; after new labels arrive it appends only what
changed; a conflict that the new run leaves open (for instance `--policy review`
after `--policy majority`) goes back to the review queue. An (image, task) with a live
review decision by a person (a review row whose annotator is not `merge:*`) is never
written or revoked by a merge: the person's decision stands. (Annotator names that
start with `merge:` are therefore reserved for merges.)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from celeba_tui.agreement.measures import LABEL_COLUMNS, annotator_labels
from celeba_tui.agreement.merge_policies import MergePolicy, MergeResult, merge_labels, parse_policy
from celeba_tui.annotator_names import MERGE_PREFIX, annotator_kind, are_merges
from celeba_tui.errors import CelebaError
from celeba_tui.store.schema import MERGE_ANNOTATOR_IDS_SQL
from celeba_tui.vocabulary import ANNOTATOR_SOURCES, CONFLICT, REVIEW, sql_list
from celeba_tui.workspace import Task

if TYPE_CHECKING:
    from celeba_tui.store.label_store import LabelStore

KEY = ["image", "task"]


def merge_annotator(policy: MergePolicy) -> str:
    """The annotator name a policy's decisions are stored under."""
    return MERGE_PREFIX + policy.name


@dataclass(frozen=True)
class MergePlan:
    """Rows to append and label ids to revoke so the store holds exactly this merge's decisions."""

    add: pd.DataFrame
    revoke: list[int]
    unchanged: int


def plan_merge_writes(
    decisions: pd.DataFrame, existing: pd.DataFrame, annotator: str, min_confidence: float = 0.0
) -> MergePlan:
    """Compare the policy's decisions with the live `merge:*` rows (image, task, annotator,
    label, id, and optionally `lapsed`: a lapsed row is written again, never kept as is).
    A decision's detail keeps the `min_confidence` it was made under, where one was given,
    so the merge that decides again can ask the same."""
    wanted = decisions[decisions["resolution"] == "policy"].astype(
        {"policy": object, "annotators": object, "votes": object}
    )
    policy_json = wanted["policy"].map({p: json.dumps(p) for p in wanted["policy"].unique()})
    wanted = pd.DataFrame(
        {
            "image": wanted["image"],
            "task": wanted["task"],
            "label": wanted["label"],
            "annotator": annotator,
            "source": "review",
            "confidence": wanted["confidence"],
            "detail": '{"policy": '
            + policy_json.astype(object)
            + ', "annotators": '
            + wanted["annotators"]
            + ', "votes": '
            + wanted["votes"]
            + (f', "min_confidence": {min_confidence!r}' if min_confidence else "")
            + "}",
        }
    )
    if existing.empty:
        return MergePlan(wanted.reset_index(drop=True), [], 0)
    rows_per_key = existing.groupby(KEY)["id"].transform("size")
    same = (
        existing.merge(
            wanted[KEY + ["annotator", "label"]].assign(_same=True),
            on=KEY + ["annotator", "label"],
            how="left",
        )["_same"]
        .notna()
        .to_numpy()
    )
    if "lapsed" in existing:
        same = same & ~existing["lapsed"].to_numpy(dtype=bool)
    # Unchanged: the key's only live merge row already says what this run decides.
    unchanged = existing.loc[same & (rows_per_key.to_numpy() == 1), KEY].assign(_unchanged=True)
    stale = existing.merge(unchanged, on=KEY, how="left")["_unchanged"].isna().to_numpy()
    fresh = wanted.merge(unchanged, on=KEY, how="left")["_unchanged"].isna().to_numpy()
    return MergePlan(
        wanted[fresh].reset_index(drop=True),
        existing.loc[stale, "id"].astype(int).tolist(),
        len(unchanged),
    )


@dataclass(frozen=True)
class MergeRun:
    """A merge's result and what it wrote (or, with dry_run, would write)."""

    result: MergeResult
    written: int
    withdrawn: int
    unchanged: int
    dry_run: bool
    # Keys a person labelled or reviewed while this merge computed: left to the next run.
    deferred: int = 0
    # Whose earlier decisions it withdrew (or would): merge annotator -> how many.
    withdrawn_from: dict[str, int] = field(default_factory=dict)
    min_confidence: float = 0.0
    redo: Redo | None = None  # what decides again the withdrawn decisions of the merge withdrawn most

    def to_dict(self) -> dict:
        return {
            "policy": self.result.policy.name,
            "dry_run": self.dry_run,
            "written": self.written,
            "withdrawn": self.withdrawn,
            "unchanged": self.unchanged,
            "deferred": self.deferred,
            "withdrawn_from": self.withdrawn_from,
            "min_confidence": self.min_confidence,
            "tasks": [s.to_dict() for s in self.result.summary],
            "confusion": self.result.confusion,
            "notes": self.result.notes,
        }


class WithdrawalNotAsked(CelebaError):
    """The review policy, not asked for by name, would withdraw standing merge decisions:
    `withdrawn_from` (merge annotator -> how many) and what decides them again (`redo`)."""

    def __init__(self, withdrawn_from: dict[str, int], redo: Redo | None):
        super().__init__(f"a merge would withdraw {sum(withdrawn_from.values()):,} standing decisions")
        self.withdrawn_from, self.redo = withdrawn_from, redo


def run_merge(
    store: LabelStore,
    tasks: tuple[Task, ...],
    policy_text: str,
    *,
    dry_run: bool = False,
    min_confidence: float = 0.0,
    keep_standing: bool = False,
) -> MergeRun:
    """Merge the human labels of `tasks` under a policy and record the decisions in `store`;
    the conflicts it would decide at a confidence under `min_confidence` stay open. With
    `keep_standing` (a bare `celeba merge`), a WithdrawalNotAsked instead of withdrawing
    any merge's standing decision, dry run or not."""
    names = [t.name for t in tasks]
    # The policy is computed outside the write transaction (it takes seconds on large
    # stores, and key presses wait for the lock); what people write meanwhile is
    # found by this mark and left alone when writing.
    mark = store.last_label_id()
    labels = human_labels(store, tasks)
    policy = parse_policy(policy_text, labels["annotator"].unique())
    if min_confidence and policy.kind == "review":  # attack pass 34: taken without a word
        raise CelebaError("--min-confidence needs a policy that decides (majority, prefer:NAME, dawid-skene)")
    review = store.live_labels(sources=(REVIEW,), brief=True)
    review = review[review["task"].isin(names)]
    by_merge = are_merges(review["annotator"])
    by_people = review.loc[~by_merge, KEY].drop_duplicates()
    ours = review[by_merge]
    if not by_people.empty and not ours.empty:
        # Leave alone whatever a person decided, including older merge rows under it.
        hit = ours.merge(by_people.assign(_person=True), on=KEY, how="left")["_person"].notna()
        ours = ours[~hit.to_numpy()]
    result = merge_labels(labels, tasks, policy, reviewed=by_people, min_confidence=min_confidence)
    annotator = merge_annotator(policy)
    ours = ours.assign(lapsed=ours["id"].isin(store.lapsed_merge_decisions()))
    plan = plan_merge_writes(
        result.decisions, ours[KEY + ["annotator", "label", "id", "lapsed"]], annotator, min_confidence
    )
    if keep_standing and plan.revoke:  # helper-87: the command the hints name undid a merge unasked
        raise WithdrawalNotAsked(*_withdrawn(store, ours[ours["id"].isin(plan.revoke)], labels))
    deferred = 0
    if not dry_run and (plan.revoke or not plan.add.empty):
        with store.transaction():
            # Re-checked under the write lock: a person's review (or a new human label)
            # stored since the read stands, so this run writes nothing to that key.
            plan, deferred = plan_without(plan, store.people_changed_since(mark), ours)
            # The plan already skips what is unchanged, against all merge rows rather
            # than only this annotator's (what add_labels' skip_unchanged does).
            if plan.revoke or not plan.add.empty:
                store.replace_labels(plan.revoke, annotator, plan.add, as_merge=True)
    withdrawn_from, redo = _withdrawn(store, ours[ours["id"].isin(plan.revoke)], labels)
    return MergeRun(
        result, len(plan.add), len(plan.revoke), plan.unchanged, dry_run, deferred, withdrawn_from, min_confidence, redo
    )


def _withdrawn(store: LabelStore, revoked: pd.DataFrame, labels: pd.DataFrame) -> tuple[dict[str, int], Redo | None]:
    """Whose merge decisions `revoked` are (merge annotator -> how many) and what decides
    again those of the merge withdrawn most, on the people labelling (`labels`)."""
    withdrawn_from = {str(name): int(n) for name, n in revoked["annotator"].value_counts().sort_index().items()}
    if not withdrawn_from:
        return withdrawn_from, None
    most = max(withdrawn_from.items(), key=lambda item: (item[1], item[0]))[0]
    rows = revoked[revoked["annotator"] == most]
    asked = decided_under(store, rows["id"].tolist())
    return withdrawn_from, redo_merge(
        most, rows["task"].unique().tolist(), labels["annotator"].unique(), withdrawn_from[most], asked
    )


@dataclass(frozen=True)
class Redo:
    """What decides again a merge's decisions: its policy, on these tasks, under the
    --min-confidence they were made under."""

    policy: str
    tasks: tuple[str, ...]
    count: int = 0  # how many decisions (where known)
    min_confidence: float = 0.0


def decided_under(store: LabelStore, ids: list[int]) -> float:
    """The largest `min_confidence` the merge decisions `ids` record (0 where none does)."""
    found = store.query(
        "SELECT MAX(json_extract(detail, '$.min_confidence')) FROM labels "
        "WHERE id IN (SELECT value FROM json_each(?)) AND json_valid(detail)",
        [json.dumps(ids)],
    )
    value = found[0][0] if found else None
    return float(value) if isinstance(value, (int, float)) and 0 < value <= 1 else 0.0


def redo_merge(name: str, tasks, annotators, count: int = 0, min_confidence: float = 0.0) -> Redo | None:
    """The policy of merge annotator `name` (POLICY of merge:POLICY) on `tasks`, where it
    parses against `annotators` now (the people with labels); None where it would not run:
    `prefer:NAME` of a person withdrawn or renamed since (attack pass 34), or not a merge's."""
    if annotator_kind(name) != "merge":
        return None
    try:
        policy = parse_policy(name[len(MERGE_PREFIX) :], annotators)
    except CelebaError:
        return None
    return None if policy.kind == "review" else Redo(policy.name, tuple(sorted(tasks)), count, min_confidence)


def latest_standing_merge(store: LabelStore, tasks: Sequence[str]) -> Redo | None:
    """What decides again the merge whose standing decision on `tasks` is the newest (its
    decisions lapse when a person's labels are withdrawn under them), where it would run."""
    rows = store.query(
        "SELECT a.name, v.task, v.label_id FROM live v JOIN annotators a ON a.id = v.annotator_id "
        f"WHERE v.source = '{REVIEW}' AND v.annotator_id IN ({MERGE_ANNOTATOR_IDS_SQL}) "
        "AND v.task IN (SELECT value FROM json_each(?))",
        [json.dumps(list(tasks))],
    )
    if not rows:
        return None
    name = max(rows, key=lambda row: row[2])[0]
    ids = [label_id for who, _, label_id in rows if who == name]
    return redo_merge(
        name,
        {task for who, task, _ in rows if who == name},
        people_now(store),
        min_confidence=decided_under(store, ids),
    )


def redo_after_withdrawal(store: LabelStore, name: str, tasks: Sequence[str]) -> Redo | None:
    """What decides again after `name`'s labels of `tasks` were withdrawn: the merge `name`
    is, or the one whose standing decision is newest (a person's withdrawn labels lapse its
    decisions over them), where its policy runs on the people labelling now; else None."""
    if annotator_kind(name) != "merge":
        return latest_standing_merge(store, tasks)
    newest = store.query(  # the decision it made last, withdrawn now: the --min-confidence it was made under
        "SELECT MAX(l.id) FROM labels l JOIN annotators a ON a.id = l.annotator_id "
        "WHERE a.name = ? AND l.label IS NOT NULL AND l.task IN (SELECT value FROM json_each(?))",
        [name, json.dumps(list(tasks))],
    )
    ids = [newest[0][0]] if newest and newest[0][0] is not None else []
    return redo_merge(name, tasks, people_now(store), min_confidence=decided_under(store, ids))


def people_now(store: LabelStore) -> list[str]:
    """The annotators with live labels of their own: whom a `prefer:NAME` policy may name."""
    return [who for (who,) in store.query(
        "SELECT DISTINCT a.name FROM live v JOIN annotators a ON a.id = v.annotator_id "
        f"WHERE v.source IN ({sql_list(ANNOTATOR_SOURCES)})"
    )]  # fmt: skip


def plan_without(plan: MergePlan, keys: pd.DataFrame, existing: pd.DataFrame) -> tuple[MergePlan, int]:
    """The plan minus every write and revocation on these (image, task) keys, and how many keys it dropped.

    `existing` maps the plan's revoked ids to their keys (columns image, task, id).
    """
    if keys.empty:
        return plan, 0
    marked = keys[KEY].drop_duplicates().assign(_late=True)
    add_hit = plan.add.merge(marked, on=KEY, how="left")["_late"].notna().to_numpy()
    revoked = existing[existing["id"].isin(plan.revoke)]
    revoke_hit = revoked.merge(marked, on=KEY, how="left")["_late"].notna().to_numpy()
    dropped = pd.concat([plan.add.loc[add_hit, KEY], revoked.loc[revoke_hit, KEY]]).drop_duplicates()
    kept = MergePlan(
        plan.add[~add_hit].reset_index(drop=True),
        revoked.loc[~revoke_hit, "id"].astype(int).tolist(),
        plan.unchanged,
    )
    return kept, len(dropped)


def human_labels(store: LabelStore, tasks: tuple[Task, ...]) -> pd.DataFrame:
    """The human labels of `tasks`, one per (image, task, annotator): what agreement compares."""
    return annotator_labels(store.live_label_codes(tasks, ANNOTATOR_SOURCES))


def review_queue(store: LabelStore, task: str | None = None) -> pd.DataFrame:
    """Images whose human labels conflict and await a person, with each annotator's answer."""
    current = store.current_labels(task)
    conflicts = current.loc[current["status"] == CONFLICT, KEY]
    if conflicts.empty:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    labels = annotator_labels(store.live_labels(task, sources=ANNOTATOR_SOURCES))
    queue = labels.merge(conflicts, on=KEY, how="inner")
    return queue.sort_values(KEY + ["annotator"], ignore_index=True)[LABEL_COLUMNS]
