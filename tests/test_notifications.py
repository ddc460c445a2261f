"""In-app notifications from review and step actions, their mails (through a real SMTP server), preferences,
the header's unread count and the daily digest."""
from __future__ import annotations

import re

import pytest

from strategy.extensions import db
from strategy.fields.services import load_field_row
from strategy.models import (
    Delivery,
    Notification,
    NotificationPreference,
    OutgoingMail,
    ReviewState,
    Role,
    Visibility,
)
from strategy.notifications import KINDS, NotificationKind, notify, register_kind, send_digests
from strategy.review.services import content_fingerprint
from strategy.snapshots import field_snapshot

BASE = "https://strategie.example"


@pytest.fixture
def app_config(smtp, clock):
    return {**smtp.config, "BASE_URL": BASE + "/", "CLOCK": clock}


@pytest.fixture
def world(make):
    strategy = make.strategy(fields=2, visibility=Visibility.INTERNAL)
    one, two = make.field(strategy, 1), make.field(strategy, 2)

    class World:
        pass

    w = World()
    w.strategy, w.one, w.two = strategy, one, two
    w.coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(one,), name="Cora Koordination",
                              email="cora@example.org")
    w.co_coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(one,), email="co@example.org")
    w.other_coordinator = make.user(role=Role.COORDINATOR, strategy=strategy, fields=(two,),
                                    email="other@example.org")
    w.steering = make.user(role=Role.STEERING, strategy=strategy, name="Stefan Lenkung", email="stefan@example.org")
    w.steering_own = make.user(role=Role.STEERING, strategy=strategy, fields=(one,), email="own@example.org")
    w.partner = make.user(role=Role.PARTNER, strategy=strategy, email="partner@example.org")
    return w


def field_url(w, number=1, tail=""):
    return f"/strategien/{w.strategy.slug}/handlungsfelder/{number}{tail}"


def inbox(user) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(Notification).filter_by(user_id=user.id).order_by(Notification.id)))


def kinds_of(user) -> list[str]:
    return [n.kind for n in inbox(user)]


def submit(client, auth, w):
    auth.login(w.coordinator)
    assert client.post(field_url(w, tail="/pruefung/einreichen")).status_code == 302
    auth.logout()


def approve(client, auth, w):
    fingerprint = content_fingerprint(field_snapshot(load_field_row(w.one.id)))
    auth.login(w.steering)
    assert client.post(field_url(w, tail="/pruefung/freigeben"), data={"fingerprint": fingerprint}).status_code == 302
    auth.logout()


def give_back(client, auth, w, comment="Bitte die Vision kürzen."):
    auth.login(w.steering)
    response = client.post(field_url(w, tail="/pruefung/zurueckgeben"), data={"comment": comment, "column": ""})
    assert response.status_code == 302
    auth.logout()


# --- who is notified -----------------------------------------------------------------------------

def test_a_submission_notifies_the_steering_members_who_may_review_it(client, auth, world, smtp):
    submit(client, auth, world)
    assert kinds_of(world.steering) == ["field_submitted"]
    # Nobody else: not the submitter, not steering who coordinate this field (they may not review it), not the
    # other coordinators, not partners.
    for user in (world.coordinator, world.steering_own, world.co_coordinator, world.other_coordinator, world.partner):
        assert inbox(user) == []
    [message] = smtp.wait_for(1)
    assert message.envelope_to == ["stefan@example.org"]
    assert message.subject == "Cora Koordination hat HF 1 „Handlungsfeld 1“ zur Prüfung eingereicht."
    [notification] = inbox(world.steering)
    link = f"{BASE}/benachrichtigungen/{notification.id}"
    assert link in message.text and f'href="{link}"' in message.html


