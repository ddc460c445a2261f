"""Fixtures: the app on SQLite and on a throwaway PostgreSQL, clients, factories, query counting, a browser."""
from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import threading
from contextlib import contextmanager

import psycopg
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from strategy import create_app
from strategy.extensions import db
from tests.support.factories import PASSWORD, Factory
from tests.support.postgres import start_server

BACKENDS = ("sqlite", "postgresql")
_db_counter = itertools.count(1)


def _test_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    return config


def _build_schema(database_url: str, instance_path, populate=None) -> None:
    os.environ["STRATEGY_INSTANCE_PATH"] = str(instance_path)
    app = create_app(_test_config(database_url))
    with app.app_context():
        db.create_all()
        if populate:
            populate()
        db.session.remove()
        db.engine.dispose()


# --- databases -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server():
    server = start_server()
    yield server
    server.stop()


def _pg_admin(server):
    return psycopg.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="postgres", autocommit=True)


@pytest.fixture(scope="session")
def pg_template(pg_server, tmp_path_factory):
    with _pg_admin(pg_server) as conn:
        conn.execute("CREATE DATABASE strategy_template")
    _build_schema(pg_server.url("strategy_template"), tmp_path_factory.mktemp("pg-template-instance"))
    return "strategy_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    _build_schema(f"sqlite:///{path}", folder)
    return path


@contextmanager
def fresh_database(backend: str, request, tmp_path):
    """A new, empty (schema only) database on the given backend; dropped afterwards."""
    if backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"test_{os.getpid()}_{next(_db_counter)}"
    with _pg_admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield server.url(name)
    finally:
        with _pg_admin(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path):
    with fresh_database(backend, request, tmp_path) as url:
        yield url


# --- the app -------------------------------------------------------------------------------------

@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change the app's configuration."""
    return {}


class IsolatedClient(FlaskClient):
    """Runs each request outside the test's own app context, as a real server would.

    Without this the request would reuse the test's app context, and with it `g` (the logged-in user),
    the database session and the cached locale, so one request's state would leak into the next.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(database_url, tmp_path, monkeypatch, app_config):
    monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(_test_config(database_url, **app_config))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factory:
    return Factory()


@pytest.fixture
def demo(app):
    """The app with Dortmund's demo data loaded; returns the demo strategy."""
    from strategy.demo import DEMO_SLUG, load_demo
    from strategy.models import Strategy

    load_demo()
    return db.session.scalar(db.select(Strategy).filter_by(slug=DEMO_SLUG))


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, user_or_email, password: str = PASSWORD):
        email = getattr(user_or_email, "email", user_or_email)
        return self._client.post("/anmelden", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/abmelden")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def count_queries(app):
    """Counts SQL statements run inside the `with` block: `with count_queries() as counter: ...; counter.n`."""

    class Counter:
        n = 0
        statements: list[str] = []

    @contextmanager
    def counting():
        counter = Counter()
        counter.statements = []

        def before(conn, cursor, statement, parameters, context, executemany):
            counter.n += 1
            counter.statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)

    return counting


# --- a live server and a real browser ------------------------------------------------------------

class LiveServer:
    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


@pytest.fixture
def live_server(tmp_path, monkeypatch, request):
    """The app with demo data, CSRF on, served on a free loopback port (SQLite unless overridden)."""
    backend = getattr(request, "param", "sqlite")
    with fresh_database(backend, request, tmp_path) as url:
        monkeypatch.setenv("STRATEGY_INSTANCE_PATH", str(tmp_path / "instance"))
        app = create_app(_test_config(url, WTF_CSRF_ENABLED=True))
        with app.app_context():
            from strategy.demo import load_demo

            load_demo()
            db.session.remove()
        server = LiveServer(app).start()
        try:
            yield server
        finally:
            server.stop()
            with app.app_context():
                db.engine.dispose()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
