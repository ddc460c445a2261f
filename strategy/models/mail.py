"""Outgoing e-mail: written in the transaction that causes it, delivered after that transaction commits."""
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


class MailStatus(enum.StrEnum):
    QUEUED = "queued"  # committed, not yet handed to the SMTP server
    SENDING = "sending"  # claimed by one process (a crashed one leaves it; `flask send-mail` takes it up again)
    SENT = "sent"  # accepted by the SMTP server
    LOGGED = "logged"  # no SMTP server configured: written to the log and shown under /verwaltung/e-mails
    FAILED = "failed"  # the SMTP server refused it or could not be reached; `flask send-mail` tries again

    @property
    def label(self) -> str:
        return str(MAIL_STATUS_LABELS[self])


MAIL_STATUS_LABELS = {
    MailStatus.QUEUED: _l("wartet auf Versand"),
    MailStatus.SENDING: _l("wird verschickt"),
    MailStatus.SENT: _l("verschickt"),
    MailStatus.LOGGED: _l("nicht verschickt (kein SMTP-Server), im Protokoll"),
    MailStatus.FAILED: _l("Versand fehlgeschlagen"),
}


class OutgoingMail(db.Model):
    """One message to one recipient, rendered in the recipient's language when it was queued."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (sa.Index("ix_outgoing_mail_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Set by callers that must never send the same message twice (digests, reminders): unique.
    key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipient_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    language: Mapped[str] = mapped_column(sa.String(10))
    template: Mapped[str] = mapped_column(sa.String(80))
    subject: Mapped[str] = mapped_column(sa.String(300))
    text_body: Mapped[str] = mapped_column(sa.Text)
    html_body: Mapped[str] = mapped_column(sa.Text)
    # [{"filename", "content_type", "data" (base64)}]
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    status: Mapped[MailStatus] = mapped_column(str_enum(MailStatus), default=MailStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(sa.String(500), default="")

    recipient: Mapped[User | None] = relationship()
