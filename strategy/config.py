"""Defaults. Everything secret or site-specific comes from instance/config.py or the environment."""
from __future__ import annotations

import os
from datetime import timedelta


class Config:
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in create_app(): DATABASE_URL or instance/strategy.sqlite3
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SECRET_KEY: str | None = None
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = "Europe/Berlin"
    LANGUAGES = ("de", "en")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 4 * 1024 * 1024
    # Werkzeug's default (500 kB per form field) would answer an over-long text with a bare 413; with the
    # whole request as the limit it reaches the form, which says "too long" next to the field and keeps it.
    MAX_FORM_MEMORY_SIZE = MAX_CONTENT_LENGTH
    # Text columns are prose; a whole row rarely exceeds a few thousand words.
    MAX_TEXT_LENGTH = 20_000
    FUNDING_HORIZON_MONTHS = 12
    SQLITE_BUSY_TIMEOUT_MS = 10_000

    # --- every response (strategy/security.py, strategy/logs.py) ---
    # Production behind HTTPS sets SECURITY_HSTS (env SECURITY_HSTS=1).
    SECURITY_HSTS = False
    SECURITY_HSTS_MAX_AGE = 365 * 24 * 3600
    # A header set by a trusted reverse proxy whose request id the logs should reuse (e.g. "X-Request-ID").
    REQUEST_ID_HEADER: str | None = None
    LOG_LEVEL = "INFO"


def from_environment() -> dict:
    """Settings taken from the environment (12-factor style), for gunicorn deployments."""
    settings: dict = {}
    if url := os.environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = url
    if key := os.environ.get("SECRET_KEY"):
        settings["SECRET_KEY"] = key
    if hsts := os.environ.get("SECURITY_HSTS"):
        settings["SECURITY_HSTS"] = hsts.lower() in ("1", "true", "yes", "on")
    return settings
