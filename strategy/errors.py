"""Friendly error pages; never a traceback, SQL or path."""
from __future__ import annotations

import logging
import uuid

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return render_template("errors/error.html", error=error, incident=None), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, HTTPException):
            return _http_error(error)
        incident = uuid.uuid4().hex[:12]
        log.exception("unhandled error, incident %s", incident)
        from .extensions import db

        db.session.rollback()
        return render_template("errors/error.html", error=InternalServerError(), incident=incident), 500
