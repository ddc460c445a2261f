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
    # Spreadsheet import (strategy/spreadsheets): the largest upload, the most rows of one sheet, and how far
    # the zipped parts of an .xlsx/.ods/.docx may unpack (anything larger is refused as a zip bomb).
    IMPORT_MAX_BYTES = 20_000_000
    IMPORT_MAX_ROWS = 20_000
    IMPORT_MAX_UNPACKED_BYTES = 200_000_000
    SQLITE_BUSY_TIMEOUT_MS = 10_000

    # --- accounts, login and sessions (strategy/auth) ---
    # Production sets SESSION_COOKIE_SECURE (env SESSION_COOKIE_SECURE=1): the cookie is then also named __Host-session.
    SESSION_COOKIE_SECURE = False
    # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted (0: use the socket address).
    PROXY_FIX_X_FOR = 0
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128
    # argon2 parameters (time_cost, memory_cost, parallelism) instead of argon2-cffi's recommended ones.
    # Only the tests set cheaper ones; production leaves this unset.
    PASSWORD_HASH_PARAMETERS: dict | None = None
    AUTH_SESSION_IDLE_TIMEOUT = timedelta(hours=2)
    AUTH_SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
    # "last seen" is written at most this often per session, not on every request.
    AUTH_SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
    AUTH_SET_PASSWORD_LINK_VALIDITY = timedelta(hours=72)
    # Per account (and per unknown e-mail): after DELAY_AFTER failures each further failure makes the next try
    # wait (2, 4, 8 ... seconds, at most MAX_DELAY); after LOCK_AFTER the account is locked for LOCK_DURATION.
    AUTH_ACCOUNT_DELAY_AFTER = 3
    AUTH_ACCOUNT_MAX_DELAY = timedelta(seconds=60)
    AUTH_ACCOUNT_LOCK_AFTER = 10
    AUTH_ACCOUNT_LOCK_DURATION = timedelta(minutes=15)
    # Per client address: many accounts tried from one address.
    AUTH_ADDRESS_DELAY_AFTER = 20
    AUTH_ADDRESS_MAX_DELAY = timedelta(seconds=60)
    AUTH_ADDRESS_LOCK_AFTER = 50
    AUTH_ADDRESS_LOCK_DURATION = timedelta(minutes=30)
    # A browser that logged in to an account before (signed cookie) is not stopped by that account's or its
    # address's lock; it has a failure counter of its own (auth/devices.py, SECURITY.md).
    AUTH_KNOWN_DEVICE_MAX_AGE = timedelta(days=180)
    # Failures older than this are forgotten (the counter starts again).
    AUTH_FAILURE_WINDOW = timedelta(hours=1)
    # "Passwort vergessen?": at most this many reset mails per address asked for, and requests per client
    # address, within the window (the same for addresses with and without an account).
    AUTH_RESET_PER_EMAIL = 3
    AUTH_RESET_PER_ADDRESS = 20
    AUTH_RESET_WINDOW = timedelta(hours=1)
    # Time between password and TOTP code at login.
    AUTH_TWO_FACTOR_PENDING = timedelta(minutes=5)
    # A callable returning an aware UTC datetime for the whole app (models.base.utcnow); tests inject a clock here
    # instead of sleeping.
    CLOCK = None

    # --- every response (strategy/security.py, strategy/logs.py) ---
    # Production behind HTTPS sets SECURITY_HSTS (env SECURITY_HSTS=1).
    SECURITY_HSTS = False
    SECURITY_HSTS_MAX_AGE = 365 * 24 * 3600
    # A header set by a trusted reverse proxy whose request id the logs should reuse (e.g. "X-Request-ID").
    REQUEST_ID_HEADER: str | None = None
    LOG_LEVEL = "INFO"

    # --- e-mail (strategy/mail.py) ---
    # The address users open the app at; every link in a mail is built from it (e.g. https://strategie.example/).
    BASE_URL: str | None = None
    # Without MAIL_SERVER nothing is sent: mails go to the log and to /verwaltung/e-mails (the demo).
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_SECURITY = "starttls"  # "starttls" (port 587), "tls" (implicit TLS, port 465) or "none"
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SENDER = "Gesamtstrategie <noreply@localhost>"
    MAIL_TIMEOUT = 30
    # A CA bundle for the SMTP server's certificate, when it is not signed by a CA the system trusts.
    MAIL_CA_FILE: str | None = None
    # "background": after the commit, on a thread (a request never waits for SMTP); "inline": before the
    # request returns.
    MAIL_DELIVERY = "background"

    # --- PDF exports on a queue (strategy/exports/jobs.py, queue.py) ---
    # "inline": the web process renders (its own renderer processes), the embedded SQLite set-up's default.
    # "procrastinate": framework, edition and change-report exports become jobs in PostgreSQL, rendered by
    # `flask export-worker` on any number of hosts; the reader sees "wird erstellt …" until the PDF is cached.
    EXPORT_QUEUE = "inline"
    # A worker tells the queue it is alive this often; one silent for EXPORT_WORKER_STALLED_SECONDS counts as
    # dead, and another worker (checking every EXPORT_STALLED_CHECK_SECONDS) puts its job back on the queue.
    EXPORT_WORKER_HEARTBEAT_SECONDS = 10.0
    EXPORT_WORKER_STALLED_SECONDS = 30.0
    EXPORT_STALLED_CHECK_SECONDS = 10.0
    # The "wird erstellt …" page reloads itself this often (seconds; without JavaScript through meta refresh).
    EXPORT_JOB_REFRESH_SECONDS = 3
    # Finished jobs are forgotten after this many days (the PDFs stay in the export cache).
    EXPORT_JOB_KEEP_DAYS = 7
    # Tests only: a worker holds each job, once marked running, until this file exists (so a test can kill
    # it mid-job deterministically). Never set in production.
    EXPORT_JOB_HOLD_FILE: str | None = None


def from_environment() -> dict:
    """Settings taken from the environment (12-factor style), for gunicorn deployments."""
    settings: dict = {}
    if url := os.environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = url
    if key := os.environ.get("SECRET_KEY"):
        settings["SECRET_KEY"] = key
    if hsts := os.environ.get("SECURITY_HSTS"):
        settings["SECURITY_HSTS"] = hsts.lower() in ("1", "true", "yes", "on")
    if secure := os.environ.get("SESSION_COOKIE_SECURE"):
        settings["SESSION_COOKIE_SECURE"] = secure.lower() in ("1", "true", "yes", "on")
    if hops := os.environ.get("PROXY_FIX_X_FOR"):
        settings["PROXY_FIX_X_FOR"] = int(hops)
    for name in ("BASE_URL", "MAIL_SERVER", "MAIL_SECURITY", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_SENDER",
                 "MAIL_CA_FILE", "MAIL_DELIVERY"):
        if value := os.environ.get(name):
            settings[name] = value
    if port := os.environ.get("MAIL_PORT"):
        settings["MAIL_PORT"] = int(port)
    if queue := os.environ.get("EXPORT_QUEUE"):
        settings["EXPORT_QUEUE"] = queue
    return settings
