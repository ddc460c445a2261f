"""Two-factor login with time-based one-time codes (TOTP, RFC 6238). Nothing here commits."""
from __future__ import annotations

import hmac
import re

import pyotp
import sqlalchemy as sa

from ..audit import AuditAction, record_event
from ..extensions import db
from ..models import User, UserSession, utcnow
from .sessions import current_session_id, end_all_sessions

SETUP_TWO_FACTOR_KEY = "auth_setup_2fa"
TOTP_ISSUER = "Gesamtstrategie"


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def pending_totp_secret(user: User) -> str:
    """The secret offered on the setup page: kept on this session's row until confirmed, so reloading the page
    shows the same one. The caller commits."""
    row = db.session.get(UserSession, current_session_id())
    if row is None or row.user_id != user.id:
        raise LookupError("no current session")
    if not row.totp_setup_secret:
        row.totp_setup_secret = new_totp_secret()
    return row.totp_setup_secret


def _matching_step(secret: str, code: str) -> int | None:
    """The time-step whose code this is (the current one or one step either side for clock drift)."""
    code = re.sub(r"\s+", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(utcnow())
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def consume_totp_code(user: User, code: str) -> bool:
    """True if `code` is valid for the account and newer than the last one used; it then cannot be used again
    (the step is claimed with a conditional UPDATE, so two processes cannot both accept it)."""
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code)
    if step is None:
        return False
    claimed = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return False
    user.totp_last_step = step
    return True


def enable_totp(user: User, secret: str, code: str) -> bool:
    """Turn on two-factor login once the user proved their app shows the right code. The caller commits."""
    step = _matching_step(secret, code)
    if step is None:
        return False
    user.totp_secret = secret
    user.totp_last_step = step
    db.session.execute(sa.update(UserSession).where(UserSession.user_id == user.id).values(totp_setup_secret=None)
                       .execution_options(synchronize_session=False))
    # Like a password change: a session opened with the password alone (by whoever knew it) ends now.
    end_all_sessions(user, except_id=current_session_id())
    record_event(AuditAction.TWO_FACTOR_ENABLED, user, object_type="user", object_id=user.id)
    return True


def disable_totp(user: User, *, by: User) -> None:
    """Turn off two-factor login (by the user, or an admin for a lost phone). The caller commits."""
    user.totp_secret = None
    user.totp_last_step = None
    record_event(AuditAction.TWO_FACTOR_DISABLED, by, object_type="user", object_id=user.id)
