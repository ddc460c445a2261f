"""Fixtures: the app on SQLite and on a throwaway PostgreSQL, clients, factories, query counting, a browser."""
from __future__ import annotations

import contextvars
import itertools
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager, suppress

import psycopg
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from werkzeug.serving import make_server

from strategy import create_app
from strategy.extensions import db
from tests.support.factories import PASSWORD, Factory
from tests.support.postgres import start_server

BACKENDS = ("sqlite", "postgresql")
_db_counter = itertools.count(1)
# argon2's smallest parameters: a login costs microseconds instead of most of a second of both cores.
# The production parameters are tested where they are the subject (test_auth: PASSWORD_HASH_PARAMETERS=None).
CHEAP_PASSWORD_HASHING = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


def _test_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_PARAMETERS": CHEAP_PASSWORD_HASHING,
        # Mail is delivered before the request returns, so a test reads it right after (strategy/mail.py).
        "MAIL_DELIVERY": "inline",
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
def sqlite_folder(tmp_path_factory):
    """Where the SQLite test databases live: in memory (/dev/shm) where there is one.

    The app runs SQLite with synchronous=FULL, so every commit waits for the disk (about 4 ms here);
    a test commits dozens of times. On tmpfs the same pragmas cost nothing.
    """
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        folder = tempfile.mkdtemp(prefix="strategy-sqlite-", dir="/dev/shm")
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield str(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def sqlite_template(sqlite_folder, tmp_path_factory):
    path = os.path.join(sqlite_folder, "template.sqlite3")
    _build_schema(f"sqlite:///{path}", tmp_path_factory.mktemp("sqlite-template-instance"))
    return path


@contextmanager
def fresh_database(backend: str, request, tmp_path):
    """A new, empty (schema only) database on the given backend; dropped afterwards."""
    if backend == "sqlite":
        path = os.path.join(request.getfixturevalue("sqlite_folder"), f"test_{next(_db_counter)}.sqlite3")
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                with suppress(FileNotFoundError):
                    os.remove(path + suffix)
        return
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"test_{os.getpid()}_{next(_db_counter)}"
    with _pg_admin(server) as conn:
        # FILE_COPY copies the template's files (a checkpoint, cheap with fsync off); PostgreSQL 15's default,
        # WAL_LOG, writes every block of the template to the WAL: about ten times slower for a small database.
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
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

class _SharedBytecode(BytecodeCache):
    """Compiled templates shared by every app this process creates.

    Each test gets a new app and with it a new Jinja environment, which would parse and compile every
    template it renders again. Jinja keys the cache by template and checks the source's checksum, so an
    edited template is compiled anew.
    """

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if (code := self._code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


_BYTECODE = _SharedBytecode()


def _share_url_builders() -> None:
    """Werkzeug compiles two URL builder functions (Python source through `ast` and `compile`) for every rule
    of every new app: 0.15 s of each test's set-up, for the same hundred rules each time. A builder depends
    only on the rule's parsed parts, defaults and converters, and takes the rule as its argument, so rules
    that agree in all of these share one. Falls back to Werkzeug's own when its internals differ."""
    from werkzeug.routing.rules import Rule

    original = getattr(Rule, "_compile_builder", None)
    if original is None or getattr(original, "shared", False):
        return
    builders: dict = {}

    def compile_builder(self, append_unknown: bool = True):
        try:
            key = (append_unknown, self.rule, tuple(self._trace), repr(sorted((self.defaults or {}).items())),
                   tuple((name, type(c), repr(sorted((k, v) for k, v in vars(c).items() if k != "map")))
                         for name, c in self._converters.items()))
        except (AttributeError, TypeError):
            return original(self, append_unknown)
        if key not in builders:
            builders[key] = original(self, append_unknown)
        return builders[key]

    compile_builder.shared = True
    Rule._compile_builder = compile_builder


_share_url_builders()


def make_test_app(database_url: str, **overrides):
    """create_app() with the tests' configuration and the shared template cache."""
    app = create_app(_test_config(database_url, **overrides))
    app.jinja_env.bytecode_cache = _BYTECODE
    return app


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
    app = make_test_app(database_url, **app_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def clock():
    """A clock the test moves forward; modules pass it to the app as CLOCK through their app_config."""
    from tests.support.clock import Clock

    return Clock()


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on a free loopback port; `smtp.config` are the app settings that send to it."""
    from tests.support.smtp import SmtpServer

    with SmtpServer() as server:
        yield server


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
        app = make_test_app(url, WTF_CSRF_ENABLED=True)
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
