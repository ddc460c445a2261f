"""Login throttling: failed logins are counted per account and per client address, in the database so the
count holds across processes and hosts; repeated failures delay and then lock. Nothing here commits."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..audit import AuditAction, client_address, record_event
from ..extensions import db
from ..models import LoginThrottle, User, dialect_insert, utcnow
from .tokens import hash_token


def user_by_email(email: str) -> User | None:
    if not email or len(email) > 254:
        return None
    return db.session.scalar(sa.select(User).filter(sa.func.lower(User.email) == email.lower()))


def _email_key(email: str) -> str:
    return "email:" + hash_token(email.lower())


def account_counter(email: str, user: User | None, *, create: bool):
    """The failure counter of an account: the user row, or a throttle row for an address without account."""
    if user is not None:
        return user
    return _throttle_row(_email_key(email), create=create)


def address_counter(*, create: bool) -> LoginThrottle | None:
    address = client_address()
    if not address:
        return None
    return _throttle_row("address:" + address, create=create)


def device_counter(device: str, *, create: bool) -> LoginThrottle | None:
    """The failure counter of one known device: while the account is locked, it is what throttles that browser."""
    return _throttle_row("device:" + hash_token(device), create=create)


def _throttle_row(key: str, *, create: bool) -> LoginThrottle | None:
    statement = sa.select(LoginThrottle).filter_by(key=key)
    if not create:
        return db.session.scalar(statement)
    # Created with ON CONFLICT DO NOTHING so two processes counting the first failure cannot collide.
    db.session.execute(dialect_insert(LoginThrottle).values(key=key, failed_login_count=0).on_conflict_do_nothing())
    return db.session.scalar(statement.with_for_update().execution_options(populate_existing=True))


def blocked_until(counter) -> datetime | None:
    if counter is None or counter.locked_until is None:
        return None
    return counter.locked_until if counter.locked_until > utcnow() else None


def register_failure(email: str, user: User | None, *, action: AuditAction, device: str | None = None) -> None:
    """Count a failed login on the account, the client address and, from a known device, on that device."""
    config = current_app.config
    moment = utcnow()
    if user is not None:
        # A no-op write first takes the row's lock (PostgreSQL) or the database's write lock (SQLite), so the
        # count read next is the latest one and no failure made in parallel by another process is lost.
        db.session.execute(sa.update(User).where(User.id == user.id)
                           .values(failed_login_count=User.failed_login_count)
                           .execution_options(synchronize_session=False))
        db.session.refresh(user)
    account = account_counter(email, user, create=True)
    record_event(action, user, object_type="user" if user else "", object_id=user.id if user else "",
                 detail={} if user else {"account": "unknown"})
    if _count_failure(account, moment, delay_after=config["AUTH_ACCOUNT_DELAY_AFTER"],
                      max_delay=config["AUTH_ACCOUNT_MAX_DELAY"], lock_after=config["AUTH_ACCOUNT_LOCK_AFTER"],
                      lock_duration=config["AUTH_ACCOUNT_LOCK_DURATION"]):
        record_event(AuditAction.ACCOUNT_LOCKED, user, object_type="user" if user else "",
                     object_id=user.id if user else "",
                     detail={"until": account.locked_until.isoformat(), **({} if user else {"account": "unknown"})})
    if device is not None:
        _count_failure(device_counter(device, create=True), moment, delay_after=config["AUTH_ACCOUNT_DELAY_AFTER"],
                       max_delay=config["AUTH_ACCOUNT_MAX_DELAY"], lock_after=config["AUTH_ACCOUNT_LOCK_AFTER"],
                       lock_duration=config["AUTH_ACCOUNT_LOCK_DURATION"])
    address = address_counter(create=True)
    if address is not None and _count_failure(
            address, moment, delay_after=config["AUTH_ADDRESS_DELAY_AFTER"],
            max_delay=config["AUTH_ADDRESS_MAX_DELAY"], lock_after=config["AUTH_ADDRESS_LOCK_AFTER"],
            lock_duration=config["AUTH_ADDRESS_LOCK_DURATION"]):
        record_event(AuditAction.ADDRESS_LOCKED, None, detail={"until": address.locked_until.isoformat()})
    # Forget old failures of other addresses and unknown accounts, so the table stays small.
    db.session.execute(
        sa.delete(LoginThrottle)
        .where(LoginThrottle.last_failed_login_at < moment - config["AUTH_FAILURE_WINDOW"],
               sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < moment))
        .execution_options(synchronize_session=False)
    )


def _count_failure(counter, moment: datetime, *, delay_after: int, max_delay: timedelta, lock_after: int,
                   lock_duration: timedelta) -> bool:
    """Count one failure; after `delay_after` each one makes the next try wait longer, at `lock_after` the
    counter locks for `lock_duration`. Returns True when this failure caused the lock."""
    last = counter.last_failed_login_at
    served_lock = counter.failed_login_count >= lock_after and (counter.locked_until or moment) <= moment
    if last is None or moment - last > current_app.config["AUTH_FAILURE_WINDOW"] or served_lock:
        counter.failed_login_count = 0
    counter.failed_login_count += 1
    counter.last_failed_login_at = moment
    count = counter.failed_login_count
    if count >= lock_after:
        counter.locked_until = moment + lock_duration
        return count == lock_after
    if count >= delay_after:
        counter.locked_until = moment + min(timedelta(seconds=2 ** (count - delay_after + 1)), max_delay)
    return False


def reset_counter(user: User) -> None:
    user.failed_login_count = 0
    user.locked_until = None
    user.last_failed_login_at = None


def unlock_account(user: User, *, by: User) -> None:
    """An admin lifts a login lock before it runs out. The caller commits."""
    reset_counter(user)
    record_event(AuditAction.ACCOUNT_UNLOCKED, by, object_type="user", object_id=user.id)
