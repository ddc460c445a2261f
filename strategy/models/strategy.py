from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow
from .organisation import Organisation, Person

if TYPE_CHECKING:
    from .accounts import FieldAssignment, User
    from .records import FinancingItem, Indicator, NextStep


class Visibility(enum.StrEnum):
    INTERNAL = "internal"
    PARTNERS = "partners"
    PUBLIC = "public"


class FieldPhase(enum.StrEnum):
    """Where a field's work stands; the phases of the framework, then implementation."""

    PREPARATION = "preparation"
    WORKSHOP_1 = "workshop_1"
    WORKSHOP_2 = "workshop_2"
    IMPLEMENTATION = "implementation"

    @property
    def label(self):
        return PHASE_LABELS[self]


PHASE_LABELS = {
    FieldPhase.PREPARATION: _l("Vorbereitungsphase"),
    FieldPhase.WORKSHOP_1: _l("Workshop-Phase I"),
    FieldPhase.WORKSHOP_2: _l("Workshop-Phase II"),
    FieldPhase.IMPLEMENTATION: _l("Umsetzung"),
}


class ReviewState(enum.StrEnum):
    """Where a field's content stands in review: Entwurf → zur Prüfung → zurückgegeben / freigegeben."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"

    @property
    def label(self):
        return REVIEW_STATE_LABELS[self]


REVIEW_STATE_LABELS = {
    ReviewState.DRAFT: _l("Entwurf"),
    ReviewState.SUBMITTED: _l("zur Prüfung"),
    ReviewState.RETURNED: _l("zurückgegeben"),
    ReviewState.APPROVED: _l("freigegeben"),
}


class ResponsibilityRole(enum.StrEnum):
    LEAD = "lead"  # federführend (FF)
    MEMBER = "member"


class Strategy(db.Model):
    """A Gesamtstrategie: one city's or department's goal system and action framework."""

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    subtitle: Mapped[str] = mapped_column(sa.String(300), default="")
    framework_title: Mapped[str] = mapped_column(sa.String(300), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    visibility: Mapped[Visibility] = mapped_column(str_enum(Visibility), default=Visibility.INTERNAL)
    # Per block of a row (framework phase keys + "indicators"): the least audience that may read it
    # (a Visibility value); blocks not named follow the strategy's visibility. See permissions.can_view_block.
    block_visibility: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    # When visibility settings last changed: part of the status pages' cache validators.
    settings_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The Bundesland (ISO 3166-2 code without "DE-") whose public holidays are not working days: reporting
    # rounds count their deadlines in working days (strategy.days). Dortmund lies in NW.
    bundesland: Mapped[str] = mapped_column(sa.String(2), default="NW", server_default="NW")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[Organisation | None] = relationship()
    all_fields: Mapped[list[Field]] = relationship(
        back_populates="strategy", order_by="Field.number", cascade="all, delete-orphan"
    )
    # The live framework: archived fields keep their history but leave the overview.
    fields: Mapped[list[Field]] = relationship(
        order_by="Field.number",
        primaryjoin="and_(Strategy.id == Field.strategy_id, Field.is_archived == False)",  # noqa: E712
        viewonly=True,
    )
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="strategy", order_by="Milestone.year", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Strategy {self.slug!r}>"


class Milestone(db.Model):
    """A dated event in the strategy's history (its timeline)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    event: Mapped[str] = mapped_column(sa.String(300))

    strategy: Mapped[Strategy] = relationship(back_populates="milestones")


