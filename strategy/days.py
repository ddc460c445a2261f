"""Calendar days: what "today" is and how months are added, defined once for pages, PDFs, the API and forms.

Due dates and funding periods are calendar days where the strategy's people work (the app's time zone,
BABEL_DEFAULT_TIMEZONE), not where the server runs; "overdue" is `models.records.step_is_overdue`.
"""
from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import holidays
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


# --- working days (reporting rounds) ----------------------------------------------------------------

# The Bundesländer by their ISO 3166-2 code (without "DE-"), as the `holidays` package names them.
BUNDESLAENDER = {
    "BW": "Baden-Württemberg", "BY": "Bayern", "BE": "Berlin", "BB": "Brandenburg", "HB": "Bremen",
    "HH": "Hamburg", "HE": "Hessen", "MV": "Mecklenburg-Vorpommern", "NI": "Niedersachsen",
    "NW": "Nordrhein-Westfalen", "RP": "Rheinland-Pfalz", "SL": "Saarland", "SN": "Sachsen",
    "ST": "Sachsen-Anhalt", "SH": "Schleswig-Holstein", "TH": "Thüringen",
}


@functools.lru_cache(maxsize=64)
def _public_holidays(bundesland: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DE", subdiv=bundesland, years=year))


def is_working_day(day: date, bundesland: str) -> bool:
    """Monday to Friday and not a public holiday of the Bundesland (Fronleichnam counts in NW, not in NI)."""
    return day.weekday() < 5 and day not in _public_holidays(bundesland, day.year)


def working_days_before(day: date, count: int, bundesland: str) -> date:
    """The working day `count` working days before `day` (0: `day` itself, or the working day before it
    when `day` is none)."""
    current = day
    while not is_working_day(current, bundesland):
        current -= timedelta(days=1)
    for _ in range(count):
        current -= timedelta(days=1)
        while not is_working_day(current, bundesland):
            current -= timedelta(days=1)
    return current


def working_days_between(start: date, end: date, bundesland: str) -> int:
    """Working days after `start` up to and including `end` (negative when `end` lies before `start`)."""
    if end < start:
        return -working_days_between(end, start, bundesland)
    return sum(1 for n in range(1, (end - start).days + 1) if is_working_day(start + timedelta(days=n), bundesland))
