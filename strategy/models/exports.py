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


class ExportPiece(db.Model):
    """One rendered piece of a document made in pieces (the framework's front, a run of rows of one table
    part, the page-number sheet), stored by what it is made of: `key` is a hash of the piece's HTML, its
    stylesheet, the PDF variant (tagging), the rendering code and WeasyPrint's version. The HTML holds the
    language, the paper and the rows, so a field that did not change finds its pieces again, in the live
    framework, the approved one and every edition alike. Besides the PDF it keeps what joining needs
    without the layout: its page count, where its anchors landed and which row stands at each page's top.
    Pruned by last use and total size (strategy.exports.services.prune_pieces); a strategy's pieces go with it.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)  # the hash also covers strategy_id
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary)
    size: Mapped[int] = mapped_column(default=0)  # len(pdf), so pruning by size never reads the PDFs
    page_count: Mapped[int] = mapped_column(default=0)
    # {"anchors": {id: page}, "row_tops": {page: [label, continued]}} (pages 1-based within the piece)
    layout: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    render_seconds: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ExportJob(db.Model):
    """One export rendered on the queue (EXPORT_QUEUE = "procrastinate"): who asked for which document, and
    how far it got. The PDF itself lands in ExportCache, where every host finds it; this row only says
    "wird erstellt …" until then. `token` names the job in its address (unguessable, so an anonymous
    reader's job is theirs alone); `requester_id` is whose reading the worker renders (None: the public)."""

    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

    __table_args__ = (sa.Index("ix_export_job_lookup", "kind", "strategy_id", "subject", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(43), unique=True)
    # "framework", "edition" or "changes" (what the worker builds), and the cache kind ("framework-a3", ...)
    document: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(40))
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    edition_id: Mapped[int | None] = mapped_column(sa.ForeignKey("edition.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(sa.String(60), default="")
    paper: Mapped[str] = mapped_column(sa.String(2), default="a3")
    locale: Mapped[str] = mapped_column(sa.String(10))
    requester_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # The content version asked for (ExportCache.content_key as the requester read it then).
    content_key: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    # Which worker has it ("host:pid"), for operators; the queue itself tracks liveness.
    worker: Mapped[str] = mapped_column(sa.String(120), default="")
    queue_job_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    # How long the last render of this document took (seconds), for the progress estimate.
    expected_seconds: Mapped[float | None] = mapped_column()
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    page_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        return self.state in (self.DONE, self.FAILED)
