"""Accounts, login and sessions: the rules. Views call these and commit; nothing here commits.

Secrets never leave this module in clear: session tokens and set-password tokens are stored as SHA-256
hashes, passwords as argon2id hashes, and neither appears in the audit log.
"""
from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from flask import current_app, g, has_request_context, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import AuditEvent, LoginThrottle, Role, SetPasswordToken, Setting, User, UserSession, utcnow
from .passwords import hash_password, needs_rehash, password_problems, too_long, verify_password

SESSION_TOKEN_KEY = "auth_session"
PENDING_TWO_FACTOR_KEY = "auth_pending_2fa"
SETUP_TWO_FACTOR_KEY = "auth_setup_2fa"
TWO_FACTOR_REQUIRED_SETTING = "auth.two_factor_required_for_privileged"
TOTP_ISSUER = "Gesamtstrategie"


# --- time and addresses --------------------------------------------------------------------------

def now() -> datetime:
    """The current UTC time; tests inject a clock through the AUTH_CLOCK setting instead of sleeping."""
    clock = current_app.config.get("AUTH_CLOCK")
    return clock() if clock else utcnow()


def client_address() -> str:
    """The client's address: the socket peer, or the entry ProxyFix took from exactly PROXY_FIX_X_FOR hops."""
    return (request.remote_addr or "")[:64] if has_request_context() else ""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- audit log -----------------------------------------------------------------------------------

def record_event(action: str, actor: User | None, *, object_type: str = "", object_id: str = "",
                 detail: dict | None = None) -> AuditEvent:
    """Append an audit event. Never put passwords, tokens or cookies into `detail`."""
    event = AuditEvent(
        actor=actor,
        actor_label=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip_address=client_address(),
    )
    db.session.add(event)
    return event


# --- passwords -----------------------------------------------------------------------------------

def validate_new_password(password: str, *, user: User | None = None) -> list[str]:
    """German messages for what is wrong with a new password (empty list: acceptable)."""
    return password_problems(password, email=user.email if user else "", name=user.name if user else "")


def set_password(user: User, password: str) -> None:
    """Store a new password (already validated) and clear any login lock."""
    user.password_hash = hash_password(password)
    user.password_changed_at = now()
    _reset_counter(user)


def change_password(user: User, current_password: str, new_password: str) -> dict[str, list[str]]:
    """The account page's password change. Returns errors per form field; on success every session of the
    account has ended (the caller starts a fresh one for the browser that asked)."""
    if too_long(current_password) or not verify_password(user.password_hash, current_password):
        record_event("password_change_failed", user, object_type="user", object_id=str(user.id))
        return {"current_password": [_("Das aktuelle Passwort stimmt nicht.")]}
    problems = validate_new_password(new_password, user=user)
    if not problems and new_password == current_password:
        problems = [_("Das neue Passwort muss sich vom bisherigen unterscheiden.")]
    if problems:
        return {"new_password": problems}
    set_password(user, new_password)
    end_all_sessions(user)
    record_event("password_changed", user, object_type="user", object_id=str(user.id))
    return {}


# --- set-password links --------------------------------------------------------------------------

class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


def create_set_password_link(user: User, *, created_by: User | None) -> str:
    """A one-time URL to set the password of `user` (new account or forgotten password).

    Valid for AUTH_SET_PASSWORD_LINK_VALIDITY (72 h), usable once; older unused links of the same account stop
    working. Only the token's hash is stored. The caller commits. Needs a request context (or SERVER_NAME)
    to build the absolute URL.
    """
    moment = now()
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
    record_event("set_password_link_created", created_by, object_type="user", object_id=str(user.id),
                 detail={"user": user.email})
    return url_for("auth.set_password", token=token, _external=True)


def find_set_password_token(token: str) -> tuple[SetPasswordToken | None, LinkProblem | None]:
    """The link's row if it can still be used, else the reason it cannot."""
    row = db.session.scalar(sa.select(SetPasswordToken).filter_by(token_hash=hash_token(token)))
    if row is None:
        return None, LinkProblem.UNKNOWN
    if row.used_at is not None:
        return None, LinkProblem.USED
    if row.superseded_at is not None:
        return None, LinkProblem.SUPERSEDED
    if row.expires_at <= now():
        return None, LinkProblem.EXPIRED
    return row, None


