"""Organisations and people. Renaming one writes a revision of every field whose row names it."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..audit import AuditAction, record_event
from ..extensions import db
from ..models import Organisation, OrganisationKind, Person, User
from ..summaries import summary
from .changes import apply_changes, fields_naming, recording


def organisations() -> list[Organisation]:
    return list(db.session.scalars(sa.select(Organisation).order_by(sa.func.lower(Organisation.name))))


def create_organisation(actor: User, *, name: str, short_name: str | None, kind: OrganisationKind) -> Organisation:
    organisation = Organisation(name=name, short_name=short_name, kind=kind)
    db.session.add(organisation)
    db.session.flush()
    record_event(AuditAction.ORGANISATION_CREATE, actor, object_type="organisation", object_id=organisation.id,
                 detail={"name": name, "short_name": short_name, "kind": kind.value})
    return organisation


def update_organisation(actor: User, organisation: Organisation, *, name: str, short_name: str | None,
                        kind: OrganisationKind) -> dict[str, Any]:
    with recording(actor, fields_naming(organisation_id=organisation.id), summary("organisation_renamed")):
        changes = apply_changes(organisation, {"name": name, "short_name": short_name, "kind": kind})
    if changes:
        record_event(AuditAction.ORGANISATION_EDIT, actor, object_type="organisation", object_id=organisation.id,
                     detail=changes)
    return changes


def people() -> list[Person]:
    return list(db.session.scalars(
        sa.select(Person).options(selectinload(Person.organisation), selectinload(Person.user))
        .order_by(Person.is_deleted, sa.func.lower(Person.name))
    ))


def create_person(actor: User, *, name: str, organisation_id: int | None, email: str | None) -> Person:
    person = Person(name=name, organisation_id=organisation_id, email=email)
    db.session.add(person)
    db.session.flush()
    # Personal data stays out of the (append-only) log: it names the record, not the person.
    record_event(AuditAction.PERSON_CREATE, actor, object_type="person", object_id=person.id)
    return person


def update_person(actor: User, person: Person, *, name: str, organisation_id: int | None,
                  email: str | None) -> list[str]:
    with recording(actor, fields_naming(person_id=person.id), summary("person_changed")):
        changes = apply_changes(person, {"name": name, "organisation_id": organisation_id, "email": email})
        db.session.flush()
        db.session.expire(person, ["organisation"])  # the row's labels read the new organisation
    if changes:
        record_event(AuditAction.PERSON_EDIT, actor, object_type="person", object_id=person.id,
                     detail={"changed": sorted(changes)})
    return sorted(changes)
