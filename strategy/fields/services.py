"""Reading the framework: the queries behind the overview and the field page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Field,
    Indicator,
    NextStep,
    Person,
    Responsibility,
    Strategy,
    WorkingGroup,
    WorkingGroupMember,
    next_step_field,
)

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
        selectinload(Field.financing_items),
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


def steps_serving(field: Field) -> list[NextStep]:
    """Steps of other fields that also serve this one (cross-cutting work)."""
    return list(
        db.session.scalars(
            db.select(NextStep)
            .join(next_step_field, next_step_field.c.next_step_id == NextStep.id)
            .filter(next_step_field.c.field_id == field.id, NextStep.field_id != field.id)
            .options(selectinload(NextStep.field), *_step_options())
            .order_by(NextStep.due_date.is_(None), NextStep.due_date, NextStep.id)
        )
    )


@dataclass
class StepSummary:
    open: int = 0
    overdue: int = 0


def step_summary(field: Field, today: date) -> StepSummary:
    summary = StepSummary()
    for step in field.next_steps:
        if step.status.is_open:
            summary.open += 1
            if step.is_overdue(today):
                summary.overdue += 1
    return summary


def key_indicator(field: Field) -> Indicator | None:
    for indicator in field.indicators:
        if indicator.is_key:
            return indicator
    return None


def responsible_labels(field: Field) -> list[str]:
    return [r.label for r in field.responsibilities]

