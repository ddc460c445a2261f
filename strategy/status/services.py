"""Reading the approved state for partners and the public: status, due steps, funding, recent changes.

Everything here works on approved snapshots (Field.approved_content), never on the live draft columns, and
only on the blocks the reader may see (permissions.visible_blocks).
"""
from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..comparison import FieldComparison, compare_fields
from ..days import add_months, local_today
from ..extensions import db
from ..framework import FRAMEWORK
from ..models import Field, FieldPhase, Revision, StepStatus, Strategy, Visibility, step_is_overdue
from ..reading import BLOCK_KEYS, approved_row, approved_title
from ..revisions import is_approval
from ..snapshots import Snapshot, changed_keys

BLOCK_LABELS: dict[str, Any] = {
    **{phase.key: phase.label for phase in FRAMEWORK},
    "indicators": _l("Kennzahlen"),
}

AUDIENCE_LABELS = {
    Visibility.PUBLIC: _l("Öffentlichkeit"),
    Visibility.PARTNERS: _l("Partner"),
    Visibility.INTERNAL: _l("nur intern (Lenkung, Koordination)"),
}


# --- which rows, which blocks --------------------------------------------------------------------

@dataclass(frozen=True)
class ApprovedField:
    id: int
    number: int
    title: str  # the approved title, or the placeholder of a field never approved (reading.approved_title)
    approved_at: datetime | None
    row: Snapshot | None  # the approved snapshot, reduced to the visible blocks; None until approved


def approved_fields(strategy: Strategy, blocks: frozenset[str], *, limit: int | None = None,
                    offset: int = 0) -> list[ApprovedField]:
    """The live fields in order with their approved rows only: one query, no draft columns, no history.
    What a reader gets of each row is decided by strategy.reading."""
    query = (
        db.select(Field.id, Field.number, Field.approved_at, Field.approved_content)
        .where(Field.strategy_id == strategy.id, Field.is_archived.is_(False))
        .order_by(Field.number)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        ApprovedField(id, number, approved_title(number, content), approved_at, approved_row(content, blocks))
        for id, number, approved_at, content in db.session.execute(query)
    ]


# --- plain-language status -----------------------------------------------------------------------

class PlainStatus(enum.StrEnum):
    NOT_APPROVED = "not_approved"
    PREPARING = "preparing"
    GOALS_AGREED = "goals_agreed"
    SOLUTIONS = "solutions"
    IMPLEMENTING = "implementing"

    @property
    def label(self):
        return STATUS_LABELS[self]


STATUS_LABELS = {
    PlainStatus.NOT_APPROVED: _l("noch nicht freigegeben"),
    PlainStatus.PREPARING: _l("in Vorbereitung"),
    PlainStatus.GOALS_AGREED: _l("Ziele vereinbart"),
    PlainStatus.SOLUTIONS: _l("Lösungen in Arbeit"),
    PlainStatus.IMPLEMENTING: _l("in Umsetzung"),
}

_STARTED = (StepStatus.IN_PROGRESS.value, StepStatus.DONE.value)


def plain_status(row: Snapshot | None) -> PlainStatus:
    """Where a field stands, in words a partner understands; the one rule for pages, API and PDFs.

    implementation phase, or a step already started or done → in Umsetzung; workshop II → Lösungen in Arbeit;
    strategic goals written (workshop I) → Ziele vereinbart; otherwise → in Vorbereitung.
    Uses the phase and the steps, which every audience reads, and the goals only when they are visible.
    """
    if row is None:
        return PlainStatus.NOT_APPROVED
    phase = row.get("phase")
    if phase == FieldPhase.IMPLEMENTATION.value or any(
        step.get("status") in _STARTED for step in row.get("next_steps", [])
    ):
        return PlainStatus.IMPLEMENTING
    if phase == FieldPhase.WORKSHOP_2.value:
        return PlainStatus.SOLUTIONS
    if phase == FieldPhase.WORKSHOP_1.value or (row.get("strategic_goals") or "").strip():
        return PlainStatus.GOALS_AGREED
    return PlainStatus.PREPARING


