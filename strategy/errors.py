"""Friendly error pages in German and English; never a traceback, SQL or path; the request id to quote.

Database trouble is told apart from bugs: an unreachable or locked database and a full disk answer 503
with Retry-After (the pool's pre-ping reconnects by itself once the database is back), everything else is
a 500. A form view marked @keeps_input gets its form back with the typed text instead (see security.py).
Error pages render without the database: on database errors the viewer is shown as signed out.
"""
from __future__ import annotations

import enum
import logging

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, make_response, render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from .security import may_redisplay, redisplay_form, request_id

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# SQLSTATEs of PostgreSQL that mean "not now" rather than "wrong": connection (08), shutdown and
# recovery (57P01-57P03), too many connections (53300), lock timeouts / deadlocks / serialization (40xxx, 55P03).
_PG_UNAVAILABLE = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01", "55P03")
_PG_DISK_FULL = ("53100",)
_SQLITE_FULL = ("database or disk is full", "disk i/o error", "no space left")
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database file")


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sa.exc.DBAPIError, _database_error)
    app.register_error_handler(Exception, _unexpected)


def _csrf_error(error: CSRFError):
    log.info("CSRF check failed: %s", error.description)
    if may_redisplay():
        try:
            return redisplay_form(_("Das Formular war zu lange geöffnet, daher wurde noch nichts gespeichert. "
                                    "Ihre Eingaben sind erhalten: Bitte prüfen Sie sie und speichern Sie erneut."),
                                  400)
        except Exception as error:  # the view refused (404, 403) or failed: the plain answer below
            log.info("no re-display after the CSRF failure: %s", type(error).__name__)
            _rollback_quietly()
            _drop_flashes()
    return error_response(400, _("Das Formular war zu lange geöffnet oder die Sitzung ist abgelaufen. "
                                 "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."))


def _http_error(error: HTTPException):
    if isinstance(error, CSRFError):
        return _csrf_error(error)
    return error_response(error.code or 500, headers=_passed_on_headers(error), error=error)


def forbidden_contacts() -> dict | None:
    """Whom a signed-in user may ask for access, when the forbidden page belongs to a field or strategy.

    Only objects the request loaded through get_strategy_or_404/get_field_or_404 are named, so only what the
    user may already see (a strategy hidden from them was a 404 before any 403 could arise). The field is named
    by its number: which title (draft or approved) the user may read is not this page's question.
    """
    strategy = g.get("known_strategy")
    if strategy is None:
        return None
    field = g.get("known_field")
    if field is not None and field.strategy_id != strategy.id:
        field = None
    try:
        if not current_user.is_authenticated:
            return None
        coordinators = _coordinators(field) if field is not None else []
        return {"strategy": strategy.title, "owner": strategy.owner.name if strategy.owner else None,
                "field": field.number if field is not None else None, "coordinators": coordinators}
    except sa.exc.SQLAlchemyError:
        log.warning("no contacts for the 403 page", exc_info=True)
        _rollback_quietly()
        return None


def _coordinators(field) -> list[str]:
    """The field's active coordinators as "name (organisation)", as the dossier names them."""
    from sqlalchemy.orm import selectinload

    from .extensions import db
    from .models import FieldAssignment, Person, User

    users = db.session.scalars(
        db.select(User).join(FieldAssignment, FieldAssignment.user_id == User.id)
        .filter(FieldAssignment.field_id == field.id, User.active.is_(True)).order_by(User.name)
        .options(selectinload(User.person).selectinload(Person.organisation))
    ).all()
    names = []
    for user in users:
        organisation = user.person.organisation if user.person and user.person.organisation else None
        names.append(f"{user.name} ({organisation.label})" if organisation else user.name)
    return names


