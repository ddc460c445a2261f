"""Rules defined once and used everywhere: "today", adding months, "overdue", comparing typed names."""
from __future__ import annotations

from datetime import date

import pytest

from strategy.days import add_months, local_today
from strategy.extensions import db
from strategy.fields.editing import Directory
from strategy.models import NextStep, Organisation, StepStatus, name_key, step_is_overdue
from strategy.records.services import resolve_organisation, resolve_person


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),   # leap year
    (date(2100, 1, 31), 1, date(2100, 2, 28)),   # a century is no leap year ...
    (date(2000, 1, 31), 1, date(2000, 2, 29)),   # ... unless divisible by 400
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2026, 11, 15), 3, date(2027, 2, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 5, 5), 0, date(2026, 5, 5)),
])
def test_adding_months_keeps_the_day_or_takes_the_last_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected


TODAY = date(2026, 6, 15)


@pytest.mark.parametrize("due, status, overdue", [
    ("2026-06-14", "planned", True),
    (date(2026, 6, 14), StepStatus.IN_PROGRESS, True),
    ("2026-06-14", "blocked", True),
    ("2026-06-15", "planned", False),  # due today is not overdue yet
    ("2026-06-14", "done", False),
    ("2026-06-14", StepStatus.DROPPED, False),
    (None, "planned", False),
    ("", "planned", False),
])
def test_a_step_is_overdue_when_open_and_due_before_today(due, status, overdue):
    assert step_is_overdue(due, status, TODAY) is overdue


def test_the_model_and_snapshots_share_the_overdue_rule():
    step = NextStep(description="x", due_date=date(2026, 6, 1), status=StepStatus.PLANNED)
    assert step.is_overdue(TODAY) and step_is_overdue("2026-06-01", "planned", TODAY)


def test_today_is_the_calendar_day_in_the_apps_time_zone(app):
    # UTC+14 and UTC−11 are 25 hours apart: at any moment they are on different calendar days.
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Pacific/Kiritimati"
    east = local_today()
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Pacific/Pago_Pago"
    west = local_today()
    assert (east - west).days in (1, 2)


@pytest.mark.parametrize("typed, stored", [
    ("  Jobcenter   DORTMUND ", "Jobcenter Dortmund"),
    ("STRASSENSOZIALARBEIT", "Straßensozialarbeit"),
    ("ﬁnanzamt", "Finanzamt"),
])
def test_typed_names_compare_without_case_and_runs_of_white_space(typed, stored):
    assert name_key(typed) == name_key(stored)


def test_every_place_that_resolves_typed_names_finds_the_same_organisation(app):
    known = Organisation(name="Straßensozialarbeit", short_name="SSA")
    db.session.add(known)
    db.session.commit()
    for typed in ("STRASSENSOZIALARBEIT", "  straßensozialarbeit ", "ssa"):
        assert resolve_organisation(typed) is known, typed
        assert Directory().find_organisation(typed) is known, typed
    person = resolve_person("Erika  Muster", known)
    db.session.commit()
    assert resolve_person("erika muster (ssa)", None) is person
    assert Directory().find_person("ERIKA MUSTER", known) is person
