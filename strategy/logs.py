"""Structured logs: one JSON object per line, with the request id; secrets redacted, no forged lines.

Every value goes through json.dumps, so a CR or LF typed by a user ends up as the two characters `\\n`
inside a string and can never start a line of its own. Keys that name secrets (password, cookie, token,
authorization, csrf, secret, totp) are replaced by "[redacted]" wherever they appear in `extra=` data.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request

SECRET_KEYS = re.compile(r"pass(word)?|cookie|token|authori[sz]ation|csrf|secret|totp|otp|session", re.IGNORECASE)
REDACTED = "[redacted]"
# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_HANDLER_MARK = "_strategy_json_handler"


def escape_line_breaks(text: str) -> str:
    """For plain-text log sinks: user text cannot start a new log line."""
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


def redact(value: Any, key: str = "") -> Any:
    if key and SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            from .security import request_id

            entry["request_id"] = request_id()
            entry["method"] = request.method
            entry["path"] = request.path  # never the query string: it may carry a token
            user_id = _user_id()
            if user_id is not None:
                entry["user_id"] = user_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = redact(value, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _user_id() -> int | None:
    """The signed-in user's id from the identity map: no database access (the database may be down)."""
    user = g.get("_login_user")
    if user is None:
        return None
    try:
        identity = sa.inspect(user).identity
    except sa.exc.NoInspectionAvailable:  # the anonymous user
        return None
    return identity[0] if identity else None


def configure(app: Flask) -> None:
    """One JSON handler on the `strategy` logger (once per process, however many apps are created)."""
    logger = logging.getLogger("strategy")
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    if any(getattr(h, _HANDLER_MARK, False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    setattr(handler, _HANDLER_MARK, True)
    logger.addHandler(handler)


def json_handler() -> logging.Handler | None:
    """The handler configure() installed (tests point its stream elsewhere to read what it writes)."""
    for handler in logging.getLogger("strategy").handlers:
        if getattr(handler, _HANDLER_MARK, False):
            return handler
    return None