def _database_error(error: sa.exc.DBAPIError):
    kind = classify_database_error(error)
    _rollback_quietly()
    if kind == DatabaseTrouble.BUG:
        return _unexpected(error)
    if kind == DatabaseTrouble.FULL:
        log.error("database storage is full", exc_info=error)
        message = _("Der Speicherplatz der Datenbank ist erschöpft; es wurde nichts gespeichert. "
                    "Die Betreuung ist informiert.")
    else:
        log.warning("database unavailable: %s", type(error.orig).__name__ if error.orig else type(error).__name__)
        message = _("Die Datenbank ist gerade nicht erreichbar; es wurde nichts gespeichert.")
    if kind == DatabaseTrouble.FULL and may_redisplay():
        try:
            response = redisplay_form(message + " " + _("Ihre Eingaben sind erhalten."), 503)
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        except Exception:
            log.exception("re-display after a database error failed")
            _rollback_quietly()
            _drop_flashes()
    _forget_user()
    return error_response(503, message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error")
    _rollback_quietly()
    if may_redisplay():
        try:
            return redisplay_form(_("Ihre Änderung konnte wegen eines internen Fehlers nicht gespeichert werden; "
                                    "es wurde nichts geändert. Ihre Eingaben sind erhalten. Vorgangsnummer: %(id)s",
                                    id=request_id()), 500)
        except Exception:
            log.exception("re-display after an internal error failed")
            _rollback_quietly()
            _drop_flashes()
    return error_response(500)


class DatabaseTrouble(enum.StrEnum):
    UNAVAILABLE = "unavailable"  # try again later
    FULL = "full"  # no space left
    BUG = "bug"  # the statement itself is wrong


def classify_database_error(error: sa.exc.DBAPIError) -> DatabaseTrouble:
    if error.connection_invalidated:
        return DatabaseTrouble.UNAVAILABLE
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate:
        if sqlstate.startswith(_PG_DISK_FULL):
            return DatabaseTrouble.FULL
        if sqlstate.startswith(_PG_UNAVAILABLE):
            return DatabaseTrouble.UNAVAILABLE
        return DatabaseTrouble.BUG
    text = str(original).lower()
    if any(sign in text for sign in _SQLITE_FULL):
        return DatabaseTrouble.FULL
    if any(sign in text for sign in _SQLITE_UNAVAILABLE):
        return DatabaseTrouble.UNAVAILABLE
    if isinstance(error, sa.exc.OperationalError) and type(original).__module__.startswith("psycopg"):
        return DatabaseTrouble.UNAVAILABLE  # connection refused or lost: psycopg gives no SQLSTATE then
    return DatabaseTrouble.BUG


def error_response(code: int, message: str | None = None, headers: dict | None = None,
                   error: HTTPException | None = None) -> Response:
    """The error page (or, under /api/, the API's JSON error) with this request's id as incident number."""
    if request.path.startswith("/api/"):
        from .api.errors import json_error

        response = make_response(json_error(error or _http_exception(code), incident=request_id()))
    else:
        response = make_response(_render_page(code, message, forbidden_contacts() if code == 403 else None), code)
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _render_page(code: int, message: str | None, contacts: dict | None = None) -> str:
    try:
        return render_template("errors/error.html", code=code, message=message, incident=request_id(), contacts=contacts)
    except Exception:
        # Rendering itself failed (the database went away while the header asked who is signed in):
        # try once more as a signed-out viewer, then fall back to a page that needs nothing.
        log.exception("error page could not be rendered")
        _rollback_quietly()
        _forget_user()
        try:
            return render_template("errors/error.html", code=code, message=message, incident=request_id())
        except Exception:
            log.exception("error page could not be rendered without a user either")
            return _bare_page(code)


def _bare_page(code: int) -> str:
    return (
        "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Fehler</title></head><body>"
        f"<h1>Fehler {code}</h1><p>Bitte versuchen Sie es später erneut. / Please try again later.</p>"
        f"<p>Vorgangsnummer / Incident: <code>{escape(request_id())}</code></p></body></html>"
    )


def _http_exception(code: int) -> HTTPException:
    from werkzeug.exceptions import default_exceptions

    return default_exceptions.get(code, InternalServerError)()


def _passed_on_headers(error: HTTPException) -> dict:
    """Headers an HTTP error carries for the client (Allow on 405, Retry-After on 429/503, WWW-Authenticate)."""
    wanted = {"allow", "retry-after", "www-authenticate"}
    headers = {name: value for name, value in error.get_headers() if name.lower() in wanted}
    if error.response is not None:
        headers.update({name: value for name, value in error.response.headers if name.lower() in wanted})
    if isinstance(error, ServiceUnavailable) and "Retry-After" not in headers:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return headers


def _drop_flashes() -> None:
    """The re-display's message must not show up on the next page instead."""
    session.pop("_flashes", None)


def _forget_user() -> None:
    """Show the viewer as signed out on this page, so rendering it asks the database nothing."""
    g._login_user = current_app.login_manager.anonymous_user()


def _rollback_quietly() -> None:
    from .extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool replaces it on the next checkout
        log.warning("rollback failed", exc_info=True)
