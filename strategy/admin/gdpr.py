"""GDPR: erasing a person (Art. 17) and everything stored about one person or account (Art. 15)."""
from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..audit import AuditAction, plain, record_event
from ..extensions import db
from ..models import (
    ApiToken,
    AuditEvent,
    Field,
    NextStep,
    Person,
    Responsibility,
    ReviewComment,
    Revision,
    SetPasswordToken,
    User,
    UserSession,
    WorkingGroupMember,
    utcnow,
)
from ..summaries import summary
from .changes import fields_naming, recording

# The name a deleted person keeps, so rows and history that named them stay readable (stored data, German).
PERSON_PLACEHOLDER = "gelöschte Person"


def _without(label: str, name: str) -> str:
    """A step's 'who' label ("Name – Organisation") without the deleted person's name."""
    return " – ".join(part for part in label.split(" – ") if part != name)


def _scrub_approved(field: Field, label: str, name: str) -> None:
    """Take the deleted person out of what partners and the public read (the approved snapshot). Revisions
    and editions keep their text: they are the record of what was decided."""
    content = field.approved_content
    if not content:
        return
    content = json.loads(json.dumps(content))
    content["responsible"] = [r for r in content.get("responsible", []) if r.get("label") not in (label, name)]
    for group in content.get("working_groups", []):
        group["members"] = [m for m in group.get("members", []) if m.get("label") not in (label, name)]
    for step in content.get("next_steps", []):
        if step.get("responsible"):
            step["responsible"] = _without(step["responsible"], name)
    field.approved_content = content


def erase_person(actor: User, person: Person) -> list[int]:
    """Delete a person who may appear in rows and history (GDPR Art. 17).

    The row stays with a placeholder name, so history that points at it stays readable; e-mail and
    organisation go; their links in responsibilities and working groups are removed (a link that also
    names an organisation keeps the organisation); next steps keep the organisation the person stood for.
    Every row that changes gets a revision. Returns the numbers of the fields that named the person.
    """
    field_ids = fields_naming(person_id=person.id)
    label, name = person.label, person.name
    with recording(actor, field_ids, summary("person_deleted")):
        for link in db.session.scalars(sa.select(Responsibility).filter_by(person_id=person.id)):
            if link.organisation_id is None:
                db.session.delete(link)
            else:
                link.person_id = None
        for member in db.session.scalars(sa.select(WorkingGroupMember).filter_by(person_id=person.id)):
            if member.organisation_id is None:
                db.session.delete(member)
            else:
                member.person_id = None
        for step in db.session.scalars(sa.select(NextStep).filter_by(responsible_person_id=person.id)):
            if step.responsible_organisation_id is None:
                step.responsible_organisation_id = person.organisation_id
            step.responsible_person_id = None
        if person.user is not None:
            person.user.person_id = None
        person.name = PERSON_PLACEHOLDER
        person.email = None
        person.organisation_id = None
        person.is_deleted = True
        db.session.flush()
        db.session.expire_all()
    fields = list(db.session.scalars(sa.select(Field).where(Field.id.in_(field_ids)).order_by(Field.number)))
    for field in fields:
        _scrub_approved(field, label, name)
    record_event(AuditAction.PERSON_DELETE, actor, object_type="person", object_id=person.id,
                 detail={"fields": [f"{field.strategy.slug}#{field.number}" for field in fields]})
    return [field.number for field in fields]


# --- GDPR Art. 15: everything stored about one person --------------------------------------------------

def _field_ref(field: Field) -> dict[str, Any]:
    return {"strategy": field.strategy.slug, "number": field.number, "title": field.title}


def _like_json_text(text: str) -> str:
    """A LIKE pattern that finds `text` inside JSON as the database stores it (non-ASCII escaped)."""
    encoded = json.dumps(text)[1:-1]
    escaped = encoded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def personal_data(actor: User, *, person: Person | None = None, account: User | None = None) -> dict[str, Any]:
    """Everything stored about one person and their account, as JSON-able data; writes the audit event."""
    if person is None and account is not None:
        person = account.person
    if account is None and person is not None:
        account = person.user
    export: dict[str, Any] = {
        "export": {
            "purpose": "Auskunft nach Art. 15 DSGVO",
            "created_at": utcnow().isoformat(),
            "created_by": actor.email,
        },
        "person": None,
        "account": None,
    }
    if person is not None:
        export["person"] = _person_data(person)
    if account is not None:
        export["account"] = _account_data(account)
    record_event(AuditAction.PERSON_EXPORT if person is not None else AuditAction.ACCOUNT_EXPORT, actor,
                 object_type="person" if person is not None else "user",
                 object_id=(person or account).id)
    return export


