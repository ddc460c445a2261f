"""Reporting rounds (Berichtsrunden): deadlines in working days, the task of each field, "nothing changed",
the edition for the meeting, the locked round and reopening a field, the board with its filter, sort and CSV."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest
from werkzeug.datastructures import MultiDict

from strategy.audit import AuditAction
from strategy.days import is_working_day, working_days_before, working_days_between
from strategy.extensions import db
from strategy.models import (
    AuditEvent,
    Edition,
    Field,
    ReportingRound,
    ReviewState,
    Role,
    RoundTask,
    StageKind,
    TaskState,
)
from strategy.rounds.services import stage_dates, task_state
from tests.support.clock import Clock
from tests.support.forms import post_forms

MEETING = date(2026, 6, 8)  # a Monday; Fronleichnam (NW) is Thursday 4 June 2026


@pytest.fixture
def clock():
    return Clock(datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def app_config(clock):
    return {"CLOCK": clock}


# --- working days --------------------------------------------------------------------------------

def test_fronleichnam_is_a_holiday_in_nrw_but_not_in_lower_saxony():
    assert not is_working_day(date(2026, 6, 4), "NW")
    assert is_working_day(date(2026, 6, 4), "NI")
    assert not is_working_day(date(2026, 6, 6), "NW")  # Saturday


def test_counting_back_skips_the_weekend_and_fronleichnam():
    # Monday 8 June → Friday 5 (1), Thursday 4 is Fronleichnam, Wednesday 3 (2)
    assert working_days_before(MEETING, 1, "NW") == date(2026, 6, 5)
    assert working_days_before(MEETING, 2, "NW") == date(2026, 6, 3)
    assert working_days_before(MEETING, 2, "NI") == date(2026, 6, 4)
    # a meeting on a Sunday counts from the Friday before
    assert working_days_before(date(2026, 6, 7), 0, "NW") == date(2026, 6, 5)
    assert working_days_between(date(2026, 6, 3), MEETING, "NW") == 2
    assert working_days_between(MEETING, date(2026, 6, 3), "NW") == -2


def test_default_stages_of_a_city_skip_pfingstmontag_and_ascension_day():
    dates = stage_dates(MEETING, "NW")
    assert dates == {StageKind.EDITION: date(2026, 6, 3), StageKind.REVIEW: date(2026, 5, 29),
                     StageKind.UPDATE: date(2026, 5, 13)}


# --- helpers ---------------------------------------------------------------------------------------

@pytest.fixture
def world(make):
    strategy = make.strategy(fields=3)
    fields = [make.field(strategy, n) for n in (1, 2, 3)]
    users = {
        "steering": make.user(role=Role.STEERING, strategy=strategy, name="Stefanie Lenkung"),
        "coordinator": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(fields[0],), name="Anna Koord"),
        "other": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(fields[1],), name="Bernd Koord"),
        "partner": make.user(role=Role.PARTNER, strategy=strategy),
        "admin": make.user(admin=True, name="Admin"),
    }
    return strategy, fields, users


def base(strategy) -> str:
    return f"/strategien/{strategy.slug}/berichtsrunden/"


def open_round_via_form(client, auth, strategy, steering, meeting: str = "2026-06-08", **days):
    auth.login(steering)
    data = {"title": "Koordinierungsgruppe Juni 2026", "meeting_on": meeting, "update_days": "15",
            "review_days": "5", "edition_days": "2"}
    data.update({key: str(value) for key, value in days.items()})
    return client.post(base(strategy) + "neu", data=data)


def the_round(strategy) -> ReportingRound:
    db.session.expire_all()
    return db.session.scalar(db.select(ReportingRound).filter_by(strategy_id=strategy.id))


def task(strategy, number: int) -> RoundTask:
    reporting_round = the_round(strategy)
    return next(t for t in reporting_round.tasks if t.field.number == number)


def edit_row(client, strategy, number: int, **changes):
    """Change columns of a row through the real edit form, as a coordinator's browser would."""
    page = client.get(f"/strategien/{strategy.slug}/handlungsfelder/{number}/bearbeiten")
    assert page.status_code == 200
    form = next(f for f in post_forms(page.get_data(as_text=True)) if "vision" in f["names"])
    data = MultiDict([(name, changes.get(name, value)) for name, value in form["data"]])
    response = client.post(f"/strategien/{strategy.slug}/handlungsfelder/{number}/bearbeiten", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]


def events(action: AuditAction) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).filter_by(action=action.value)))


# --- opening a round -----------------------------------------------------------------------------