# --- what is due ---------------------------------------------------------------------------------

def _open(step: dict) -> bool:
    return StepStatus(step["status"]).is_open


def steps_due(fields: list[ApprovedField], today: date, months: int) -> list[tuple[ApprovedField, dict]]:
    """Open steps due from today up to `months` ahead, soonest first."""
    until = add_months(today, months).isoformat()
    found = [
        (field, step)
        for field in fields if field.row
        for step in field.row.get("next_steps", [])
        if _open(step) and step.get("due_date") and today.isoformat() <= step["due_date"] <= until
    ]
    return sorted(found, key=lambda pair: (pair[1]["due_date"], pair[0].number))


def steps_overdue(fields: list[ApprovedField], today: date) -> list[tuple[ApprovedField, dict]]:
    """Open steps whose due date has passed, longest overdue first."""
    found = [
        (field, step)
        for field in fields if field.row
        for step in field.row.get("next_steps", [])
        if step_is_overdue(step.get("due_date"), step["status"], today)
    ]
    return sorted(found, key=lambda pair: (pair[1]["due_date"], pair[0].number))


def funding_ending(fields: list[ApprovedField], today: date, months: int) -> list[tuple[ApprovedField, dict]]:
    """Financing items that end between today and `months` ahead, soonest first; follow-up marks Verstetigung."""
    until = add_months(today, months).isoformat()
    found = [
        (field, item)
        for field in fields if field.row
        for item in field.row.get("financing_items", [])
        if item.get("end_date") and today.isoformat() <= item["end_date"] <= until
    ]
    return sorted(found, key=lambda pair: (pair[1]["end_date"], pair[0].number))


def key_indicator(fields: list[ApprovedField]) -> tuple[ApprovedField, dict] | None:
    """The strategy's headline figure: the first visible key indicator that has values."""
    for field in fields:
        for indicator in (field.row or {}).get("indicators", []):
            if indicator.get("is_key") and indicator.get("values"):
                return field, indicator
    return None


# --- cheap cache validators ----------------------------------------------------------------------

@dataclass(frozen=True)
class Validators:
    etag: str
    last_modified: datetime
    last_approved_at: datetime | None


def _approval_aggregates():
    """max/count of approved_at, count and id-sum of the live fields: what a status answer depends on."""
    return (db.func.max(Field.approved_at), db.func.count(Field.approved_at), db.func.count(Field.id),
            db.func.coalesce(db.func.sum(Field.id), 0))


@lru_cache(maxsize=1)
def _strategy_with_aggregates_query():
    # Built once: constructing the statement costs more than running it on a revalidation.
    return (
        db.select(Strategy, *_approval_aggregates())
        .outerjoin(Field, db.and_(Field.strategy_id == Strategy.id, Field.is_archived.is_(False)))
        .where(Strategy.slug == db.bindparam("slug"))
        .group_by(Strategy.id)
    )


def strategy_with_aggregates(slug: str) -> tuple[Strategy | None, tuple]:
    """The strategy and its approval aggregates in one query (a revalidation then costs one round trip)."""
    row = db.session.execute(_strategy_with_aggregates_query(), {"slug": slug}).first()
    return (None, ()) if row is None else (row[0], tuple(row[1:]))