def _person_data(person: Person) -> dict[str, Any]:
    responsibilities = db.session.scalars(sa.select(Responsibility).filter_by(person_id=person.id))
    members = db.session.scalars(sa.select(WorkingGroupMember).filter_by(person_id=person.id))
    steps = db.session.scalars(sa.select(NextStep).filter_by(responsible_person_id=person.id))
    data: dict[str, Any] = {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "organisation": person.organisation.name if person.organisation else None,
        "is_deleted": person.is_deleted,
        "responsible_for_fields": [
            {**_field_ref(r.field), "role": r.role.value,
             "organisation": r.organisation.name if r.organisation else None} for r in responsibilities],
        "working_groups": [
            {**_field_ref(m.working_group.field), "working_group": m.working_group.name, "role": m.role.value}
            for m in members],
        "next_steps": [
            {**_field_ref(s.field), "description": s.description, "due_date": plain(s.due_date),
             "status": s.status.value} for s in steps],
    }
    if not person.is_deleted:
        # Revisions keep the text of their time; these name the person (or someone of the same name).
        mentions = db.session.execute(
            sa.select(Revision.id, Revision.created_at, Field)
            .join(Field, Revision.field_id == Field.id)
            .where(sa.cast(Revision.content, sa.Text).like(_like_json_text(person.name), escape="\\"))
            .order_by(Revision.created_at)
        ).all()
        data["named_in_field_history"] = [
            {"revision": rid, "created_at": plain(created), **_field_ref(field)} for rid, created, field in mentions
        ]
    return data


def _account_data(account: User) -> dict[str, Any]:
    revisions = db.session.scalars(
        sa.select(Revision).filter_by(author_id=account.id).options(selectinload(Revision.field))
        .order_by(Revision.created_at))
    comments = db.session.scalars(
        sa.select(ReviewComment).filter_by(author_id=account.id).order_by(ReviewComment.created_at))
    tokens = db.session.scalars(sa.select(ApiToken).filter_by(user_id=account.id).order_by(ApiToken.created_at))
    sessions = db.session.scalars(sa.select(UserSession).filter_by(user_id=account.id).order_by(UserSession.created_at))
    links = db.session.scalars(
        sa.select(SetPasswordToken).filter_by(user_id=account.id).order_by(SetPasswordToken.created_at))
    events = db.session.scalars(
        sa.select(AuditEvent).where(sa.or_(
            AuditEvent.actor_id == account.id,
            sa.and_(AuditEvent.object_type == "user", AuditEvent.object_id == str(account.id)),
        )).order_by(AuditEvent.occurred_at))
    return {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "is_admin": account.is_admin,
        "active": account.active,
        "created_at": plain(account.created_at),
        "last_login_at": plain(account.last_login_at),
        "password_set": account.password_hash is not None,  # never the hash itself
        "password_changed_at": plain(account.password_changed_at),
        "two_factor_enabled": account.totp_secret is not None,  # never the secret
        "failed_login_count": account.failed_login_count,
        "locked_until": plain(account.locked_until),
        "roles": [{"strategy": m.strategy.slug, "role": m.role.value} for m in account.memberships],
        "coordinates_fields": [_field_ref(a.field) for a in account.assignments],
        "revisions_written": [
            {"id": r.id, "created_at": plain(r.created_at), "kind": r.kind.value, "summary": r.summary,
             "changed_columns": r.changed_columns, **_field_ref(r.field)} for r in revisions],
        "review_comments": [
            {"id": c.id, "created_at": plain(c.created_at), "field_id": c.field_id, "column": c.column,
             "body": c.body} for c in comments],
        "api_tokens": [
            {"name": t.name, "prefix": t.prefix, "created_at": plain(t.created_at),
             "last_used_at": plain(t.last_used_at), "revoked_at": plain(t.revoked_at)} for t in tokens],
        "sessions": [
            {"created_at": plain(x.created_at), "last_seen_at": plain(x.last_seen_at), "ip_address": x.ip_address,
             "user_agent": x.user_agent} for x in sessions],
        "set_password_links": [
            {"created_at": plain(x.created_at), "expires_at": plain(x.expires_at), "used_at": plain(x.used_at),
             "superseded_at": plain(x.superseded_at)} for x in links],
        "audit_events": [
            {"occurred_at": plain(e.occurred_at), "action": e.action, "object_type": e.object_type,
             "object_id": e.object_id, "detail": e.detail, "ip_address": e.ip_address} for e in events],
    }
