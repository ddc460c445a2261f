"""Calendar days: what "today" is and how months are added, defined once for pages, PDFs, the API and forms.

Due dates and funding periods are calendar days where the strategy's people work (the app's time zone,
BABEL_DEFAULT_TIMEZONE), not where the server runs; "overdue" is `models.records.step_is_overdue`.
"""
from __future__ import annotations

import calendar
from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app

from .models.base import utcnow


def local_today() -> date:
    """Today where the strategy's people work (the app's time zone), whatever the server's clock zone."""
    return utcnow().astimezone(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day where it is shorter (31 Jan + 1 → 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