class Field(db.Model):
    """A goal of the Zielsystem (Handlungsfeld) with its row of the action framework."""

    __table_args__ = (sa.UniqueConstraint("strategy_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    strategy_id: Mapped[int] = mapped_column(sa.ForeignKey("strategy.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    goal_text: Mapped[str] = mapped_column(sa.Text, default="")
    phase: Mapped[FieldPhase] = mapped_column(str_enum(FieldPhase), default=FieldPhase.PREPARATION)
    # A removed field keeps its history and editions readable; it just leaves the live framework.
    is_archived: Mapped[bool] = mapped_column(default=False)

    # The row's free-text columns (Markdown-lite), see strategy.framework.TEXT_COLUMNS.
    current_state: Mapped[str] = mapped_column(sa.Text, default="")
    central_processes: Mapped[str] = mapped_column(sa.Text, default="")
    vision: Mapped[str] = mapped_column(sa.Text, default="")
    strategic_goals: Mapped[str] = mapped_column(sa.Text, default="")
    future_challenges: Mapped[str] = mapped_column(sa.Text, default="")
    what_worked: Mapped[str] = mapped_column(sa.Text, default="")
    gaps: Mapped[str] = mapped_column(sa.Text, default="")
    financing_notes: Mapped[str] = mapped_column(sa.Text, default="")

    # Optimistic locking of the row's own content. The row-edit service bumps it with a compare-and-swap
    # UPDATE; it is not a mapper version_id_col, so that adding a next step (its own row, its own version)
    # does not turn a coordinator's concurrent text edit into a false conflict.
    version: Mapped[int] = mapped_column(default=1)
    # The last change to anything the row shows (text, groups, steps, financing, indicators).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    # Review: partners and the public only ever see approved_content, a snapshot taken at approval
    # (strategy.snapshots.field_snapshot); the live columns above are the working draft.
    review_state: Mapped[ReviewState] = mapped_column(str_enum(ReviewState), default=ReviewState.DRAFT)
    approved_content: Mapped[dict | None] = mapped_column(sa.JSON)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    strategy: Mapped[Strategy] = relationship(back_populates="all_fields")
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    working_groups: Mapped[list[WorkingGroup]] = relationship(
        back_populates="field", order_by="WorkingGroup.position", cascade="all, delete-orphan"
    )
    responsibilities: Mapped[list[Responsibility]] = relationship(
        back_populates="field", order_by="Responsibility.position", cascade="all, delete-orphan"
    )
    next_steps: Mapped[list[NextStep]] = relationship(
        back_populates="field", order_by="NextStep.position", cascade="all, delete-orphan"
    )
    financing_items: Mapped[list[FinancingItem]] = relationship(
        back_populates="field", order_by="FinancingItem.position", cascade="all, delete-orphan"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="field", order_by="Indicator.position", cascade="all, delete-orphan"
    )
    assignments: Mapped[list[FieldAssignment]] = relationship(back_populates="field", cascade="all, delete-orphan")

    @property
    def label(self) -> str:
        return f"{self.number}. {self.title}"

    def __repr__(self) -> str:
        return f"<Field {self.number} {self.title!r}>"


class WorkingGroup(db.Model):
    """A Fachgruppe (FG) of a field."""

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)

    field: Mapped[Field] = relationship(back_populates="working_groups")
    members: Mapped[list[WorkingGroupMember]] = relationship(
        back_populates="working_group", order_by="WorkingGroupMember.id", cascade="all, delete-orphan"
    )


class _PersonOrOrganisation:
    """A link that names a person, an organisation, or both."""

    @property
    def label(self) -> str:
        if self.person is not None:
            return self.person.label
        return self.organisation.label if self.organisation is not None else ""


class WorkingGroupMember(_PersonOrOrganisation, db.Model):
    __table_args__ = (
        sa.CheckConstraint("person_id IS NOT NULL OR organisation_id IS NOT NULL", name="member_names_someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    working_group_id: Mapped[int] = mapped_column(sa.ForeignKey("working_group.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    role: Mapped[ResponsibilityRole] = mapped_column(str_enum(ResponsibilityRole), default=ResponsibilityRole.MEMBER)

    working_group: Mapped[WorkingGroup] = relationship(back_populates="members")
    person: Mapped[Person | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()


class Responsibility(_PersonOrOrganisation, db.Model):
    """Who is responsible for a field (Verantwortlich): a person and/or organisation, leading (FF) or member."""

    __table_args__ = (
        sa.CheckConstraint("person_id IS NOT NULL OR organisation_id IS NOT NULL", name="responsibility_names_someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    role: Mapped[ResponsibilityRole] = mapped_column(str_enum(ResponsibilityRole), default=ResponsibilityRole.LEAD)
    position: Mapped[int] = mapped_column(default=0)

    field: Mapped[Field] = relationship(back_populates="responsibilities")
    person: Mapped[Person | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