def link_problem_message(problem: LinkProblem) -> str:
    ask = _("Bitte bitten Sie die Administration um einen neuen Link.")
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
    claimed = db.session.execute(
        sa.update(SetPasswordToken)
        .where(SetPasswordToken.id == row.id, SetPasswordToken.used_at.is_(None),
               SetPasswordToken.superseded_at.is_(None), SetPasswordToken.expires_at > now())
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return [link_problem_message(LinkProblem.USED)]
    set_password(row.user, password)
    end_all_sessions(row.user)
    record_event("password_set_by_link", row.user, object_type="user", object_id=str(row.user_id))
    return []


# --- server-side sessions ------------------------------------------------------------------------

def start_session(user: User) -> UserSession:
    """Log `user` in on this browser: a new random session token (no fixation), stored only as its hash."""
    token = secrets.token_urlsafe(32)
    moment = now()
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
    moment = now()
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
    moment = now()
    config = current_app.config
    return list(db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == user.id,
               UserSession.last_seen_at >= moment - config["AUTH_SESSION_IDLE_TIMEOUT"],
               UserSession.created_at >= moment - config["AUTH_SESSION_ABSOLUTE_TIMEOUT"])
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ))


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def describe_device(user_agent: str) -> str:
    """A readable "Firefox auf Windows" for the session list; the raw string when nothing is recognised."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return _("%(browser)s auf %(system)s", browser=browser, system=system)
    return browser or system or user_agent[:80] or _("unbekanntes Gerät")


def end_session(user: User, session_id: int) -> bool:
    """End one session of `user` (False if it is not theirs or already gone). The caller commits."""
    ended = db.session.execute(
        sa.delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended:
        record_event("session_ended", user, object_type="user", object_id=str(user.id))
    return bool(ended)


def end_all_sessions(user: User) -> int:
    """End every session of `user` at once, on every process and host (their rows are deleted; the next
    request with an old cookie finds no row and lands on the login page). The caller commits."""
    return db.session.execute(
        sa.delete(UserSession).where(UserSession.user_id == user.id).execution_options(synchronize_session=False)
    ).rowcount


def logout(user: User) -> None:
    """Log out: ends every session of the account (on all devices) and clears this browser's cookie."""
    end_all_sessions(user)
    record_event("logout", user, object_type="user", object_id=str(user.id))
    forget_browser()


def forget_browser() -> None:
    """Clear this browser's login cookie (keeping only the language choice)."""
    logout_user()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def pending_totp_secret(user: User) -> str:
    """The secret offered on the setup page: kept on this session's row until confirmed, so reloading the page
    shows the same one. The caller commits."""
    row = db.session.get(UserSession, current_session_id())
    if row is None or row.user_id != user.id:
        raise LookupError("no current session")
    if not row.totp_setup_secret:
        row.totp_setup_secret = new_totp_secret()
    return row.totp_setup_secret


# --- login and throttling ------------------------------------------------------------------------

@dataclass
class LoginAttempt:
    user: User | None = None  # set when the credentials were right
    blocked_until: datetime | None = None  # throttled: nothing was checked

    @property
    def retry_after_seconds(self) -> int:
        if self.blocked_until is None:
            return 0
        return max(1, int((self.blocked_until - now()).total_seconds() + 0.999))


def check_password_login(email: str, password: str) -> LoginAttempt:
    """First step of a login. Unknown accounts, inactive accounts and wrong passwords all run one argon2
    verification and the same counting, and give the same answer. Counters are reset only when the whole
    login (with a second factor, if any) succeeds, in `complete_login`."""
    email = email.strip()
    user = _user_by_email(email)
    blocked = _blocked_until(_account_counter(email, user, create=False))
    if blocked is None:
        blocked = _blocked_until(_address_counter(create=False))
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
    _register_failure(email, user, action="login_failed")
    return LoginAttempt()


def check_two_factor_login(user: User, code: str) -> LoginAttempt:
    """Second step for accounts with TOTP: a fresh code, throttled like passwords."""
    blocked = _blocked_until(user) or _blocked_until(_address_counter(create=False))
    if blocked is not None:
        return LoginAttempt(blocked_until=blocked)
    if user.active and consume_totp_code(user, code):
        return LoginAttempt(user=user)
    _register_failure(user.email, user, action="login_two_factor_failed")
    return LoginAttempt()


def complete_login(user: User) -> UserSession:
    """Both factors are right: clear the counters, record the login and start a session."""
    _reset_counter(user)
    user.last_login_at = now()
    record_event("login", user, object_type="user", object_id=str(user.id))
    return start_session(user)


def _user_by_email(email: str) -> User | None:
    if not email or len(email) > 254:
        return None
    return db.session.scalar(sa.select(User).filter(sa.func.lower(User.email) == email.lower()))


def _email_key(email: str) -> str:
    return "email:" + hash_token(email.lower())


