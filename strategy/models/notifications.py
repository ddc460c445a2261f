"""In-app notifications and each person's choice, per kind, of how to hear about them."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, str_enum, utcnow
from .strategy import Field, Strategy


class Delivery(enum.StrEnum):
    IMMEDIATELY = "immediately"  # in the app, and an e-mail right away
    DIGEST = "digest"  # in the app, and in the daily digest if still unread
    OFF = "off"  # not notified at all

    @property
    def label(self) -> str:
        return str(DELIVERY_LABELS[self])


DELIVERY_LABELS = {
    Delivery.IMMEDIATELY: _l("sofort per E-Mail"),
    Delivery.DIGEST: _l("täglich in einer Sammel-E-Mail"),
    Delivery.OFF: _l("aus"),
}


class Notification(db.Model):
    """One thing one person should know about; the kind (notifications.KINDS) says how it reads and links."""

    __table_args__ = (sa.Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    strategy_id: Mapped[int | None] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    field_id: Mapped[int | None] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)
    # What else it is about (e.g. "review_comment", 12; a round helper's "round", 3).
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[str] = mapped_column(sa.String(40), default="")
    # What the kind's text needs besides the objects (e.g. the comment as it was written).
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it went out by e-mail (at once, or in a digest); a digest lists only those still unset and unread.
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    strategy: Mapped[Strategy | None] = relationship()
    field: Mapped[Field | None] = relationship()

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(db.Model):
    """A person's choice for one kind; without a row the kind's default holds."""

    __table_args__ = (sa.UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery))
