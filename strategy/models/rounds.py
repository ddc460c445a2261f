"""Reporting rounds (Berichtsrunden): before each steering meeting every field's coordinators update their row.

A round has stages with deadlines (Aktualisierung bis, Prüfung bis, Fassung), derived from the meeting date
in working days (strategy.days), and one task per field. While the round is open a task's state is derived
from the field itself (edits, submissions, approvals: strategy.rounds.services.task_state); when the round
closes each task's state is frozen into `RoundTask.frozen_state`, and only an admin reopens a field, with a
reason that the audit log keeps.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .base import UTCDateTime, str_enum, utcnow
from .editions import Edition
from .strategy import Field, Strategy


class StageKind(enum.StrEnum):
    """The stages of a round, in the order they come."""

    UPDATE = "update"  # Aktualisierung bis: coordinators update, or say nothing changed, and submit
    REVIEW = "review"  # Prüfung bis: steering returns or approves
    EDITION = "edition"  # Fassung: the edition for the meeting is frozen

    @property
    def label(self):
        return STAGE_LABELS[self]


STAGE_LABELS = {
    StageKind.UPDATE: _l("Aktualisierung bis"),
    StageKind.REVIEW: _l("Prüfung bis"),
    StageKind.EDITION: _l("Fassung"),
}


class TaskState(enum.StrEnum):
    """A field's task in a round: offen → aktualisiert → eingereicht → freigegeben."""

    OPEN = "open"
    UPDATED = "updated"
    SUBMITTED = "submitted"
    APPROVED = "approved"

    @property
    def label(self):
        return TASK_STATE_LABELS[self]


TASK_STATE_LABELS = {
    TaskState.OPEN: _l("offen"),
    TaskState.UPDATED: _l("aktualisiert"),
    TaskState.SUBMITTED: _l("eingereicht"),
    TaskState.APPROVED: _l("freigegeben"),
}


class RoundStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReportingRound(db.Model):
    """One Berichtsrunde of a strategy, keyed to the steering meeting it prepares."""

    __table_args__ = (sa.Index("ix_reporting_round_strategy_meeting", "strategy_id", "meeting_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(200))
    meeting_on: Mapped[date]
    status: Mapped[RoundStatus] = mapped_column(str_enum(RoundStatus), default=RoundStatus.OPEN)
    # A task counts as updated when its field changed after this moment.
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    edition_id: Mapped[int | None] = mapped_column(sa.ForeignKey("edition.id", ondelete="SET NULL"))

    strategy: Mapped[Strategy] = relationship()
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    edition: Mapped[Edition | None] = relationship()
    stages: Mapped[list[RoundStage]] = relationship(
        back_populates="round", order_by="RoundStage.due_on", cascade="all, delete-orphan"
    )
    tasks: Mapped[list[RoundTask]] = relationship(back_populates="round", cascade="all, delete-orphan")

    @property
    def is_closed(self) -> bool:
        return self.status == RoundStatus.CLOSED

    def stage(self, kind: StageKind) -> RoundStage | None:
        return next((stage for stage in self.stages if stage.kind == kind), None)


class RoundStage(db.Model):
    __table_args__ = (sa.UniqueConstraint("round_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("reporting_round.id", ondelete="CASCADE"))
    kind: Mapped[StageKind] = mapped_column(str_enum(StageKind))
    due_on: Mapped[date]

    round: Mapped[ReportingRound] = relationship(back_populates="stages")


class RoundTask(db.Model):
    """A field's task in a round, for the field's coordinators."""

    __table_args__ = (sa.UniqueConstraint("round_id", "field_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("reporting_round.id", ondelete="CASCADE"))
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)
    # "Nothing changed since the last round": a valid answer, with who gave it and when.
    unchanged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unchanged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # Set when the round closes (the state it ended in); None while the task is live.
    frozen_state: Mapped[TaskState | None] = mapped_column(str_enum(TaskState))
    # An admin reopened the field in a closed round; the reason is also in the audit log.
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    reopen_reason: Mapped[str] = mapped_column(sa.String(500), default="")

    round: Mapped[ReportingRound] = relationship(back_populates="tasks")
    field: Mapped[Field] = relationship()
    unchanged_by: Mapped[User | None] = relationship(foreign_keys=[unchanged_by_id])
    reopened_by: Mapped[User | None] = relationship(foreign_keys=[reopened_by_id])

    @property
    def is_locked(self) -> bool:
        """Nothing about the task changes any more: its round closed and no admin reopened it."""
        return self.frozen_state is not None


class ReminderKind(enum.StrEnum):
    DEADLINE_NEAR = "deadline_near"


class ReminderSent(db.Model):
    """One reminder digest claimed for a person, round, stage and kind: the unique key makes
    `flask send-reminders` idempotent (a second run, or one running at the same moment, finds the row)."""

    __table_args__ = (sa.UniqueConstraint("user_id", "round_id", "stage", "kind", name="uq_reminder_once"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("reporting_round.id", ondelete="CASCADE"), index=True)
    stage: Mapped[StageKind] = mapped_column(str_enum(StageKind))
    kind: Mapped[ReminderKind] = mapped_column(str_enum(ReminderKind, length=30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
