"""API tokens: created for a user, shown once, stored as a SHA-256 hash; the only way to log in to the API.

Tokens are 256 random bits, so a fast hash is enough (nothing to brute-force); session cookies are never
looked at, so a page visited in a browser cannot make API calls on its reader's behalf.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import request
from werkzeug.exceptions import Unauthorized

from ..auth.tokens import hash_token
from ..extensions import db
from ..models import ApiToken, User, utcnow

TOKEN_PREFIX = "gst_"
# Writing last_used_at on every request would turn reads into writes; once a minute is enough to show it.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the token in clear, which is never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name.strip()[:100], prefix=token[:10], token_hash=hash_token(token))
    db.session.add(row)
    return row, token


def revoke(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()


def revoke_all(user: User) -> int:
    """Revoke every token of `user` that still works (deactivation, password change); returns how many."""
    return db.session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


def api_user() -> User | None:
    """The user behind the request's bearer token; None without an Authorization header.

    A header that is present but not a valid, unrevoked token of an active user is a 401, not anonymous
    access, so a mistyped or revoked token is noticed instead of silently reading public data.
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    row = db.session.scalar(db.select(ApiToken).filter_by(token_hash=hash_token(token.strip())))
    if row is None or row.revoked_at is not None or not row.user.active:
        raise Unauthorized()
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
        row.last_used_at = now
        db.session.commit()
    return row.user