def _account_counter(email: str, user: User | None, *, create: bool):
    """The failure counter of an account: the user row, or a throttle row for an address without account."""
    if user is not None:
        return user
    return _throttle_row(_email_key(email), create=create)


def _address_counter(*, create: bool) -> LoginThrottle | None:
    address = client_address()
    if not address:
        return None
    return _throttle_row("address:" + address, create=create)


def _throttle_row(key: str, *, create: bool) -> LoginThrottle | None:
    statement = sa.select(LoginThrottle).filter_by(key=key)
    if not create:
        return db.session.scalar(statement)
    # Created with ON CONFLICT DO NOTHING so two processes counting the first failure cannot collide.
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    db.session.execute(insert(LoginThrottle).values(key=key, failed_login_count=0).on_conflict_do_nothing())
    return db.session.scalar(statement.with_for_update().execution_options(populate_existing=True))


def _blocked_until(counter) -> datetime | None:
    if counter is None or counter.locked_until is None:
        return None
    return counter.locked_until if counter.locked_until > now() else None


def _register_failure(email: str, user: User | None, *, action: str) -> None:
    config = current_app.config
    moment = now()
    if user is not None:
        # A no-op write first takes the row's lock (PostgreSQL) or the database's write lock (SQLite), so the
        # count read next is the latest one and no failure made in parallel by another process is lost.
        db.session.execute(sa.update(User).where(User.id == user.id)
                           .values(failed_login_count=User.failed_login_count)
                           .execution_options(synchronize_session=False))
        db.session.refresh(user)
    account = _account_counter(email, user, create=True)
    record_event(action, user, object_type="user" if user else "", object_id=str(user.id) if user else "",
                 detail={} if user else {"account": "unknown"})
    if _count_failure(account, moment, delay_after=config["AUTH_ACCOUNT_DELAY_AFTER"],
                      max_delay=config["AUTH_ACCOUNT_MAX_DELAY"], lock_after=config["AUTH_ACCOUNT_LOCK_AFTER"],
                      lock_duration=config["AUTH_ACCOUNT_LOCK_DURATION"]):
        record_event("account_locked", user, object_type="user" if user else "",
                     object_id=str(user.id) if user else "",
                     detail={"until": account.locked_until.isoformat(), **({} if user else {"account": "unknown"})})
    address = _address_counter(create=True)
    if address is not None and _count_failure(
            address, moment, delay_after=config["AUTH_ADDRESS_DELAY_AFTER"],
            max_delay=config["AUTH_ADDRESS_MAX_DELAY"], lock_after=config["AUTH_ADDRESS_LOCK_AFTER"],
            lock_duration=config["AUTH_ADDRESS_LOCK_DURATION"]):
        record_event("address_locked", None, detail={"until": address.locked_until.isoformat()})
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


def _reset_counter(user: User) -> None:
    user.failed_login_count = 0
    user.locked_until = None
    user.last_failed_login_at = None


def unlock_account(user: User, *, by: User) -> None:
    """An admin lifts a login lock before it runs out. The caller commits."""
    _reset_counter(user)
    record_event("account_unlocked", by, object_type="user", object_id=str(user.id), detail={"user": user.email})


# --- two-factor login (TOTP) ---------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    """The time-step whose code this is (the current one or one step either side for clock drift)."""
    code = re.sub(r"\s+", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now())
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
    record_event("two_factor_enabled", user, object_type="user", object_id=str(user.id))
    return True


def disable_totp(user: User, *, by: User) -> None:
    """Turn off two-factor login (by the user, or an admin for a lost phone). The caller commits."""
    user.totp_secret = None
    user.totp_last_step = None
    record_event("two_factor_disabled", by, object_type="user", object_id=str(user.id), detail={"user": user.email})


# --- settings ------------------------------------------------------------------------------------

def get_setting(key: str, default=None):
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def set_setting(key: str, value, *, by: User) -> None:
    """Change a site-wide setting (stored in the database, so every host sees it). The caller commits."""
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    before = row.value
    row.value = value
    row.updated_by_id = by.id
    record_event("setting_changed", by, object_type="setting", object_id=key, detail={"before": before, "after": value})


def two_factor_required_for_privileged() -> bool:
    return bool(get_setting(TWO_FACTOR_REQUIRED_SETTING, False))


def set_two_factor_required(required: bool, *, by: User) -> None:
    """Admin switch: two-factor login mandatory for admins and steering members."""
    set_setting(TWO_FACTOR_REQUIRED_SETTING, bool(required), by=by)


def two_factor_mandatory_for(user: User) -> bool:
    privileged = user.is_admin or any(m.role == Role.STEERING for m in user.memberships)
    return privileged and two_factor_required_for_privileged()
