"""Logging in: password, then the second factor if the account has one, then a fresh session."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..audit import AuditAction, record_event
from ..models import User, UserSession, utcnow
from .devices import known_device
from .passwords import hash_password, needs_rehash, too_long, verify_password
from .sessions import start_session
from .throttling import (
    account_counter,
    address_counter,
    blocked_until,
    device_counter,
    register_failure,
    reset_counter,
    user_by_email,
)
from .totp import consume_totp_code

PENDING_TWO_FACTOR_KEY = "auth_pending_2fa"


@dataclass
class LoginAttempt:
    user: User | None = None  # set when the credentials were right
    blocked_until: datetime | None = None  # throttled: nothing was checked

    @property
    def retry_after_seconds(self) -> int:
        if self.blocked_until is None:
            return 0
        return max(1, int((self.blocked_until - utcnow()).total_seconds() + 0.999))


def _blocked(email: str, user: User | None, device: str | None) -> datetime | None:
    """Until when this login is throttled. A known device of the account is throttled on its own counter only,
    so someone who locks the account with wrong passwords does not lock out its holder (SECURITY.md)."""
    if device is not None:
        return blocked_until(device_counter(device, create=False))
    return blocked_until(account_counter(email, user, create=False)) or blocked_until(address_counter(create=False))


def check_password_login(email: str, password: str) -> LoginAttempt:
    """First step of a login. Unknown accounts, inactive accounts and wrong passwords all run one argon2
    verification and the same counting, and give the same answer. Counters are reset only when the whole
    login (with a second factor, if any) succeeds, in `complete_login`."""
    email = email.strip()
    user = user_by_email(email)
    device = known_device(user)
    blocked = _blocked(email, user, device)
    if blocked is not None:
        return LoginAttempt(blocked_until=blocked)
    if too_long(password):
        ok = False
    else:
        ok = verify_password(user.password_hash if user else None, password)
    if ok and user is not None and user.active:
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        return LoginAttempt(user=user)
    register_failure(email, user, action=AuditAction.LOGIN_FAILED, device=device)
    return LoginAttempt()


def check_two_factor_login(user: User, code: str) -> LoginAttempt:
    """Second step for accounts with TOTP: a fresh code, throttled like passwords."""
    device = known_device(user)
    blocked = _blocked(user.email, user, device)
    if blocked is not None:
        return LoginAttempt(blocked_until=blocked)
    if user.active and consume_totp_code(user, code):
        return LoginAttempt(user=user)
    register_failure(user.email, user, action=AuditAction.LOGIN_TWO_FACTOR_FAILED, device=device)
    return LoginAttempt()


def complete_login(user: User) -> UserSession:
    """Both factors are right: clear the counters, record the login and start a session. A login while the
    account or address is locked came from a known device: the log says so, for the account holder."""
    locked = blocked_until(user) or blocked_until(address_counter(create=False))
    if locked is not None:
        record_event(AuditAction.LOGIN_KNOWN_DEVICE_DURING_LOCK, user, object_type="user", object_id=user.id,
                     detail={"until": locked.isoformat()})
    reset_counter(user)
    user.last_login_at = utcnow()
    record_event(AuditAction.LOGIN, user, object_type="user", object_id=user.id)
    return start_session(user)
