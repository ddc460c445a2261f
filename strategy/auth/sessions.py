"""Server-side sessions: one row per logged-in browser, so ending a session works on every process and host.

The cookie carries a random token; only its SHA-256 is stored. Nothing here commits.
"""
from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request, session
from flask_login import login_user, logout_user
from sqlalchemy.orm import joinedload

from ..audit import AuditAction, client_address, record_event
from ..extensions import db
from ..models import User, UserSession, utcnow
from .tokens import hash_token

SESSION_TOKEN_KEY = "auth_session"


def start_session(user: User) -> UserSession:
    """Log `user` in on this browser: a new random session token (no fixation), stored only as its hash."""
    token = secrets.token_urlsafe(32)
    moment = utcnow()
    config = current_app.config
    # Sweep sessions that timed out without being presented again (closed browsers), so the table stays small.
    db.session.execute(
        sa.delete(UserSession)
        .where(sa.or_(UserSession.last_seen_at < moment - config["AUTH_SESSION_IDLE_TIMEOUT"],
                      UserSession.created_at < moment - config["AUTH_SESSION_ABSOLUTE_TIMEOUT"]))
        .execution_options(synchronize_session=False)
    )
    row = UserSession(token_hash=hash_token(token), user=user, created_at=moment, last_seen_at=moment,
                      ip_address=client_address(),
                      user_agent=(request.user_agent.string or "")[:255] if has_request_context() else "")
    db.session.add(row)
    language = session.get("lang")
    session.clear()  # drops everything from before the login, the CSRF token included
    if language:
        session["lang"] = language
    session[SESSION_TOKEN_KEY] = token
    login_user(user, remember=False)
    g.auth_session_id = None
    return row


def load_session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the cookie's token must match a live session row of this active user."""
    token = session.get(SESSION_TOKEN_KEY)
    if not isinstance(token, str) or not user_id.isdigit():
        return None
    row = db.session.scalar(
        sa.select(UserSession).options(joinedload(UserSession.user)).filter_by(token_hash=hash_token(token))
    )
    if row is None or row.user_id != int(user_id) or not row.user.active:
        return None
    moment = utcnow()
    config = current_app.config
    if (moment - row.last_seen_at > config["AUTH_SESSION_IDLE_TIMEOUT"]
            or moment - row.created_at > config["AUTH_SESSION_ABSOLUTE_TIMEOUT"]):
        _write_aside(sa.delete(UserSession).where(UserSession.id == row.id))
        return None
    if moment - row.last_seen_at >= config["AUTH_SESSION_TOUCH_INTERVAL"]:
        _write_aside(sa.update(UserSession).where(UserSession.id == row.id).values(last_seen_at=moment))
    g.auth_session_id = row.id
    return row.user


def _write_aside(statement) -> None:
    """Bookkeeping on its own connection and transaction, so it never commits the request's pending work."""
    with db.engine.begin() as connection:
        connection.execute(statement)


def current_session_id() -> int | None:
    return g.get("auth_session_id")


def active_sessions(user: User) -> list[UserSession]:
    """The account's sessions that have not timed out, newest activity first."""
    moment = utcnow()
    config = current_app.config
    return list(db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id,
               UserSession.last_seen_at >= moment - config["AUTH_SESSION_IDLE_TIMEOUT"],
               UserSession.created_at >= moment - config["AUTH_SESSION_ABSOLUTE_TIMEOUT"])
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ))


def end_session(user: User, session_id: int) -> bool:
    """End one session of `user` (False if it is not theirs or already gone). The caller commits."""
    ended = db.session.execute(
        sa.delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended:
        record_event(AuditAction.SESSION_ENDED, user, object_type="user", object_id=user.id)
    return bool(ended)


def end_all_sessions(user: User, *, except_id: int | None = None) -> int:
    """End every session of `user` (but `except_id`) at once, on every process and host (their rows are deleted;
    the next request with an old cookie finds no row and lands on the login page). The caller commits."""
    statement = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if except_id is not None:
        statement = statement.where(UserSession.id != except_id)
    return db.session.execute(statement.execution_options(synchronize_session=False)).rowcount


def logout(user: User) -> None:
    """Log out: ends every session of the account (on all devices) and clears this browser's cookie."""
    end_all_sessions(user)
    record_event(AuditAction.LOGOUT, user, object_type="user", object_id=user.id)
    forget_browser()


def forget_browser() -> None:
    """Clear this browser's login cookie (keeping only the language choice)."""
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
