"""Admin operations: strategies, fields, organisations, people, accounts, the audit log, GDPR exports.

Each function changes exactly what its keyword arguments name (never a whole form's data), writes its
audit event and, where a field's row shows the change, the field's revision. The view commits, so a change
and its records land in one transaction.
"""
from __future__ import annotations

import enum
import json
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..auth.services import create_set_password_link, end_all_sessions, record_event
from ..extensions import db
from ..fields.services import load_field_row
from ..models import (
    ApiToken,
    AuditEvent,
    Field,
    FieldAssignment,
    Membership,
    NextStep,
    Organisation,
    OrganisationKind,
    Person,
    Responsibility,
    ReviewComment,
    Revision,
    RevisionKind,
    Role,
    SetPasswordToken,
    Strategy,
    User,
    UserSession,
    Visibility,
    WorkingGroup,
    WorkingGroupMember,
    utcnow,
)
from ..revisions import record_change
from ..snapshots import field_snapshot

# The name a deleted person keeps, so rows and history that named them stay readable (stored data, German).
PERSON_PLACEHOLDER = "gelöschte Person"
AUDIT_PAGE_SIZE = 50


class StaleStructure(Exception):
    """The fields changed since the admin loaded the page (another admin added, moved or archived one)."""


# --- helpers -------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A value as the audit log's JSON stores it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


# Long prose: the log says that it changed, not what it says (the field's history has the text).
CHANGED = "geändert"


def _apply(obj: Any, values: dict[str, Any], *, prose: tuple[str, ...] = ()) -> dict[str, Any]:
    """Set the given attributes; return {name: {"before": old, "after": new}} for those that changed."""
    changes: dict[str, Any] = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            setattr(obj, name, new)
            changes[name] = CHANGED if name in prose else {"before": _plain(old), "after": _plain(new)}
    return changes


def _lock_structure(strategy: Strategy) -> None:
    """Serialise structure changes (numbering) of one strategy between admins and processes.

    A write that changes nothing, as the transaction's first statement: PostgreSQL locks the strategy's row
    until commit; SQLite takes its write lock at once (waiting up to the busy timeout), so what is read after
    it is current and no other writer can slip in between reading the numbers and writing them.
    """
    db.session.execute(
        sa.update(Strategy).where(Strategy.id == strategy.id)
        .values(settings_changed_at=Strategy.settings_changed_at)
        .execution_options(synchronize_session=False)
    )


@contextmanager
def _recording(actor: User, field_ids: Iterable[int], summary: str) -> Iterator[None]:
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


# --- strategies ----------------------------------------------------------------------------------------

def strategies() -> list[Strategy]:
    return list(db.session.scalars(
        sa.select(Strategy).options(selectinload(Strategy.owner), selectinload(Strategy.all_fields))
        .order_by(Strategy.title)
    ))


def create_strategy(actor: User, *, title: str, slug: str, subtitle: str, framework_title: str, description: str,
                    owner_organisation_id: int | None, visibility: Visibility) -> Strategy:
    strategy = Strategy(title=title, slug=slug, subtitle=subtitle, framework_title=framework_title,
                        description=description, owner_organisation_id=owner_organisation_id,
                        visibility=visibility)
    db.session.add(strategy)
    db.session.flush()
    record_event("strategy.create", actor, object_type="strategy", object_id=strategy.id,
                 detail={"slug": slug, "title": title, "visibility": visibility.value})
    return strategy


def update_strategy(actor: User, strategy: Strategy, *, title: str, slug: str, subtitle: str, framework_title: str,
                    description: str, owner_organisation_id: int | None, visibility: Visibility) -> dict[str, Any]:
    changes = _apply(strategy, {
        "title": title, "slug": slug, "subtitle": subtitle, "framework_title": framework_title,
        "description": description, "owner_organisation_id": owner_organisation_id, "visibility": visibility,
    }, prose=("description",))
    if "visibility" in changes:
        strategy.settings_changed_at = utcnow()  # status pages' cache validators
    if changes:
        record_event("strategy.edit", actor, object_type="strategy", object_id=strategy.id, detail=changes)
    return changes


# --- fields --------------------------------------------------------------------------------------------

def strategy_fields(strategy: Strategy) -> list[Field]:
    """All fields of a strategy, archived ones included, with their coordinators."""
    return list(db.session.scalars(
        sa.select(Field).filter_by(strategy_id=strategy.id).order_by(Field.is_archived, Field.number)
        .options(selectinload(Field.assignments).selectinload(FieldAssignment.user))
    ))


