"""History that the database itself keeps append-only: triggers refuse UPDATE and DELETE on these tables.

Even a bug, a careless script or a console session cannot rewrite who changed what. The triggers are
created with the tables (DDL events, so `db.create_all()` in tests has them) and by the migration
(`create_append_only_triggers(op.get_bind())` in the initial migration's upgrade()).
"""
from __future__ import annotations

import sqlalchemy as sa

APPEND_ONLY_TABLES: tuple[str, ...] = ("revision", "audit_event")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'restrict_violation',
        MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused';
END
$$
"""


def _sqlite_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END",
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END",
    ]


def _postgresql_statements(table: str) -> list[str]:
    return [
        _PG_FUNCTION,
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()",
        f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()",
    ]


_STATEMENTS = {"sqlite": _sqlite_statements, "postgresql": _postgresql_statements}


def create_append_only_triggers(bind: sa.Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Create the triggers on an existing database (the migration calls this)."""
    statements = _STATEMENTS.get(bind.dialect.name)
    if statements is None:
        raise RuntimeError(f"no append-only triggers for {bind.dialect.name}")
    for table in tables:
        for statement in statements(table):
            bind.exec_driver_sql(statement)


def install(metadata: sa.MetaData) -> None:
    """Create the triggers whenever metadata.create_all() creates one of the tables."""
    for name in APPEND_ONLY_TABLES:
        table = metadata.tables[name]
        for dialect, statements in _STATEMENTS.items():
            for statement in statements(name):
                sa.event.listen(table, "after_create", sa.DDL(statement).execute_if(dialect=dialect))


def _drop_statements(dialect: str, table: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete"]
    return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"]


def drop_append_only_triggers(bind: sa.Connection, tables: tuple[str, ...] = APPEND_ONLY_TABLES) -> None:
    """Undo create_append_only_triggers (the migration's downgrade calls this before dropping the tables)."""
    for table in tables:
        for statement in _drop_statements(bind.dialect.name, table):
            bind.exec_driver_sql(statement)
    if bind.dialect.name == "postgresql" and set(tables) >= set(APPEND_ONLY_TABLES):  # nothing else uses it now
        bind.exec_driver_sql("DROP FUNCTION IF EXISTS refuse_append_only_change()")
