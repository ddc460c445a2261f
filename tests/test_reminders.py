"""`flask send-reminders`: one digest per person per stage through a real SMTP server (aiosmtpd), with an .ics of
the deadline; idempotent when run twice, and when two processes run at once on PostgreSQL."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from icalendar import Calendar

from strategy.extensions import db
from strategy.models import OutgoingMail, ReminderSent, ReportingRound, ReviewState, Role
from tests.support.clock import Clock

BASE_URL = "https://strategie.example/"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def clock():
    return Clock(datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc))


@pytest.fixture
def app_config(smtp, clock):
    return {**smtp.config, "BASE_URL": BASE_URL, "CLOCK": clock}


@pytest.fixture
def opened(make, client, auth):
    """A round for the meeting on 8 June 2026 (Aktualisierung bis 13 May, Prüfung bis 29 May, Fassung 3 June);
    Anna coordinates fields 1 and 2 (2 is already submitted), Bernd field 3."""
    strategy = make.strategy(fields=3, title="Gesamtstrategie Neuzuwanderung")
    fields = [make.field(strategy, n) for n in (1, 2, 3)]
    users = {
        "steering": make.user(role=Role.STEERING, strategy=strategy, name="Stefanie Lenkung",
                              email="lenkung@example.org"),
        "anna": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(fields[0], fields[1]),
                          name="Anna Koord", email="anna@example.org"),
        "bernd": make.user(role=Role.COORDINATOR, strategy=strategy, fields=(fields[2],), name="Bernd Koord",
                           email="bernd@example.org"),
        "partner": make.user(role=Role.PARTNER, strategy=strategy, email="partner@example.org"),
    }
    fields[1].review_state = ReviewState.SUBMITTED
    db.session.commit()
    auth.login(users["steering"])
    response = client.post(f"/strategien/{strategy.slug}/berichtsrunden/neu", data={
        "title": "Koordinierungsgruppe Juni 2026", "meeting_on": "2026-06-08", "update_days": "15",
        "review_days": "5", "edition_days": "2"})
    assert response.status_code == 302
    auth.logout()
    return strategy, fields, users


@pytest.fixture
def world(opened, smtp):
    """The round, once its "round opened" notifications have been mailed (the tests below count reminders)."""
    smtp.wait_for(2)
    smtp.messages.clear()
    return opened


def test_opening_a_round_notifies_its_coordinators_in_the_app_and_by_mail(opened, smtp):
    from strategy.models import Notification

    strategy, _fields, users = opened
    messages = smtp.wait_for(2)
    assert sorted(m.envelope_to[0] for m in messages) == ["anna@example.org", "bernd@example.org"]
    assert "Stefanie Lenkung hat die Berichtsrunde „Koordinierungsgruppe Juni 2026“ eröffnet" in messages[0].text
    notes = db.session.scalars(db.select(Notification).filter_by(kind="round_opened")).all()
    assert sorted(n.user_id for n in notes) == sorted([users["anna"].id, users["bernd"].id])  # not the opener
    reporting_round = db.session.scalar(db.select(ReportingRound))
    assert notes[0].object_id == str(reporting_round.id) and notes[0].strategy_id == strategy.id


def test_a_reminder_is_also_a_notification_and_stays_out_of_the_daily_digest(runner, world, smtp):
    from strategy.models import Notification

    _strategy, _fields, users = world
    run(runner, "2026-05-08")
    smtp.wait_for(2)
    [note] = db.session.scalars(db.select(Notification).filter_by(kind="deadline_near",
                                                                  user_id=users["anna"].id)).all()
    assert note.emailed_at is not None and note.params["count"] == 1


def test_who_switched_deadline_reminders_off_gets_none_and_a_daily_digest_reader_gets_it_there(runner, world,
                                                                                              smtp):
    from strategy.models import Delivery, Notification
    from strategy.notifications.services import set_preferences

    _strategy, _fields, users = world
    set_preferences(users["anna"], {"deadline_near": Delivery.OFF})
    set_preferences(users["bernd"], {"deadline_near": Delivery.DIGEST})
    db.session.commit()
    assert "0 Erinnerung(en) verschickt." in run(runner, "2026-05-08")
    assert smtp.messages == []
    notes = db.session.scalars(db.select(Notification).filter_by(kind="deadline_near")).all()
    assert [(n.user_id, n.emailed_at) for n in notes] == [(users["bernd"].id, None)]  # for the daily digest
    assert "0 Erinnerung(en) verschickt." in run(runner, "2026-05-08")  # still claimed: nothing twice
    assert len(db.session.scalars(db.select(Notification).filter_by(kind="deadline_near")).all()) == 1


def run(runner, day: str):
    result = runner.invoke(args=["send-reminders", "--date", day])
    assert result.exit_code == 0, result.output
    return result.output


def test_each_coordinator_gets_one_digest_listing_only_their_open_fields(runner, world, smtp):
    strategy, _fields, _users = world
    assert "2 Erinnerung(en) verschickt." in run(runner, "2026-05-08")  # 3 working days before 13 May
    messages = smtp.wait_for(2)
    assert sorted(m.envelope_to[0] for m in messages) == ["anna@example.org", "bernd@example.org"]
    [anna] = smtp.to("anna@example.org")
    assert anna.subject == "Erinnerung: Aktualisierung bis 13.05.2026 – Koordinierungsgruppe Juni 2026"
    assert "Guten Tag Anna Koord," in anna.text
    assert "1. Handlungsfeld 1 (offen)" in anna.text
    assert "Handlungsfeld 2" not in anna.text and "Handlungsfeld 3" not in anna.text  # submitted / not hers
    assert f"{BASE_URL}strategien/{strategy.slug}/handlungsfelder/1/bearbeiten" in anna.text
    assert f'href="{BASE_URL}strategien/{strategy.slug}/berichtsrunden/' in anna.html
    [(filename, content_type, data)] = anna.attachments
    assert filename == "frist.ics" and content_type.startswith("text/calendar")
    [event] = Calendar.from_ical(data).walk("VEVENT")
    assert event.decoded("dtstart") == date(2026, 5, 13)
    assert str(event["summary"]) == "Aktualisierung bis: Koordinierungsgruppe Juni 2026"
    [bernd] = smtp.to("bernd@example.org")
    assert "3. Handlungsfeld 3 (offen)" in bernd.text and "Handlungsfeld 1" not in bernd.text


def test_a_second_run_sends_no_duplicate(runner, world, smtp):
    run(runner, "2026-05-08")
    smtp.wait_for(2)
    assert "0 Erinnerung(en) verschickt." in run(runner, "2026-05-08")
    assert "0 Erinnerung(en) verschickt." in run(runner, "2026-05-12")  # the same stage, a day nearer
    assert len(smtp.messages) == 2
    assert db.session.scalar(db.select(db.func.count(ReminderSent.id))) == 2


def test_nothing_is_sent_while_the_deadline_is_far_or_once_it_passed(runner, world, smtp):
    assert "0 Erinnerung(en)" in run(runner, "2026-05-04")  # 7 working days before 13 May
    assert "0 Erinnerung(en)" in run(runner, "2026-05-14")  # update passed; review (29 May) still far
    assert smtp.messages == []


def test_steering_is_reminded_of_the_review_with_the_submitted_fields_it_may_review(runner, world, smtp):
    strategy, _fields, _users = world
    run(runner, "2026-05-27")  # Prüfung bis 29 May
    [message] = smtp.wait_for(1)
    assert message.envelope_to == ["lenkung@example.org"]
    assert message.subject.startswith("Erinnerung: Prüfung bis 29.05.2026")
    assert "2. Handlungsfeld 2 (eingereicht)" in message.text
    assert "Handlungsfeld 1" not in message.text
    assert f"{BASE_URL}strategien/{strategy.slug}/handlungsfelder/2#pruefung" in message.text


def test_a_reminder_is_written_in_the_recipients_language(runner, world, smtp):
    _strategy, _fields, users = world
    users["bernd"].language = "en"
    db.session.commit()
    run(runner, "2026-05-08")
    smtp.wait_for(2)
    [bernd] = smtp.to("bernd@example.org")
    assert bernd.subject == "Reminder: Update by 13 May 2026 – Koordinierungsgruppe Juni 2026"
    assert "3. Handlungsfeld 3 (open)" in bernd.text
    [event] = Calendar.from_ical(bernd.attachments[0][2]).walk("VEVENT")
    assert str(event["summary"]) == "Update by: Koordinierungsgruppe Juni 2026"


def test_a_coordinator_whose_approved_row_did_not_change_and_who_said_so_is_not_reminded(runner, world, smtp,
                                                                                         client, auth, make):
    strategy, fields, users = world
    make.approve(fields[2], by=users["steering"])
    auth.login(users["bernd"])
    reporting_round = db.session.scalar(db.select(ReportingRound))
    assert client.post(f"/strategien/{strategy.slug}/berichtsrunden/{reporting_round.id}/handlungsfelder/3/"
                       "unveraendert").status_code == 302
    run(runner, "2026-05-08")
    # (the approval itself notified bernd by mail: only reminders count here)
    reminders = [m for m in smtp.wait_for(1) if m.subject.startswith("Erinnerung")]
    assert [m.envelope_to for m in reminders] == [["anna@example.org"]]


# --- two processes at once (PostgreSQL) -------------------------------------------------------------

def _send_reminders_process(database_url: str, smtp, instance: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO_ROOT),
           "STRATEGY_INSTANCE_PATH": str(instance), "SECRET_KEY": "test", "BASE_URL": BASE_URL,
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_SECURITY": "none",
           "MAIL_DELIVERY": "inline"}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "send-reminders", "--date", "2026-05-08"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_runs_at_the_same_moment_send_each_digest_exactly_once(world, smtp, database_url, tmp_path):
    db.session.remove()
    processes = [_send_reminders_process(database_url, smtp, tmp_path / f"instance-{n}") for n in range(2)]
    outputs = [process.communicate(timeout=180)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    # one run sent both digests, the other waited for its lock and then found them claimed
    assert sorted(output.strip().splitlines()[-1] for output in outputs) == [
        "0 Erinnerung(en) verschickt.", "2 Erinnerung(en) verschickt."], outputs
    messages = smtp.wait_for(2)
    assert sorted(m.envelope_to[0] for m in messages) == ["anna@example.org", "bernd@example.org"]
    assert db.session.scalar(db.select(db.func.count(ReminderSent.id))) == 2
    assert db.session.scalar(db.select(db.func.count(OutgoingMail.id))
                             .where(OutgoingMail.template == "round_reminder")) == 2


def test_steering_is_reminded_of_the_edition_with_the_fields_not_yet_approved(runner, world, smtp):
    run(runner, "2026-06-01")  # Fassung 3 June; the review deadline (29 May) has passed
    [message] = smtp.wait_for(1)
    assert message.envelope_to == ["lenkung@example.org"]
    assert message.subject.startswith("Erinnerung: Fassung 03.06.2026")
    assert "eingefroren" in message.text and "Noch nicht freigegeben sind:" in message.text
    assert "1. Handlungsfeld 1 (offen)" in message.text and "2. Handlungsfeld 2 (eingereicht)" in message.text
