"""Template filters and globals: Markdown, dates, the permission predicates, the language list."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, current_app, request
from flask_babel import format_currency, format_date, format_datetime, format_decimal, get_locale

from . import permissions
from .markup import plain_excerpt, render_markdown


def register(app: Flask) -> None:
    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["excerpt"] = plain_excerpt
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["as_of"] = _as_of
    app.jinja_env.filters["format_currency_eur"] = lambda value: format_currency(value, "EUR")
    app.jinja_env.filters["format_indicator"] = format_indicator_value
    app.jinja_env.globals["perm"] = permissions
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals():
        return {
            "current_locale": str(get_locale()),
            "languages": current_app.config["LANGUAGES"],
            "current_path": request.full_path.rstrip("?") if request else "/",
        }


def _date(value: date | datetime | None, fmt: str = "medium") -> str:
    return format_date(value, fmt) if value else ""


def _datetime(value: datetime | None, fmt: str = "medium") -> str:
    return format_datetime(value, fmt) if value else ""


def _as_of(value: date | datetime | None) -> str:
    """'Stand 11/2026'-style month/year."""
    return format_date(value, "MM/yyyy") if value else ""


def format_indicator_value(value, unit) -> str:
    """A measured value in its unit, in the reader's locale (22,5 % / 1.234 / 1.234,00 €)."""
    if value is None:
        return ""
    unit = getattr(unit, "value", unit)
    if unit == "eur":
        return format_currency(value, "EUR")
    number = format_decimal(value.normalize() if hasattr(value, "normalize") else value, format="#,##0.##")
    return f"{number} %" if unit == "percent" else number
