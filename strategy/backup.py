"""`flask backup FILE` and `flask restore FILE`: consistent copies while the app keeps writing.

SQLite goes through its online backup API (a read snapshot in WAL mode: writers are not blocked and the
copy is consistent). PostgreSQL goes through pg_dump/pg_restore in the custom format; the checksums are
taken in the very snapshot pg_dump reads (`--snapshot`). Next to the backup a manifest records, per table,
the row count and a SHA-256 over the rows, plus the migration head; restore checks the restored database
against it and refuses to report success when anything differs. pg_dump/pg_restore run with argument
lists, never through a shell.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app

from .extensions import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(click.ClickException):
    pass


# --- checksums -------------------------------------------------------------------------------------

def table_checksums(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """Per table: row count and SHA-256 of all rows in primary-key order (alembic_version included)."""
    inspector = sa.inspect(conn)
    result: dict[str, dict[str, Any]] = {}
    for name in sorted(inspector.get_table_names()):
        columns = [column["name"] for column in inspector.get_columns(name)]
        # Untyped columns: the driver's own values, no conversions that could differ between reads.
        table = sa.table(name, *(sa.column(column) for column in columns))
        key = inspector.get_pk_constraint(name).get("constrained_columns") or columns
        digest = hashlib.sha256()
        rows = 0
        for row in conn.execute(sa.select(table).order_by(*(table.c[column] for column in key))):
            digest.update(repr(tuple(_stable(value) for value in row)).encode())
            rows += 1
        result[name] = {"rows": rows, "sha256": digest.hexdigest()}
    return result


def _stable(value: Any) -> Any:
    """Values that print the same on every read (JSON text may come back as str or parsed)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    return value


def migration_head() -> str | None:
    """The newest migration the code knows."""
    from alembic.script import ScriptDirectory

    migrate_ext = current_app.extensions["migrate"]
    config = migrate_ext.migrate.get_config(migrate_ext.directory)
    return ScriptDirectory.from_config(config).get_current_head()


def database_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


# --- backup ----------------------------------------------------------------------------------------

def backup(path: Path) -> dict[str, Any]:
    """Write a consistent backup of the app's database to `path` (atomically) and its manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".backup-", dir=path.parent)
    os.close(fd)
    try:
        if db.engine.dialect.name == "sqlite":
            tables, revision = _backup_sqlite(Path(temporary))
        elif db.engine.dialect.name == "postgresql":
            tables, revision = _backup_postgresql(Path(temporary))
        else:
            raise BackupError(f"Keine Sicherung für {db.engine.dialect.name}.")
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    manifest = {
        "dialect": db.engine.dialect.name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "migration": revision,
        "tables": tables,
    }
    manifest_path(path).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _backup_sqlite(target: Path) -> tuple[dict, str | None]:
    raw = db.engine.raw_connection()
    try:
        with sqlite3.connect(target) as copy:
            raw.driver_connection.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        copy.close()
    finally:
        raw.close()
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            check = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
            if check != "ok":
                raise BackupError(f"Die Sicherung ist beschädigt: {check}")
            return table_checksums(conn), database_revision(conn)
    finally:
        engine.dispose()


def _backup_postgresql(target: Path) -> tuple[dict, str | None]:
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar()
            # pg_dump reads the same snapshot while this transaction stays open.
            _run_pg("pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                    f"--file={target}")
            return table_checksums(conn), database_revision(conn)


# --- restore ---------------------------------------------------------------------------------------

def restore(path: Path) -> dict[str, Any]:
    """Replace the app's database with the backup at `path`; verify it against the manifest if there is one."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Keine Sicherung unter {path}.")
    with path.open("rb") as handle:
        magic = handle.read(16)
    dialect = db.engine.dialect.name
    if dialect == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError("Die Datei ist keine SQLite-Sicherung.")
        _restore_sqlite(path)
    elif dialect == "postgresql":
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupError("Die Datei ist keine PostgreSQL-Sicherung (pg_dump, custom format).")
        _restore_postgresql(path)
    else:
        raise BackupError(f"Keine Wiederherstellung für {dialect}.")
    db.session.remove()
    db.engine.dispose()
    with db.engine.connect() as conn:
        restored = {"tables": table_checksums(conn), "migration": database_revision(conn)}
    manifest_file = manifest_path(path)
    if manifest_file.exists():
        manifest = json.loads(manifest_file.read_text())
        if manifest["tables"] != restored["tables"]:
            differing = sorted(name for name in set(manifest["tables"]) | set(restored["tables"])
                               if manifest["tables"].get(name) != restored["tables"].get(name))
            raise BackupError("Die wiederhergestellte Datenbank weicht von der Sicherung ab: " + ", ".join(differing))
    return restored


def _restore_sqlite(path: Path) -> None:
    raw = db.engine.raw_connection()
    try:
        with sqlite3.connect(path) as source:
            source.backup(raw.driver_connection)
        source.close()
        check = raw.driver_connection.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"Die wiederhergestellte Datenbank ist beschädigt: {check}")
    finally:
        raw.close()


def _restore_postgresql(path: Path) -> None:
    db.session.remove()
    db.engine.dispose()
    _run_pg("pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
            "--exit-on-error", str(path))


# --- PostgreSQL client programs -------------------------------------------------------------------

def pg_program(name: str) -> str:
    """pg_dump/pg_restore from PG_BIN_DIR, PATH or the newest /usr/lib/postgresql/*/bin."""
    configured = current_app.config.get("PG_BIN_DIR")
    candidates = [os.path.join(configured, name)] if configured else []
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if found := shutil.which(name):
        candidates.append(found)
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError(f"{name} nicht gefunden; bitte PG_BIN_DIR setzen.")


def _run_pg(program: str, *args: str) -> None:
    url = db.engine.url
    env = {**os.environ, "PGPASSWORD": url.password or "", "PGCONNECT_TIMEOUT": "10"}
    connection = [f"--host={url.host or 'localhost'}", f"--port={url.port or 5432}",
                  f"--username={url.username or ''}", f"--dbname={url.database}"]
    result = subprocess.run([pg_program(program), *connection, *args], env=env,  # noqa: S603  # nosec B603
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{program} ist fehlgeschlagen: {result.stderr.strip()[-2000:]}")


# --- commands --------------------------------------------------------------------------------------

def register(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(file: Path) -> None:
        """Back up the database to FILE (safe while the app is running)."""
        manifest = backup(file)
        rows = sum(table["rows"] for table in manifest["tables"].values())
        click.echo(f"Sicherung geschrieben: {file} ({len(manifest['tables'])} Tabellen, {rows} Zeilen; "
                   f"Prüfsummen in {manifest_path(file).name}).")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Ohne Rückfrage überschreiben.")
    def restore_command(file: Path, yes: bool) -> None:
        """Replace the database with the backup in FILE. Stop the app first."""
        if not yes:
            click.confirm("Die Datenbank wird durch die Sicherung ersetzt. Fortfahren?", abort=True)
        restored = restore(file)
        head = migration_head()
        click.echo(f"Wiederhergestellt und geprüft: {file}.")
        if restored["migration"] != head:
            click.echo(f"Achtung: Die Sicherung hat den Datenbankstand {restored['migration']}, der Code erwartet "
                       f"{head}. Bitte `flask db upgrade` ausführen.", err=True)
