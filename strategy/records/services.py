"""Next steps, financing items and indicators: the changes (each one a revision of its field) and the reads
behind the open-steps page, the funding timeline and the overview's roll-ups."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Iterable

from flask import current_app
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..days import add_months, local_today
from ..extensions import db
from ..fields.services import load_field_row
from ..models import (
    OPEN_STEP_STATUSES,
    Field,
    FinancingItem,
    FundingStatus,
    Indicator,
    IndicatorValue,
    NextStep,
    Organisation,
    Person,
    RevisionKind,
    StepStatus,
    Strategy,
    User,
    name_key,
    utcnow,
)
from ..revisions import record_change
from ..snapshots import Snapshot, field_snapshot
from ..summaries import summary


class ConflictError(Exception):
    """Someone else saved the record since the form was opened; `saved` holds their values (display form)."""

    def __init__(self, saved: dict[str, Any] | None, version: int | None):
        super().__init__("stale version")
        self.saved = saved
        self.version = version


def _before(field: Field) -> Snapshot:
    return field_snapshot(load_field_row(field.id))


def _check_version(record, version: int | None, describe) -> None:
    if version is not None and record.version != version:
        raise ConflictError(describe(record), record.version)


# --- people and organisations named by text ------------------------------------------------------

def resolve_organisation(name: str) -> Organisation | None:
    """The organisation with this name or short name; a new one when nobody knows it yet; None when blank."""
    name = " ".join(name.split())
    if not name:
        return None
    key = name_key(name)
    found = next((org for org in db.session.scalars(db.select(Organisation).order_by(Organisation.id))
                  if key in (name_key(org.name), name_key(org.short_name))), None)
    if found is None:
        found = Organisation(name=name[:200])
        db.session.add(found)
    return found


def resolve_person(name: str, organisation: Organisation | None) -> Person | None:
    """The known person with this name (or "Name (Organisation)" as the pick list shows it); else a new one."""
    name = " ".join(name.split())
    if not name:
        return None
    candidates = db.session.scalars(
        db.select(Person).where(Person.is_deleted.is_(False)).options(selectinload(Person.organisation))
        .order_by(Person.id)
    ).all()
    key = name_key(name)
    for person in candidates:
        if name_key(person.label) == key:
            return person
    for person in candidates:
        if name_key(person.name) == key:
            return person
    person = Person(name=name[:200], organisation=organisation)
    db.session.add(person)
    return person


def known_names() -> tuple[list[str], list[str]]:
    """Labels for the pick lists of people and organisations (2 queries)."""
    people = db.session.scalars(
        db.select(Person).where(Person.is_deleted.is_(False)).options(selectinload(Person.organisation))
        .order_by(Person.name)
    ).all()
    organisations = db.session.scalars(db.select(Organisation).order_by(Organisation.name)).all()
    return [p.label for p in people], sorted({o.label for o in organisations} | {o.name for o in organisations})


# --- next steps ----------------------------------------------------------------------------------

@dataclass
class StepData:
    description: str
    person_name: str = ""
    organisation_name: str = ""
    due_date: date | None = None
    status: StepStatus = StepStatus.PLANNED
    progress_note: str = ""
    done_on: date | None = None
    also_serves: list[Field] = dc_field(default_factory=list)


def due_date_in_the_past(data: StepData, today: date, before: date | None = None) -> bool:
    """Whether an open step is given a due date before today (new, or changed from `before`).

    Allowed, since overdue steps are sometimes recorded late; the person saving is told, in case of a typo.
    """
    return (data.status.is_open and data.due_date is not None and data.due_date != before
            and data.due_date < today)


def describe_step(step: NextStep) -> dict[str, Any]:
    return {
        "description": step.description,
        "person_name": step.responsible_person.label if step.responsible_person else "",
        "organisation_name": step.responsible_organisation.label if step.responsible_organisation else "",
        "due_date": step.due_date,
        "status": step.status,
        "progress_note": step.progress_note,
        "done_on": step.done_on,
        "also_serves": [f.label for f in step.also_serves],
    }


def save_step(field: Field, author: User, data: StepData, step: NextStep | None = None,
              version: int | None = None, today: date | None = None) -> NextStep:
    """Add a step to `field` or change `step` (which belongs to it); one revision on the step's own field."""
    today = today or local_today()
    before = _before(field)
    if step is not None:
        _check_version(step, version, describe_step)
    previous_person_id = step.responsible_person_id if step is not None else None
    organisation = resolve_organisation(data.organisation_name)
    person = resolve_person(data.person_name, organisation)
    if step is None:
        position = max((s.position for s in field.next_steps), default=-1) + 1
        step = NextStep(field=field, position=position, description=data.description.strip())
        db.session.add(step)
        kind_summary = "step_added"
    else:
        kind_summary = "step_changed"
    step.description = data.description.strip()
    step.responsible_organisation = organisation
    step.responsible_person = person
    step.due_date = data.due_date
    if data.status == StepStatus.DONE:
        # Set the day it was closed unless the user gave (or kept) one.
        step.done_on = data.done_on or (step.done_on if step.status == StepStatus.DONE else None) or today
    else:
        step.done_on = None
    step.status = data.status
    step.progress_note = data.progress_note.strip()
    step.also_serves = [f for f in data.also_serves if f.id != field.id]
    step.updated_at = utcnow()
    _flush()
    record_change(field, author, RevisionKind.NEXT_STEP, before, summary(kind_summary, what=step.description[:200]))
    if person is not None and person.id != previous_person_id:
        from ..notifications.kinds import step_assigned

        step_assigned(step, author)
    return step


