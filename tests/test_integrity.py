"""Integrity under faults: append-only history, one transaction per change, concurrent saves, kills, full disk."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from strategy.extensions import db
from strategy.models import AuditEvent, Field, Revision, RevisionKind, Role, Visibility
from strategy.models.triggers import APPEND_ONLY_TABLES
from strategy.revisions import record_change
from strategy.snapshots import field_snapshot
from tests.support.forms import login, post_forms
from tests.test_migrations import empty_database  # noqa: F401  (fixture: a database with no schema)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def row(make):
    """A field with a coordinator: (strategy, field, coordinator, edit url)."""
    strategy = make.strategy(visibility=Visibility.INTERNAL)
    field = make.field(strategy, 1)
    coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(field,))
    return strategy, field, coordinator, f"/strategien/{strategy.slug}/handlungsfelder/1/bearbeiten"


def edit_form(client, url) -> dict:
    page = client.get(url)
    assert page.status_code == 200
    return dict(next(f for f in post_forms(page.get_data(as_text=True)) if f["action"] in ("", url))["data"])


def a_revision(field, author) -> Revision:
    from strategy.fields.services import load_field_row

    before = field_snapshot(load_field_row(field.id))
    field.vision = "Eine Vision"
    revision = record_change(field, author, RevisionKind.EDIT, before, "Vision")
    db.session.commit()
    return revision


# --- append-only history ---------------------------------------------------------------------------

@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_the_database_refuses_to_rewrite_history(app, row, statement, table):
    _, field, coordinator, _ = row
    a_revision(field, coordinator)
    db.session.add(AuditEvent(action="test", actor_label="x"))
    db.session.commit()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text(statement.format(table=table)))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
    assert count >= 1


def test_the_orm_cannot_edit_a_revision_either(app, row):
    _, field, coordinator, _ = row
    revision = a_revision(field, coordinator)
    revision.summary = "nachträglich geschönt"
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Revision, revision.id).summary == "Vision"


def test_truncating_history_is_refused_on_postgresql(app, backend, row):
    if backend != "postgresql":
        pytest.skip("SQLite has no TRUNCATE")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE revision"))


def test_appending_to_history_still_works(app, row):
    _, field, coordinator, _ = row
    a_revision(field, coordinator)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revision)) == 1


def test_the_migration_helper_creates_the_same_triggers(app, tmp_path):
    """What the initial migration runs (create_append_only_triggers) refuses changes like the DDL events do."""
    from strategy.models.triggers import create_append_only_triggers, drop_append_only_triggers

    engine = sa.create_engine(db.engine.url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE plain_log (id INTEGER PRIMARY KEY, note VARCHAR(20))")
            conn.exec_driver_sql("INSERT INTO plain_log (id, note) VALUES (1, 'a')")
            create_append_only_triggers(conn, ("plain_log",))
            create_append_only_triggers(conn, ("plain_log",))  # idempotent
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE plain_log SET note = 'b'")
        with engine.begin() as conn:  # what the migration's downgrade runs
            drop_append_only_triggers(conn, ("plain_log",))
            conn.exec_driver_sql("UPDATE plain_log SET note = 'b'")
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE plain_log")
        engine.dispose()


# --- a change and its revision in one transaction --------------------------------------------------

_FAIL_REVISION_INSERT = {
    "sqlite": ["CREATE TRIGGER fault_revision_insert BEFORE INSERT ON revision "
               "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"],
    "postgresql": [
        "CREATE FUNCTION fault_injected() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$",
        "CREATE TRIGGER fault_revision_insert BEFORE INSERT ON revision "
        "FOR EACH ROW EXECUTE FUNCTION fault_injected()",
    ],
}


def test_when_the_revision_cannot_be_written_the_change_is_rolled_back_and_the_text_kept(app, backend, client, row):
    _, field, coordinator, url = row
    login(client, coordinator)
    data = edit_form(client, url)
    data["vision"] = "Text, der nicht verloren gehen darf"
    with db.engine.begin() as conn:
        for statement in _FAIL_REVISION_INSERT[backend]:
            conn.exec_driver_sql(statement)

    response = client.post(url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "konnte wegen eines internen Fehlers nicht gespeichert werden" in html
    assert "Text, der nicht verloren gehen darf" in html
    assert response.headers["X-Request-ID"] in html
    db.session.expire_all()
    saved = db.session.get(Field, field.id)
    assert saved.vision == ""
    assert saved.version == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revision)) == 0


# --- concurrent saves ------------------------------------------------------------------------------

def test_concurrent_saves_of_one_row_give_one_success_and_clean_conflicts(app, row):
    _, field, coordinator, url = row
    threads_n = 6
    clients = [app.test_client() for _ in range(threads_n)]
    forms = []
    for client in clients:
        login(client, coordinator)
        forms.append(edit_form(client, url))
    barrier = threading.Barrier(threads_n)
    results: list[tuple[int, str]] = [None] * threads_n  # type: ignore[list-item]

    def save(i: int):
        data = dict(forms[i], vision=f"Vision aus Sitzung {i}")
        barrier.wait()
        response = clients[i].post(url, data=data)
        results[i] = (response.status_code, response.get_data(as_text=True))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    codes = sorted(code for code, _ in results)
    assert codes == [302] + [409] * (threads_n - 1), codes
    assert not any("locked" in body.lower() for _, body in results)
    db.session.expire_all()
    saved = db.session.get(Field, field.id)
    winner = next(i for i, (code, _) in enumerate(results) if code == 302)
    assert saved.vision == f"Vision aus Sitzung {winner}"
    assert saved.version == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revision)) == 1


# --- killed in the middle of writing ---------------------------------------------------------------

WRITER = r"""
import os, sys
from strategy import create_app
from strategy.extensions import db
from strategy.models import Field, RevisionKind
from strategy.revisions import record_change
from strategy.snapshots import field_snapshot
from strategy.fields.services import load_field_row

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "SECRET_KEY": "x"})
with app.app_context():
    field_id = int(sys.argv[2])
    n = int(sys.argv[3])
    while True:
        n += 1
        field = load_field_row(field_id)
        before = field_snapshot(field)
        field.vision = f"Stand {n} " + "x" * (n % 50) * 100
        record_change(field, None, RevisionKind.EDIT, before, f"Stand {n}")
        db.session.commit()
        sys.stdout.write(f"{n}\n")
        sys.stdout.flush()
