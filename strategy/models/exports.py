"""Rendered PDF exports, stored once per content version so every host serves them without re-rendering."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class ExportCache(db.Model):
    """One rendered PDF: a document kind for one strategy (and subject: a field, an edition) at one content
    version. `content_key` is a hash of everything the document shows, so a changed row gives a new key
    and an unchanged one finds its PDF again; editions are keyed by the edition itself (rendered once, ever)."""

    __table_args__ = (
        sa.UniqueConstraint("kind", "strategy_id", "subject", "content_key"),
        sa.Index("ix_export_cache_lookup", "kind", "strategy_id", "subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    # Which part of the strategy: "" for the whole framework, "field-4", "edition-2", ...
    subject: Mapped[str] = mapped_column(sa.String(60), default="")
    content_key: Mapped[str] = mapped_column(sa.String(64))
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary)
    page_count: Mapped[int] = mapped_column(default=0)
    render_seconds: Mapped[float] = mapped_column(default=0.0)
    # How often it was served without rendering (tests and operators read it; nothing depends on it).
    hits: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_served_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