def validators(strategy: Strategy, *parts: object, aggregates: tuple | None = None) -> Validators:
    """ETag and Last-Modified of a status page or API answer, from one aggregate query, without rendering.

    The content depends on the approved rows (max/count of approved_at, which fields are live), on the
    strategy's own settings, on today's date (due and overdue steps) and on whatever the caller adds
    (audience, language, viewer, page).
    """
    if not aggregates:
        aggregates = tuple(db.session.execute(
            db.select(*_approval_aggregates())
            .where(Field.strategy_id == strategy.id, Field.is_archived.is_(False))
        ).one())
    latest, approved, live, ids = aggregates
    if latest is not None and latest.tzinfo is None:  # SQLite aggregates lose the column type
        latest = datetime.fromisoformat(str(latest)).replace(tzinfo=timezone.utc)
    today = local_today()
    key = "|".join(str(part) for part in (
        current_app.config.get("STATUS_CACHE_VERSION", "1"), current_app.config["SQLALCHEMY_DATABASE_URI"],
        strategy.id, strategy.title, strategy.subtitle,
        strategy.visibility, sorted((strategy.block_visibility or {}).items()), strategy.settings_changed_at,
        latest, approved, live, ids, today, *parts,
    ))
    etag = hashlib.sha256(key.encode()).hexdigest()[:32]
    midnight = datetime.combine(today, time(0), ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"]))
    candidates = [strategy.settings_changed_at, midnight.astimezone(timezone.utc)]
    if latest is not None:
        candidates.append(latest)
    return Validators(etag, max(candidates).replace(microsecond=0), latest)


# --- recent changes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    field: ApprovedField
    approved_at: datetime
    changed: list[str]  # top-level snapshot keys, reduced to the visible blocks
    is_first_approval: bool
    # The word diffs behind `changed`, between the visible parts of the two approved states: the reader sees
    # only approved content and only the blocks they may read.
    comparison: FieldComparison | None = None


def recent_changes(strategy: Strategy, blocks: frozenset[str], weeks: int, today: date) -> list[Change]:
    """Fields approved within the last `weeks`, newest first, with what changed against the state that was
    approved when the period began (several approvals in the period count as one change). A field first
    approved within the period is reported as newly approved, with what changed since that first approval
    when it was approved again."""
    since = datetime.combine(today - timedelta(weeks=weeks), time(0), timezone.utc)
    fields = [f for f in approved_fields(strategy, blocks) if f.approved_at and f.approved_at >= since]
    if not fields:
        return []
    before_period, first_in_period = _approved_states(fields, since)
    visible_keys = {key for block in blocks for key in BLOCK_KEYS[block]} | {"title", "goal_text", "phase"}
    changes = []
    for field in fields:
        before = before_period.get(field.id)
        baseline = before if before is not None else first_in_period.get(field.id)
        after = field.row or {}
        keys = [key for key in changed_keys(baseline, after) if key in visible_keys] if baseline else []
        if before is not None and not keys:
            continue  # approved again without a change the reader can see
        comparison = compare_fields(approved_row(baseline, blocks), after) if keys else None
        changes.append(Change(field, field.approved_at, keys, before is None, comparison))
    return sorted(changes, key=lambda change: (change.approved_at, -change.field.number), reverse=True)


def _approved_states(fields: list[ApprovedField], since: datetime) -> tuple[dict[int, Snapshot], dict[int, Snapshot]]:
    """Per field, the approved snapshot as it stood at `since` (the last approval before then) and the one its
    first approval within the period made: both are approval revisions (revisions.is_approval)."""
    ids = [field.id for field in fields]
    last_before = (db.select(db.func.max(Revision.id))
                   .where(Revision.field_id.in_(ids), is_approval(), Revision.created_at < since)
                   .group_by(Revision.field_id))
    first_within = (db.select(db.func.min(Revision.id))
                    .where(Revision.field_id.in_(ids), is_approval(), Revision.created_at >= since)
                    .group_by(Revision.field_id))
    before: dict[int, Snapshot] = {}
    first: dict[int, Snapshot] = {}
    first_ids = set(db.session.scalars(first_within))
    for revision_id, field_id, content in db.session.execute(
        db.select(Revision.id, Revision.field_id, Revision.content)
        .where(db.or_(Revision.id.in_(last_before), Revision.id.in_(list(first_ids))))
    ):
        if content:
            (first if revision_id in first_ids else before)[field_id] = content
    return before, first
