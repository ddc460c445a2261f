"""Accounts: creating, changing, (de)activating, and the roles and fields an account has."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..api.auth import revoke_all
from ..audit import AuditAction, plain, record_event
from ..auth.links import create_set_password_link
from ..auth.sessions import end_all_sessions
from ..extensions import db
from ..models import Field, FieldAssignment, Membership, Role, Strategy, User
from .changes import apply_changes


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
    record_event(AuditAction.ACCOUNT_CREATE, actor, object_type="user", object_id=account.id,
                 detail={"is_admin": is_admin, "person_id": person_id})
    return account, link


def update_account(actor: User, account: User, *, email: str, name: str, person_id: int | None,
                   is_admin: bool) -> dict[str, Any]:
    # Address and name are personal data: the log says that they changed and names the account by its id.
    changes = apply_changes(account, {"email": email, "name": name, "person_id": person_id, "is_admin": is_admin},
                            prose=("email", "name"))
    if changes:
        record_event(AuditAction.ACCOUNT_EDIT, actor, object_type="user", object_id=account.id, detail=changes)
    return changes


def issue_password_link(actor: User, account: User) -> str:
    """A new one-time link (forgotten password); links issued before stop working."""
    return create_set_password_link(account, created_by=actor)  # writes its own audit event


def set_account_active(actor: User, account: User, active: bool) -> bool:
    """Deactivate or reactivate an account. Deactivation ends every session of the account at once and revokes its
    API tokens for good: a reactivated account starts without a working token."""
    if account.active == active:
        return False
    account.active = active
    if active:
        record_event(AuditAction.ACCOUNT_REACTIVATE, actor, object_type="user", object_id=account.id)
        return True
    end_all_sessions(account)
    revoked = revoke_all(account)
    record_event(AuditAction.ACCOUNT_DEACTIVATE, actor, object_type="user", object_id=account.id,
                 detail={"api_tokens_revoked": revoked} if revoked else None)
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
        role_changes[strategies_by_id[strategy_id].slug] = {"before": plain(old), "after": plain(role)}

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
        record_event(AuditAction.ACCOUNT_ACCESS, actor, object_type="user", object_id=account.id, detail={
            "roles": role_changes,
            "fields_added": sorted(numbers[i] for i in added),
            "fields_removed": sorted(numbers[i] for i in removed),
        })
    return {"roles": role_changes, "added": added, "removed": removed}
