"""The personal start page ("Meine Aufgaben"): what lands in front of each role after login."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from strategy.extensions import db
from strategy.models import NextStep, ReviewComment, ReviewState, Role, StepStatus
from tests.support.clock import Clock


@pytest.fixture
def clock():
    return Clock(datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def app_config(clock):
    return {"CLOCK": clock}


@pytest.fixture
def world(make):
    strategy = make.strategy(fields=3, title="Gesamtstrategie Neuzuwanderung")
    fields = [make.field(strategy, n) for n in (1, 2, 3)]
    users = {
        "steering": make.user(role=Role.STEERING, strategy=strategy, name="Stefanie Lenkung"),
        "coordinator": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(fields[0],), name="Anna Koord"),
        "other": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(fields[1],), name="Bernd Koord"),
        "partner": make.user(role=Role.PARTNER, strategy=strategy, name="Petra Partner"),
    }
    return strategy, fields, users


def start_page(client, auth, user) -> str:
    response = auth.login(user)
    assert response.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def open_round(client, auth, strategy, steering):
    auth.login(steering)
    response = client.post(f"/strategien/{strategy.slug}/berichtsrunden/neu", data={
        "title": "Koordinierungsgruppe Juni 2026", "meeting_on": "2026-06-08", "update_days": "15",
        "review_days": "5", "edition_days": "2"})
    assert response.status_code == 302
    auth.logout()


def test_a_coordinator_sees_their_field_with_the_round_task_and_its_deadline(client, auth, world):
    strategy, _fields, users = world
    open_round(client, auth, strategy, users["steering"])
    html = start_page(client, auth, users["coordinator"])
    assert "<h1>Meine Aufgaben</h1>" in html
    assert "1. Handlungsfeld 1" in html and "2. Handlungsfeld 2" not in html
    assert "Berichtsrunde „Koordinierungsgruppe Juni 2026“:" in html
    assert "offen" in html and "noch 9 Tage" in html  # 13 May 2026, from 4 May
    assert f'/strategien/{strategy.slug}/handlungsfelder/1/bearbeiten' in html
    assert "Nichts geändert seit der letzten Runde" in html
    assert "Zur Prüfung einreichen" in html


def test_a_coordinator_sees_the_return_comment_and_comments_awaiting_an_answer(client, auth, world):
    strategy, fields, users = world
    field = fields[0]
    field.review_state = ReviewState.RETURNED
    db.session.add(ReviewComment(field=field, body="Bitte die Zahlen von 2025 ergänzen.", author=users["steering"],
                                 author_name="Stefanie Lenkung"))
    db.session.commit()
    earlier = ReviewComment(field=field, body="Wer leitet die Fachgruppe?", author=users["steering"],
                            author_name="Stefanie Lenkung", created_at=datetime(2026, 4, 1, tzinfo=timezone.utc))
    answered = ReviewComment(field=field, body="Ist das Projekt verlängert?", author=users["steering"],
                             author_name="Stefanie Lenkung", created_at=datetime(2026, 4, 2, tzinfo=timezone.utc))
    db.session.add_all([earlier, answered])
    db.session.flush()
    db.session.add(ReviewComment(field=field, parent=answered, body="Ja, bis 2027.", author=users["coordinator"],
                                 author_name="Anna Koord"))
    db.session.commit()
    html = start_page(client, auth, users["coordinator"])
    assert "Zurückgegeben von Stefanie Lenkung:" in html
    assert "Bitte die Zahlen von 2025 ergänzen." in html
    assert "1 Kommentar wartet auf Ihre Antwort" in html
    assert "Wer leitet die Fachgruppe?" in html
    assert "Ist das Projekt verlängert?" not in html  # answered by the coordinator


def test_a_coordinator_sees_overdue_and_upcoming_steps_but_not_later_or_done_ones(client, auth, world):
    _strategy, fields, users = world
    field = fields[0]
    for description, due, status in (("Sprachkurse ausschreiben", date(2026, 4, 30), StepStatus.PLANNED),
                                     ("Träger einladen", date(2026, 5, 20), StepStatus.IN_PROGRESS),
                                     ("Bericht schreiben", date(2026, 9, 1), StepStatus.PLANNED),
                                     ("Alte Aufgabe", date(2026, 4, 1), StepStatus.DONE)):
        db.session.add(NextStep(field=field, description=description, due_date=due, status=status))
    db.session.commit()
    html = start_page(client, auth, users["coordinator"])
    assert "überfällig" in html and "Sprachkurse ausschreiben" in html
    assert "Träger einladen" in html
    assert "Bericht schreiben" not in html and "Alte Aufgabe" not in html


def test_steering_sees_what_awaits_review_and_the_round_in_numbers(client, auth, world):
    strategy, fields, users = world
    open_round(client, auth, strategy, users["steering"])
    fields[1].review_state = ReviewState.SUBMITTED
    db.session.commit()
    html = start_page(client, auth, users["steering"])
    assert "Zur Prüfung" in html
    assert f'/strategien/{strategy.slug}/handlungsfelder/2#pruefung' in html
    assert "offen: 2" in html and "eingereicht: 1" in html
    assert "Zur Übersicht der Runde" in html


def test_steering_coordinating_a_field_is_not_asked_to_review_it(client, auth, world, make):
    strategy, fields, _users = world
    both = make.user(role=Role.STEERING, strategy=strategy, fields=(fields[1],))
    fields[1].review_state = ReviewState.SUBMITTED
    db.session.commit()
    html = start_page(client, auth, both)
    assert "Zurzeit wartet kein Handlungsfeld auf Ihre Prüfung." in html


def test_a_partner_sees_their_strategies_status_pages(client, auth, world):
    strategy, _fields, users = world
    html = start_page(client, auth, users["partner"])
    assert f'/strategien/{strategy.slug}/status' in html
    assert "Meine Handlungsfelder" not in html and "Zur Prüfung" not in html


def test_the_start_page_in_english(client, auth, world):
    strategy, _fields, users = world
    open_round(client, auth, strategy, users["steering"])
    auth.login(users["coordinator"])
    client.get("/sprache/en")
    html = client.get("/").get_data(as_text=True)
    assert "My tasks" in html and "Edit row" in html


def test_the_anonymous_landing_page_is_unchanged(client, world):
    html = client.get("/").get_data(as_text=True)
    assert "Meine Aufgaben" not in html and "<h1>Strategien</h1>" in html
