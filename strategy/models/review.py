"""Review comments on a field's row: steering asks, coordinators answer, either side resolves."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, utcnow
from .strategy import Field


class ReviewComment(db.Model):
    """A comment in a field's review thread, optionally on one column; replies are one level deep."""

    __table_args__ = (sa.Index("ix_review_comment_field_created", "field_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"))
    # A reply names the comment it answers; a reply is never answered itself (one level of threading).
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("review_comment.id", ondelete="CASCADE"), index=True)
    # A key of strategy.framework (e.g. "vision"), or None for the row as a whole.
    column: Mapped[str | None] = mapped_column(sa.String(40))
    body: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Kept as text so the thread stays readable after the account is gone or renamed.
    author_name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    resolved_by_name: Mapped[str] = mapped_column(sa.String(200), default="")

    field: Mapped[Field] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    parent: Mapped[ReviewComment | None] = relationship(remote_side=[id], back_populates="replies")
    replies: Mapped[list[ReviewComment]] = relationship(
        back_populates="parent", order_by="ReviewComment.created_at", cascade="all, delete-orphan"
    )

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None