def add_field(actor: User, strategy: Strategy, *, title: str, goal_text: str) -> Field:
    """A new field at the end of the goal system, with its first revision."""
    _lock_structure(strategy)
    highest = db.session.scalar(sa.select(sa.func.max(Field.number)).where(Field.strategy_id == strategy.id))
    field = Field(strategy_id=strategy.id, number=(highest or 0) + 1, title=title, goal_text=goal_text)
    db.session.add(field)
    db.session.flush()
    record_change(field, actor, RevisionKind.CREATE, None, "Handlungsfeld angelegt")
    record_event("field.create", actor, object_type="field", object_id=field.id,
                 detail={"strategy": strategy.slug, "number": field.number, "title": title})
    return field


def edit_field(actor: User, field: Field, *, title: str, goal_text: str) -> Revision | None:
    """Rename a field or change its goal text; the change appears in the field's history."""
    field = load_field_row(field.id)
    before = field_snapshot(field)
    changes = _apply(field, {"title": title, "goal_text": goal_text}, prose=("goal_text",))
    if not changes:
        return None
    revision = record_change(field, actor, RevisionKind.EDIT, before, "Titel/Ziel in der Verwaltung geändert")
    record_event("field.edit", actor, object_type="field", object_id=field.id,
                 detail={"strategy": field.strategy.slug, "number": field.number, **changes})
    return revision


def _renumber(targets: dict[Field, int]) -> dict[int, int]:
    """Give fields new numbers without ever breaking the unique (strategy, number) constraint.

    Neither SQLite nor PostgreSQL (for a non-deferrable constraint) lets two rows hold one number even
    for a moment, so a swap goes through temporary numbers: first every moving field gets a negative
    number of its own (-id, never used by a real field), then its target. Both steps are flushed inside
    the caller's transaction, so a failure leaves the old numbering in place.
    """
    moving = {field: number for field, number in targets.items() if field.number != number}
    if not moving:
        return {}
    old = {field: field.number for field in moving}
    for field in moving:
        field.number = -field.id
    db.session.flush()
    for field, number in moving.items():
        field.number = number
        if field.approved_content is not None:
            # The number is the field's place in the goal system, not content under review.
            field.approved_content = {**field.approved_content, "number": number}
    db.session.flush()
    return {old[field]: field.number for field in moving}


def _locked_fields(strategy: Strategy) -> list[Field]:
    _lock_structure(strategy)
    return list(db.session.scalars(
        sa.select(Field).filter_by(strategy_id=strategy.id).order_by(Field.number)
        .execution_options(populate_existing=True)
    ))


def reorder_fields(actor: User, strategy: Strategy, ordered_ids: list[int]) -> dict[int, int]:
    """Put the live fields in the given order. They take over the numbers the live fields hold now, so
    archived fields keep theirs and only the fields that move change their number."""
    live = [field for field in _locked_fields(strategy) if not field.is_archived]
    if sorted(ordered_ids) != sorted(field.id for field in live):
        raise StaleStructure()
    by_id = {field.id: field for field in live}
    slots = [field.number for field in live]
    moved = _renumber({by_id[field_id]: slots[position] for position, field_id in enumerate(ordered_ids)})
    if moved:
        record_event("field.reorder", actor, object_type="strategy", object_id=strategy.id,
                     detail={"strategy": strategy.slug, "numbers": {str(a): b for a, b in moved.items()}})
    return moved


def move_field(actor: User, field: Field, offset: int) -> dict[int, int]:
    """Move a live field up (offset -1) or down (+1) among the live fields."""
    live = [f for f in _locked_fields(field.strategy) if not f.is_archived]
    ids = [f.id for f in live]
    if field.id not in ids:
        raise StaleStructure()
    position = ids.index(field.id)
    target = position + offset
    if not 0 <= target < len(ids):
        return {}
    ids[position], ids[target] = ids[target], ids[position]
    return reorder_fields(actor, field.strategy, ids)


def close_number_gaps(actor: User, strategy: Strategy) -> dict[int, int]:
    """Number the live fields 1…n in their order; archived fields follow them."""
    fields = _locked_fields(strategy)
    ordered = [f for f in fields if not f.is_archived] + [f for f in fields if f.is_archived]
    moved = _renumber({field: position for position, field in enumerate(ordered, start=1)})
    if moved:
        record_event("field.renumber", actor, object_type="strategy", object_id=strategy.id,
                     detail={"strategy": strategy.slug, "numbers": {str(a): b for a, b in moved.items()}})
    return moved


def set_field_archived(actor: User, field: Field, archived: bool) -> bool:
    """Archive a field (it leaves the live framework, its history stays) or bring it back. Fields are never
    deleted: revisions and editions refer to them."""
    if field.is_archived == archived:
        return False
    field.is_archived = archived
    record_event("field.archive" if archived else "field.unarchive", actor, object_type="field",
                 object_id=field.id, detail={"strategy": field.strategy.slug, "number": field.number,
                                             "title": field.title})
    return True