def test_steering_opens_a_round_with_deadlines_in_working_days_and_a_task_per_field(client, auth, world):
    strategy, fields, users = world
    response = open_round_via_form(client, auth, strategy, users["steering"])
    assert response.status_code == 302
    reporting_round = the_round(strategy)
    assert {s.kind: s.due_on for s in reporting_round.stages} == stage_dates(MEETING, "NW")
    assert sorted(t.field.number for t in reporting_round.tasks) == [1, 2, 3]
    assert all(task_state(t) == TaskState.OPEN for t in reporting_round.tasks)
    assert [e.detail["round"] for e in events(AuditAction.ROUND_OPENED)] == [reporting_round.id]


def test_the_deadlines_follow_the_strategys_bundesland(client, auth, world):
    strategy, _fields, users = world
    strategy.bundesland = "NI"
    db.session.commit()
    open_round_via_form(client, auth, strategy, users["steering"])
    assert the_round(strategy).stage(StageKind.EDITION).due_on == date(2026, 6, 4)


@pytest.mark.parametrize("who", ["coordinator", "partner"])
def test_only_steering_opens_a_round(client, auth, world, who):
    strategy, _fields, users = world
    response = open_round_via_form(client, auth, strategy, users[who])
    assert response.status_code in (403, 404)
    assert the_round(strategy) is None


def test_bad_input_is_explained_next_to_the_field_and_kept(client, auth, world):
    strategy, _fields, users = world
    response = open_round_via_form(client, auth, strategy, users["steering"], meeting="2026-13-32", update_days="x")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Datum" in html and "aria-invalid" in html and "ganze Zahl" in html
    assert 'value="Koordinierungsgruppe Juni 2026"' in html
    assert the_round(strategy) is None


def test_deadlines_in_the_wrong_order_are_refused(client, auth, world):
    strategy, _fields, users = world
    response = open_round_via_form(client, auth, strategy, users["steering"], update_days=1, review_days=5)
    assert response.status_code == 422
    assert "aufeinander folgen" in response.get_data(as_text=True)


def test_one_open_round_at_a_time(client, auth, world):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    again = open_round_via_form(client, auth, strategy, users["steering"], meeting="2026-09-07")
    assert again.status_code == 422
    assert "schon eine offene Berichtsrunde" in again.get_data(as_text=True)


def test_steering_moves_a_deadline_and_the_log_says_so(client, auth, world):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    reporting_round = the_round(strategy)
    response = client.post(base(strategy) + f"{reporting_round.id}/fristen",
                           data={"update": "2026-05-20", "review": "2026-05-29", "edition": "2026-06-03"})
    assert response.status_code == 302
    assert the_round(strategy).stage(StageKind.UPDATE).due_on == date(2026, 5, 20)
    (event,) = events(AuditAction.ROUND_DEADLINES_CHANGED)
    assert event.detail["update"] == {"before": "2026-05-13", "after": "2026-05-20"}


# --- the task's states ---------------------------------------------------------------------------

def test_a_task_goes_open_updated_submitted_returned_submitted_approved(client, auth, world, clock, make):
    strategy, fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    clock.advance(hours=1)
    auth.logout()
    auth.login(users["coordinator"])
    assert task_state(task(strategy, 1)) == TaskState.OPEN
    edit_row(client, strategy, 1, vision="Alle Neuzugewanderten finden in einem Jahr Arbeit.")
    assert task_state(task(strategy, 1)) == TaskState.UPDATED
    assert task_state(task(strategy, 2)) == TaskState.OPEN  # another field is untouched
    client.post(f"/strategien/{strategy.slug}/handlungsfelder/1/pruefung/einreichen")
    assert task_state(task(strategy, 1)) == TaskState.SUBMITTED
    auth.logout()
    auth.login(users["steering"])
    client.post(f"/strategien/{strategy.slug}/handlungsfelder/1/pruefung/zurueckgeben",
                data={"comment": "Bitte Zahlen ergänzen.", "column": ""})
    assert task_state(task(strategy, 1)) == TaskState.UPDATED
    auth.logout()
    auth.login(users["coordinator"])
    client.post(f"/strategien/{strategy.slug}/handlungsfelder/1/pruefung/einreichen")
    clock.advance(hours=1)
    make.approve(db.session.get(Field, fields[0].id), by=users["steering"])
    assert task_state(task(strategy, 1)) == TaskState.APPROVED


def test_an_approval_before_the_round_does_not_count_for_it(client, auth, world, clock, make):
    strategy, fields, users = world
    make.approve(fields[0], by=users["steering"])
    clock.advance(days=1)
    open_round_via_form(client, auth, strategy, users["steering"])
    assert task_state(task(strategy, 1)) == TaskState.OPEN


