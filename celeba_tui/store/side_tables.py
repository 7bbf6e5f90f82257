"""The tables beside the label history: flip checks, problems, models and predictions.

A mixin of `celeba_tui.store.label_store.LabelStore` (which it relies on for `transaction`,
`query`, `frame` and the id lookups); kept apart so the store module stays about
labels. None of these rows is a label: checks are answers to flip-consistency
questions, problems are unusable images, skips are questions a person passed over,
predictions are what each model said.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from celeba_tui.errors import StoreError
from celeba_tui.vocabulary import PEOPLE_SOURCES, sql_list

if TYPE_CHECKING:
    import pandas as pd

# meta's key for a task's latest ensemble: `ensemble:<task>` -> JSON list of model keys.
ENSEMBLE_KEY = "ensemble:"
# meta's key for when that ensemble finished deciding the task: `decided:<task>` -> epoch seconds.
DECIDED_KEY = "decided:"


class SideTables:
    # ------------------------------------------------------ checks, problems
    def add_check(self, image: str, task: str, annotator: str, expected: str, answer: str) -> None:
        """Record a flip-consistency check answer (never a label)."""
        now = time.time()
        with self.transaction() as conn:
            image_id = self._image_ids(conn, [image], now)[image]
            conn.execute(
                "INSERT INTO checks(image_id, task, annotator_id, expected, answer, created) VALUES (?, ?, ?, ?, ?, ?)",
                (image_id, task, self._annotator_id(conn, annotator), expected, answer, now),
            )

    def checks(self) -> pd.DataFrame:
        return self.frame(
            "SELECT i.name AS image, c.task, a.name AS annotator, c.expected, c.answer, "
            "c.created AS time FROM checks c JOIN images i ON i.id = c.image_id "
            "JOIN annotators a ON a.id = c.annotator_id ORDER BY c.id"
        )

    def add_problem(self, image: str, kind: str, message: str, reporter: str) -> None:
        """Record that an image could not be used (corrupt, unreadable...) and why."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO problems(image, kind, message, reporter, created) VALUES (?, ?, ?, ?, ?)",
                (image, kind, message, reporter, time.time()),
            )

    def problems(self) -> pd.DataFrame:
        return self.frame("SELECT image, kind, message, reporter, created AS time FROM problems ORDER BY id")

    # ------------------------------------------------------------- skips
    def add_skip(self, image: str, task: str, annotator: str) -> None:
        """`annotator` passed over `task` of `image` (space): their next queues show it last."""
        now = time.time()
        with self.transaction() as conn:
            image_id = self._image_ids(conn, [image], now)[image]
            conn.execute(
                "INSERT OR REPLACE INTO skips(annotator_id, image_id, task, created) VALUES (?, ?, ?, ?)",
                (self._annotator_id(conn, annotator), image_id, task, now),
            )

    def remove_skip(self, image: str, task: str, annotator: str) -> None:
        """A skip undone: the image takes its place in the queue again."""
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM skips WHERE task = ? AND image_id = (SELECT id FROM images WHERE name = ?) "
                "AND annotator_id = (SELECT id FROM annotators WHERE name = ?)",
                (task, image, annotator),
            )

    def skipped_images(self, annotator: str, tasks: Iterable[str]) -> frozenset[str]:
        """Images with a question of `tasks` that `annotator` passed over and has not answered
        since (none from an older store opened read-only)."""
        tasks = list(tasks)
        try:
            rows = self.query(
                "SELECT DISTINCT i.name FROM skips s JOIN images i ON i.id = s.image_id "
                "WHERE s.annotator_id = (SELECT id FROM annotators WHERE name = ?) "
                f"AND s.task IN ({', '.join('?' * len(tasks))}) "
                # An answer of theirs since (an undo's row has no label): the skip is over.
                "AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.image_id = s.image_id AND l.task = s.task "
                f"AND l.annotator_id = s.annotator_id AND l.source IN ({sql_list(PEOPLE_SOURCES)}) "
                "AND l.label IS NOT NULL AND l.created >= s.created)",
                [annotator, *tasks],
            )
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return frozenset()  # a store made before skips were kept, opened read-only
        return frozenset(row[0] for row in rows)

    # --------------------------------------- models and predictions (autolabel)
    # Written by `celeba autolabel`. `predictions` keeps one row per
    # (image, task, model): that model's latest prediction; models are content hashes.
    def register_model(self, key: str, name: str, task: str, metadata: dict) -> None:
        """Record a model of the ensemble (by content hash); the first registration is kept."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO models(hash, name, task, metadata, created) VALUES (?, ?, ?, ?, ?)",
                (key, name, task, json.dumps(metadata, sort_keys=True, default=str), time.time()),
            )

    def models(self) -> pd.DataFrame:
        """The registered models: hash, name, task, metadata (JSON text), time."""
        return self.frame("SELECT hash, name, task, metadata, created AS time FROM models ORDER BY created, hash")

    def model_classes(self, task: str) -> dict[str, tuple[str, ...] | None]:
        """Model key -> the classes of its outputs in order, as registered (the order its
        predictions' probabilities follow); None where the stored metadata does not say."""
        found: dict[str, tuple[str, ...] | None] = {}
        for key, metadata in self.query("SELECT hash, metadata FROM models WHERE task = ?", [task]):
            try:
                classes = json.loads(metadata).get("classes")
            except (ValueError, AttributeError, TypeError, RecursionError):
                classes = None
            ok = isinstance(classes, list) and all(isinstance(c, str) for c in classes)
            found[key] = tuple(classes) if ok else None
        return found

    def set_latest_ensemble(self, task: str, keys: list[str]) -> None:
        """The models (by key) of the ensemble that decided `task` last: a suggestion for an
        image still undecided comes from them, not from models a later round replaced."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (f"{ENSEMBLE_KEY}{task}", json.dumps(keys))
            )
            conn.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (f"{DECIDED_KEY}{task}", repr(time.time()))
            )

    def latest_decision_time(self, tasks: list[str]) -> float | None:
        """When the latest autolabel of any of `tasks` finished deciding (None: none recorded,
        as in stores auto-labelled before it was)."""
        times = []
        for task in tasks:
            rows = self.query("SELECT value FROM meta WHERE key = ?", [f"{DECIDED_KEY}{task}"])
            try:
                value = float(rows[0][0]) if rows else None
            except (TypeError, ValueError):
                value = None
            if value is not None and math.isfinite(value):
                times.append(value)
        return max(times, default=None)

    def latest_ensembles(self) -> dict[str, list[str]]:
        """Task -> the keys of the models that decided it last (tasks never auto-labelled: absent)."""
        rows = self.query("SELECT key, value FROM meta WHERE substr(key, 1, ?) = ?", [len(ENSEMBLE_KEY), ENSEMBLE_KEY])
        found = {}
        for key, value in rows:
            try:
                keys = json.loads(value)
            except ValueError:
                continue
            if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
                found[key[len(ENSEMBLE_KEY) :]] = keys
        return found

    def add_predictions(self, frame: pd.DataFrame) -> int:
        """Store predictions (columns image, task, model, label, confidence, probs: a list per row).

        Replaces an earlier prediction of the same (image, task, model). Images must
        already be registered.
        """
        if frame.empty:
            return 0
        names = frame["image"].unique().tolist()
        now = time.time()
        with self.transaction() as conn:
            ids = dict(
                conn.execute(
                    "SELECT name, id FROM images WHERE name IN (SELECT value FROM json_each(?))", (json.dumps(names),)
                )
            )
            unknown = [n for n in names if n not in ids]
            if unknown:
                raise StoreError(f"predictions for {len(unknown)} unregistered image(s), e.g. {unknown[0]!r}")
            rows = zip(
                frame["image"].map(ids).tolist(),
                frame["task"].tolist(),
                frame["model"].tolist(),
                frame["label"].tolist(),
                frame["confidence"].astype(float).tolist(),
                [json.dumps([round(float(p), 6) for p in probs]) for probs in frame["probs"]],
            )
            conn.execute(
                "INSERT OR REPLACE INTO predictions(image_id, task, model, label, confidence, probs, created) "
                "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
                "json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]'), ? "
                "FROM json_each(?)",
                (now, json.dumps(list(rows))),
            )
        return len(frame)

    def predictions(self, task: str | None = None, models: Iterable[str] | None = None) -> pd.DataFrame:
        """Stored predictions: image, task, model, label, confidence, probs (list), time."""
        where, params = [], []
        if task is not None:
            where.append("p.task = ?")
            params.append(task)
        if models is not None:
            where.append("p.model IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(list(models)))
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        frame = self.frame(
            "SELECT i.name AS image, p.task, p.model, p.label, p.confidence, p.probs, p.created AS time "
            f"FROM predictions p JOIN images i ON i.id = p.image_id {clause} ORDER BY i.name, p.model",
            params,
        )
        # One JSON parse for the whole column instead of one per row.
        frame["probs"] = json.loads("[" + ",".join(frame["probs"]) + "]") if len(frame) else []
        return frame

    def file_records(self, names: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Of `names`, each image's file as the ensemble last predicted it: (stamp, digest)."""
        if not self.query("SELECT 1 FROM sqlite_master WHERE name = 'image_files'"):
            return {}  # an older store opened to read
        rows = self.query(
            "SELECT i.name, f.stamp, f.digest FROM image_files f JOIN images i ON i.id = f.image_id "
            "WHERE i.name IN (SELECT value FROM json_each(?))",
            [json.dumps([str(name) for name in names])],
        )
        return {name: (stamp, digest) for name, stamp, digest in rows}

    def record_files(self, records: dict[str, tuple[str, str]]) -> None:
        """Keep each image's (stamp, digest) as its file was when predicted (images registered)."""
        if not records:
            return
        rows = [[name, stamp, digest] for name, (stamp, digest) in records.items()]
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO image_files(image_id, stamp, digest) "
                "SELECT i.id, json_extract(value, '$[1]'), json_extract(value, '$[2]') "
                "FROM json_each(?) JOIN images i ON i.name = json_extract(value, '$[0]')",
                (json.dumps(rows),),
            )

    def forget_predictions(self, names: Iterable[str]) -> int:
        """Delete every model's predictions of these images (their files changed since)."""
        with self.transaction() as conn:
            return conn.execute(
                "DELETE FROM predictions WHERE image_id IN "
                "(SELECT id FROM images WHERE name IN (SELECT value FROM json_each(?)))",
                (json.dumps([str(name) for name in names]),),
            ).rowcount

    def predicted_images(self, task: str, model: str) -> set[str]:
        """Names of the images `model` already has a prediction for (to resume a run)."""
        rows = self.query(
            "SELECT i.name FROM predictions p JOIN images i ON i.id = p.image_id WHERE p.task = ? AND p.model = ?",
            (task, model),
        )
        return {r[0] for r in rows}
