"""The migrations build the same schema as the models, on SQLite and PostgreSQL, and go up and down."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from strategy import create_app
from strategy.extensions import db
from strategy.models.search_structures import is_engine_structure
from tests.conftest import _test_config


@pytest.fixture
def empty_database(backend, request, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    import psycopg

    server = request.getfixturevalue("pg_server")
    name = f"empty_{tmp_path.name[-20:]}".replace("-", "_").lower()
    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server.url(name)
    with psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def migrated_app(empty_database, tmp_path, monkeypatch):
    monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_test_config(empty_database))
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_migrations_head_matches_the_models(migrated_app):
    with db.engine.connect() as conn:
        # The search engines' own structures (FTS5 tables, tsvector column, GIN indexes) are no part of the
        # models; migrations/env.py leaves them out of autogenerate the same way.
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_name": lambda name, type_, parents: not is_engine_structure(name, type_, parents)})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_migrations_go_down_and_up_again(migrated_app):
    downgrade(revision="base")
    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    with db.engine.connect() as conn:
        assert "field" in sa.inspect(conn).get_table_names()


def test_demo_data_loads_on_a_migrated_database(migrated_app):
    from strategy.demo import load_demo
    from strategy.models import Field

    assert load_demo() is True
    assert db.session.scalar(db.select(db.func.count()).select_from(Field).where(Field.strategy_id == _demo_id())) == 13


def test_setup_demo_migrates_an_empty_database_and_prints_every_demo_account(empty_database, tmp_path,
                                                                            monkeypatch):
    from strategy.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
    from strategy.models import Field

    monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(_test_config(empty_database))
    result = app.test_cli_runner().invoke(args=["setup-demo", "--address", "http://127.0.0.1:5123/"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5123/" in result.output
    assert DEMO_PASSWORD in result.output
    for email, *_ in DEMO_ACCOUNTS:
        assert email in result.output
    with app.app_context():
        assert db.session.scalar(
            db.select(db.func.count()).select_from(Field).where(Field.strategy_id == _demo_id())) == 13
        db.engine.dispose()


def _demo_id() -> int:
    """The Dortmund demo strategy (the demo also holds a small partners-only strategy)."""
    from strategy.demo import DEMO_SLUG
    from strategy.models import Strategy

    return db.session.scalar(db.select(Strategy.id).filter_by(slug=DEMO_SLUG))
