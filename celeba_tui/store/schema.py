"""The label store's SQLite schema and its version."""

from __future__ import annotations

from celeba_tui.annotator_names import MERGE_PREFIX
from celeba_tui.vocabulary import (
    AGREED,
    ANNOTATOR_SOURCES,
    AUTOMATIC,
    HUMAN,
    MODEL,
    PEOPLE_SOURCES,
    RESOLVED,
    REVIEW,
    REVIEWED,
    SINGLE,
    SOURCES,
    sql_list,
)

APP_ID = "celeba-tui"
SCHEMA_VERSION = 1

# Indexes added after the first stores were made: in SCHEMA, and created on the first
# writable open of an older store (schema version unchanged: older celeba-tui versions
# ignore them).
LATER_INDEXES = {
    "live_in_use": "CREATE INDEX IF NOT EXISTS live_in_use ON live(task, label, label_id)",
    "current_counts_by_people": "CREATE INDEX IF NOT EXISTS current_counts_by_people "
    "ON current(task, status, label, n_annotators)",
}


def with_later_indexes(text: str) -> str:
    """`text` with each `{NAME}` of LATER_INDEXES replaced by its statement: one text of each
    index, for a new store and an older one."""
    for name, ddl in LATER_INDEXES.items():
        text = text.replace(f"{{{name}}}", ddl)
    return text


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
    source       TEXT NOT NULL CHECK (source IN ({sources})),
    created      REAL NOT NULL,
    confidence   REAL,
    model        TEXT,
    revokes      INTEGER REFERENCES labels(id),
    detail       TEXT,                     -- JSON provenance (merge policy, annotators, session)
    CHECK ((label IS NULL) <> (revokes IS NULL))
);
CREATE INDEX IF NOT EXISTS labels_by_image ON labels(image_id, task, annotator_id, source);
CREATE INDEX IF NOT EXISTS labels_revoked ON labels(revokes) WHERE revokes IS NOT NULL;
-- The live label per (image, task, annotator, source): the latest row not revoked.
-- Derived from `labels` by the triggers below (so reads never scan the history).
CREATE TABLE IF NOT EXISTS live (
    image_id     INTEGER NOT NULL,
    task         TEXT NOT NULL,
    annotator_id INTEGER NOT NULL,
    source       TEXT NOT NULL,
    label_id     INTEGER NOT NULL,
    label        TEXT NOT NULL,
    PRIMARY KEY (image_id, task, annotator_id, source)
) WITHOUT ROWID;
-- The (task, label) pairs in use, one index seek each: how a command checks in a few ms
-- that the config's classes still cover every stored label (see LabelStore.label_values).
-- label_id makes it cover every column of `live`, so when SQLite scans it instead of the
-- table (which it does for task filters) no row is looked up a second time.
{live_in_use};
CREATE TRIGGER IF NOT EXISTS live_on_label AFTER INSERT ON labels WHEN NEW.label IS NOT NULL
BEGIN
    INSERT OR REPLACE INTO live VALUES
        (NEW.image_id, NEW.task, NEW.annotator_id, NEW.source, NEW.id, NEW.label);
END;
CREATE TRIGGER IF NOT EXISTS live_on_undo AFTER INSERT ON labels WHEN NEW.revokes IS NOT NULL
BEGIN
    -- An undo row repeats the image, task and source of the row it revokes: the key
    -- prefix keeps this a lookup instead of a scan of `live` per undo.
    DELETE FROM live WHERE image_id = NEW.image_id AND task = NEW.task
        AND source = NEW.source AND label_id = NEW.revokes;
    INSERT OR IGNORE INTO live
        SELECT x.image_id, x.task, x.annotator_id, x.source, x.id, x.label
        FROM labels x JOIN labels o ON o.id = NEW.revokes
        WHERE x.image_id = o.image_id AND x.task = o.task AND x.annotator_id = o.annotator_id
          AND x.source = o.source AND x.label IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM labels u WHERE u.revokes = x.id)
        ORDER BY x.id DESC LIMIT 1;