def test_nothing_changed_is_one_click_and_recorded(client, auth, world, clock, make):
    strategy, fields, users = world
    make.approve(fields[0], by=users["steering"])
    clock.advance(days=1)
    open_round_via_form(client, auth, strategy, users["steering"])
    auth.logout()
    auth.login(users["coordinator"])
    reporting_round = the_round(strategy)
    response = client.post(base(strategy) + f"{reporting_round.id}/handlungsfelder/1/unveraendert")
    assert response.status_code == 302
    answered = task(strategy, 1)
    # the approved row stays what the meeting reads: the task is done
    assert task_state(answered) == TaskState.APPROVED
    assert answered.unchanged_by_id == users["coordinator"].id
    (event,) = events(AuditAction.ROUND_TASK_UNCHANGED)
    assert (event.actor_id, event.object_id, event.detail) == (users["coordinator"].id, str(fields[0].id),
                                                               {"round": reporting_round.id})
    again = client.post(base(strategy) + f"{reporting_round.id}/handlungsfelder/1/unveraendert",
                        follow_redirects=True)
    assert "schon eine Antwort" in again.get_data(as_text=True)
    assert len(events(AuditAction.ROUND_TASK_UNCHANGED)) == 1


def test_nothing_changed_on_a_never_approved_row_still_awaits_submission(client, auth, world):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    auth.logout()
    auth.login(users["coordinator"])
    client.post(base(strategy) + f"{the_round(strategy).id}/handlungsfelder/1/unveraendert")
    assert task_state(task(strategy, 1)) == TaskState.UPDATED


@pytest.mark.parametrize("who", ["other", "steering", "partner"])
def test_only_the_fields_coordinators_answer_its_task(client, auth, world, who):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    auth.logout()
    auth.login(users[who])
    response = client.post(base(strategy) + f"{the_round(strategy).id}/handlungsfelder/1/unveraendert")
    assert response.status_code in (403, 404)
    assert task(strategy, 1).unchanged_at is None


# --- edition and the locked round ------------------------------------------------------------------

def test_the_edition_for_the_meeting_is_frozen_in_one_step_after_the_review_deadline(client, auth, world, clock,
                                                                                     make):
    strategy, fields, users = world
    make.approve(fields[0], by=users["steering"])
    open_round_via_form(client, auth, strategy, users["steering"])
    reporting_round = the_round(strategy)
    early = client.post(base(strategy) + f"{reporting_round.id}/fassung", follow_redirects=True)
    assert "erst nach der Prüfungsfrist" in early.get_data(as_text=True)
    clock.now = datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)  # after "Prüfung bis" 29 May
    auth.login(users["steering"])  # weeks later: a new session
    response = client.post(base(strategy) + f"{reporting_round.id}/fassung")
    assert response.status_code == 302
    edition = db.session.scalar(db.select(Edition).filter_by(strategy_id=strategy.id))
    assert (edition.title, edition.decided_on) == ("Koordinierungsgruppe Juni 2026", MEETING)
    assert the_round(strategy).edition_id == edition.id
    twice = client.post(base(strategy) + f"{reporting_round.id}/fassung", follow_redirects=True)
    assert "schon eine Fassung" in twice.get_data(as_text=True)


def close(client, auth, strategy, clock, steering):
    clock.now = datetime(2026, 6, 8, 16, 0, tzinfo=timezone.utc)
    auth.login(steering)  # weeks later: a new session
    return client.post(base(strategy) + f"{the_round(strategy).id}/abschliessen")


def test_a_round_closes_only_from_the_meeting_on(client, auth, world, clock):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    early = client.post(base(strategy) + f"{the_round(strategy).id}/abschliessen", follow_redirects=True)
    assert "am Tag der Sitzung oder danach" in early.get_data(as_text=True)
    assert not the_round(strategy).is_closed


