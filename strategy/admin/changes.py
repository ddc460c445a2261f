"""What admin operations share: applying only the named values, and the revisions of fields whose rows read
differently afterwards (names are resolved to text in a row)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator

import sqlalchemy as sa

from ..audit import CHANGED, plain
from ..extensions import db
from ..fields.services import load_field_row
from ..models import Field, NextStep, Person, Responsibility, RevisionKind, User, WorkingGroup, WorkingGroupMember
from ..revisions import record_change
from ..snapshots import field_snapshot
from ..summaries import Summary


def apply_changes(obj: Any, values: dict[str, Any], *, prose: tuple[str, ...] = ()) -> dict[str, Any]:
    """Set the given attributes; return {name: {"before": old, "after": new}} for those that changed."""
    changes: dict[str, Any] = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            setattr(obj, name, new)
            changes[name] = CHANGED if name in prose else {"before": plain(old), "after": plain(new)}
    return changes


@contextmanager
def recording(actor: User, field_ids: Iterable[int], summary: Summary) -> Iterator[None]:
    """Write a revision for every field whose row reads differently after the block (names are resolved to text
    in a row, so renaming a person or organisation changes the rows that name them)."""
    befores = {field_id: field_snapshot(load_field_row(field_id)) for field_id in sorted(set(field_ids))}
    yield
    for field_id, before in befores.items():
        record_change(db.session.get(Field, field_id), actor, RevisionKind.EDIT, before, summary)


def fields_naming(*, person_id: int | None = None, organisation_id: int | None = None) -> set[int]:
    """Ids of the fields whose row shows this person or organisation (directly or as a person's organisation)."""
    people = sa.select(Person.id).where(Person.organisation_id == organisation_id)

    def names(person_col, organisation_col):
        if person_id is not None:
            return person_col == person_id
        return sa.or_(organisation_col == organisation_id, person_col.in_(people))

    queries = [
        sa.select(Responsibility.field_id).where(names(Responsibility.person_id, Responsibility.organisation_id)),
        sa.select(WorkingGroup.field_id).join(WorkingGroupMember).where(
            names(WorkingGroupMember.person_id, WorkingGroupMember.organisation_id)),
        sa.select(NextStep.field_id).where(
            names(NextStep.responsible_person_id, NextStep.responsible_organisation_id)),
    ]
    return set(db.session.scalars(sa.union(*queries)))
