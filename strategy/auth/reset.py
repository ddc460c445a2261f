"""Self-service password reset ("Passwort vergessen?"): a one-time link by e-mail, without account enumeration.

The link follows the rules of the admin's set-password link (auth/links.py: 72 h, once, a newer one replaces
older ones). Whoever asks gets the same answer, whether the address has an account or not; the request
does the same work either way up to the database writes (the mail itself is rendered for an unknown address
too and thrown away) and the mail goes out after the response (strategy/mail.py), so the answer's timing
does not tell either. Requests are throttled per address asked for and per client address, both counted in
the database (login_throttle rows "reset-email:…" and "reset-address:…"), for known and unknown addresses
alike. Nothing here commits.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from ..audit import AuditAction, client_address, record_event
from ..mail import absolute_url, language_of, render_mail, send_mail
from ..models import utcnow
from .links import issue_set_password_token
from .throttling import _throttle_row, user_by_email
from .tokens import hash_token


def request_password_reset(email: str) -> datetime | None:
    """Mail a reset link if `email` belongs to an active account. Returns when the asker may try again if
    throttled (the same for every address), else None."""
    email = (email or "").strip()
    config = current_app.config
    blocked = _count_request("reset-email:" + hash_token(email.lower()), config["AUTH_RESET_PER_EMAIL"])
    address = client_address()
    if address:
        blocked = max(filter(None, [blocked, _count_request("reset-address:" + address,
                                                            config["AUTH_RESET_PER_ADDRESS"])]), default=None)
    user = user_by_email(email)
    known = user is not None and user.active
    record_event(AuditAction.PASSWORD_RESET_REQUESTED, None, object_type="user" if known else "",
                 object_id=user.id if known else "",
                 detail={**({} if known else {"account": "unknown"}), **({"throttled": True} if blocked else {})})
    if blocked:
        return blocked
    hours = int(config["AUTH_SET_PASSWORD_LINK_VALIDITY"].total_seconds() // 3600)
    if not known:
        # The same rendering work as for a real account, so the answer takes as long.
        render_mail("password_reset", language_of(None), recipient=_Nobody(), hours=hours,
                    link=absolute_url("auth.set_password", token=hash_token(email)))
        return None
    token = issue_set_password_token(user, created_by=None)
    send_mail(user, "password_reset", hours=hours, link=absolute_url("auth.set_password", token=token))
    return None


class _Nobody:
    name = ""


def _count_request(key: str, limit: int) -> datetime | None:
    """Count one request on `key` within AUTH_RESET_WINDOW; past `limit` the key is blocked until the window ends."""
    window = current_app.config["AUTH_RESET_WINDOW"]
    moment = utcnow()
    row = _throttle_row(key, create=True)
    if row.last_failed_login_at is None or moment - row.last_failed_login_at > window:
        row.failed_login_count = 0
        row.last_failed_login_at = moment  # the window starts with its first request
    row.failed_login_count += 1
    if row.failed_login_count > limit:
        row.locked_until = row.last_failed_login_at + window
        return row.locked_until
    return None
