"""Reading access from outside the app: personal API tokens for the open-data API."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, utcnow
from .history import AuditEvent


class ApiToken(db.Model):
    """A personal bearer token: shown once at creation, stored only as its SHA-256 hash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # The first characters of the token, so its owner can tell tokens apart; not enough to use it.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# "Was hat sich geändert?" (status.services.recent_changes) looks up the approvals of a strategy's fields in
# the audit log by object; without this index that is a scan of the whole log.
sa.Index("ix_audit_event_object", AuditEvent.object_type, AuditEvent.object_id, AuditEvent.occurred_at)
