"""Strategies and their fields as the admin area changes them.

Each function changes exactly what its keyword arguments name (never a whole form's data), writes its audit
event and, where a field's row shows the change, the field's revision. The view commits.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..audit import AuditAction, record_event
from ..extensions import db
from ..fields.services import load_field_row
from ..models import Field, FieldAssignment, Revision, RevisionKind, Strategy, User, Visibility, utcnow
from ..revisions import record_change
from ..rounds.services import join_open_round
from ..snapshots import field_snapshot
from ..summaries import summary
from .changes import apply_changes
from .numbering import lock_structure


def strategies() -> list[Strategy]:
    return list(db.session.scalars(
        sa.select(Strategy).options(selectinload(Strategy.owner), selectinload(Strategy.all_fields))
        .order_by(Strategy.title)
    ))


def create_strategy(actor: User, *, title: str, slug: str, subtitle: str, framework_title: str, description: str,
                    owner_organisation_id: int | None, visibility: Visibility, bundesland: str = "NW") -> Strategy:
    strategy = Strategy(title=title, slug=slug, subtitle=subtitle, framework_title=framework_title,
                        description=description, owner_organisation_id=owner_organisation_id,
                        visibility=visibility, bundesland=bundesland)
    db.session.add(strategy)
    db.session.flush()
    record_event(AuditAction.STRATEGY_CREATE, actor, object_type="strategy", object_id=strategy.id,
                 detail={"slug": slug, "title": title, "visibility": visibility.value})
    return strategy


def update_strategy(actor: User, strategy: Strategy, *, title: str, slug: str, subtitle: str, framework_title: str,
                    description: str, owner_organisation_id: int | None, visibility: Visibility,
                    bundesland: str | None = None) -> dict[str, Any]:
    changes = apply_changes(strategy, {
        "title": title, "slug": slug, "subtitle": subtitle, "framework_title": framework_title,
        "description": description, "owner_organisation_id": owner_organisation_id, "visibility": visibility,
        "bundesland": bundesland or strategy.bundesland,
    }, prose=("description",))
    if "visibility" in changes:
        strategy.settings_changed_at = utcnow()  # status pages' cache validators
    if changes:
        record_event(AuditAction.STRATEGY_EDIT, actor, object_type="strategy", object_id=strategy.id, detail=changes)
    return changes


def strategy_fields(strategy: Strategy) -> list[Field]:
    """All fields of a strategy, archived ones included, with their coordinators."""
    return list(db.session.scalars(
        sa.select(Field).filter_by(strategy_id=strategy.id).order_by(Field.is_archived, Field.number)
        .options(selectinload(Field.assignments).selectinload(FieldAssignment.user))
    ))


def add_field(actor: User, strategy: Strategy, *, title: str, goal_text: str) -> Field:
    """A new field at the end of the goal system, with its first revision."""
    lock_structure(strategy)
    highest = db.session.scalar(sa.select(sa.func.max(Field.number)).where(Field.strategy_id == strategy.id))
    field = Field(strategy_id=strategy.id, number=(highest or 0) + 1, title=title, goal_text=goal_text)
    db.session.add(field)
    db.session.flush()
    record_change(field, actor, RevisionKind.CREATE, None, summary("field_created"))
    record_event(AuditAction.FIELD_CREATE, actor, object_type="field", object_id=field.id,
                 detail={"strategy": strategy.slug, "number": field.number, "title": title})
    join_open_round(field)
    return field


def edit_field(actor: User, field: Field, *, title: str, goal_text: str) -> Revision | None:
    """Rename a field or change its goal text; the change appears in the field's history."""
    field = load_field_row(field.id)
    before = field_snapshot(field)
    changes = apply_changes(field, {"title": title, "goal_text": goal_text}, prose=("goal_text",))
    if not changes:
        return None
    revision = record_change(field, actor, RevisionKind.EDIT, before, summary("head_changed_by_admin"))
    record_event(AuditAction.FIELD_EDIT, actor, object_type="field", object_id=field.id,
                 detail={"strategy": field.strategy.slug, "number": field.number, **changes})
    return revision


def set_field_archived(actor: User, field: Field, archived: bool) -> bool:
    """Archive a field (it leaves the live framework, its history stays) or bring it back. Fields are never
    deleted: revisions and editions refer to them."""
    if field.is_archived == archived:
        return False
    field.is_archived = archived
    record_event(AuditAction.FIELD_ARCHIVE if archived else AuditAction.FIELD_UNARCHIVE, actor, object_type="field",
                 object_id=field.id, detail={"strategy": field.strategy.slug, "number": field.number,
                                             "title": field.title})
    return True