def test_returning_notifies_the_coordinators_with_the_comment(client, auth, world, smtp):
    submit(client, auth, world)
    give_back(client, auth, world, "Bitte die Vision kürzen.")
    for user in (world.coordinator, world.co_coordinator, world.steering_own):
        [notification] = [n for n in inbox(user) if n.kind == "field_returned"]
        assert notification.params["quote"] == "Bitte die Vision kürzen."
    assert [n.kind for n in inbox(world.other_coordinator)] == []
    assert "field_returned" not in kinds_of(world.steering)  # their own action
    [mail] = [m for m in smtp.wait_for(4) if "cora@example.org" in m.envelope_to]
    assert mail.subject == "Stefan Lenkung hat HF 1 „Handlungsfeld 1“ zur Überarbeitung zurückgegeben."
    assert "„Bitte die Vision kürzen.“" in mail.text and "Bitte die Vision kürzen." in mail.html


def test_approving_notifies_the_coordinators(client, auth, world, smtp):
    submit(client, auth, world)
    approve(client, auth, world)
    assert "field_approved" in kinds_of(world.coordinator)
    assert "field_approved" in kinds_of(world.co_coordinator)
    assert "field_approved" not in kinds_of(world.steering)
    assert any(m.subject == "Stefan Lenkung hat HF 1 „Handlungsfeld 1“ freigegeben." for m in smtp.to("cora@example.org"))


def test_a_comment_notifies_the_coordinators_and_a_reply_the_threads_participants(client, auth, world, make):
    other_steering = make.user(role=Role.STEERING, strategy=world.strategy)
    auth.login(world.steering)
    client.post(field_url(world, tail="/kommentare"), data={"body": "Was heißt das?", "column": "vision"})
    auth.logout()
    assert kinds_of(world.coordinator) == ["review_comment"]
    assert inbox(world.steering) == [] and inbox(other_steering) == []
    comment_id = inbox(world.coordinator)[0].object_id
    auth.login(world.coordinator)
    client.post(field_url(world, tail=f"/kommentare/{comment_id}/antworten"), data={"body": "Das heißt …"})
    auth.logout()
    [reply] = inbox(world.steering)
    assert reply.kind == "review_comment" and reply.params == {"quote": "Das heißt …", "reply": True}
    assert inbox(other_steering) == []  # not in the thread
    assert [n.params.get("reply") for n in inbox(world.co_coordinator)] == [None, True]
    assert len(inbox(world.coordinator)) == 1  # not of their own reply


def test_a_step_assigned_to_a_person_with_an_account_notifies_them(client, auth, world, make):
    person = make.person("Frau Yilmaz")
    world.co_coordinator.person = person
    db.session.commit()
    auth.login(world.coordinator)
    form = {"schritt-neu-description": "Vereinbarung abschließen", "schritt-neu-status": "planned",
            "schritt-neu-person_name": "Frau Yilmaz"}
    assert client.post(field_url(world, tail="/schritte"), data=form).status_code == 303
    [notification] = inbox(world.co_coordinator)
    assert notification.kind == "step_assigned" and notification.params["quote"] == "Vereinbarung abschließen"
    auth.logout()
    auth.login(world.co_coordinator)
    response = client.get(f"/benachrichtigungen/{notification.id}")
    assert response.location.endswith(field_url(world) + f"#schritt-{notification.object_id}")


def test_a_step_assigned_to_someone_who_may_not_read_drafts_notifies_nobody(client, auth, world, make):
    person = make.person("Herr Partner")
    world.partner.person = person
    db.session.commit()
    auth.login(world.coordinator)
    client.post(field_url(world, tail="/schritte"), data={"schritt-neu-description": "X", "schritt-neu-status": "planned",
                                                          "schritt-neu-person_name": "Herr Partner"})
    assert inbox(world.partner) == []


def test_nobody_is_notified_of_their_own_action(app, world):
    notify(KINDS["field_approved"], [world.steering], actor=world.steering, may_read=lambda u: True, field=world.one)
    db.session.commit()
    assert inbox(world.steering) == []


def test_inactive_accounts_are_not_notified(client, auth, world):
    world.steering.active = False
    db.session.commit()
    submit(client, auth, world)
    assert inbox(world.steering) == []