def test_a_closed_round_keeps_its_states_and_takes_no_more_answers(client, auth, world, clock):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    auth.logout()
    auth.login(users["coordinator"])
    clock.advance(hours=1)
    edit_row(client, strategy, 1, vision="Neu in dieser Runde.")
    auth.logout()
    auth.login(users["steering"])
    assert close(client, auth, strategy, clock, users["steering"]).status_code == 302
    assert the_round(strategy).is_closed
    assert [task_state(t) for t in sorted(the_round(strategy).tasks, key=lambda t: t.field.number)] == [
        TaskState.UPDATED, TaskState.OPEN, TaskState.OPEN]
    # after the meeting a submission belongs to the next round: the closed round still says "aktualisiert"
    auth.logout()
    auth.login(users["coordinator"])
    client.post(f"/strategien/{strategy.slug}/handlungsfelder/1/pruefung/einreichen")
    assert db.session.get(Field, task(strategy, 1).field_id).review_state == ReviewState.SUBMITTED
    assert task_state(task(strategy, 1)) == TaskState.UPDATED
    auth.logout()
    auth.login(users["other"])
    refused = client.post(base(strategy) + f"{the_round(strategy).id}/handlungsfelder/2/unveraendert")
    assert refused.status_code == 403
    assert task(strategy, 2).unchanged_at is None
    (event,) = events(AuditAction.ROUND_CLOSED)
    assert event.actor_id == users["steering"].id


def test_an_admin_reopens_one_field_with_a_logged_reason_and_locks_it_again(client, auth, world, clock):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    close(client, auth, strategy, clock, users["steering"])
    reporting_round = the_round(strategy)
    url = base(strategy) + f"{reporting_round.id}/handlungsfelder/2/wieder-oeffnen"
    assert client.post(url, data={"reason": "Steering may not"}).status_code == 403
    auth.logout()
    auth.login(users["admin"])
    empty = client.post(url, data={"reason": "   "})
    assert empty.status_code == 422
    assert "Bitte geben Sie einen Grund an." in empty.get_data(as_text=True)
    assert task(strategy, 2).is_locked
    response = client.post(url, data={"reason": "Zahlen des Jobcenters kamen nach der Sitzung."})
    assert response.status_code == 302
    reopened = task(strategy, 2)
    assert not reopened.is_locked and reopened.reopen_reason == "Zahlen des Jobcenters kamen nach der Sitzung."
    (event,) = events(AuditAction.ROUND_TASK_REOPENED)
    assert event.actor_id == users["admin"].id
    assert event.detail == {"round": reporting_round.id, "reason": "Zahlen des Jobcenters kamen nach der Sitzung.",
                            "before": "open"}
    assert task(strategy, 1).is_locked  # only the one field
    # its coordinator answers again; then the admin locks it again
    auth.logout()
    auth.login(users["other"])
    assert client.post(base(strategy) + f"{reporting_round.id}/handlungsfelder/2/unveraendert").status_code == 302
    auth.logout()
    auth.login(users["admin"])
    assert client.post(base(strategy) + f"{reporting_round.id}/handlungsfelder/2/sperren").status_code == 302
    assert task(strategy, 2).frozen_state == TaskState.UPDATED
    assert len(events(AuditAction.ROUND_TASK_RELOCKED)) == 1


def test_an_open_rounds_field_cannot_be_reopened(client, auth, world):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    auth.logout()
    auth.login(users["admin"])
    url = base(strategy) + f"{the_round(strategy).id}/handlungsfelder/2/wieder-oeffnen"
    assert client.get(url).status_code == 403


# --- the board -----------------------------------------------------------------------------------

@pytest.fixture
def board(client, auth, world, clock, make):
    """A round with field 1 updated, field 2 approved unchanged, field 3 open."""
    strategy, fields, users = world
    fields[2].title = "=HYPERLINK(\"http://evil.example\")"
    db.session.commit()
    make.approve(fields[1], by=users["steering"])
    clock.advance(days=1)
    open_round_via_form(client, auth, strategy, users["steering"])
    reporting_round = the_round(strategy)
    auth.logout()
    auth.login(users["other"])
    client.post(base(strategy) + f"{reporting_round.id}/handlungsfelder/2/unveraendert")
    auth.logout()
    auth.login(users["coordinator"])
    clock.advance(hours=1)
    edit_row(client, strategy, 1, vision="Neu")
    auth.logout()
    auth.login(users["steering"])
    return strategy, reporting_round, users


def board_numbers(html: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'<th scope="row"><a href="[^"]+/handlungsfelder/(\d+)"', html)]


def test_the_board_shows_every_field_with_state_days_left_and_coordinators(client, board):
    strategy, reporting_round, _users = board
    html = client.get(base(strategy) + f"{reporting_round.id}/").get_data(as_text=True)
    assert board_numbers(html) == [1, 2, 3]
    assert "Anna Koord" in html and "Bernd Koord" in html
    assert "aktualisiert: 1" in html and "freigegeben: 1" in html and "offen: 1" in html
    assert "nichts geändert (bestätigt" in html


