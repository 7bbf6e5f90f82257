"""The label store: SQLite schema, append-only history, side tables, image registration, counts."""