def close_step(field: Field, author: User, step: NextStep, version: int | None,
               today: date | None = None) -> None:
    before = _before(field)
    _check_version(step, version, describe_step)
    step.status = StepStatus.DONE
    step.done_on = step.done_on or today or local_today()
    step.updated_at = utcnow()
    _flush()
    record_change(field, author, RevisionKind.NEXT_STEP, before, summary("step_done", what=step.description[:200]))


def move_step(field: Field, author: User, step: NextStep, direction: str) -> None:
    """Swap a step with its neighbour (up/down); renumbers the field's steps 0..n-1."""
    before = _before(field)
    steps = sorted(field.next_steps, key=lambda s: (s.position, s.id))
    index = steps.index(step)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(steps):
        steps[index], steps[other] = steps[other], steps[index]
    for position, item in enumerate(steps):
        if item.position != position:
            item.position = position
    _flush()
    record_change(field, author, RevisionKind.NEXT_STEP, before, summary("steps_reordered"))


def delete_step(field: Field, author: User, step: NextStep, version: int | None) -> None:
    before = _before(field)
    _check_version(step, version, describe_step)
    description = step.description
    db.session.delete(step)
    _flush()
    record_change(field, author, RevisionKind.NEXT_STEP, before, summary("step_removed", what=description[:200]))


# --- financing -----------------------------------------------------------------------------------

@dataclass
class FinancingData:
    source: Any
    programme: str = ""
    amount: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    status: FundingStatus = FundingStatus.OPEN
    note: str = ""
    has_follow_up: bool = False
    next_steps: list[NextStep] = dc_field(default_factory=list)


def describe_financing(item: FinancingItem) -> dict[str, Any]:
    return {
        "source": item.source, "programme": item.programme, "amount": item.amount,
        "start_date": item.start_date, "end_date": item.end_date, "status": item.status, "note": item.note,
        "has_follow_up": item.has_follow_up, "next_steps": [s.description for s in item.next_steps],
    }


def save_financing(field: Field, author: User, data: FinancingData, item: FinancingItem | None = None,
                   version: int | None = None) -> FinancingItem:
    before = _before(field)
    if item is None:
        position = max((i.position for i in field.financing_items), default=-1) + 1
        item = FinancingItem(field=field, position=position, source=data.source)
        db.session.add(item)
        key = "financing_added"
    else:
        _check_version(item, version, describe_financing)
        key = "financing_changed"
    item.source = data.source
    item.programme = data.programme.strip()
    item.amount = data.amount
    item.start_date, item.end_date = data.start_date, data.end_date
    item.status = data.status
    item.note = data.note.strip()
    item.has_follow_up = data.has_follow_up
    item.next_steps = [s for s in data.next_steps if s.field_id == field.id]
    item.updated_at = utcnow()
    _flush()
    record_change(field, author, RevisionKind.FINANCING, before, summary(key, what=item.programme[:200]))
    return item


