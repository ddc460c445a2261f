"""The structured columns of a row: next steps, financing items, indicators."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, str_enum, utcnow
from .organisation import Organisation, Person
from .strategy import Field


class StepStatus(enum.StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"
    DROPPED = "dropped"

    @property
    def label(self):
        return STEP_STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self not in (StepStatus.DONE, StepStatus.DROPPED)


STEP_STATUS_LABELS = {
    StepStatus.PLANNED: _l("geplant"),
    StepStatus.IN_PROGRESS: _l("in Arbeit"),
    StepStatus.DONE: _l("erledigt"),
    StepStatus.BLOCKED: _l("blockiert"),
    StepStatus.DROPPED: _l("verworfen"),
}

OPEN_STEP_STATUSES = tuple(status for status in StepStatus if status.is_open)


def step_is_overdue(due_date: date | str | None, status: StepStatus | str, today: date) -> bool:
    """The one rule for "überfällig": a step still open whose due date lies before today.

    Takes a step's values as the model holds them or as a snapshot stores them (ISO date, status string);
    `today` is strategy.days.local_today() (or the day a frozen edition was made)."""
    if not due_date or not StepStatus(status).is_open:
        return False
    due = date.fromisoformat(due_date) if isinstance(due_date, str) else due_date
    return due < today

# A step that serves further fields besides its own (cross-cutting work).
next_step_field = sa.Table(
    "next_step_field",
    db.metadata,
    sa.Column("next_step_id", sa.ForeignKey("next_step.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("field_id", sa.ForeignKey("field.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class NextStep(db.Model):
    """Weitere konkrete Schritte – wer ist verantwortlich?"""

    __table_args__ = (sa.Index("ix_next_step_open_due", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(sa.Text)
    responsible_person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"), index=True)
    responsible_organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    due_date: Mapped[date | None]
    status: Mapped[StepStatus] = mapped_column(str_enum(StepStatus), default=StepStatus.PLANNED)
    progress_note: Mapped[str] = mapped_column(sa.String(500), default="")
    done_on: Mapped[date | None]
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    field: Mapped[Field] = relationship(back_populates="next_steps")
    also_serves: Mapped[list[Field]] = relationship(secondary=next_step_field, order_by="Field.number")
    responsible_person: Mapped[Person | None] = relationship()
    responsible_organisation: Mapped[Organisation | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def responsible_label(self) -> str:
        parts = []
        if self.responsible_person is not None:
            parts.append(self.responsible_person.name)
        if self.responsible_organisation is not None:
            parts.append(self.responsible_organisation.label)
        elif self.responsible_person is not None and self.responsible_person.organisation is not None:
            parts.append(self.responsible_person.organisation.label)
        return " – ".join(parts)

    def is_overdue(self, today: date) -> bool:
        return step_is_overdue(self.due_date, self.status, today)


class FundingSource(enum.StrEnum):
    ESF_PLUS = "esf_plus"
    EHAP_PLUS = "ehap_plus"
    FEDERAL = "federal"
    STATE_NRW = "state_nrw"
    MUNICIPAL = "municipal"
    FOUNDATION = "foundation"
    OWN_FUNDS = "own_funds"
    OTHER = "other"

    @property
    def label(self):
        return FUNDING_SOURCE_LABELS[self]


FUNDING_SOURCE_LABELS = {
    FundingSource.ESF_PLUS: _l("ESF Plus"),
    FundingSource.EHAP_PLUS: _l("EhAP Plus"),
    FundingSource.FEDERAL: _l("Bund"),
    FundingSource.STATE_NRW: _l("Land NRW"),
    FundingSource.MUNICIPAL: _l("Kommune"),
    FundingSource.FOUNDATION: _l("Stiftung"),
    FundingSource.OWN_FUNDS: _l("Eigenmittel"),
    FundingSource.OTHER: _l("Sonstige"),
}


class FundingStatus(enum.StrEnum):
    SECURED = "secured"
    APPLIED = "applied"
    PLANNED = "planned"
    OPEN = "open"

    @property
    def label(self):
        return FUNDING_STATUS_LABELS[self]


FUNDING_STATUS_LABELS = {
    FundingStatus.SECURED: _l("gesichert"),
    FundingStatus.APPLIED: _l("beantragt"),
    FundingStatus.PLANNED: _l("geplant"),
    FundingStatus.OPEN: _l("offen"),
}

financing_item_next_step = sa.Table(
    "financing_item_next_step",
    db.metadata,
    sa.Column("financing_item_id", sa.ForeignKey("financing_item.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("next_step_id", sa.ForeignKey("next_step.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class FinancingItem(db.Model):
    """One source of money for a field's work (Finanzierung)."""

    __table_args__ = (
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="financing_amount_not_negative"),
        sa.CheckConstraint(
            "start_date IS NULL OR end_date IS NULL OR start_date <= end_date", name="financing_period_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)
    source: Mapped[FundingSource] = mapped_column(str_enum(FundingSource))
    programme: Mapped[str] = mapped_column(sa.String(300), default="")
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    status: Mapped[FundingStatus] = mapped_column(str_enum(FundingStatus), default=FundingStatus.OPEN)
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    # Set when the work this pays for is carried on after end_date (Verstetigung geklärt).
    has_follow_up: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    field: Mapped[Field] = relationship(back_populates="financing_items")
    next_steps: Mapped[list[NextStep]] = relationship(secondary=financing_item_next_step)

    __mapper_args__ = {"version_id_col": version}


class IndicatorUnit(enum.StrEnum):
    COUNT = "count"
    PERCENT = "percent"
    EUR = "eur"
    OTHER = "other"

    @property
    def label(self):
        return INDICATOR_UNIT_LABELS[self]


INDICATOR_UNIT_LABELS = {
    IndicatorUnit.COUNT: _l("Anzahl"),
    IndicatorUnit.PERCENT: _l("Prozent"),
    IndicatorUnit.EUR: _l("Euro"),
    IndicatorUnit.OTHER: _l("sonstige"),
}


class Direction(enum.StrEnum):
    HIGHER_IS_BETTER = "higher"
    LOWER_IS_BETTER = "lower"


class Indicator(db.Model):
    """A Kennzahl measured for a field."""

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(sa.ForeignKey("field.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    unit: Mapped[IndicatorUnit] = mapped_column(str_enum(IndicatorUnit), default=IndicatorUnit.COUNT)
    direction: Mapped[Direction] = mapped_column(str_enum(Direction), default=Direction.HIGHER_IS_BETTER)
    baseline: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 4))
    target: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 4))
    target_date: Mapped[date | None]
    # The indicator shown in the overview's roll-up for its field.
    is_key: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)

    field: Mapped[Field] = relationship(back_populates="indicators")
    values: Mapped[list[IndicatorValue]] = relationship(
        back_populates="indicator", order_by="IndicatorValue.observed_on", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class IndicatorValue(db.Model):
    __table_args__ = (sa.Index("ix_indicator_value_indicator_date", "indicator_id", "observed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("indicator.id", ondelete="CASCADE"))
    observed_on: Mapped[date]
    value: Mapped[Decimal] = mapped_column(sa.Numeric(18, 4))
    source_note: Mapped[str] = mapped_column(sa.String(500), default="")  # "Quelle, Stand"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    indicator: Mapped[Indicator] = relationship(back_populates="values")