# --- the header, the page, reading ---------------------------------------------------------------

def test_the_header_shows_the_unread_count_with_text_for_screen_readers(client, auth, world):
    submit(client, auth, world)
    auth.login(world.steering)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'Benachrichtigungen <span class="badge badge--count" aria-hidden="true">1</span>'
                     r'<span class="visually-hidden"> \(1 ungelesen\)</span>', page)


def test_opening_a_notification_marks_it_read_and_leads_to_the_place(client, auth, world):
    submit(client, auth, world)
    auth.login(world.steering)
    [notification] = inbox(world.steering)
    listing = client.get("/benachrichtigungen/").get_data(as_text=True)
    assert "Cora Koordination hat HF 1 „Handlungsfeld 1“ zur Prüfung eingereicht." in listing
    response = client.get(f"/benachrichtigungen/{notification.id}")
    assert response.status_code == 302 and response.location.endswith(field_url(world) + "#pruefung")
    assert inbox(world.steering)[0].read_at is not None
    assert 'class="badge badge--count"' not in client.get("/").get_data(as_text=True)


def test_someone_elses_notification_is_a_404(client, auth, world):
    submit(client, auth, world)
    [notification] = inbox(world.steering)
    auth.login(world.coordinator)
    assert client.get(f"/benachrichtigungen/{notification.id}").status_code == 404
    assert client.post(f"/benachrichtigungen/{notification.id}/gelesen").status_code == 404
    assert inbox(world.steering)[0].read_at is None


def test_mark_one_and_all_read(client, auth, world):
    submit(client, auth, world)
    give_back(client, auth, world)
    submit(client, auth, world)
    auth.login(world.steering)
    first, second = inbox(world.steering)
    client.post(f"/benachrichtigungen/{first.id}/gelesen")
    assert [n.is_read for n in inbox(world.steering)] == [True, False]
    client.post("/benachrichtigungen/alle-gelesen")
    assert all(n.is_read for n in inbox(world.steering))


def test_the_notifications_page_needs_a_login(client):
    assert "/anmelden" in client.get("/benachrichtigungen/").location


def test_a_notification_is_in_the_recipients_language(client, auth, world, smtp):
    world.steering.language = "en"
    db.session.commit()
    submit(client, auth, world)
    [message] = smtp.wait_for(1)
    assert message.subject == "Cora Koordination submitted FA 1 “Handlungsfeld 1” for review."
    assert "Dear Stefan Lenkung," in message.text


# --- preferences ---------------------------------------------------------------------------------

def test_preferences_per_kind_off_digest_immediately(client, auth, world, smtp):
    auth.login(world.steering)
    page = client.get("/benachrichtigungen/einstellungen").get_data(as_text=True)
    for kind in KINDS.values():
        assert str(kind.label) in page
    choices = {key: "immediately" for key in KINDS} | {"field_submitted": "off"}
    assert client.post("/benachrichtigungen/einstellungen", data=choices).status_code == 302
    auth.logout()
    submit(client, auth, world)
    assert inbox(world.steering) == []
    assert smtp.messages == []
    auth.login(world.steering)
    client.post("/benachrichtigungen/einstellungen", data=choices | {"field_submitted": "digest"})
    auth.logout()
    give_back(client, auth, world)
    submit(client, auth, world)
    assert kinds_of(world.steering) == ["field_submitted"]
    assert not smtp.to("stefan@example.org")  # waits for the digest
    rows = db.session.scalars(db.select(NotificationPreference).filter_by(user_id=world.steering.id)).all()
    assert {r.kind: r.delivery for r in rows}["field_submitted"] == Delivery.DIGEST


