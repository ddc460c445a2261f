"""Editions (Fassungen): frozen, dated states of a whole framework that a committee decided on."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, utcnow
from .strategy import Strategy


class EditionIsImmutable(Exception):
    """An edition was changed or deleted after it was made; editions are never changed."""


class Edition(db.Model):
    """The approved state of every field of a strategy at one moment, frozen as JSON.

    `content` is edition-shaped (see strategy.comparison): {"strategy": {...}, "fields": [snapshots],
    "fields_without_approval": [...]}; it never refers to live rows, so the edition reads the same after
    fields are renamed, people removed or the structure changed.
    """

    __table_args__ = (sa.Index("ix_edition_strategy_created", "strategy_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(sa.String(200))
    decided_on: Mapped[date]
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Kept as text so "who made it" stays readable after the account is gone or renamed.
    created_by_name: Mapped[str] = mapped_column(sa.String(200), default="")

    strategy: Mapped[Strategy] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Edition {self.title!r}>"


@sa.event.listens_for(Edition, "before_update")
def _refuse_update(mapper, connection, target: Edition) -> None:
    raise EditionIsImmutable(f"edition {target.id} cannot be changed")


@sa.event.listens_for(Edition, "before_delete")
def _refuse_delete(mapper, connection, target: Edition) -> None:
    raise EditionIsImmutable(f"edition {target.id} cannot be deleted")