"""


def test_killing_a_writer_again_and_again_loses_nothing_that_was_committed(app, backend, row, tmp_path):
    if backend != "sqlite":
        pytest.skip("the file format's crash safety is SQLite's; PostgreSQL keeps its own WAL")
    _, field, _, _ = row
    field_id = field.id
    url = db.engine.url.render_as_string(hide_password=False)
    db.session.remove()
    db.engine.dispose()
    env = {**os.environ, "STRATEGY_INSTANCE_PATH": str(tmp_path / "writer-instance")}
    committed: list[int] = []
    last = 0
    for round_ in range(12):
        process = subprocess.Popen([sys.executable, "-c", WRITER, url, str(field_id), str(last)],
                                   stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        # Let it commit a few changes, then kill it in the middle of the next one.
        for _ in range(3 + round_ % 4):
            line = process.stdout.readline()
            assert line, "the writer died on its own"
            committed.append(int(line))
        process.send_signal(signal.SIGKILL)
        remainder = process.stdout.read()  # a commit may have returned just before the kill
        committed += [int(n) for n in remainder.split()]
        process.wait()
        process.stdout.close()
        last = committed[-1]

    path = db.engine.url.database
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        summaries = {row[0] for row in conn.execute("SELECT summary FROM revision")}
        vision = conn.execute("SELECT vision FROM field WHERE id = ?", (field_id,)).fetchone()[0]
    conn.close()
    assert {f"Stand {n}" for n in committed} <= summaries
    assert vision.startswith(f"Stand {committed[-1]} ") or \
        any(vision.startswith(f"Stand {n} ") for n in range(committed[-1], committed[-1] + 2))


# --- disk full -------------------------------------------------------------------------------------

def test_a_full_disk_gives_503_keeps_the_input_and_writes_nothing(app, backend, client, row):
    if backend != "sqlite":
        pytest.skip("simulated with SQLite's max_page_count")
    _, field, coordinator, url = row
    field_id = field.id
    login(client, coordinator)
    data = edit_form(client, url)
    data["vision"] = "Ein langer Absatz über die Zukunft. " * 500
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.exec_driver_sql("VACUUM")
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def limit(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {int(pages)}")

    sa.event.listen(db.engine, "connect", limit)
    db.session.remove()
    db.engine.dispose()
    try:
        response = client.post(url, data=data)
        html = response.get_data(as_text=True)
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert "Speicherplatz der Datenbank ist erschöpft" in html
        assert "Ein langer Absatz über die Zukunft." in html  # the form is back, with the text
        assert 'name="vision"' in html
    finally:
        sa.event.remove(db.engine, "connect", limit)
        db.session.remove()
        db.engine.dispose()
    saved = db.session.get(Field, field_id)
    assert saved.vision == "" and saved.version == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Revision)) == 0
    assert db.session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
    # With room again, the same form saves.
    assert client.post(url, data=data).status_code == 302


def test_a_migrated_database_has_the_append_only_triggers(backend, request, tmp_path, monkeypatch):
    """The migration must create the triggers too: production databases are built by `flask db upgrade`."""
    from flask_migrate import downgrade, upgrade

    from strategy import create_app
    from tests.conftest import _test_config

    monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_test_config(request.getfixturevalue("empty_database")))
    with app.app_context():
        upgrade()
        try:
            _assert_append_only_triggers(backend)
        finally:
            downgrade(revision="base")
            db.session.remove()
            db.engine.dispose()


def _assert_append_only_triggers(backend: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(sa.insert(AuditEvent.__table__).values(action="test", actor_label="", object_type="",
                                                            object_id="", detail={}, ip_address=""))
    refused = False
    try:
        with db.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM audit_event"))
    except sa.exc.DBAPIError as error:
        refused = "append-only" in str(error)
    # An empty table fires no row trigger: revision is checked in the catalogue as well.
    with db.engine.connect() as conn:
        if backend == "sqlite":
            names = set(conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        else:
            names = set(conn.execute(sa.text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
    expected = {"revision_no_update", "revision_no_delete"} if backend == "sqlite" else \
        {"revision_append_only", "revision_no_truncate"}
    assert refused and expected <= names, (
        "The initial migration lacks the append-only triggers. Add at the end of upgrade():\n"
        "    from strategy.models.triggers import create_append_only_triggers\n"
        "    create_append_only_triggers(op.get_bind())\n"
        "and at the start of downgrade():\n"
        "    from strategy.models.triggers import drop_append_only_triggers\n"
        "    drop_append_only_triggers(op.get_bind())")
