"""Site-wide settings changed at run time by an admin (stored in the database, so every host sees them)."""
from __future__ import annotations

from .audit import AuditAction, record_event
from .extensions import db
from .models import Role, Setting, User

TWO_FACTOR_REQUIRED_SETTING = "auth.two_factor_required_for_privileged"


def get_setting(key: str, default=None):
    row = db.session.get(Setting, key)
    return default if row is None else row.value


def set_setting(key: str, value, *, by: User) -> None:
    """Change a setting and record it. The caller commits."""
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    before = row.value
    row.value = value
    row.updated_by_id = by.id
    record_event(AuditAction.SETTING_CHANGED, by, object_type="setting", object_id=key,
                 detail={"before": before, "after": value})


def two_factor_required_for_privileged() -> bool:
    return bool(get_setting(TWO_FACTOR_REQUIRED_SETTING, False))


def set_two_factor_required(required: bool, *, by: User) -> None:
    """Admin switch: two-factor login mandatory for admins and steering members."""
    set_setting(TWO_FACTOR_REQUIRED_SETTING, bool(required), by=by)


def two_factor_mandatory_for(user: User) -> bool:
    privileged = user.is_admin or any(m.role == Role.STEERING for m in user.memberships)
    return privileged and two_factor_required_for_privileged()
