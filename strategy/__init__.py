"""Gemeinsame Steuerung einer Gesamtstrategie: the application factory."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa
from flask import Flask, has_request_context, session
from werkzeug.routing import IntegerConverter

from .config import Config, from_environment
from .extensions import babel, csrf, db, login_manager, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app; `config` (e.g. from tests) wins over instance/config.py and the environment."""
    instance_path = os.environ.get("STRATEGY_INSTANCE_PATH", str(PROJECT_ROOT / "instance"))
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environment())
    if config:
        app.config.update(config)

    os.makedirs(app.instance_path, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "strategy.sqlite3")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app.instance_path)

    app.url_map.converters["id"] = DatabaseId
    from . import logs, security

    logs.configure(app)
    security.register(app)  # first, so the request id exists before CSRF and login checks run
    _init_extensions(app)
    _register_blueprints(app)
    from .auth import init_app as init_auth

    init_auth(app)  # cookie names, trusted proxy hops

    from . import cli, errors, mail, templating  # noqa: F401 (mail: delivery after each commit)

    errors.register(app)
    templating.register(app)
    cli.register(app)
    return app


class DatabaseId(IntegerConverter):
    """A positive integer that fits a database INTEGER; anything larger is a 404, not an overflow."""

    def __init__(self, url_map, **kwargs):
        super().__init__(url_map, min=1, max=2**31 - 1, **kwargs)


def _instance_secret_key(instance_path: str) -> str:
    """A key shared by every worker on this host, made once; production sets SECRET_KEY instead."""
    path = Path(instance_path) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker won the race
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


def _select_locale() -> str:
    languages = _app_languages()
    # Outside a request (CLI commands, text built in tests) there is no reader: the default language.
    chosen = session.get("lang") if has_request_context() else None
    if chosen in languages:
        # English with British dates and times (25 Nov 2026, 18:30): the readers are European public-sector staff.
        return "en_GB" if chosen == "en" else chosen
    return languages[0]


def _app_languages() -> tuple[str, ...]:
    from flask import current_app

    return tuple(current_app.config["LANGUAGES"])


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, default_translation_directories="translations")
    login_manager.init_app(app)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()


def _register_blueprints(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .api import tokens_bp as api_tokens_bp
    from .auth import bp as auth_bp
    from .core import bp as core_bp
    from .exports import bp as exports_bp
    from .fields import bp as fields_bp
    from .notifications import bp as notifications_bp
    from .records import bp as records_bp
    from .review import bp as review_bp
    from .rounds import bp as rounds_bp
    from .search import bp as search_bp
    from .spreadsheets import bp as spreadsheets_bp
    from .status import bp as status_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(fields_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(spreadsheets_bp)
    app.register_blueprint(status_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(rounds_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(notifications_bp)


__all__ = ["create_app"]