def test_an_unknown_choice_is_answered_next_to_the_field_and_nothing_is_saved(client, auth, world):
    auth.login(world.steering)
    response = client.post("/benachrichtigungen/einstellungen",
                           data={key: "immediately" for key in KINDS} | {"field_submitted": "sometimes"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.search(r'<fieldset class="form-row radio-group form-row--error" id="field_submitted" '
                     r'aria-describedby="field_submitted-error">', page)
    assert 'id="field_submitted-error"' in page
    assert db.session.scalar(db.select(db.func.count(NotificationPreference.id))) == 0


# --- digests -------------------------------------------------------------------------------------

def _digest(w):
    db.session.add(NotificationPreference(user_id=w.steering.id, kind="field_submitted", delivery=Delivery.DIGEST))
    db.session.commit()


def test_the_digest_lists_only_unread_items_and_is_sent_once_a_day(client, auth, world, smtp, runner, clock):
    _digest(world)
    submit(client, auth, world)
    give_back(client, auth, world)
    submit(client, auth, world)
    first, second = inbox(world.steering)
    auth.login(world.steering)
    client.get(f"/benachrichtigungen/{first.id}")  # read in the app: stays out of the digest
    auth.logout()
    result = runner.invoke(args=["send-digests"])
    assert result.exit_code == 0 and "1 Sammel-E-Mail(s) verschickt." in result.output
    [digest] = smtp.to("stefan@example.org")
    assert digest.subject == "1 ungelesene Benachrichtigung"
    assert f"{BASE}/benachrichtigungen/{second.id}" in digest.text
    assert f"{BASE}/benachrichtigungen/{first.id}" not in digest.text
    assert f"{BASE}/benachrichtigungen/einstellungen" in digest.text
    # A second run the same day, and one the next day with nothing new, send nothing.
    assert runner.invoke(args=["send-digests"]).output.startswith("0 ")
    clock.advance(days=1)
    assert runner.invoke(args=["send-digests"]).output.startswith("0 ")
    assert len(smtp.to("stefan@example.org")) == 1


def test_a_second_run_the_same_day_does_not_send_a_second_digest(app, client, auth, world, smtp, clock):
    _digest(world)
    submit(client, auth, world)
    assert send_digests() == 1
    give_back(client, auth, world)
    submit(client, auth, world)
    assert send_digests() == 0  # the day's digest went out; the new item waits for tomorrow's
    clock.advance(days=1)
    assert send_digests() == 1
    assert db.session.scalar(db.select(db.func.count(OutgoingMail.id)).filter(OutgoingMail.template == "digest")) == 2


def test_the_digest_is_in_the_recipients_language(app, client, auth, world, smtp):
    _digest(world)
    world.steering.language = "en"
    db.session.commit()
    submit(client, auth, world)
    send_digests()
    [digest] = smtp.wait_for(1)
    assert digest.subject == "1 unread notification"
    assert "submitted FA 1" in digest.text


# --- the registry --------------------------------------------------------------------------------

def test_another_part_of_the_app_registers_a_kind(app, client, auth, world, smtp):
    kind = register_kind(NotificationKind(
        key="test_round_opened", label="Eine Berichtsrunde wurde eröffnet",
        text=lambda n: f"Runde {n.params['title']} ist offen.",
        target=lambda n: ("notifications.index", {}), default=Delivery.IMMEDIATELY))
    try:
        notify(kind, [world.coordinator, world.partner], actor=world.steering,
               may_read=lambda u: u.id == world.coordinator.id, strategy=world.strategy, params={"title": "Mai"})
        db.session.commit()
        assert kinds_of(world.coordinator) == ["test_round_opened"] and inbox(world.partner) == []
        [message] = smtp.wait_for(1)
        assert message.subject == "Runde Mai ist offen."
        auth.login(world.coordinator)
        assert "Eine Berichtsrunde wurde eröffnet" in client.get("/benachrichtigungen/einstellungen").get_data(as_text=True)
    finally:
        KINDS.pop("test_round_opened")


def test_the_review_state_moves_as_before(client, auth, world):
    submit(client, auth, world)
    db.session.expire_all()
    assert db.session.get(type(world.one), world.one.id).review_state == ReviewState.SUBMITTED
