"""Backups: a restore drill on SQLite and PostgreSQL, taken while the app writes."""
from __future__ import annotations

import json
import os
import threading
import time

import pytest
import sqlalchemy as sa
from flask_migrate import stamp

from strategy import create_app
from strategy.backup import manifest_path, migration_head, table_checksums
from strategy.demo import DEMO_PASSWORD
from strategy.extensions import db
from strategy.fields.services import load_field_row
from strategy.models import Field, Revision, RevisionKind
from strategy.revisions import record_change
from strategy.snapshots import field_snapshot
from tests.conftest import IsolatedClient, _pg_admin, _test_config
from tests.support.forms import login


@pytest.fixture
def empty_database(backend, request, tmp_path):
    """A database with nothing in it, to restore into."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"restored_{os.getpid()}_{tmp_path.name[-12:]}".replace("-", "_").lower()
    with _pg_admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server.url(name)
    with _pg_admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Writer(threading.Thread):
    """Keeps changing one field's row through the revision service, as coordinators would."""

    def __init__(self, app, field_id: int):
        super().__init__(daemon=True)
        self.app, self.field_id = app, field_id
        self.stop = threading.Event()
        self.commits: list[int] = []
        self.error: BaseException | None = None

    def run(self):
        try:
            with self.app.app_context():
                n = 0
                while not self.stop.is_set():
                    n += 1
                    field = load_field_row(self.field_id)
                    before = field_snapshot(field)
                    field.gaps = f"Lücke {n}"
                    record_change(field, None, RevisionKind.EDIT, before, f"Schreiber {n}")
                    db.session.commit()
                    self.commits.append(n)
                db.session.remove()
        except BaseException as error:  # surfaced by the test
            self.error = error

    def wait_for(self, count: int):
        deadline = time.monotonic() + 60
        while len(self.commits) < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.02)
        assert self.error is None, self.error
        assert len(self.commits) >= count


def test_restore_drill(app, backend, demo, runner, empty_database, tmp_path, monkeypatch):
    stamp()  # the source database is at the migration head, as a deployed one is
    field_id = next(f.id for f in demo.fields if f.number == 4)
    demo_revisions = db.session.scalar(sa.select(sa.func.count()).select_from(Revision))
    db.session.remove()
    backup_file = tmp_path / "sicherung" / f"strategy.{backend}.backup"

    writer = Writer(app, field_id)
    writer.start()
    writer.wait_for(3)
    before_backup = len(writer.commits)
    result = runner.invoke(args=["backup", str(backup_file)])
    after_backup = len(writer.commits)
    writer.wait_for(after_backup + 3)
    writer.stop.set()
    writer.join(timeout=30)
    assert writer.error is None
    assert result.exit_code == 0, result.output
    assert "Sicherung geschrieben" in result.output

    manifest = json.loads(manifest_path(backup_file).read_text())
    assert manifest["migration"] == migration_head()
    # The copy holds every change committed before the backup began and none after it ended.
    backed_up = manifest["tables"]["revision"]["rows"] - demo_revisions
    assert before_backup <= backed_up <= after_backup + 1
    with db.engine.connect() as conn:
        source = table_checksums(conn)
    assert source["revision"]["rows"] - demo_revisions > backed_up  # the app went on writing
    # The writer's edits write revisions, move the field and its audit events, and index them for search.
    untouched = {name for name in source if name not in ("revision", "field", "audit_event")
                 and not name.startswith("search_")}
    for name in untouched:
        assert manifest["tables"][name] == source[name], name

    # Restore into a fresh, empty database, as after losing the server.
    monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "restored-instance"))
    restored_app = create_app(_test_config(empty_database))
    restored_app.test_client_class = IsolatedClient
    with restored_app.app_context():
        outcome = restored_app.test_cli_runner().invoke(args=["restore", str(backup_file), "--yes"])
        assert outcome.exit_code == 0, outcome.output
        assert "Wiederhergestellt und geprüft" in outcome.output
        assert "Achtung" not in outcome.output
        with db.engine.connect() as conn:
            restored = table_checksums(conn)
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == migration_head()
        assert {name: (t["rows"], t["sha256"]) for name, t in restored.items()} == \
            {name: (t["rows"], t["sha256"]) for name, t in manifest["tables"].items()}
        summaries = db.session.scalars(sa.select(Revision.summary).where(Revision.summary.startswith("Schreiber"))
                                       .order_by(Revision.id)).all()
        assert summaries == [f"Schreiber {n}" for n in range(1, backed_up + 1)]
        assert db.session.get(Field, field_id).gaps == f"Lücke {backed_up}"

        # The restored copy works: log in and read.
        client = restored_app.test_client()
        login(client, type("Account", (), {"email": "lenkung@demo.dortmund.example"}), DEMO_PASSWORD)
        page = client.get("/strategien/dortmund-neuzuwanderung/handlungsfelder/4")
        assert page.status_code == 200
        assert f"Lücke {backed_up}" in page.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


def test_restore_refuses_a_copy_that_does_not_match_its_manifest(app, demo, runner, tmp_path):
    backup_file = tmp_path / "strategy.backup"
    assert runner.invoke(args=["backup", str(backup_file)]).exit_code == 0
    manifest = json.loads(manifest_path(backup_file).read_text())
    manifest["tables"]["field"]["rows"] += 1
    manifest_path(backup_file).write_text(json.dumps(manifest))
    result = runner.invoke(args=["restore", str(backup_file), "--yes"])
    assert result.exit_code != 0
    assert "weicht von der Sicherung ab: field" in result.output


def test_restore_refuses_a_file_that_is_no_backup(app, runner, tmp_path):
    bogus = tmp_path / "notizen.txt"
    bogus.write_text("keine Sicherung")
    result = runner.invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0
    assert "ist keine" in result.output and "Sicherung" in result.output


def test_restore_asks_before_overwriting(app, demo, runner, tmp_path):
    backup_file = tmp_path / "strategy.backup"
    assert runner.invoke(args=["backup", str(backup_file)]).exit_code == 0
    result = runner.invoke(args=["restore", str(backup_file)], input="n\n")
    assert result.exit_code != 0
    assert "Fortfahren?" in result.output
