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
    step_is_overdue,
)
from ..snapshots import Snapshot

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


@dataclass
class StepCounts:
    open: int = 0
    overdue: int = 0


def count_steps(row: Snapshot, today: date) -> StepCounts | None:
    """Open and overdue steps of a row; None when the reader may not see its steps."""
    if "next_steps" not in row:
        return None
    counts = StepCounts()
    for step in row["next_steps"]:
        if StepStatus(step["status"]).is_open:
            counts.open += 1
            if step_is_overdue(step["due_date"], step["status"], today):
                counts.overdue += 1
    return counts


def key_indicator(row: Snapshot) -> dict | None:
    return next((indicator for indicator in row.get("indicators", []) if indicator["is_key"]), None)