def test_the_board_filters_and_sorts_on_the_server(client, board):
    strategy, reporting_round, users = board
    page = base(strategy) + f"{reporting_round.id}/"
    assert board_numbers(client.get(page + "?status=open").get_data(as_text=True)) == [3]
    assert board_numbers(client.get(page + f"?koordination={users['other'].id}").get_data(as_text=True)) == [2]
    assert board_numbers(client.get(page + "?sortierung=status").get_data(as_text=True)) == [3, 1, 2]
    assert board_numbers(client.get(page + "?sortierung=status&richtung=ab").get_data(as_text=True)) == [2, 1, 3]
    assert board_numbers(client.get(page + "?sortierung=koordination").get_data(as_text=True)) == [1, 2, 3]
    assert board_numbers(client.get(page + "?status=nonsense&sortierung=%00").get_data(as_text=True)) == [1, 2, 3]


def test_the_board_is_for_steering_coordinators_see_their_own_rows(client, auth, board):
    strategy, reporting_round, users = board
    auth.logout()
    auth.login(users["coordinator"])
    response = client.get(base(strategy) + f"{reporting_round.id}/")
    assert board_numbers(response.get_data(as_text=True)) == [1]
    assert client.get(base(strategy) + f"{reporting_round.id}/tabelle.csv").status_code == 403
    assert client.get(base(strategy) + f"{reporting_round.id}/tabelle.xlsx").status_code == 403
    auth.logout()
    auth.login(users["partner"])
    assert client.get(base(strategy) + f"{reporting_round.id}/").status_code == 404


def test_the_csv_opens_in_excel_and_runs_no_formulas(client, board):
    strategy, reporting_round, _users = board
    response = client.get(base(strategy) + f"{reporting_round.id}/tabelle.csv?sortierung=status")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert set(response.headers["Cache-Control"].split(", ")) == {"private", "no-store"}
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Nr.", "Handlungsfeld", "Status", "Frist", "Tage übrig"]
    assert [row[0] for row in rows[1:]] == ["3", "1", "2"]
    assert rows[1][1] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[1][2] == "offen" and rows[3][8] == "ja"
    assert rows[2][7] == "Anna Koord"
    assert rows[2][3] == "13.05.2026"  # "Aktualisierung bis", as German Excel reads a date


def test_the_board_downloads_as_xlsx_with_the_filter_applied(client, board):
    from python_calamine import CalamineWorkbook

    strategy, reporting_round, _users = board
    response = client.get(base(strategy) + f"{reporting_round.id}/tabelle.xlsx?status=open")
    assert response.status_code == 200
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.get_data())).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "Nr." and len(rows) == 2
    assert rows[1][1] == "=HYPERLINK(\"http://evil.example\")"  # a text cell, not a formula
    assert client.get(base(strategy) + f"{reporting_round.id}/tabelle.exe").status_code == 404


# --- the strategy's Bundesland ----------------------------------------------------------------------

def test_an_admin_sets_the_bundesland_and_the_log_says_so(client, auth, world):
    strategy, _fields, users = world
    auth.login(users["admin"])
    data = {"title": strategy.title, "slug": strategy.slug, "subtitle": "", "framework_title": "",
            "description": "", "owner_organisation_id": "", "visibility": "public"}
    refused = client.post(f"/verwaltung/strategien/{strategy.id}/bearbeiten", data={**data, "bundesland": "XX"})
    assert refused.status_code in (200, 422) and 'aria-invalid="true"' in refused.get_data(as_text=True)
    client.post(f"/verwaltung/strategien/{strategy.id}/bearbeiten", data={**data, "bundesland": "BY"})
    db.session.expire_all()
    assert db.session.get(type(strategy), strategy.id).bundesland == "BY"
    (event,) = events(AuditAction.STRATEGY_EDIT)
    assert event.detail["bundesland"] == {"before": "NW", "after": "BY"}


def test_an_archived_field_leaves_the_board(client, auth, world):
    strategy, fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    fields[2].is_archived = True
    db.session.commit()
    html = client.get(base(strategy) + f"{the_round(strategy).id}/").get_data(as_text=True)
    assert board_numbers(html) == [1, 2]


def test_a_field_added_during_an_open_round_gets_its_task(client, auth, world):
    strategy, _fields, users = world
    open_round_via_form(client, auth, strategy, users["steering"])
    auth.logout()
    auth.login(users["admin"])
    response = client.post(f"/verwaltung/strategien/{strategy.id}/handlungsfelder/neu",
                           data={"title": "Digitale Teilhabe", "goal_text": "Alle sind online."})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    assert sorted(t.field.number for t in the_round(strategy).tasks) == [1, 2, 3, 4]
