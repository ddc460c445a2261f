"""Server-side login state: sessions, set-password links, login throttling and site settings."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, utcnow


class UserSession(db.Model):
    """One logged-in browser. The cookie carries a random token; only its SHA-256 is stored here.

    Deleting the row ends the session on every process and host at once.
    """

    __table_args__ = (sa.Index("ix_user_session_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    # A TOTP secret shown on the setup page but not yet confirmed (kept here, never in the cookie).
    totp_setup_secret: Mapped[str | None] = mapped_column(sa.String(64))

    user: Mapped[User] = relationship()


class SetPasswordToken(db.Model):
    """A one-time link to set a password (new account or forgotten password); only the token's hash is kept."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when a newer link for the same account replaced this one.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class LoginThrottle(db.Model):
    """Failed-login counter for a client address, or for an e-mail address that has no account.

    Kept in the database so the count holds across processes and hosts. `key` is "address:<ip>" or
    "email:<sha256 of the address>" (unknown addresses are throttled like real accounts, so lockouts
    do not reveal which accounts exist).
    """

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(db.Model):
    """A site-wide setting changed at run time by an admin (config files stay the same on every host)."""

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
