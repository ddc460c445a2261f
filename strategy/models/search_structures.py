"""The engines' own structures over `search_entry`: FTS5 tables and triggers on SQLite, a generated
tsvector column and GIN indexes on PostgreSQL (see strategy.search.engines for how they are queried).

They are neither tables nor columns of the models: `install` creates them with the table (for
`db.create_all()`), the migration calls `create_search_structures`, and the migrations' comparison leaves
them out (`is_engine_structure`, used by migrations/env.py and tests/test_migrations.py).
"""
from __future__ import annotations

import sqlalchemy as sa

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(heading_terms, body_terms, "
    "content='search_entry', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_trigram USING fts5(folded, "
    "content='search_entry', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS search_entry_ai AFTER INSERT ON search_entry BEGIN "
    "INSERT INTO search_fts(rowid, heading_terms, body_terms) VALUES (new.id, new.heading_terms, new.body_terms); "
    "INSERT INTO search_trigram(rowid, folded) VALUES (new.id, new.folded); END",
    "CREATE TRIGGER IF NOT EXISTS search_entry_ad AFTER DELETE ON search_entry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, heading_terms, body_terms) "
    "VALUES ('delete', old.id, old.heading_terms, old.body_terms); "
    "INSERT INTO search_trigram(search_trigram, rowid, folded) VALUES ('delete', old.id, old.folded); END",
    "CREATE TRIGGER IF NOT EXISTS search_entry_au AFTER UPDATE ON search_entry BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, heading_terms, body_terms) "
    "VALUES ('delete', old.id, old.heading_terms, old.body_terms); "
    "INSERT INTO search_trigram(search_trigram, rowid, folded) VALUES ('delete', old.id, old.folded); "
    "INSERT INTO search_fts(rowid, heading_terms, body_terms) VALUES (new.id, new.heading_terms, new.body_terms); "
    "INSERT INTO search_trigram(rowid, folded) VALUES (new.id, new.folded); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS search_entry_ai", "DROP TRIGGER IF EXISTS search_entry_ad",
    "DROP TRIGGER IF EXISTS search_entry_au", "DROP TABLE IF EXISTS search_fts", "DROP TABLE IF EXISTS search_trigram",
)

PG_DOCUMENT = ("setweight(to_tsvector('simple'::regconfig, heading_terms), 'A') || "
               "setweight(to_tsvector('simple'::regconfig, body_terms), 'B')")
PG_CREATE = (
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"ALTER TABLE search_entry ADD COLUMN IF NOT EXISTS document tsvector GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED",
    "CREATE INDEX IF NOT EXISTS ix_search_entry_document ON search_entry USING gin (document)",
    "CREATE INDEX IF NOT EXISTS ix_search_entry_folded ON search_entry USING gin (folded gin_trgm_ops)",
)
# The extension stays: other schemas of the same database may use it.
PG_DROP = (
    "DROP INDEX IF EXISTS ix_search_entry_folded", "DROP INDEX IF EXISTS ix_search_entry_document",
    "ALTER TABLE search_entry DROP COLUMN IF EXISTS document",
)

CREATE = {"sqlite": SQLITE_CREATE, "postgresql": PG_CREATE}
DROP = {"sqlite": SQLITE_DROP, "postgresql": PG_DROP}

ENGINE_TABLE_PREFIXES = ("search_fts", "search_trigram")
ENGINE_INDEXES = {"ix_search_entry_document", "ix_search_entry_folded"}
ENGINE_COLUMNS = {"document"}


def is_engine_structure(name: str | None, type_: str, parent_names: dict | None = None) -> bool:
    """Whether a reflected name is one of the engines' own structures (FTS5 tables and their shadow tables,
    the generated column of search_entry, the GIN indexes), which the models do not describe."""
    if not name:
        return False
    if type_ == "table":
        return name.startswith(ENGINE_TABLE_PREFIXES)
    if type_ == "column":
        return name in ENGINE_COLUMNS and (parent_names or {}).get("table_name") == "search_entry"
    return type_ == "index" and name in ENGINE_INDEXES


def create_search_structures(bind: sa.Connection) -> None:
    for statement in CREATE[bind.dialect.name]:
        bind.exec_driver_sql(statement)


def drop_search_structures(bind: sa.Connection) -> None:
    for statement in DROP[bind.dialect.name]:
        bind.exec_driver_sql(statement)


def install(metadata: sa.MetaData) -> None:
    """Create the engine's structures whenever metadata.create_all() creates search_entry."""
    table = metadata.tables["search_entry"]
    for dialect, statements in CREATE.items():
        for statement in statements:
            sa.event.listen(table, "after_create", sa.DDL(statement).execute_if(dialect=dialect))
    for dialect, statements in DROP.items():
        for statement in statements:
            sa.event.listen(table, "before_drop", sa.DDL(statement).execute_if(dialect=dialect))
