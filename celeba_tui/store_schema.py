"""The label store's SQLite schema and its version."""

from __future__ import annotations

APP_ID = "celeba-tui"
SCHEMA_VERSION = 1
SOURCES = ("human", "review", "model", "import")

# Precedence when deriving an image's current label for a task: the latest review
# decision wins; otherwise the human decisions (typed in the TUI or imported from a
# file) if they agree; otherwise the ensemble's automatic label.
SOURCE_PRECEDENCE = ("review", "human", "model")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,          -- path relative to the image root, '/'-separated
    present INTEGER NOT NULL DEFAULT 1,    -- 0: labels exist but the file is not (yet) in the root
    added   REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS annotators (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
-- Append-only history. An undo is a row that revokes an earlier row (label NULL).
CREATE TABLE IF NOT EXISTS labels (
    id           INTEGER PRIMARY KEY,
    image_id     INTEGER NOT NULL REFERENCES images(id),
    task         TEXT NOT NULL,
    label        TEXT,
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    source       TEXT NOT NULL CHECK (source IN ('human', 'review', 'model', 'import')),
    created      REAL NOT NULL,
    confidence   REAL,
    model        TEXT,
    revokes      INTEGER REFERENCES labels(id),
    detail       TEXT,                     -- JSON provenance (merge policy, annotators, session)
    CHECK ((label IS NULL) <> (revokes IS NULL))
);
CREATE INDEX IF NOT EXISTS labels_by_image ON labels(image_id, task, annotator_id, source);
CREATE INDEX IF NOT EXISTS labels_by_task ON labels(task, source);
CREATE INDEX IF NOT EXISTS labels_revoked ON labels(revokes) WHERE revokes IS NOT NULL;
-- One row per (image, task, model): a model's latest prediction.
CREATE TABLE IF NOT EXISTS predictions (
    image_id   INTEGER NOT NULL REFERENCES images(id),
    task       TEXT NOT NULL,
    model      TEXT NOT NULL,              -- content hash of the model file
    label      TEXT NOT NULL,
    confidence REAL NOT NULL,
    probs      TEXT NOT NULL,              -- JSON list, class order of the task
    created    REAL NOT NULL,
    PRIMARY KEY (image_id, task, model)
);
CREATE TABLE IF NOT EXISTS models (
    hash     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    task     TEXT NOT NULL,
    metadata TEXT NOT NULL,                -- JSON of the ONNX metadata
    created  REAL NOT NULL
);
-- Answers to flip-consistency checks: never labels.
CREATE TABLE IF NOT EXISTS checks (
    id           INTEGER PRIMARY KEY,
    image_id     INTEGER NOT NULL REFERENCES images(id),
    task         TEXT NOT NULL,
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    expected     TEXT NOT NULL,
    answer       TEXT NOT NULL,
    created      REAL NOT NULL
);
-- Images that could not be shown or decoded, and why.
CREATE TABLE IF NOT EXISTS problems (
    id       INTEGER PRIMARY KEY,
    image    TEXT NOT NULL,
    kind     TEXT NOT NULL,
    message  TEXT NOT NULL,
    reporter TEXT NOT NULL,
    created  REAL NOT NULL
);
"""