def delete_financing(field: Field, author: User, item: FinancingItem, version: int | None) -> None:
    before = _before(field)
    _check_version(item, version, describe_financing)
    programme = item.programme
    db.session.delete(item)
    _flush()
    record_change(field, author, RevisionKind.FINANCING, before, summary("financing_removed", what=programme[:200]))


def horizon_months() -> int:
    return int(current_app.config.get("FUNDING_HORIZON_MONTHS", 12))


def follow_up_open(item: dict, today: date, months: int | None = None) -> bool:
    """"Verstetigung offen": the funding (a snapshot item) ends within the horizon and nothing follows it."""
    end = item.get("end_date")
    if not end or item.get("has_follow_up"):
        return False
    end_day = date.fromisoformat(end)
    return today <= end_day <= add_months(today, horizon_months() if months is None else months)


class FundingState(enum.StrEnum):
    """How a field's money stands today (the badge on the overview)."""

    FUNDED = "funded"  # secured money is running
    ENDING = "ending"  # running money ends within the horizon and nothing follows it (Verstetigung offen)
    UNFUNDED = "unfunded"  # financing items, but no secured money running today
    NONE = "none"  # no financing items recorded


def funding_state(row: Snapshot, today: date) -> FundingState:
    """Per field, from its snapshot: see FundingState."""
    items = row.get("financing_items") or []
    if not items:
        return FundingState.NONE
    running = [
        i for i in items
        if i.get("status") == FundingStatus.SECURED.value
        and (not i.get("start_date") or i["start_date"] <= today.isoformat())
        and (not i.get("end_date") or i["end_date"] >= today.isoformat())
    ]
    if not running:
        return FundingState.UNFUNDED
    if any(follow_up_open(i, today) for i in running):
        return FundingState.ENDING
    return FundingState.FUNDED


# --- indicators ----------------------------------------------------------------------------------

@dataclass
class IndicatorData:
    name: str
    unit: Any
    direction: Any
    baseline: Decimal | None = None
    target: Decimal | None = None
    target_date: date | None = None
    is_key: bool = False


def describe_indicator(indicator: Indicator) -> dict[str, Any]:
    return {
        "name": indicator.name, "unit": indicator.unit, "direction": indicator.direction,
        "baseline": indicator.baseline, "target": indicator.target,
        "target_date": indicator.target_date, "is_key": indicator.is_key,
    }


def save_indicator(field: Field, author: User, data: IndicatorData, indicator: Indicator | None = None,
                   version: int | None = None) -> Indicator:
    before = _before(field)
    if indicator is None:
        position = max((i.position for i in field.indicators), default=-1) + 1
        indicator = Indicator(field=field, position=position)
        db.session.add(indicator)
        key = "indicator_added"
    else:
        _check_version(indicator, version, describe_indicator)
        key = "indicator_changed"
    indicator.name = data.name.strip()
    indicator.unit, indicator.direction = data.unit, data.direction
    indicator.baseline, indicator.target, indicator.target_date = data.baseline, data.target, data.target_date
    if data.is_key:
        # One key indicator per field: it is the one the overview charts.
        for other in field.indicators:
            if other is not indicator and other.is_key:
                other.is_key = False
    indicator.is_key = data.is_key
    _flush()
    record_change(field, author, RevisionKind.INDICATOR, before, summary(key, what=indicator.name[:200]))
    return indicator


def delete_indicator(field: Field, author: User, indicator: Indicator, version: int | None) -> None:
    before = _before(field)
    _check_version(indicator, version, describe_indicator)
    name = indicator.name
    db.session.delete(indicator)
    _flush()
    record_change(field, author, RevisionKind.INDICATOR, before, summary("indicator_removed", what=name[:200]))


def add_indicator_value(field: Field, author: User, indicator: Indicator, observed_on: date, value: Decimal,
                        source_note: str) -> IndicatorValue:
    before = _before(field)
    item = IndicatorValue(indicator=indicator, observed_on=observed_on, value=value, source_note=source_note.strip())
    db.session.add(item)
    _flush()
    record_change(field, author, RevisionKind.INDICATOR, before,
                  summary("value_recorded", what=indicator.name[:150], day=observed_on.isoformat()))
    return item