# --- organisations and people --------------------------------------------------------------------------

def organisations() -> list[Organisation]:
    return list(db.session.scalars(sa.select(Organisation).order_by(sa.func.lower(Organisation.name))))


def create_organisation(actor: User, *, name: str, short_name: str | None, kind: OrganisationKind) -> Organisation:
    organisation = Organisation(name=name, short_name=short_name, kind=kind)
    db.session.add(organisation)
    db.session.flush()
    record_event("organisation.create", actor, object_type="organisation", object_id=organisation.id,
                 detail={"name": name, "short_name": short_name, "kind": kind.value})
    return organisation


def update_organisation(actor: User, organisation: Organisation, *, name: str, short_name: str | None,
                        kind: OrganisationKind) -> dict[str, Any]:
    with _recording(actor, fields_naming(organisation_id=organisation.id), "Organisation umbenannt"):
        changes = _apply(organisation, {"name": name, "short_name": short_name, "kind": kind})
    if changes:
        record_event("organisation.edit", actor, object_type="organisation", object_id=organisation.id,
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
    record_event("person.create", actor, object_type="person", object_id=person.id)
    return person


def update_person(actor: User, person: Person, *, name: str, organisation_id: int | None,
                  email: str | None) -> list[str]:
    with _recording(actor, fields_naming(person_id=person.id), "Angaben zu einer Person geändert"):
        changes = _apply(person, {"name": name, "organisation_id": organisation_id, "email": email})
        db.session.flush()
        db.session.expire(person, ["organisation"])  # the row's labels read the new organisation
    if changes:
        record_event("person.edit", actor, object_type="person", object_id=person.id,
                     detail={"changed": sorted(changes)})
    return sorted(changes)


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
    with _recording(actor, field_ids, "Person gelöscht"):
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
    record_event("person.delete", actor, object_type="person", object_id=person.id,
                 detail={"fields": [f"{field.strategy.slug}#{field.number}" for field in fields]})
    return [field.number for field in fields]


# --- accounts ------------------------------------------------------------------------------------------

def accounts() -> list[User]:
    return list(db.session.scalars(
        sa.select(User).options(
            selectinload(User.memberships).selectinload(Membership.strategy),
            selectinload(User.assignments).selectinload(FieldAssignment.field),
            selectinload(User.person),
        ).order_by(sa.func.lower(User.email))
    ))


def email_taken(email: str, except_id: int | None = None) -> bool:
    query = sa.select(User.id).where(sa.func.lower(User.email) == email.strip().lower())
    if except_id is not None:
        query = query.where(User.id != except_id)
    return db.session.scalar(query) is not None


def create_account(actor: User, *, email: str, name: str, person_id: int | None, is_admin: bool) -> tuple[User, str]:
    """A new account without a password, and the one-time link with which its owner sets one."""
    account = User(email=email, name=name, person_id=person_id, is_admin=is_admin, active=True, password_hash=None)
    db.session.add(account)
    db.session.flush()
    link = create_set_password_link(account, created_by=actor)
    record_event("account.create", actor, object_type="user", object_id=account.id,
                 detail={"email": email, "is_admin": is_admin, "person_id": person_id})
    return account, link


def update_account(actor: User, account: User, *, email: str, name: str, person_id: int | None,
                   is_admin: bool) -> dict[str, Any]:
    changes = _apply(account, {"email": email, "name": name, "person_id": person_id, "is_admin": is_admin})
    if changes:
        record_event("account.edit", actor, object_type="user", object_id=account.id, detail=changes)
    return changes


def issue_password_link(actor: User, account: User) -> str:
    """A new one-time link (forgotten password); links issued before stop working."""
    return create_set_password_link(account, created_by=actor)  # writes its own audit event


def set_account_active(actor: User, account: User, active: bool) -> bool:
    """Deactivate (every session of the account ends at once) or reactivate an account."""
    if account.active == active:
        return False
    account.active = active
    if not active:
        end_all_sessions(account)
    record_event("account.reactivate" if active else "account.deactivate", actor, object_type="user",
                 object_id=account.id, detail={"email": account.email})
    return True


def set_access(actor: User, account: User, roles: dict[int, Role | None], fields: dict[int, set[int]]) -> dict:
    """Set the account's role in each named strategy and the fields it coordinates there.

    `roles` maps strategy id → role (None: no role); `fields` maps strategy id → ids of that strategy's
    fields. Only coordinators coordinate fields: a strategy without the coordinator role keeps none.
    """
    memberships = {m.strategy_id: m for m in account.memberships}
    strategies_by_id = {s.id: s for s in db.session.scalars(sa.select(Strategy).where(Strategy.id.in_(roles)))}
    role_changes: dict[str, list] = {}
    for strategy_id, role in roles.items():
        membership = memberships.get(strategy_id)
        old = membership.role if membership is not None else None
        if old == role:
            continue
        if role is None:
            account.memberships.remove(membership)
        elif membership is None:
            account.memberships.append(Membership(strategy_id=strategy_id, role=role))
        else:
            membership.role = role
        role_changes[strategies_by_id[strategy_id].slug] = {"before": _plain(old), "after": _plain(role)}

    wanted: set[int] = set()
    for strategy_id, role in roles.items():
        if role == Role.COORDINATOR:
            wanted |= set(fields.get(strategy_id, ()))
    field_strategy = dict(db.session.execute(
        sa.select(Field.id, Field.strategy_id).where(Field.id.in_(wanted | {a.field_id for a in account.assignments}))
    ).all())
    added, removed = [], []
    for assignment in list(account.assignments):
        if field_strategy.get(assignment.field_id) in roles and assignment.field_id not in wanted:
            account.assignments.remove(assignment)
            removed.append(assignment.field_id)
    have = {a.field_id for a in account.assignments}
    for field_id in sorted(wanted - have):
        account.assignments.append(FieldAssignment(field_id=field_id))
        added.append(field_id)
    db.session.flush()
    if role_changes or added or removed:
        numbers = dict(db.session.execute(
            sa.select(Field.id, Field.number).where(Field.id.in_(added + removed))).all())
        record_event("account.access", actor, object_type="user", object_id=account.id, detail={
            "email": account.email, "roles": role_changes,
            "fields_added": sorted(numbers[i] for i in added),
            "fields_removed": sorted(numbers[i] for i in removed),
        })
    return {"roles": role_changes, "added": added, "removed": removed}


# --- audit log -----------------------------------------------------------------------------------------

def audit_events(*, action: str | None, actor_id: int | None, page: int):
    query = sa.select(AuditEvent).options(selectinload(AuditEvent.actor))
    if action:
        query = query.where(AuditEvent.action == action)
    if actor_id:
        query = query.where(AuditEvent.actor_id == actor_id)
    query = query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    return db.paginate(query, page=page, per_page=AUDIT_PAGE_SIZE, error_out=False)


def audit_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


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
    record_event("person.export" if person is not None else "account.export", actor,
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
            {**_field_ref(s.field), "description": s.description, "due_date": _plain(s.due_date),
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
            {"revision": rid, "created_at": _plain(created), **_field_ref(field)} for rid, created, field in mentions
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
        "created_at": _plain(account.created_at),
        "last_login_at": _plain(account.last_login_at),
        "password_set": account.password_hash is not None,  # never the hash itself
        "password_changed_at": _plain(account.password_changed_at),
        "two_factor_enabled": account.totp_secret is not None,  # never the secret
        "failed_login_count": account.failed_login_count,
        "locked_until": _plain(account.locked_until),
        "roles": [{"strategy": m.strategy.slug, "role": m.role.value} for m in account.memberships],
        "coordinates_fields": [_field_ref(a.field) for a in account.assignments],
        "revisions_written": [
            {"id": r.id, "created_at": _plain(r.created_at), "kind": r.kind.value, "summary": r.summary,
             "changed_columns": r.changed_columns, **_field_ref(r.field)} for r in revisions],
        "review_comments": [
            {"id": c.id, "created_at": _plain(c.created_at), "field_id": c.field_id, "column": c.column,
             "body": c.body} for c in comments],
        "api_tokens": [
            {"name": t.name, "prefix": t.prefix, "created_at": _plain(t.created_at),
             "last_used_at": _plain(t.last_used_at), "revoked_at": _plain(t.revoked_at)} for t in tokens],
        "sessions": [
            {"created_at": _plain(x.created_at), "last_seen_at": _plain(x.last_seen_at), "ip_address": x.ip_address,
             "user_agent": x.user_agent} for x in sessions],
        "set_password_links": [
            {"created_at": _plain(x.created_at), "expires_at": _plain(x.expires_at), "used_at": _plain(x.used_at),
             "superseded_at": _plain(x.superseded_at)} for x in links],
        "audit_events": [
            {"occurred_at": _plain(e.occurred_at), "action": e.action, "object_type": e.object_type,
             "object_id": e.object_id, "detail": e.detail, "ip_address": e.ip_address} for e in events],
    }
