"""One-time links to set a password (new account or forgotten password). Only the token's hash is stored."""
from __future__ import annotations

import enum
import secrets

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _

from ..audit import AuditAction, record_event
from ..extensions import db
from ..models import SetPasswordToken, User, utcnow
from .passwords import set_password, validate_new_password
from .sessions import end_all_sessions
from .tokens import hash_token


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


def create_set_password_link(user: User, *, created_by: User | None) -> str:
    """A one-time URL to set the password of `user` (new account or forgotten password).

    Valid for AUTH_SET_PASSWORD_LINK_VALIDITY (72 h), usable once; older unused links of the same account stop
    working. The caller commits. Needs a request context (or SERVER_NAME) to build the absolute URL.
    """
    token = issue_set_password_token(user, created_by=created_by)
    record_event(AuditAction.SET_PASSWORD_LINK_CREATED, created_by, object_type="user", object_id=user.id)
    return url_for("auth.set_password", token=token, _external=True)


def issue_set_password_token(user: User, *, created_by: User | None) -> str:
    """The token of a new one-time link (the rules of create_set_password_link); only its hash is stored."""
    moment = utcnow()
    db.session.execute(
        sa.update(SetPasswordToken)
        .where(SetPasswordToken.user_id == user.id, SetPasswordToken.used_at.is_(None),
               SetPasswordToken.superseded_at.is_(None))
        .values(superseded_at=moment)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(SetPasswordToken(
        token_hash=hash_token(token), user=user, created_by=created_by, created_at=moment,
        expires_at=moment + current_app.config["AUTH_SET_PASSWORD_LINK_VALIDITY"],
    ))
    return token


def find_set_password_token(token: str) -> tuple[SetPasswordToken | None, LinkProblem | None]:
    """The link's row if it can still be used, else the reason it cannot."""
    row = db.session.scalar(sa.select(SetPasswordToken).filter_by(token_hash=hash_token(token)))
    if row is None:
        return None, LinkProblem.UNKNOWN
    if row.used_at is not None:
        return None, LinkProblem.USED
    if row.superseded_at is not None:
        return None, LinkProblem.SUPERSEDED
    if row.expires_at <= utcnow():
        return None, LinkProblem.EXPIRED
    return row, None


def link_problem_message(problem: LinkProblem) -> str:
    ask = _("Einen neuen Link erhalten Sie über „Passwort vergessen?“ auf der Anmeldeseite oder von der "
            "Administration.")
    return {
        LinkProblem.UNKNOWN: _("Dieser Link ist ungültig. Prüfen Sie, ob er vollständig kopiert wurde."),
        LinkProblem.USED: _("Dieser Link wurde bereits benutzt und gilt nur einmal."),
        LinkProblem.EXPIRED: _("Dieser Link ist abgelaufen."),
        LinkProblem.SUPERSEDED: _("Für dieses Konto wurde inzwischen ein neuerer Link erstellt; dieser gilt nicht mehr."),
    }[problem] + " " + ask


def use_set_password_token(row: SetPasswordToken, password: str) -> list[str]:
    """Set the password through a link. Returns problems (the link stays usable then); on success the link is
    spent (even against a second request racing this one) and every session of the account has ended."""
    problems = validate_new_password(password, user=row.user)
    if problems:
        return problems
    moment = utcnow()
    claimed = db.session.execute(
        sa.update(SetPasswordToken)
        .where(SetPasswordToken.id == row.id, SetPasswordToken.used_at.is_(None),
               SetPasswordToken.superseded_at.is_(None), SetPasswordToken.expires_at > moment)
        .values(used_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return [link_problem_message(LinkProblem.USED)]
    set_password(row.user, password)
    end_all_sessions(row.user)
    record_event(AuditAction.PASSWORD_SET_BY_LINK, row.user, object_type="user", object_id=row.user_id)
    return []
