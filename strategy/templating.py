"""Template filters and globals: Markdown, dates, the permission predicates, the language list."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from flask import Flask, current_app, request
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale, to_user_timezone
from markupsafe import Markup

from . import permissions
from .markup import plain_excerpt, render_markdown
from .models.history import REVISION_KIND_LABELS, RevisionKind
from .models.records import (
    FUNDING_SOURCE_LABELS,
    FUNDING_STATUS_LABELS,
    INDICATOR_UNIT_LABELS,
    STEP_STATUS_LABELS,
    FundingSource,
    FundingStatus,
    IndicatorUnit,
    StepStatus,
    step_is_overdue,
)
from .models.strategy import PHASE_LABELS, REVIEW_STATE_LABELS, FieldPhase, ReviewState
from .summaries import revision_summary

# Labels of the enums whose values snapshots store as plain strings.
_LABELS = {
    "phase": (FieldPhase, PHASE_LABELS),
    "review_state": (ReviewState, REVIEW_STATE_LABELS),
    "step_status": (StepStatus, STEP_STATUS_LABELS),
    "funding_source": (FundingSource, FUNDING_SOURCE_LABELS),
    "funding_status": (FundingStatus, FUNDING_STATUS_LABELS),
    "unit": (IndicatorUnit, INDICATOR_UNIT_LABELS),
    "revision_kind": (RevisionKind, REVISION_KIND_LABELS),
}


def register(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["excerpt"] = plain_excerpt
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["as_of"] = _as_of
    app.jinja_env.filters["format_currency_eur"] = lambda value: format_currency(Decimal(str(value)), "EUR")
    app.jinja_env.filters["format_indicator"] = format_indicator_value
    app.jinja_env.filters["number"] = format_decimal  # 1.000 / 1,000
    app.jinja_env.filters["label"] = enum_label
    app.jinja_env.filters["revision_summary"] = revision_summary
    app.jinja_env.filters["css_string"] = css_string
    app.jinja_env.globals["perm"] = permissions
    app.jinja_env.globals["is_overdue"] = snapshot_step_is_overdue
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals():
        return {
            "current_locale": get_locale().language,  # "de" / "en" (the language, whatever its regional formats)
            "languages": current_app.config["LANGUAGES"],
            "current_path": request.full_path.rstrip("?") if request else "/",
            "unread_notifications": _unread_notifications,
        }


def _unread_notifications() -> int:
    """The header's count: asked only by pages a signed-in person reads (one indexed COUNT)."""
    from flask_login import current_user

    from .notifications import unread_count

    return unread_count(current_user) if current_user.is_authenticated else 0


def css_string(value) -> Markup:
    """A quoted CSS string for a <style> block (PDF page margins): every character that could end the
    string, the declaration or the style element is written as a CSS escape, so user text stays text.
    What is left holds none of & < > ' ", so Markup.format has nothing to escape."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,;:!?-–—()/*%+=_„“”‚‘’#@" else f"\\{ord(ch):x} "
                      for ch in str(value))
    return Markup('"{}"').format(escaped)


def enum_label(value, kind: str) -> str:
    """The UI label of an enum value, given as the enum member or as the string a snapshot stores."""
    enum_cls, labels = _LABELS[kind]
    return str(labels[enum_cls(getattr(value, "value", value))])


def snapshot_step_is_overdue(step: dict, today: date) -> bool:
    """For a step as a snapshot stores it (or a dict with its due_date and status): models.step_is_overdue."""
    return step_is_overdue(step.get("due_date"), step["status"], today)


def _parse_date(value):
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def _date(value: date | datetime | str | None, fmt: str = "medium") -> str:
    """A calendar day in the reader's language; a datetime counts as the day it falls on in the app's time
    zone. Memoised, since pages such as the status page repeat the same few dates many times."""
    if not value:
        return ""
    day = _parse_date(value)
    if isinstance(day, datetime):
        day = to_user_timezone(day).date()
    return _formatted_day(day, fmt, str(get_locale()))


@lru_cache(maxsize=4096)
def _formatted_day(day: date, fmt: str, locale: str) -> str:
    return babel_format_date(day, format=fmt, locale=locale)


def _datetime(value: datetime | None, fmt: str = "medium") -> str:
    return format_datetime(value, fmt) if value else ""


def _as_of(value: date | datetime | str | None) -> str:
    """'Stand 11/2026'-style month/year."""
    return format_date(_parse_date(value), "MM/yyyy") if value else ""


def format_indicator_value(value, unit) -> str:
    """A measured value in its unit, in the reader's locale (22,5 % / 1.234 / 1.234,00 €)."""
    if value is None:
        return ""
    unit = getattr(unit, "value", unit)
    if isinstance(value, str):
        value = Decimal(value)
    if unit == "eur":
        return format_currency(value, "EUR")
    number = format_decimal(value.normalize() if hasattr(value, "normalize") else value, format="#,##0.##")
    return f"{number} %" if unit == "percent" else number
