"""Accounts, login and sessions."""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from flask import Blueprint, Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

bp = Blueprint("auth", __name__)

from . import routes  # noqa: E402,F401

SECURE_COOKIE_NAME = "__Host-session"
# Any token in a query string: in the request line, the referrer, or gunicorn's query-string atom alone.
_SECRET_QUERY = re.compile(r"(\btoken=)[^\s&\"]+")


class RedactSecretLinks(logging.Filter):
    """Request log lines must not contain set-password tokens (they are in the link's query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            # gunicorn's access log formats named atoms from its own mapping (which answers "-" for any
            # atom it lacks): change the values in place, keep the mapping.
            for key, value in list(record.args.items()):
                if isinstance(value, str):
                    record.args[key] = _redact(value)  # type: ignore[index]
        elif record.args:
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        return True


def _redact(text: str) -> str:
    return _SECRET_QUERY.sub(r"\1[…]", text)


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, opened only when the request brings a cookie.

    Flask builds a signing serializer on every request to open the session, even when there is no cookie to
    read; most anonymous requests (status pages, /healthz, the API) bring none, so they get an empty session
    straight away. Writing a session (language switch, login) goes through Flask's own save_session."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class() if app.secret_key else None
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Cookie hardening, the trusted proxy hops and log redaction; called from create_app()."""
    app.session_interface = CookieSessionInterface()
    if app.config.get("SESSION_COOKIE_SECURE") and app.config.get("SESSION_COOKIE_NAME", "session") == "session":
        # __Host- cookies are only accepted over HTTPS, for the whole host, without a Domain attribute.
        app.config["SESSION_COOKIE_NAME"] = SECURE_COOKIE_NAME
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["SESSION_COOKIE_DOMAIN"] = None
    app.config["REMEMBER_COOKIE_DURATION"] = 0  # remember-me is never offered
    hops = int(app.config.get("PROXY_FIX_X_FOR") or 0)
    if hops > 0:
        # Exactly `hops` proxies are trusted: the client address is the entry they appended, never one a client sent.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretLinks) for f in logger.filters):
            logger.addFilter(RedactSecretLinks())