def delete_indicator_value(field: Field, author: User, value: IndicatorValue) -> None:
    before = _before(field)
    indicator = value.indicator
    db.session.delete(value)
    _flush()
    record_change(field, author, RevisionKind.INDICATOR, before,
                  summary("value_removed", what=indicator.name[:150], day=value.observed_on.isoformat()))


def _flush() -> None:
    """Flush, turning a concurrent update caught by the mapper's version counter into a ConflictError."""
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise ConflictError(None, None) from error


# --- open steps across a strategy ---------------------------------------------------------------

DUE_WINDOWS = ("overdue", "30", "90")


@dataclass
class StepFilter:
    field_number: int | None = None
    organisation_id: int | None = None
    person_id: int | None = None
    status: StepStatus | None = None
    due: str | None = None  # one of DUE_WINDOWS


def open_steps(strategy: Strategy, wanted: StepFilter, today: date) -> list[NextStep]:
    """Open steps of the strategy's live fields, filtered; a fixed number of queries."""
    query = (
        db.select(NextStep)
        .join(NextStep.field)
        .where(Field.strategy_id == strategy.id, Field.is_archived.is_(False),
               NextStep.status.in_(OPEN_STEP_STATUSES))
        .options(
            selectinload(NextStep.field),
            selectinload(NextStep.responsible_person).selectinload(Person.organisation),
            selectinload(NextStep.responsible_organisation),
            selectinload(NextStep.also_serves),
        )
        .order_by(NextStep.due_date.is_(None), NextStep.due_date, Field.number, NextStep.position, NextStep.id)
    )
    if wanted.field_number is not None:
        from ..models import next_step_field

        serving = db.select(next_step_field.c.next_step_id).join(Field, Field.id == next_step_field.c.field_id).where(
            Field.strategy_id == strategy.id, Field.number == wanted.field_number)
        query = query.where(db.or_(Field.number == wanted.field_number, NextStep.id.in_(serving)))
    if wanted.organisation_id is not None:
        people = db.select(Person.id).where(Person.organisation_id == wanted.organisation_id)
        query = query.where(db.or_(NextStep.responsible_organisation_id == wanted.organisation_id,
                                   NextStep.responsible_person_id.in_(people)))
    if wanted.person_id is not None:
        query = query.where(NextStep.responsible_person_id == wanted.person_id)
    if wanted.status is not None:
        query = query.where(NextStep.status == wanted.status)
    if wanted.due in ("30", "90"):
        query = query.where(NextStep.due_date >= today, NextStep.due_date <= today + timedelta(days=int(wanted.due)))
    steps = list(db.session.scalars(query))
    if wanted.due == "overdue":  # the one rule (models.step_is_overdue), not a second one in SQL
        steps = [step for step in steps if step.is_overdue(today)]
    return steps


def step_filter_choices(strategy: Strategy) -> tuple[list[Organisation], list[Person]]:
    """Organisations and people named by any step of the strategy (2 queries)."""
    step_ids = db.select(NextStep.id).join(NextStep.field).where(Field.strategy_id == strategy.id)
    person_ids = db.select(NextStep.responsible_person_id).where(NextStep.id.in_(step_ids))
    org_ids = db.select(NextStep.responsible_organisation_id).where(NextStep.id.in_(step_ids))
    people = db.session.scalars(
        db.select(Person).where(Person.id.in_(person_ids)).options(selectinload(Person.organisation))
        .order_by(Person.name)
    ).all()
    person_org_ids = {p.organisation_id for p in people if p.organisation_id}
    organisations = db.session.scalars(
        db.select(Organisation).where(db.or_(Organisation.id.in_(org_ids), Organisation.id.in_(person_org_ids)))
        .order_by(Organisation.name)
    ).all()
    return list(organisations), list(people)


# --- the funding timeline ------------------------------------------------------------------------

def funding_periods(rows: Iterable[Snapshot], today: date) -> list[dict[str, Any]]:
    """Every financing item of the given rows, for the timeline: field, label, dates, status, flag."""
    periods = []
    for row in rows:
        for item in row.get("financing_items") or []:
            label_parts = [f"HF {row['number']}", item.get("programme") or ""]
            periods.append({
                **item,
                "field_number": row["number"],
                "field_title": row["title"],
                "label": " · ".join(p for p in label_parts if p),
                "flagged": follow_up_open(item, today),
            })
    return periods
