"""Who is logging in: checking credentials and recording the attempt."""
from __future__ import annotations

from flask import request

from ..extensions import db
from ..models import AuditEvent, User, utcnow
from .passwords import hash_password, needs_rehash, verify_password


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(db.select(User).filter(db.func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active:
        verify_password(None, password)
        record_event("login_failed", None, detail={"email": email.strip()[:254]})
        return None
    if not verify_password(user.password_hash, password):
        record_event("login_failed", user)
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record_event("login", user)
    return user


def record_event(action: str, actor: User | None, *, object_type: str = "", object_id: str = "",
                 detail: dict | None = None) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        actor_label=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail or {},
        ip_address=(request.remote_addr or "") if request else "",
    )
    db.session.add(event)
    return event