END;
-- Each (image, task)'s current label, refreshed from `live` by the store in the same
-- transaction as every write (see CURRENT_REFRESH_SQL), so reads and counts are cheap.
CREATE TABLE IF NOT EXISTS current (
    image_id     INTEGER NOT NULL,
    task         TEXT NOT NULL,
    label        TEXT,                     -- NULL when status is 'conflict'
    source       TEXT NOT NULL,            -- review, human or model
    status       TEXT NOT NULL,            -- review, agreed, conflict or model
    n_annotators INTEGER NOT NULL,
    PRIMARY KEY (image_id, task)
) WITHOUT ROWID;
-- What `celeba stats` counts, read from the index alone (n_annotators tells `single`).
{current_counts_by_people};
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
""".replace("{sources}", sql_list(SOURCES))
SCHEMA = with_later_indexes(SCHEMA)

# Questions a person passed over with space: their next queues show those images after
# the others, until the person answers the question (however: the label screen, browse, an
# import; `skipped_images` reads the history). Not a decision, so no history of its own:
# undoing a skip deletes its row.
SKIPS_TABLE = """CREATE TABLE IF NOT EXISTS skips (
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    image_id     INTEGER NOT NULL REFERENCES images(id),
    task         TEXT NOT NULL,
    created      REAL NOT NULL,
    PRIMARY KEY (annotator_id, image_id, task)
)"""
SCHEMA += f"{SKIPS_TABLE};\n"

# The names annotators had before `celeba annotators rename`: a file imported later that
# still names one (and no annotator has that name now) means the renamed person (attack
# pass 39: an export made before the rename, imported again, added a second voice of one
# person, and the two outvoted a third in a majority merge).
RENAMES_TABLE = """CREATE TABLE IF NOT EXISTS renames (
    annotator_id INTEGER NOT NULL REFERENCES annotators(id),
    old_name     TEXT NOT NULL,
    created      REAL NOT NULL
)"""
SCHEMA += f"{RENAMES_TABLE};\n"

# What each image's file was when the ensemble last predicted it: its stamp (size and
# modification time, images.file_stamp) and a digest of its bytes. `autolabel` predicts
# again an image whose file changed since (attack pass 41: a file replaced by another
# picture kept the old picture's prediction and automatic label); a stamp changed over the
# same bytes (a copy of the folder) only updates the stamp.
IMAGE_FILES_TABLE = """CREATE TABLE IF NOT EXISTS image_files (
    image_id INTEGER PRIMARY KEY REFERENCES images(id),
    stamp    TEXT NOT NULL,
    digest   TEXT NOT NULL
)"""
SCHEMA += f"{IMAGE_FILES_TABLE};\n"

# Tables added after the first stores were made: created on the first writable open of an
# older store (schema version unchanged: older celeba-tui versions ignore them).
LATER_TABLES = {"skips": SKIPS_TABLE, "renames": RENAMES_TABLE, "image_files": IMAGE_FILES_TABLE}

# Indexes older stores have that a later one replaced: dropped on their first writable open
# (current_counts lacked n_annotators, so counting `single` read every row of the table).
RETIRED_INDEXES = ("current_counts",)

# The ids of the merges' own annotators (`merge:POLICY`), whose review rows are decisions
# a policy made, not a person.
MERGE_ANNOTATOR_IDS_SQL = f"SELECT id FROM annotators WHERE substr(name, 1, {len(MERGE_PREFIX)}) = '{MERGE_PREFIX}'"

# Recompute `current` for the (image, task) pairs selected by {where} (a filter on
# `live`): the latest review decision by a person; else the latest merge decision that
# has not lapsed; else the human and imported labels when they agree (`conflict` when
# they do not), each annotator counted once, by their newest (an annotator who imported
# a label and then typed another is not in conflict with themselves); else the latest
# model decision.
#
# A merge's review row (annotator `merge:*`) settled the people's labels as they were
# when it was written. Once any person's row on that (image, task) is newer (a label,
# a review, or an undo of one: an import, a change of mind, `annotators withdraw`), it
# has lapsed: it no longer counts, and the people's labels decide again (a conflict
# goes back to the review queue) until the next merge. A person's review never lapses
# and always outranks a merge's.
CURRENT_REFRESH_SQL = (
    """
INSERT OR REPLACE INTO current(image_id, task, label, source, status, n_annotators)
SELECT g.image_id, g.task,
    CASE WHEN g.review_id IS NOT NULL THEN (SELECT label FROM labels WHERE id = g.review_id)
         WHEN g.human_label = g.human_label_max THEN g.human_label
         WHEN g.human_label IS NOT NULL THEN NULL
         ELSE (SELECT label FROM labels WHERE id = g.model_id) END,
    CASE WHEN g.review_id IS NOT NULL THEN 'review'
         WHEN g.human_label IS NOT NULL THEN 'human'
         ELSE 'model' END,
    CASE WHEN g.review_id IS NOT NULL THEN 'review'
         WHEN g.human_label = g.human_label_max THEN 'agreed'
         WHEN g.human_label IS NOT NULL THEN 'conflict'
         ELSE 'model' END,
    g.n_annotators
