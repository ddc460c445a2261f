"""Reading the framework: the queries behind the overview and the field page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Field,
    FinancingItem,
    Indicator,
    NextStep,
    Person,
    Responsibility,
    StepStatus,
    Strategy,
    WorkingGroup,
    WorkingGroupMember,
)
from ..permissions import can_view_drafts
from ..snapshots import Snapshot, field_snapshot

_PERSON_WITH_ORG = selectinload(Person.organisation)


def _row_options():
    """Eager loads for everything a framework row shows, so a page costs a fixed number of queries."""
    return (
        selectinload(Field.working_groups).selectinload(WorkingGroup.members).options(
            selectinload(WorkingGroupMember.person).options(_PERSON_WITH_ORG),
            selectinload(WorkingGroupMember.organisation),
        ),
        selectinload(Field.responsibilities).options(
            selectinload(Responsibility.person).options(_PERSON_WITH_ORG),
            selectinload(Responsibility.organisation),
        ),
        selectinload(Field.next_steps).options(*_step_options()),
        selectinload(Field.financing_items).selectinload(FinancingItem.next_steps),
        selectinload(Field.indicators).selectinload(Indicator.values),
        selectinload(Field.updated_by),
    )


def _step_options():
    return (
        selectinload(NextStep.responsible_person).options(_PERSON_WITH_ORG),
        selectinload(NextStep.responsible_organisation),
        selectinload(NextStep.also_serves),
    )


def framework_fields(strategy: Strategy) -> list[Field]:
    """The live fields of a strategy in order, with everything their rows show."""
    return list(
        db.session.scalars(
            db.select(Field)
            .filter_by(strategy_id=strategy.id, is_archived=False)
            .order_by(Field.number)
            .options(*_row_options())
        )
    )


def load_field_row(field_id: int) -> Field:
    return db.session.scalars(
        db.select(Field).filter_by(id=field_id).options(*_row_options()).execution_options(populate_existing=True)
    ).one()


def visible_row(user, field: Field) -> Snapshot | None:
    """What this user sees of a row: the live working state for those who may see drafts, else the
    approved snapshot (None when nothing has been approved yet)."""
    if can_view_drafts(user, field.strategy):
        return field_snapshot(field)
    return field.approved_content


def steps_serving_in(rows: list[Snapshot], number: int) -> list[dict]:
    """Steps of other rows that also serve field `number`, from the same kind of rows (live or approved)."""
    return [
        step
        for row in rows
        if row["number"] != number
        for step in row["next_steps"]
        if number in step.get("also_serves", [])
    ]


@dataclass
class StepCounts:
    open: int = 0
    overdue: int = 0


def count_steps(row: Snapshot, today: date) -> StepCounts:
    counts = StepCounts()
    for step in row["next_steps"]:
        if StepStatus(step["status"]).is_open:
            counts.open += 1
            if step["due_date"] and step["due_date"] < today.isoformat():
                counts.overdue += 1
    return counts


def key_indicator(row: Snapshot) -> dict | None:
    return next((indicator for indicator in row["indicators"] if indicator["is_key"]), None)
