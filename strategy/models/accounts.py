from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow
from .organisation import Person
from .strategy import Field, Strategy


class Role(enum.StrEnum):
    """A user's role in one strategy. Admins are marked on the user and may do everything."""

    STEERING = "steering"  # Koordinierungsgruppe / Lenkungskreis
    COORDINATOR = "coordinator"  # Handlungsfeld-Koordination (ZHF-KOORD)
    PARTNER = "partner"


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_login_count: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor login (TOTP): the shared secret and the last time-step used, so a code works only once.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # The language the person last chose in the app ("de", "en"); e-mails to them are written in it.
    language: Mapped[str | None] = mapped_column(sa.String(10))

    person: Mapped[Person | None] = relationship(back_populates="user")
    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")
    assignments: Mapped[list[FieldAssignment]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login asks this
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.email!r}>"


class Membership(db.Model):
    """A user's role in one strategy."""

    __table_args__ = (sa.UniqueConstraint("user_id", "strategy_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role))

    user: Mapped[User] = relationship(back_populates="memberships")
    strategy: Mapped[Strategy] = relationship()


class FieldAssignment(db.Model):
    """Makes a user a coordinator of a field: they may edit its row."""

    __table_args__ = (sa.UniqueConstraint("user_id", "field_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship(back_populates="assignments")
    field: Mapped[Field] = relationship(back_populates="assignments")