FROM (
    SELECT image_id, task,
        COALESCE(
            MAX(CASE WHEN source = 'review' AND annotator_id NOT IN ({merge_annotators}) THEN label_id END),
            MAX(CASE WHEN source = 'review' AND annotator_id IN ({merge_annotators})
                AND label_id > COALESCE((SELECT MAX(x.id) FROM labels x
                    WHERE x.image_id = live.image_id AND x.task = live.task
                      AND x.source IN ({people_sources}) AND x.annotator_id NOT IN ({merge_annotators})), 0)
                THEN label_id END)
        ) AS review_id,
        MIN(CASE WHEN source IN ({annotator_sources}) AND newest = 1 THEN label END) AS human_label,
        MAX(CASE WHEN source IN ({annotator_sources}) AND newest = 1 THEN label END) AS human_label_max,
        SUM(source IN ({annotator_sources}) AND newest = 1) AS n_annotators,
        MAX(CASE WHEN source = 'model' THEN label_id END) AS model_id
    FROM (
        SELECT *, ROW_NUMBER() OVER (
            PARTITION BY image_id, task, annotator_id, source IN ({annotator_sources}) ORDER BY label_id DESC
        ) AS newest
        FROM live {where}
    ) AS live
    GROUP BY image_id, task
) g
""".replace("{annotator_sources}", sql_list(ANNOTATOR_SOURCES))
    .replace("{people_sources}", sql_list(PEOPLE_SOURCES))
    .replace("{merge_annotators}", MERGE_ANNOTATOR_IDS_SQL)
)

# CURRENT_REFRESH_SQL's answer for the groups selected by {where} whose one live row is a
# person's label (`agreed` by one annotator) or a model's, with no ranking to do: a bulk
# import's new images are such groups, and this is a third of the time for them (400,000
# labels: 1.2 s instead of 3.6 s). A group whose one row is a review takes the full rules
# (a merge's review may have lapsed). MANY_ROWS_GROUPS_SQL selects the others.
ONE_ROW_GROUPS_REFRESH_SQL = f"""
INSERT OR REPLACE INTO current(image_id, task, label, source, status, n_annotators)
SELECT image_id, task, label,
    CASE WHEN source = '{MODEL}' THEN '{MODEL}' ELSE '{HUMAN}' END,
    CASE WHEN source = '{MODEL}' THEN '{AUTOMATIC}' ELSE '{AGREED}' END,
    source <> '{MODEL}'
FROM live {{where}}
GROUP BY image_id, task HAVING COUNT(*) = 1 AND MAX(source <> '{REVIEW}')
"""
MANY_ROWS_GROUPS_SQL = f"""
SELECT image_id, task FROM live {{where}}
GROUP BY image_id, task HAVING COUNT(*) > 1 OR MAX(source = '{REVIEW}')
"""

# Whether the `review` of the `current` row aliased `c` is a merge's decision: no person's
# live review stands beside it (a person's always outranks a merge's).
MERGE_DECIDED_SQL = f"""NOT EXISTS (SELECT 1 FROM live v
    WHERE v.image_id = c.image_id AND v.task = c.task AND v.source = '{REVIEWED}'
      AND v.annotator_id NOT IN ({MERGE_ANNOTATOR_IDS_SQL}))"""

# A current label's status as people read it (vocabulary.shown_status), from the `current`
# row aliased `c`: `single` for an `agreed` label one annotator gave alone; `resolved` for a
# `review` a merge decided; else the stored status. The nested CASE looks for a person's
# review on review rows only (AND does not promise to stop early).
SHOWN_STATUS_SQL = f"""CASE WHEN c.status = '{AGREED}' AND c.n_annotators = 1 THEN '{SINGLE}'
    WHEN c.status = '{REVIEWED}' THEN CASE WHEN {MERGE_DECIDED_SQL} THEN '{RESOLVED}' ELSE '{REVIEWED}' END
    ELSE c.status END"""

# Live merge decisions that have lapsed (see CURRENT_REFRESH_SQL), as rows (label id,
# annotator id, task): a merge run writes them again if it still decides so, rather than
# counting them as already written; stats and the long export leave them out.
LAPSED_MERGE_DECISIONS_SQL = """
SELECT v.label_id, v.annotator_id, v.task, v.image_id FROM live v
WHERE v.source = 'review' AND v.annotator_id IN ({merge_annotators})
  AND v.label_id < COALESCE((SELECT MAX(x.id) FROM labels x
      WHERE x.image_id = v.image_id AND x.task = v.task
        AND x.source IN ({people_sources}) AND x.annotator_id NOT IN ({merge_annotators})), 0)
""".replace("{people_sources}", sql_list(PEOPLE_SOURCES)).replace("{merge_annotators}", MERGE_ANNOTATOR_IDS_SQL)

# A live row that counts: not a merge's decision that lapsed. Stats, `annotators`, browse's
# index and the long export all leave those out (attack pass 36: some did, some did not).
COUNTS_SQL = f"label_id NOT IN (SELECT label_id FROM ({LAPSED_MERGE_DECISIONS_SQL}))"

# The lapsed decisions that wait to be decided again: not those under a person's live review,
# which settled the image (helper-77: stats named such a decision for good, and the merge it
# advised, which never touches a person's review, left it there).
UNSETTLED_LAPSED_SQL = f"""
SELECT lapsed.label_id, lapsed.annotator_id, lapsed.task FROM ({LAPSED_MERGE_DECISIONS_SQL}) lapsed
WHERE NOT EXISTS (SELECT 1 FROM live r WHERE r.image_id = lapsed.image_id AND r.task = lapsed.task
    AND r.source = 'review' AND r.annotator_id NOT IN ({MERGE_ANNOTATOR_IDS_SQL}))
"""
