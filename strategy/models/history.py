"""Append-only records of who changed what: revisions of a field's row and the audit log."""
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
from .strategy import Field


class RevisionKind(enum.StrEnum):
    CREATE = "create"
    EDIT = "edit"
    RESTORE = "restore"
    NEXT_STEP = "next_step"
    FINANCING = "financing"
    INDICATOR = "indicator"
    REVIEW = "review"
    IMPORT = "import"

    @property
    def label(self):
        return REVISION_KIND_LABELS[self]


REVISION_KIND_LABELS = {
    RevisionKind.CREATE: _l("angelegt"),
    RevisionKind.EDIT: _l("bearbeitet"),
    RevisionKind.RESTORE: _l("wiederhergestellt"),
    RevisionKind.NEXT_STEP: _l("Schritte geändert"),
    RevisionKind.FINANCING: _l("Finanzierung geändert"),
    RevisionKind.INDICATOR: _l("Kennzahlen geändert"),
    RevisionKind.REVIEW: _l("Prüfung"),
    RevisionKind.IMPORT: _l("importiert"),
}


class Revision(db.Model):
    """An immutable record of one change to a field: who, when, which columns, and the content after it."""

    __table_args__ = (sa.Index("ix_revision_field_created", "field_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="RESTRICT"))
    kind: Mapped[RevisionKind] = mapped_column(str_enum(RevisionKind), default=RevisionKind.EDIT)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="RESTRICT"))
    # Kept as text so the history stays readable after the account is gone or renamed.
    author_name: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the change was, as meaning (strategy.summaries): rendered in the reader's language when read.
    summary_key: Mapped[str | None] = mapped_column(sa.String(60))
    summary_args: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # The same in German, for exports and raw reads; the only summary of revisions from before keys existed.
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    changed_columns: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    content: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    field: Mapped[Field] = relationship()
    author: Mapped[User | None] = relationship()


class AuditEvent(db.Model):
    """Security-relevant events: logins, failed logins, admin actions."""

    __table_args__ = (sa.Index("ix_audit_event_occurred", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str] = mapped_column(sa.String(60), default="")
    object_id: Mapped[str] = mapped_column(sa.String(60), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    ip_address: Mapped[str] = mapped_column(sa.String(64), default="")

    actor: Mapped[User | None] = relationship()


# The database itself refuses UPDATE and DELETE on both tables (triggers.py), whatever the code does.
from .triggers import install as _install_append_only_triggers  # noqa: E402

_install_append_only_triggers(db.metadata)
