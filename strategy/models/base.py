"""Column helpers shared by the domain models."""
from __future__ import annotations

import enum
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app, has_app_context


def utcnow() -> datetime:
    """The application's one clock: the current UTC time, or the app's CLOCK (tests move it instead of sleeping)."""
    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return clock() if clock else datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def str_enum(enum_cls: type[enum.Enum], length: int = 20) -> sa.Enum:
    """Enum stored as its value in a VARCHAR with a CHECK constraint: portable and readable in SQL."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
        name=enum_cls.__name__.lower(),
    )


def dialect_insert(model):
    """The INSERT of the database in use, for ON CONFLICT DO NOTHING: SQLite and PostgreSQL both have it,
    but SQLAlchemy offers it only on each dialect's own insert()."""
    from sqlalchemy.dialects import postgresql, sqlite

    from ..extensions import db

    return (postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert)(model)
